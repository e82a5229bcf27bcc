// Replay: a private counter map, the program loaded but never attached, one test run per frame.
#include "control/replay.hpp"

#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "control/planner.hpp"
#include "xdp/codegen.hpp"

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
    uint32_t slots = xdp::kFirstRuleSlot;
    for (const auto& [id, slot] : state.slot_of_rule) slots = std::max(slots, slot + 1);
    auto map = create_map(xdp::counter_map_spec(slots, xdp::CounterMode::PerCpu));
    if (!map) return map.error();
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = slots;
    auto plan = plan_ruleset(state.ruleset, inputs);
    if (!plan) return plan.error();
    auto generated = xdp::generate(*plan, {});
    if (!generated) return generated.error();
    auto prog = load_xdp_program(generated->program, {map->get()}, {.name = "xfw_replay"});
    if (!prog) return prog.error();

    ReplayResult result;
    for (size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].size() < 14) {
            // The kernel's test run needs a full Ethernet header; such a frame never reaches XDP.
            return bad_input("packet " + std::to_string(i + 1) + " is shorter than an Ethernet header (" +
                             std::to_string(frames[i].size()) + " bytes)");
        }
        auto verdict = test_run(prog->get(), frames[i]);
        if (!verdict) return verdict.error();
        ++result.packets;
        ++result.verdicts[xdp_action_name(*verdict)];
        result.per_packet_verdicts.push_back(*verdict);
    }
    auto counters = read_counters(map->get(), xdp::CounterMode::PerCpu, slots);
    if (!counters) return counters.error();
    result.slots = std::move(counters).value();
    return result;
}

}  // namespace xfw
