// The packet parser prologue: Ethernet, up to two VLAN tags, IPv4 (options, fragments),
// IPv6 (extension headers to a bounded depth), TCP, UDP, ICMP, ICMPv6 — parsed once per packet
// into the stack metadata described in packet_meta.hpp.
#pragma once

#include "xdp/emitter.hpp"

#include <functional>

namespace xfw::xdp {

// Which metadata fields some test of the ruleset reads; the others are not stored. Headers
// are validated whatever this says: the error counter counts the same frames for every ruleset.
struct ParserFeatures {
    bool l4 = true;            // TCP/UDP/ICMP fields: ports, TCP flags, ICMP type and code
    bool ifindex = true;       // ctx->ingress_ifindex
    bool ipv6_addresses = true;  // the last 12 bytes of the address fields (IPv6 prefixes, keys)
};

// Maximum number of IPv6 extension headers walked before the upper-layer header; a packet
// with more is counted as an error and its protocol is unknown.
inline constexpr int kMaxIpv6ExtensionHeaders = 6;

struct ParserExits {
    bpf::Label non_ip;  // jumped to for frames that are not IPv4/IPv6 (ARP, LLDP, ...)
    bpf::Label parsed;  // jumped to after parsing an IP packet, well-formed or not
    // Emits the error counter's update for a malformed or truncated frame, where the parser
    // finds it (R9 = frame length; may clobber R0-R5).
    std::function<void()> count_error;
};

// Emits the prologue. On entry R1 is the context; at `parsed` R6 = context, R9 = frame length.
// The parser ends with the code of its general path: the caller emits the non-IP block next
// and binds `parsed` after it (no jump out of the parser spans the rules).
void emit_packet_parser(bpf::Emitter& e, const ParserFeatures& features, const ParserExits& exits);

}  // namespace xfw::xdp
