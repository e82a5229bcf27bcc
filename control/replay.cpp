// Replay: a private counter map, the program loaded but never attached, one test run per frame.
#include "control/replay.hpp"

#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"

#include <linux/bpf.h>

#include <algorithm>

namespace xfw {

std::string xdp_action_name(uint32_t action) {
    switch (action) {
        case XDP_ABORTED: return "XDP_ABORTED";
        case XDP_DROP: return "XDP_DROP";
        case XDP_PASS: return "XDP_PASS";
        case XDP_TX: return "XDP_TX";
        case XDP_REDIRECT: return "XDP_REDIRECT";
    }
    return "XDP_" + std::to_string(action);
}

Expected<ReplayResult> replay_frames(const State& state, const std::vector<std::vector<uint8_t>>& frames) {
    auto prog = compile_private(state, "xfw_replay");
    if (!prog) return prog.error();

    ReplayResult result;
    for (size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].size() < 14) {
            // The kernel's test run needs a full Ethernet header; such a frame never reaches XDP.
            return bad_input("packet " + std::to_string(i + 1) + " is shorter than an Ethernet header (" +
                             std::to_string(frames[i].size()) + " bytes)");
        }
        auto verdict = test_run(prog->compiled.program.get(), frames[i]);
        if (!verdict) return verdict.error();
        ++result.packets;
        ++result.verdicts[xdp_action_name(*verdict)];
        result.per_packet_verdicts.push_back(*verdict);
    }
    auto counters = read_counters(prog->counters.get(), xdp::CounterMode::PerCpu, prog->counter_slots);
    if (!counters) return counters.error();
    result.slots = std::move(counters).value();
    return result;
}

}  // namespace xfw
