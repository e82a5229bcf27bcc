// The register and stack layout shared by the packet parser prologue and the matchers.
//
// The prologue parses each packet once and copies every field a matcher may test into a
// fixed block on the stack ("packet metadata"). Matchers then read only the stack: they need no
// packet bounds checks, and the same matcher code works for every header layout (VLAN tags,
// IPv4 options, IPv6 extension headers).
//
// Registers, for the whole program:
//   R6  the xdp_md context (saved from R1 by the prologue)
//   R9  frame length in bytes (data_end - data), added to byte counters
//   R1-R5, R0  scratch; clobbered by helper calls (while parsing, which calls none, R0 holds
//           the remaining IP payload on the general path, an unknown-to-the-verifier zero on
//           the fast path)
//   R7, R8  unused by the main program: the JIT saves and restores only the callee-saved
//           registers a function uses, and every packet would pay for them
// Counters are bumped by a bpf-to-bpf call to one shared subprogram (R1 = slot, R2 = bytes)
// that keeps its map key on its own stack frame.
//
// Stack (offsets from R10, the frame pointer):
//   [-64, -8)  packet metadata, fields below, in seven 8-byte slots. Every path of the parser
//              writes each slot a test reads as one 8-byte store of a value the verifier
//              cannot know (see packet_parser.cpp), so the rules are verified once.
#pragma once

#include <cstdint>

namespace xfw::xdp::meta {

inline constexpr int16_t kBase = -64;
inline constexpr int16_t kSize = 56;

// u8 fields
inline constexpr int16_t kL3 = kBase + 0;          // kL3None, kL3Ipv4, kL3Ipv6
inline constexpr int16_t kProto = kBase + 1;       // upper-layer protocol (IPv6: after ext headers)
inline constexpr int16_t kProtoKnown = kBase + 2;  // 1 when kProto is valid
inline constexpr int16_t kL4Ok = kBase + 3;        // 1: full TCP/UDP/ICMP header of a first fragment
inline constexpr int16_t kFragment = kBase + 4;    // 1: non-first fragment
inline constexpr int16_t kTcpFlags = kBase + 5;
inline constexpr int16_t kIcmpType = kBase + 6;
inline constexpr int16_t kIcmpCode = kBase + 7;
// u32 fields
inline constexpr int16_t kSport = kBase + 8;       // host byte order
inline constexpr int16_t kDport = kBase + 12;      // host byte order
inline constexpr int16_t kIfindex = kBase + 16;
// [kBase + 20, kBase + 24) unused: malformed frames are counted where the parser finds them.
// Addresses in network byte order; IPv4 uses the first 4 bytes.
inline constexpr int16_t kSrc = kBase + 24;
inline constexpr int16_t kDst = kBase + 40;

inline constexpr int16_t kStackUse = 64;

// [-96, -64): the key a TestLookup builds for its map lookup (at most 24 bytes used).
inline constexpr int16_t kLookupKey = -96;
// [-152, -148): the group generation (u32) map-backed rule groups key their lookups with, read
// once per packet before the first rule (plan.hpp TestLookup::versioned). Kept clear of
// [-144, -96), where other strategies build their keys.
inline constexpr int16_t kGroupGeneration = -152;

// [-144, -96): the keys of a classification tree (xdp/classifier_keys.hpp), one u32 each,
// written when a packet enters a tree.
inline constexpr int16_t kTreeKeys = -144;

inline constexpr uint8_t kL3None = 0;  // not IP, or an IP header too broken to use
inline constexpr uint8_t kL3Ipv4 = 1;
inline constexpr uint8_t kL3Ipv6 = 2;

}  // namespace xfw::xdp::meta
