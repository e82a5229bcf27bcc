// The one compile path: planner, code generator, loader.
#include "control/compile.hpp"

#include "control/loader.hpp"
#include "control/planner.hpp"
#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <algorithm>

namespace xfw {

Expected<CompiledProgram> compile_ruleset(const State& state, int counter_map_fd, uint32_t counter_slots,
                                          xdp::CounterMode mode, const std::string& program_name) {
    auto generated = generate_ruleset(state, counter_slots, mode);
    if (!generated) return generated.error();
    auto prog = load_xdp_program(generated->program, {counter_map_fd}, {.name = program_name});
    if (!prog) return prog.error();
    return CompiledProgram{std::move(prog).value(), static_cast<uint32_t>(generated->program.insns.size())};
}

namespace {
Expected<xdp::Plan> plan_for_offload(const State& state, uint32_t counter_slots) {
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = counter_slots;
    return plan_ruleset(state.ruleset, inputs);
}
}  // namespace

Expected<offload::OffloadProgram> generate_offload_ruleset(const State& state, uint32_t counter_slots,
                                                           const offload::NfpProfile& profile) {
    auto plan = plan_for_offload(state, counter_slots);
    if (!plan) return plan.error();
    return offload::generate_for_offload(*plan, profile);
}

Expected<xdp::GeneratedProgram> generate_ruleset(const State& state, uint32_t counter_slots, xdp::CounterMode mode) {
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = counter_slots;
    auto plan = plan_ruleset(state.ruleset, inputs);
    if (!plan) return plan.error();
    return xdp::generate(*plan, xdp::CodegenOptions{mode});
}

uint32_t counter_slots_needed(const State& state) {
    uint32_t slots = xdp::kFirstRuleSlot;
    for (const auto& [id, slot] : state.slot_of_rule) slots = std::max(slots, slot + 1);
    return slots;
}

Expected<PrivateProgram> compile_private(const State& state, const std::string& program_name) {
    const uint32_t slots = counter_slots_needed(state);
    auto map = create_map(xdp::counter_map_spec(slots, xdp::CounterMode::PerCpu));
    if (!map) return map.error();
    auto compiled = compile_ruleset(state, map->get(), slots, xdp::CounterMode::PerCpu, program_name);
    if (!compiled) return compiled.error();
    return PrivateProgram{std::move(map).value(), std::move(compiled).value(), slots};
}

}  // namespace xfw
