// Replaying captured traffic through a compiled ruleset with BPF_PROG_TEST_RUN: the verdicts
// and per-rule counters an operator would see, without attaching anything.
#pragma once

#include "control/pcap_reader.hpp"
#include "control/state_store.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace xfw {

struct ReplayResult {
    uint64_t packets = 0;
    std::map<std::string, uint64_t> verdicts;  // "XDP_PASS" -> count
    // Counter values per slot (sums over CPUs), indexed like State::slot_of_rule.
    std::vector<xdp::CounterValue> slots;
    std::vector<uint32_t> per_packet_verdicts;  // in pcap order
};

std::string xdp_action_name(uint32_t action);

// `state` must have identities assigned (every rule has a slot).
Expected<ReplayResult> replay_frames(const State& state, const std::vector<std::vector<uint8_t>>& frames);

}  // namespace xfw
