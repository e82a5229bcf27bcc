// Packet parser prologue. Every header read is preceded by a bounds check against data_end
// that the verifier can follow: R2 is the cursor (a packet pointer), R3 is data_end.
#include "xdp/packet_parser.hpp"

#include "xdp/packet_meta.hpp"

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/bpf.h>

#include <stddef.h>

namespace xfw::xdp {

using namespace bpf;

namespace {

// A 16-bit network-order value as the (little-endian) eBPF machine loads it.
constexpr int32_t net16(uint16_t v) { return static_cast<int32_t>(((v & 0xff) << 8) | (v >> 8)); }

constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6Auth = 51,
                  kIpv6DestOpts = 60;

// IP payload bytes from the cursor on, on the general path. The parser calls no helper, so R0
// survives; using no callee-saved register beyond R6 and R9 spares every packet the JIT's
// saves and restores of R7 and R8.
constexpr Reg kPayloadLeft = R0;

struct Parser {
    Emitter& e;
    const ParserFeatures& features;
    Label malformed = e.new_label();        // base header broken: not usable as IP at all
    Label l4_truncated = e.new_label();     // L3 fine, L4 header missing or broken
    Label ext_error = e.new_label();        // IPv6 extension header chain broken or too deep
    Label l4 = e.new_label();               // R1 = protocol, R2 = L4 header, kPayloadLeft = bytes left
    Label done = e.new_label();

    // if (R2 + n > data_end) goto fail
    void need(int32_t n, Label fail) {
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_imm(BPF_ADD, R4, n));
        e.jump_if_reg(BPF_JGT, R4, R3, fail);
    }
    // A nonzero constant (the verifier keeps no value for a byte stored from an immediate; a
    // zero it would know: zeroes are stored from an opaque zero, see general_prologue).
    void set_u8(int16_t field, int32_t v) { e.emit(st_imm(BPF_B, R10, field, v)); }
    // dst = 0, a value the verifier cannot know (the unknown frame length minus itself).
    void opaque_zero(Reg dst) {
        e.emit(mov64_reg(dst, R9));
        e.emit(alu64_reg(BPF_SUB, dst, R9));
    }
    // Makes the verifier forget what it knows of scalar `reg` but that it is a u16 (its value
    // is one): a 2-byte store and load at a stack address that is not 8-byte aligned, where
    // the verifier does not keep the stored register. Paths through different headers reach a
    // join with different ranges for the same register (a header length of 8-2048 or 8-1028
    // bytes, a payload left after one header or three); without this the verifier would walk
    // everything after the join once per combination (about 90 000 instructions for a
    // 540-instruction program). `slot` is a scratch address in the lookup-key area, which no
    // one uses while the parser runs.
    void forget_all_but_u16(Reg reg, int16_t slot) {
        e.emit(stx(BPF_H, R10, reg, slot));
        e.emit(ldx(BPF_H, reg, R10, slot));
    }
    static constexpr int16_t kForgetSlotA = meta::kLookupKey + 2;
    static constexpr int16_t kForgetSlotB = meta::kLookupKey + 6;
    static_assert(kForgetSlotA % 8 != 0 && kForgetSlotB % 8 != 0);

    // Copies `size` bytes at R2+off into the metadata.
    void copy(uint8_t size, int16_t off, int16_t field) {
        e.emit(ldx(size, R1, R2, off));
        e.emit(stx(size, R10, R1, field));
    }
    // R1 = be16 at R2+off, in host order. The mask changes no value, but verifiers before
    // Linux 6.10 forget every bound after a byte swap ("math between pkt pointer and register
    // with unbounded min value"): without it Debian 12's 6.1 kernel refuses the parser.
    void load_be16(Reg dst, int16_t off) {
        e.emit(ldx(BPF_H, dst, R2, off));
        e.emit(to_be(dst, 16));
        e.emit(alu32_imm(BPF_AND, dst, 0xffff));
    }

    // R6 = context, R2 = data, R3 = data_end, R9 = frame length: what both paths start from.
    void entry() {
        e.set_origin("parser");
        e.emit(mov64_reg(R6, R1));
        e.emit(ldx(BPF_W, R2, R6, offsetof(xdp_md, data)));
        e.emit(ldx(BPF_W, R3, R6, offsetof(xdp_md, data_end)));
        e.emit(mov64_reg(R9, R3));
        e.emit(alu64_reg(BPF_SUB, R9, R2));
    }

    // The fast path: an untagged IPv4 frame without options whose header and first 20 bytes of
    // IP payload are complete, not a non-first fragment. Anything else, or anything the general
    // path would count as malformed (TCP data offset below 5), goes to `general`, which parses
    // the frame again from its start. The checks are those of the general path, made stricter
    // where that saves a test; every metadata slot a test reads is written with one 8-byte
    // store, each value made verifier-unknown by adding the opaque zero in R0 (see
    // general_prologue: the verifier must not know any field, or it decides tests on this path
    // and not on the others, and verifies the rules once per path).
    void fast_ipv4(Label general, Label parsed) {
        constexpr int16_t ip = ETH_HLEN, l4_off = ETH_HLEN + 20;
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_imm(BPF_ADD, R4, l4_off + 20));
        e.jump_if_reg(BPF_JGT, R4, R3, general);
        e.emit(ldx(BPF_H, R1, R2, 12));
        e.jump_if_imm(BPF_JNE, R1, net16(ETH_P_IP), general);
        e.emit(ldx(BPF_B, R1, R2, ip));
        e.jump_if_imm(BPF_JNE, R1, 0x45, general);  // version 4, header length 20
        // Total length: the header and 20 payload bytes (a TCP header; UDP and ICMP need 8),
        // and within the frame. No pointer is derived from it: no mask after the swap needed.
        e.emit(ldx(BPF_H, R1, R2, ip + 2));
        e.emit(to_be(R1, 16));
        e.jump_if_imm(BPF_JLT, R1, 40, general);
        e.emit(alu64_imm(BPF_ADD, R1, ETH_HLEN));
        e.jump_if_reg(BPF_JGT, R1, R9, general);
        // Fragment offset (13 bits, network order) != 0: the general path.
        e.emit(ldx(BPF_H, R1, R2, ip + 6));
        e.jump_if_imm(BPF_JSET, R1, 0xff1f, general);
        opaque_zero(R0);
        e.emit(ldx(BPF_B, R5, R2, ip + 9));

        // R4 = the first slot's bytes: L3, protocol, protocol known, L4 ok, fragment, TCP flags,
        // ICMP type and code (packet_meta.hpp).
        auto flags_byte = [](uint8_t proto, bool l4_ok) {
            return static_cast<int32_t>(meta::kL3Ipv4 | (proto << 8) | (1 << 16) | ((l4_ok ? 1 : 0) << 24));
        };
        Label not_tcp = e.new_label(), not_udp = e.new_label(), ports = e.new_label(), other = e.new_label(),
              addresses = e.new_label();
        e.jump_if_imm(BPF_JNE, R5, IPPROTO_TCP, not_tcp);
        e.emit(ldx(BPF_B, R4, R2, l4_off + 12));
        e.jump_if_imm(BPF_JLT, R4, 5 << 4, general);  // data offset below 5: malformed
        if (features.l4) {
            e.emit(ldx(BPF_B, R4, R2, l4_off + 13));
            e.emit(alu64_imm(BPF_LSH, R4, 8 * (meta::kTcpFlags - meta::kBase)));
            e.emit(alu64_imm(BPF_OR, R4, flags_byte(IPPROTO_TCP, true)));
        } else {
            e.emit(mov64_imm(R4, flags_byte(IPPROTO_TCP, true)));
        }
        e.jump(ports);
        e.bind(not_tcp);
        e.jump_if_imm(BPF_JNE, R5, IPPROTO_UDP, not_udp);
        e.emit(mov64_imm(R4, flags_byte(IPPROTO_UDP, true)));
        e.bind(ports);
        if (features.l4) {
            // Source port in the low half of the slot, destination port in the high half.
            e.emit(ldx(BPF_H, R1, R2, l4_off));
            e.emit(to_be(R1, 16));
            e.emit(ldx(BPF_H, R5, R2, l4_off + 2));
            e.emit(to_be(R5, 16));
            e.emit(alu64_imm(BPF_LSH, R5, 32));
            e.emit(alu64_reg(BPF_OR, R1, R5));
            e.emit(alu64_reg(BPF_ADD, R1, R0));
            e.emit(stx(BPF_DW, R10, R1, meta::kSport));
        }
        e.jump(addresses);
        e.bind(not_udp);
        e.jump_if_imm(BPF_JNE, R5, IPPROTO_ICMP, other);
        if (features.l4) {
            e.emit(ldx(BPF_H, R4, R2, l4_off));  // type, code
            e.emit(alu64_imm(BPF_LSH, R4, 8 * (meta::kIcmpType - meta::kBase)));
            e.emit(alu64_imm(BPF_OR, R4, flags_byte(IPPROTO_ICMP, true)));
            e.emit(stx(BPF_DW, R10, R0, meta::kSport));
        } else {
            e.emit(mov64_imm(R4, flags_byte(IPPROTO_ICMP, true)));
        }
        e.jump(addresses);
        e.bind(other);
        e.emit(mov64_reg(R4, R5));
        e.emit(alu64_imm(BPF_LSH, R4, 8));
        e.emit(alu64_imm(BPF_OR, R4, flags_byte(0, false)));
        if (features.l4) e.emit(stx(BPF_DW, R10, R0, meta::kSport));

        e.bind(addresses);
        e.emit(alu64_reg(BPF_ADD, R4, R0));
        e.emit(stx(BPF_DW, R10, R4, meta::kBase));
        // Source and destination in one load each; the 4 bytes after each address are what
        // follows it in the packet, read by no IPv4 test (an IPv6 test checks the family).
        e.emit(ldx(BPF_DW, R1, R2, ip + 12));
        e.emit(stx(BPF_DW, R10, R1, meta::kSrc));
        e.emit(ldx(BPF_DW, R1, R2, ip + 16));
        e.emit(stx(BPF_DW, R10, R1, meta::kDst));
        if (features.ipv6_addresses) {
            e.emit(stx(BPF_DW, R10, R0, static_cast<int16_t>(meta::kSrc + 8)));
            e.emit(stx(BPF_DW, R10, R0, static_cast<int16_t>(meta::kDst + 8)));
        }
        if (features.ifindex) {
            e.emit(ldx(BPF_W, R1, R6, offsetof(xdp_md, ingress_ifindex)));
            e.emit(alu64_reg(BPF_ADD, R1, R0));
            e.emit(stx(BPF_DW, R10, R1, meta::kIfindex));
        }
        e.jump(parsed);
    }

    void general_prologue() {
        e.set_origin("parser (general path)");
        // Zeroing the metadata from an opaque zero leaves no stack byte the verifier knows the
        // value of, so no rule test is "decided" at verification time on some header paths and
        // not on others: states from every path compare equal and the rules are verified once,
        // not once per combination of header flags.
        opaque_zero(R1);
        for (int16_t off = 0; off < meta::kSize; off += 8)
            e.emit(stx(BPF_DW, R10, R1, static_cast<int16_t>(meta::kBase + off)));
        if (features.ifindex) {
            e.emit(ldx(BPF_W, R1, R6, offsetof(xdp_md, ingress_ifindex)));
            e.emit(stx(BPF_W, R10, R1, meta::kIfindex));
        }
    }

    void ethernet(Label non_ip) {
        need(ETH_HLEN, malformed);
        e.emit(ldx(BPF_H, R5, R2, 12));
        e.emit(alu64_imm(BPF_ADD, R2, ETH_HLEN));
        Label ipv4_label = e.new_label(), ipv6_label = e.new_label();
        // IP first: untagged IPv4 is the common case and costs one compare.
        for (int tag = 0; tag <= 2; ++tag) {
            e.jump_if_imm(BPF_JEQ, R5, net16(ETH_P_IP), ipv4_label);
            e.jump_if_imm(BPF_JEQ, R5, net16(ETH_P_IPV6), ipv6_label);
            if (tag == 2) break;
            Label is_vlan = e.new_label();
            e.jump_if_imm(BPF_JEQ, R5, net16(ETH_P_8021Q), is_vlan);
            e.jump_if_imm(BPF_JNE, R5, net16(ETH_P_8021AD), non_ip);
            e.bind(is_vlan);
            need(4, malformed);
            e.emit(ldx(BPF_H, R5, R2, 2));
            e.emit(alu64_imm(BPF_ADD, R2, 4));
        }
        // A third tag is not something the stack would deliver as IP: refuse to pass it
        // unfiltered as "non-IP".
        e.jump_if_imm(BPF_JEQ, R5, net16(ETH_P_8021Q), malformed);
        e.jump_if_imm(BPF_JEQ, R5, net16(ETH_P_8021AD), malformed);
        e.jump(non_ip);
        e.bind(ipv4_label);
        ipv4();
        e.bind(ipv6_label);
        ipv6();
    }

    void ipv4() {
        need(20, malformed);
        e.emit(ldx(BPF_B, R5, R2, 0));
        e.emit(mov64_reg(R1, R5));
        e.emit(alu64_imm(BPF_RSH, R1, 4));
        e.jump_if_imm(BPF_JNE, R1, 4, malformed);
        e.emit(alu64_imm(BPF_AND, R5, 0xf));
        e.jump_if_imm(BPF_JLT, R5, 5, malformed);
        e.emit(alu64_imm(BPF_LSH, R5, 2));  // R5 = header length in bytes
        // Total length must cover the header and fit in the frame (the stack drops it otherwise).
        load_be16(kPayloadLeft, 2);
        e.jump_if_reg(BPF_JLT, kPayloadLeft, R5, malformed);
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_reg(BPF_ADD, R4, kPayloadLeft));
        e.jump_if_reg(BPF_JGT, R4, R3, malformed);
        // (The options then lie in the frame too: total length >= header length. Nothing
        // reads them; the L4 parser checks its own bounds.)
        e.emit(alu64_reg(BPF_SUB, kPayloadLeft, R5));  // the IP payload

        set_u8(meta::kL3, meta::kL3Ipv4);
        copy(BPF_B, 9, meta::kProto);
        set_u8(meta::kProtoKnown, 1);
        copy(BPF_W, 12, meta::kSrc);
        copy(BPF_W, 16, meta::kDst);
        // Fragment offset != 0: a non-first fragment carries no L4 header.
        load_be16(R1, 6);
        e.emit(alu64_imm(BPF_AND, R1, 0x1fff));
        Label first = e.new_label();
        e.jump_if_imm(BPF_JEQ, R1, 0, first);
        set_u8(meta::kFragment, 1);
        e.jump(done);
        e.bind(first);
        e.emit(alu64_reg(BPF_ADD, R2, R5));
        e.emit(ldx(BPF_B, R1, R10, meta::kProto));
        e.jump(l4);
    }

    void ipv6() {
        need(40, malformed);
        e.emit(ldx(BPF_B, R1, R2, 0));
        e.emit(alu64_imm(BPF_RSH, R1, 4));
        e.jump_if_imm(BPF_JNE, R1, 6, malformed);
        load_be16(kPayloadLeft, 4);  // payload length
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_imm(BPF_ADD, R4, 40));
        e.emit(alu64_reg(BPF_ADD, R4, kPayloadLeft));
        e.jump_if_reg(BPF_JGT, R4, R3, malformed);

        set_u8(meta::kL3, meta::kL3Ipv6);
        for (int16_t i = 0; i < 16; i += 8) {
            copy(BPF_DW, static_cast<int16_t>(8 + i), static_cast<int16_t>(meta::kSrc + i));
            copy(BPF_DW, static_cast<int16_t>(24 + i), static_cast<int16_t>(meta::kDst + i));
        }
        e.emit(ldx(BPF_B, R5, R2, 6));  // R5 = next header
        e.emit(alu64_imm(BPF_ADD, R2, 40));

        // Extension headers, unrolled so the verifier sees a bounded walk.
        Label upper = e.new_label();
        for (int depth = 0; depth < kMaxIpv6ExtensionHeaders; ++depth) {
            Label generic = e.new_label(), auth = e.new_label(), frag = e.new_label(),
                  advance = e.new_label();
            e.jump_if_imm(BPF_JEQ, R5, kIpv6HopByHop, generic);
            e.jump_if_imm(BPF_JEQ, R5, kIpv6Routing, generic);
            e.jump_if_imm(BPF_JEQ, R5, kIpv6DestOpts, generic);
            e.jump_if_imm(BPF_JEQ, R5, kIpv6Auth, auth);
            e.jump_if_imm(BPF_JEQ, R5, kIpv6Fragment, frag);
            e.jump(upper);

            e.bind(generic);  // length in 8-octet units, not counting the first 8
            need(8, ext_error);
            e.emit(ldx(BPF_B, R1, R2, 1));
            e.emit(alu64_imm(BPF_ADD, R1, 1));
            e.emit(alu64_imm(BPF_LSH, R1, 3));
            e.jump(advance);

            e.bind(auth);  // length in 4-octet units, minus 2
            need(8, ext_error);
            e.emit(ldx(BPF_B, R1, R2, 1));
            e.emit(alu64_imm(BPF_ADD, R1, 2));
            e.emit(alu64_imm(BPF_LSH, R1, 2));
            e.jump(advance);

            e.bind(frag);  // fixed 8 bytes; offset != 0 means no upper-layer header here
            need(8, ext_error);
            load_be16(R1, 2);
            e.emit(alu64_imm(BPF_AND, R1, 0xfff8));
            Label first = e.new_label();
            e.jump_if_imm(BPF_JEQ, R1, 0, first);
            copy(BPF_B, 0, meta::kProto);
            set_u8(meta::kProtoKnown, 1);
            set_u8(meta::kFragment, 1);
            e.jump_if_imm(BPF_JLT, kPayloadLeft, 8, ext_error);
            e.jump(done);
            e.bind(first);
            e.emit(mov64_imm(R1, 8));

            e.bind(advance);  // R1 = header length; it must lie within the payload
            // The same verifier state from every kind of header: the length is a multiple of
            // 4 up to 2048 bytes, which the mask keeps (and bounds for the packet pointer).
            forget_all_but_u16(R1, kForgetSlotA);
            e.emit(alu64_imm(BPF_AND, R1, 0xffc));
            forget_all_but_u16(kPayloadLeft, kForgetSlotB);
            e.jump_if_reg(BPF_JGT, R1, kPayloadLeft, ext_error);
            e.emit(alu64_reg(BPF_SUB, kPayloadLeft, R1));
            e.emit(ldx(BPF_B, R5, R2, 0));
            e.emit(alu64_reg(BPF_ADD, R2, R1));
        }
        // Still an extension header after the bound: protocol unknown.
        e.jump_if_imm(BPF_JEQ, R5, kIpv6HopByHop, ext_error);
        e.jump_if_imm(BPF_JEQ, R5, kIpv6Routing, ext_error);
        e.jump_if_imm(BPF_JEQ, R5, kIpv6DestOpts, ext_error);
        e.jump_if_imm(BPF_JEQ, R5, kIpv6Auth, ext_error);
        e.jump_if_imm(BPF_JEQ, R5, kIpv6Fragment, ext_error);
        e.bind(upper);
        e.emit(stx(BPF_B, R10, R5, meta::kProto));
        set_u8(meta::kProtoKnown, 1);
        e.emit(mov64_reg(R1, R5));
        e.jump(l4);
    }

    // R1 = protocol, R2 = start of the L4 header, R0 = bytes of IP payload from R2 on.
    // The headers are checked whether or not a test reads them (the error counter must not
    // depend on the ruleset); their fields are stored only when one does.
    void transport() {
        e.bind(l4);
        // IPv4 and IPv6, with or without VLAN tags and extension headers, arrive with the L4
        // header at different offsets, the payload left and the protocol known to different
        // ranges: one state from here on. The cursor becomes data + (offset & 0x3fff): the
        // mask changes no offset (at most 14 + 8 VLAN + 40 + 6 extension headers of 2048 bytes
        // = 12 350), and keeps offset + header length within what the verifier tracks (64 KiB)
        // so that a bounds check still gives the cursor its range. The protocol is read back
        // from the metadata.
        static_assert(ETH_HLEN + 8 + 40 + kMaxIpv6ExtensionHeaders * 2048 <= 0x3fff);
        e.emit(ldx(BPF_W, R4, R6, offsetof(xdp_md, data)));
        e.emit(alu64_reg(BPF_SUB, R2, R4));
        e.emit(alu64_imm(BPF_AND, R2, 0x3fff));
        e.emit(alu64_reg(BPF_ADD, R4, R2));
        e.emit(mov64_reg(R2, R4));
        forget_all_but_u16(kPayloadLeft, kForgetSlotB);
        e.emit(ldx(BPF_B, R1, R10, meta::kProto));
        Label tcp = e.new_label(), udp = e.new_label(), icmp = e.new_label();
        e.jump_if_imm(BPF_JEQ, R1, IPPROTO_TCP, tcp);
        e.jump_if_imm(BPF_JEQ, R1, IPPROTO_UDP, udp);
        // ICMP only in IPv4, ICMPv6 only in IPv6, as iptables/ip6tables see them.
        e.emit(ldx(BPF_B, R4, R10, meta::kL3));
        Label not_icmp4 = e.new_label();
        e.jump_if_imm(BPF_JNE, R1, IPPROTO_ICMP, not_icmp4);
        e.jump_if_imm(BPF_JEQ, R4, meta::kL3Ipv4, icmp);
        e.bind(not_icmp4);
        e.jump_if_imm(BPF_JNE, R1, IPPROTO_ICMPV6, done);
        e.jump_if_imm(BPF_JEQ, R4, meta::kL3Ipv6, icmp);
        e.jump(done);

        e.bind(tcp);
        need(20, l4_truncated);
        e.jump_if_imm(BPF_JLT, kPayloadLeft, 20, l4_truncated);
        e.emit(ldx(BPF_B, R1, R2, 12));
        e.emit(alu64_imm(BPF_RSH, R1, 4));
        e.jump_if_imm(BPF_JLT, R1, 5, l4_truncated);  // data offset below the fixed header
        if (features.l4) copy(BPF_B, 13, meta::kTcpFlags);
        ports();

        e.bind(udp);
        need(8, l4_truncated);
        e.jump_if_imm(BPF_JLT, kPayloadLeft, 8, l4_truncated);
        ports();

        e.bind(icmp);
        need(8, l4_truncated);
        e.jump_if_imm(BPF_JLT, kPayloadLeft, 8, l4_truncated);
        if (features.l4) {
            copy(BPF_B, 0, meta::kIcmpType);
            copy(BPF_B, 1, meta::kIcmpCode);
        }
        set_u8(meta::kL4Ok, 1);
        e.jump(done);
    }

    void ports() {
        if (!features.l4) {
            set_u8(meta::kL4Ok, 1);
            e.jump(done);
            return;
        }
        load_be16(R1, 0);
        e.emit(stx(BPF_W, R10, R1, meta::kSport));
        load_be16(R1, 2);
        e.emit(stx(BPF_W, R10, R1, meta::kDport));
        set_u8(meta::kL4Ok, 1);
        e.jump(done);
    }

    void errors(const std::function<void()>& count_error) {
        e.bind(malformed);
        static_assert(meta::kL3None == 0);
        opaque_zero(R4);
        for (int16_t field : {meta::kL3, meta::kProtoKnown, meta::kFragment}) e.emit(stx(BPF_B, R10, R4, field));
        e.bind(ext_error);  // addresses stay usable, the protocol is unknown
        e.bind(l4_truncated);
        e.set_origin("parser: error counter");
        count_error();
    }

    // Every path of the general parser arrives here with different packet pointers in the
    // scratch registers and metadata slots of different verifier kinds (bytes stored one by
    // one, 8-byte copies, zeroes). Clear the registers, and rewrite each slot with one 8-byte
    // load and store: each becomes a spilled unknown value, as on the fast path, and the
    // verifier sees one state at the rules (on kernels before 6.8, which compare stack slots
    // by kind, too).
    void join(Label parsed) {
        e.bind(done);
        e.set_origin("parser (general path)");
        for (Reg r : {R0, R1, R2, R3, R4, R5}) e.emit(mov64_imm(r, 0));
        for (int16_t off = 0; off < meta::kSize; off += 8) {
            const auto slot = static_cast<int16_t>(meta::kBase + off);
            e.emit(ldx(BPF_DW, R1, R10, slot));
            e.emit(stx(BPF_DW, R10, R1, slot));
        }
        e.emit(mov64_imm(R1, 0));
        e.jump(parsed);
    }
};

}  // namespace

void emit_packet_parser(Emitter& e, const ParserFeatures& features, const ParserExits& exits) {
    Parser p{e, features};
    Label general = e.new_label();
    p.entry();
    p.fast_ipv4(general, exits.parsed);
    e.bind(general);
    p.general_prologue();
    p.ethernet(exits.non_ip);
    p.transport();
    p.errors(exits.count_error);
    p.join(exits.parsed);
}

}  // namespace xfw::xdp
