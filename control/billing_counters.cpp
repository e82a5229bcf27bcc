// The enumeration of billable counters (see billing_counters.hpp).
#include "control/billing_counters.hpp"

#include "xdp/plan.hpp"

namespace xfw {

namespace {

std::string policy_owner(uint64_t rule_id, size_t policy_index) {
    std::string owner = std::to_string(rule_id);
    if (policy_index > 0) owner += "/" + std::to_string(policy_index + 1);
    return owner;
}

}  // namespace

std::string rule_counter_identity(uint64_t rule_id) { return "rule:" + std::to_string(rule_id); }

std::string trap_counter_identity(uint64_t rule_id, size_t policy_index) {
    return "trap:" + policy_owner(rule_id, policy_index);
}

std::string bucket_counter_identity(uint64_t rule_id, size_t policy_index, const std::string& bucket) {
    return "bucket:" + policy_owner(rule_id, policy_index) + ":" + bucket;
}

std::string retired_counter_identity(const RetiredRule& r) {
    return r.counter.empty() ? rule_counter_identity(r.id) : r.counter;
}

BillableCounter retired_billable_counter(const RetiredRule& r) {
    return {retired_counter_identity(r), r.account, r.chain, r.spec, r.generation, r.final, true};
}

std::vector<PolicyCounter> rule_policy_counters(const State& state, uint64_t rule_id, const std::string& spec) {
    std::vector<PolicyCounter> out;
    const auto slots = state.policy_slots.find(rule_id);
    if (slots == state.policy_slots.end()) return out;
    for (size_t k = 0; k < slots->second.size(); ++k) {
        const PolicySlots& ps = slots->second[k];
        const std::string policy = "policy " + std::to_string(k + 1);
        out.push_back({trap_counter_identity(rule_id, k), "", policy + " traps: " + spec, ps.trap});
        for (uint32_t b = 0; b < ps.bucket_count; ++b) {
            const std::string name = ps.bucket_name(b);
            out.push_back({bucket_counter_identity(rule_id, k, name), name, policy + " bucket " + name + ": " + spec,
                           ps.bucket_base + b});
        }
    }
    return out;
}

std::vector<BillableCounter> billable_counters(const Firewall& fw) {
    const State& state = fw.state();
    const std::string& generation = fw.live_generation();
    std::vector<BillableCounter> out;
    // Rules in listing order (as `xfw counters` lists them), so ledger lines read like -L.
    for (CounterRow& r : listed_rules(state)) {
        BillableCounter b;
        b.identity = rule_counter_identity(r.id);
        b.account = std::move(r.account);
        b.chain = r.chain;
        b.description = std::move(r.spec);
        b.generation = generation;
        b.value = fw.slot_counters(state.slot_of_rule.at(r.id)).raw;
        std::vector<PolicyCounter> policy = rule_policy_counters(state, r.id, b.description);
        out.push_back(std::move(b));
        for (PolicyCounter& p : policy)
            out.push_back({std::move(p.identity), std::move(p.account), r.chain, std::move(p.description), generation,
                           fw.slot_counters(p.slot).raw});
    }
    auto fixed = [&](const char* identity, const char* chain, const char* description, uint32_t slot) {
        BillableCounter b;
        b.identity = identity;
        b.chain = chain;
        b.description = description;
        b.generation = generation;
        b.value = fw.slot_counters(slot).raw;
        out.push_back(std::move(b));
    };
    fixed("policy:INPUT", "INPUT", "policy", xdp::kSlotPolicyInput);
    fixed("errors", "", "malformed headers", xdp::kSlotError);
    fixed("non_ip", "", "non-IP frames", xdp::kSlotNonIp);
    for (const RetiredRule& r : state.retired) out.push_back(retired_billable_counter(r));
    return out;
}

}  // namespace xfw
