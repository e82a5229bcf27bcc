// Reading captures for replay. Kept apart from everything that includes <linux/bpf.h>:
// libpcap's headers define their own struct bpf_insn.
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw {

// Every frame of an Ethernet pcap. Errors name the file and the packet.
Expected<std::vector<std::vector<uint8_t>>> read_pcap_frames(const std::string& path);

}  // namespace xfw
