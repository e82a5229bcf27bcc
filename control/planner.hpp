// The planner: lowers the policy IR to the data-plane plan. Chains are flattened (user chains
// inlined at each jump, RETURN resolved), rules become conjunctions of primitive tests, and
// each rule is given its counter slot.
#pragma once

#include "control/ruleset.hpp"
#include "control/set_types.hpp"
#include "xdp/error.hpp"
#include "xdp/plan.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xfw {

struct PlanInputs {
    // Counter slot of a rule (by its stable id).
    std::function<uint32_t(const Rule&)> slot_of;
    // Interface names to ifindexes; a name ending in '+' matches every interface with that
    // prefix. Interfaces that do not exist resolve to nothing (the rule cannot match them).
    std::function<std::vector<uint32_t>(const std::string& name)> resolve_interface;
    uint32_t counter_slots = 0;
    // The code and counter slots of policy `index` (Rule::policies() order) of `rule`; needed
    // only by rulesets with policies.
    std::function<Expected<xdp::PlanPolicy>(const Rule& rule, size_t index)> policy_of;
    // Sets -m set may name (a rule naming another set is refused).
    const SetBindings* sets = nullptr;
    // Map-backed rule groups (control/rule_groups.hpp): runs of rules that differ in one
    // exact-match key become one map lookup. Off for targets whose counters need a constant
    // slot per rule (offload) or that cannot carry map contents (object files).
    bool group_rules = true;
    size_t min_group_run = 0;  // 0: the measured default (kDefaultMinGroupRun)
    // Classification trees (control/classifier_tree.hpp) over runs of mixed-field rules left
    // after grouping. Off for offload: the NFP runs no long jumps and holds few instructions,
    // and a tree copies rules into several leaves.
    bool classifier_trees = true;
    size_t min_tree_run = 0;  // 0: the measured default (TreeOptions::min_run)
    // Offload targets: no LPM tries (sets of hash:net types are refused).
    bool offload = false;
};

// Lowers the rules of one rule to tests; empty optional when the rule can never match. A
// TestPolicy's `policy` is the policy's index in Rule::policies() (plan_ruleset maps it to the
// plan's policy list).
std::optional<std::vector<xdp::Test>> lower_rule_tests(const Rule& rule, const PlanInputs& inputs);

Expected<xdp::Plan> plan_ruleset(const Ruleset& ruleset, const PlanInputs& inputs);

// Interface resolution against the running system (if_nameindex).
std::vector<uint32_t> resolve_interface_on_host(const std::string& name);

}  // namespace xfw
