// The one compile path: planner, code generator, loader.
#include "control/compile.hpp"

#include "control/group_maps.hpp"
#include "control/loader.hpp"
#include "control/planner.hpp"
#include "control/policy_compile.hpp"
#include "control/set_maps.hpp"
#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <algorithm>

namespace xfw {

namespace {
Expected<xdp::GeneratedProgram> generate_grouped(const State& state, uint32_t counter_slots, xdp::CounterMode mode,
                                                 const CompileOptions& options);
}  // namespace

Expected<CompiledProgram> compile_ruleset(const State& state, int counter_map_fd, uint32_t counter_slots,
                                          xdp::CounterMode mode, const std::string& program_name,
                                          const CompileOptions& options) {
    auto generated = generate_for_host(state, counter_slots, mode, options);
    if (!generated) return generated.error();
    const GroupMapIndexes groups = group_map_indexes(*generated);
    std::vector<Fd> group_maps;
    // Map 0 is the counter map; then the maps of lookups (sets: opened from their pins; rule
    // groups: created and filled) and of policies (their per-CPU instances), created here for
    // this program alone.
    std::vector<Fd> policy_maps;
    std::vector<int> map_fds{counter_map_fd};
    for (size_t i = 1; i < generated->maps.size(); ++i) {
        auto map = open_or_create_map(generated->maps[i]);
        if (!map) return map.error();
        map_fds.push_back(map->get());
        if (i == groups.generation) group_maps.insert(group_maps.begin(), std::move(map).value());
        else if (std::find(groups.groups.begin(), groups.groups.end(), i) != groups.groups.end())
            group_maps.push_back(std::move(map).value());
        else policy_maps.push_back(std::move(map).value());
    }
    auto prog = load_xdp_program(generated->program, map_fds, {.name = program_name});
    if (!prog) return prog.error();
    return CompiledProgram{std::move(prog).value(), static_cast<uint32_t>(generated->program.insns.size()),
                           std::move(group_maps)};
}

Expected<xdp::GeneratedProgram> generate_for_host(const State& state, uint32_t counter_slots, xdp::CounterMode mode,
                                                  const CompileOptions& options) {
    auto generated = generate_grouped(state, counter_slots, mode, options);
    if (generated) stamp_group_fingerprint(*generated);
    return generated;
}

namespace {
Expected<xdp::Plan> plan_for_offload(const State& state, uint32_t counter_slots) {
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = counter_slots;
    inputs.policy_of = policy_source(state, wasm::Target::Offload);
    inputs.sets = &state.sets;
    inputs.offload = true;
    // Packed offload counters need a constant slot per rule: rules stay one step each.
    inputs.group_rules = false;
    inputs.classifier_trees = false;
    return plan_ruleset(state.ruleset, inputs);
}
}  // namespace

Expected<offload::OffloadProgram> generate_offload_ruleset(const State& state, uint32_t counter_slots,
                                                           const offload::NfpProfile& profile) {
    auto plan = plan_for_offload(state, counter_slots);
    if (!plan) return plan.error();
    // hash:ip and hash:ip,port sets are hash maps the NFP could run (hash:net types were refused
    // by the planner), but an offloaded program reads device-bound maps only, and no copy of a
    // set on the device is kept in step with `xfw set add` yet.
    for (const xdp::MapSpec& m : plan->maps)
        if (m.existing())
            return bad_input("set " + m.name + ": rules with -m set cannot be offloaded yet (an offloaded program "
                             "reads only maps bound to the device, and xfw keeps sets in host maps); use native XDP");
    return offload::generate_for_offload(*plan, profile);
}

Expected<xdp::GeneratedProgram> generate_ruleset(const State& state, uint32_t counter_slots, xdp::CounterMode mode) {
    // An object file holds map definitions, not contents: no rule groups, and no sets.
    auto generated = generate_grouped(state, counter_slots, mode, CompileOptions{.group_rules = false});
    if (!generated) return generated.error();
    for (const xdp::MapSpec& m : generated->maps)
        if (m.existing())
            return bad_input("rules with -m set use the maps of a running xfw's sets; an object file cannot "
                             "carry them (set " + m.name + ")");
    return generated;
}

namespace {
Expected<xdp::GeneratedProgram> generate_grouped(const State& state, uint32_t counter_slots, xdp::CounterMode mode,
                                                 const CompileOptions& options) {
    PlanInputs inputs;
    inputs.sets = &state.sets;
    // Grouped rules count a slot found at run time, through the shared counting subprogram.
    inputs.group_rules = options.group_rules && mode == xdp::CounterMode::PerCpu;
    inputs.min_group_run = options.min_group_run;
    inputs.classifier_trees = options.classifier_trees;
    inputs.min_tree_run = options.min_tree_run;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = counter_slots;
    inputs.policy_of = policy_source(
        state, mode == xdp::CounterMode::SharedAtomic ? wasm::Target::Offload : wasm::Target::Native);
    auto plan = plan_ruleset(state.ruleset, inputs);
    if (!plan) return plan.error();
    return xdp::generate(*plan, xdp::CodegenOptions{mode});
}
}  // namespace

uint32_t counter_slots_needed(const State& state) {
    uint32_t slots = xdp::kFirstRuleSlot;
    for (const auto& [id, slot] : state.slot_of_rule) slots = std::max(slots, slot + 1);
    for (const auto& [id, policies] : state.policy_slots)
        for (const PolicySlots& p : policies) slots = std::max(slots, p.bucket_base + p.bucket_count);
    return slots;
}

Expected<PrivateProgram> compile_private(const State& state, const std::string& program_name,
                                        const CompileOptions& options) {
    const uint32_t slots = counter_slots_needed(state);
    auto map = create_map(xdp::counter_map_spec(slots, xdp::CounterMode::PerCpu));
    if (!map) return map.error();
    auto compiled = compile_ruleset(state, map->get(), slots, xdp::CounterMode::PerCpu, program_name, options);
    if (!compiled) return compiled.error();
    return PrivateProgram{std::move(map).value(), std::move(compiled).value(), slots};
}

}  // namespace xfw
