// Policies of rules: compile, slots, plan entries.
#include "control/policy_compile.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

namespace xfw {

Expected<wasm::CompiledPolicy> compile_rule_policy(const PolicyRef& ref, wasm::Target target) {
    if (!ref.module) return runtime_error("internal: policy " + ref.path + " has no module loaded");
    wasm::PolicyOptions options;
    options.function = ref.function_name();
    options.buckets = ref.buckets;
    if (ref.fuel) options.fuel = *ref.fuel;
    options.target = target;
    // A commit compiles each policy twice (slots need its buckets before the plan exists, then
    // the planner needs its code); the result depends only on the module and these options,
    // so the second compile (a child process and binaryen's passes) reuses the first.
    using Key = std::tuple<std::string, std::string, std::optional<uint32_t>, uint32_t, wasm::Target>;
    static std::mutex mutex;
    static std::map<Key, wasm::CompiledPolicy> compiled;
    const Key key{ref.digest, options.function, options.buckets, options.fuel, target};
    std::lock_guard lock(mutex);
    if (!ref.digest.empty())
        if (auto it = compiled.find(key); it != compiled.end()) return it->second;
    auto result = wasm::compile_policy(*ref.module, options, ref.path);
    if (result && !ref.digest.empty()) compiled.emplace(key, *result);
    return result;
}

Status assign_all_policy_slots(State& state, wasm::Target target) {
    drop_stale_policy_slots(state);
    for (const Chain& chain : state.ruleset.chains)
        for (size_t i = 0; i < chain.rules.size(); ++i) {
            const Rule& rule = chain.rules[i];
            const auto policies = rule.policies();
            for (size_t k = 0; k < policies.size(); ++k) {
                auto compiled = compile_rule_policy(*policies[k], target);
                if (!compiled)
                    return Error{chain.name + " rule " + std::to_string(i + 1) + ": " + compiled.error().message,
                                 compiled.error().exit_code};
                assign_policy_slots(state, rule.id, k, compiled->bucket_names);
            }
        }
    return {};
}

std::function<Expected<xdp::PlanPolicy>(const Rule&, size_t)> policy_source(const State& state,
                                                                            wasm::Target target) {
    return [&state, target](const Rule& rule, size_t index) -> Expected<xdp::PlanPolicy> {
        const auto policies = rule.policies();
        const auto slots = state.policy_slots.find(rule.id);
        if (index >= policies.size() || slots == state.policy_slots.end() || index >= slots->second.size())
            return runtime_error("internal: policy " + std::to_string(index + 1) + " has no counter slots");
        auto compiled = compile_rule_policy(*policies[index], target);
        if (!compiled) return compiled.error();
        const PolicySlots& ps = slots->second[index];
        if (compiled->bucket_names.size() != ps.bucket_count)
            return runtime_error("internal: policy " + policies[index]->path + " changed its bucket count");
        xdp::PlanPolicy p;
        p.code = compiled->code;
        p.trap_slot = ps.trap;
        p.bucket_base_slot = ps.bucket_base;
        p.bucket_count = ps.bucket_count;
        return p;
    };
}

}  // namespace xfw
