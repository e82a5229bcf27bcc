// What `xfw billing snapshot` bills: every counter that can carry usage, each under a counter
// identity string that stays the same for the counter's whole life. The ledger is keyed by
// these identities only, so every kind of counter (rules, Wasm policy traps and buckets, the
// fixed counters) is billed the same way, with no change to the ledger format or the report.
#pragma once

#include "control/firewall.hpp"

#include <string>
#include <vector>

namespace xfw {

struct BillableCounter {
    std::string identity;     // "rule:<id>", "trap:<id>", "bucket:<id>:<name>", "policy:INPUT", ...
    std::string account;      // "" when the counter names none
    std::string chain;        // where it lives, for people reading reports ("" for fixed counters)
    std::string description;  // the rule's spec, or what the counter counts
    std::string generation;   // counter map generation `value` was read in
    xdp::CounterValue value;  // counts since the counter was created (never reset)
    bool retired = false;     // the rule was removed; `value` is its final count
};

// Identity strings. A rule's Wasm policies are numbered from 1 in Rule::policies() order; the
// first one's counters are "trap:<rule-id>" and "bucket:<rule-id>:<name>", policy k > 1's
// "trap:<rule-id>/<k>" and "bucket:<rule-id>/<k>:<name>" (the owner part never holds ':', so
// any bucket name keeps identities distinct).
std::string rule_counter_identity(uint64_t rule_id);
std::string trap_counter_identity(uint64_t rule_id, size_t policy_index);
std::string bucket_counter_identity(uint64_t rule_id, size_t policy_index, const std::string& bucket);
// The identity a retired counter is billed under, and the counter it is billed as.
std::string retired_counter_identity(const RetiredRule& r);
BillableCounter retired_billable_counter(const RetiredRule& r);

// The trap counter and buckets of one rule's policies, in slot order. A bucket bills to the
// account it is named after, as `xfw counters` labels it (a meter such as
// `tenant_acme` splits one rule's traffic between customers); a trap counter bills to none.
struct PolicyCounter {
    std::string identity;
    std::string account;
    std::string description;  // "policy 1 bucket NAME: <rule spec>", "policy 1 traps: <rule spec>"
    uint32_t slot = 0;
};
std::vector<PolicyCounter> rule_policy_counters(const State& state, uint64_t rule_id, const std::string& spec);

// Every billable counter of the state `fw` holds, with values from its last
// refresh_counters(): live rules in listing order, each followed by its policies' trap
// counters and buckets, the fixed counters (INPUT policy, malformed headers, non-IP), then
// retired counters not yet forgotten. Identities are distinct.
std::vector<BillableCounter> billable_counters(const Firewall& fw);

}  // namespace xfw
