// Frames the Wasm policy tests run through both engines: Ethernet with and without VLAN tags,
// IPv4 and IPv6, TCP SYNs from many /24s, DNS queries and responses of every size that the
// example policies care about, fragments, extension headers, ARP, ICMP, and short frames that
// end inside a header (so packet loads trap). Built with tests/support/packet_builder.
#pragma once

#include "tests/support/packet_builder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::test {

// A DNS message: header with `flags` (0x8180 = standard response), one question for `name`
// with `qtype`, and `extra` bytes of answer data after it (0xab-filled).
std::vector<uint8_t> dns_message(uint16_t flags, const std::string& name, uint16_t qtype, size_t extra = 0);

inline constexpr uint16_t kDnsResponse = 0x8180;
inline constexpr uint16_t kDnsQuery = 0x0100;
inline constexpr uint16_t kQtypeA = 1;
inline constexpr uint16_t kQtypeAny = 255;

// The mixed corpus (deterministic, about 80 frames).
std::vector<Frame> policy_corpus();

}  // namespace xfw::test
