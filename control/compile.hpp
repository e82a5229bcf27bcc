// Ruleset to loaded program in one call: plan, generate, verify. Used by the firewall, replay,
// the test harness and the benchmarks, so all of them run exactly the same compile path.
#pragma once

#include "control/fd.hpp"
#include "control/state_store.hpp"
#include "offload/lowering.hpp"
#include "xdp/codegen.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <string>
#include <vector>

namespace xfw {

struct CompiledProgram {
    Fd program;
    uint32_t instruction_count = 0;
    // Map-backed rule groups: the generation map, then each group's map in plan order (empty
    // without groups); the firewall pins them so later changes can rewrite them live.
    std::vector<Fd> group_maps;
};

struct CompileOptions {
    // Map-backed rule groups (control/rule_groups.hpp); off gives the plain linear program
    // (differential tests compare the two).
    bool group_rules = true;
    // Shortest run grouped (0: kDefaultMinGroupRun); benchmarks vary it.
    size_t min_group_run = 0;
    // Classification trees over runs of mixed-field rules (control/classifier_tree.hpp); off
    // (with group_rules off) gives the plain linear program.
    bool classifier_trees = true;
    size_t min_tree_run = 0;  // 0: the measured default
};

// `state` must have identities assigned (every rule has a counter slot below `counter_slots`).
// Sets named by rules (state.sets) must have their maps (pinned or open).
Expected<CompiledProgram> compile_ruleset(const State& state, int counter_map_fd, uint32_t counter_slots,
                                          xdp::CounterMode mode, const std::string& program_name,
                                          const CompileOptions& options = {});

// Plans and generates what compile_ruleset loads, without loading it (a live group change
// compares the running program's layout and group contents with the next one's).
Expected<xdp::GeneratedProgram> generate_for_host(const State& state, uint32_t counter_slots, xdp::CounterMode mode,
                                                  const CompileOptions& options = {});

// Plans and generates without loading (for writing an object file): the same code
// compile_ruleset loads, with map index 0 the counter map of `counter_slots` slots. Interface
// names are resolved on this host.
Expected<xdp::GeneratedProgram> generate_ruleset(const State& state, uint32_t counter_slots, xdp::CounterMode mode);

// The same plan generated for an offload device: shared atomic counters (packed when the
// device holds fewer map entries than `counter_slots`), then the offload checker; a program
// the device would refuse is a bad_input error listing every violation.
Expected<offload::OffloadProgram> generate_offload_ruleset(const State& state, uint32_t counter_slots,
                                                           const offload::NfpProfile& profile);

// Slots a private counter map needs for `state` (fixed slots plus every rule's slot).
uint32_t counter_slots_needed(const State& state);

// A private (unpinned) per-CPU counter map and the program compiled against it.
struct PrivateProgram {
    Fd counters;
    CompiledProgram compiled;
    uint32_t counter_slots = 0;
};
Expected<PrivateProgram> compile_private(const State& state, const std::string& program_name,
                                        const CompileOptions& options = {});

}  // namespace xfw
