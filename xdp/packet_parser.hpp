// The packet parser prologue: Ethernet, up to two VLAN tags, IPv4 (options, fragments),
// IPv6 (extension headers to a bounded depth), TCP, UDP, ICMP, ICMPv6 — parsed once per packet
// into the stack metadata described in packet_meta.hpp.
#pragma once

#include "xdp/emitter.hpp"

namespace xfw::xdp {

struct ParserFeatures {
    bool l4 = true;       // parse TCP/UDP/ICMP headers (only when some test needs them)
    bool ifindex = true;  // copy ctx->ingress_ifindex into the metadata
};

// Maximum number of IPv6 extension headers walked before the upper-layer header; a packet
// with more is counted as an error and its protocol is unknown.
inline constexpr int kMaxIpv6ExtensionHeaders = 6;

struct ParserExits {
    bpf::Label non_ip;  // jumped to for frames that are not IPv4/IPv6 (ARP, LLDP, ...)
    // Falls through after parsing an IP packet, well-formed or not (see meta::kError).
};

// Emits the prologue. On entry R1 is the context; on exit R6 = context, R9 = frame length.
void emit_packet_parser(bpf::Emitter& e, const ParserFeatures& features, const ParserExits& exits);

}  // namespace xfw::xdp
