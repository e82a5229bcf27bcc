// Frames to and from classic pcap files (link type Ethernet), through libpcap. Errors are
// returned as values (xfw::Error carries the message); nothing throws.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tests/support/packet_builder.hpp"
#include "xdp/error.hpp"

namespace xfw::test {

// Writes `frames` to `path` (created or truncated) as DLT_EN10MB with snaplen 65535. Records
// get deterministic timestamps 1 ms apart starting at 2023-11-14 22:13:20 UTC so that the same
// frames always produce the same file. Frames longer than 65535 bytes are refused.
Status write_pcap(const std::string& path, std::span<const Frame> frames);

// Reads every record of the pcap at `path`. Only Ethernet (DLT_EN10MB) captures are accepted.
// A record captured with a snaplen shorter than the packet yields the captured bytes only.
Expected<std::vector<Frame>> read_pcap(const std::string& path);

}  // namespace xfw::test
