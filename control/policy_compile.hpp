// The one place the control plane calls the Wasm front end: a rule's policy compiled with the
// rule's options, its buckets given counter slots, and the planner's policy source.
#pragma once

#include "control/state_store.hpp"
#include "wasm-policy/policy_compiler.hpp"
#include "xdp/error.hpp"
#include "xdp/plan.hpp"

#include <functional>

namespace xfw {

// Compiles policy `ref` (its module bytes must be loaded) with the rule's --func, --buckets
// and --fuel.
Expected<wasm::CompiledPolicy> compile_rule_policy(const PolicyRef& ref, wasm::Target target);

// Compiles every policy of `state` to learn its buckets, gives each its counter slots and
// forgets the slots of policies that are gone. Errors name the chain, rule and policy.
Status assign_all_policy_slots(State& state, wasm::Target target = wasm::Target::Native);

// PlanInputs::policy_of for `state` (slots from assign_all_policy_slots).
std::function<Expected<xdp::PlanPolicy>(const Rule&, size_t)> policy_source(const State& state,
                                                                            wasm::Target target);

}  // namespace xfw
