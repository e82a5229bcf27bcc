// The planner: lowers the policy IR to the data-plane plan. Chains are flattened (user chains
// inlined at each jump, RETURN resolved), rules become conjunctions of primitive tests, and
// each rule is given its counter slot.
#pragma once

#include "control/ruleset.hpp"
#include "xdp/error.hpp"
#include "xdp/plan.hpp"

#include <functional>
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
};

// Lowers the rules of one rule to tests; empty optional when the rule can never match.
std::optional<std::vector<xdp::Test>> lower_rule_tests(const Rule& rule, const PlanInputs& inputs);

Expected<xdp::Plan> plan_ruleset(const Ruleset& ruleset, const PlanInputs& inputs);

// Interface resolution against the running system (if_nameindex).
std::vector<uint32_t> resolve_interface_on_host(const std::string& name);

}  // namespace xfw
