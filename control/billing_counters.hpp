// What `xfw billing snapshot` bills: every counter that can carry usage, each under a counter
// identity string that stays the same for the counter's whole life. The ledger is keyed by
// these identities only, so new kinds of counters (e.g. Wasm policy buckets,
// "bucket:<rule-id>:<name>") slot in by being added to billable_counters(), with no change
// to the ledger format or the report.
#pragma once

#include "control/firewall.hpp"

#include <string>
#include <vector>

namespace xfw {

struct BillableCounter {
    std::string identity;     // "rule:<id>", "policy:INPUT", "errors", "non_ip", ...
    std::string account;      // "" when the counter names none
    std::string chain;        // where it lives, for people reading reports ("" for fixed counters)
    std::string description;  // the rule's spec, or what the counter counts
    std::string generation;   // counter map generation `value` was read in
    xdp::CounterValue value;  // counts since the counter was created (never reset)
    bool retired = false;     // the rule was removed; `value` is its final count
};

// Identity strings.
std::string rule_counter_identity(uint64_t rule_id);

// Every billable counter of the state `fw` holds, with values from its last
// refresh_counters(): live rules in listing order, the fixed counters (INPUT policy,
// malformed headers, non-IP), then retired rules not yet forgotten. Identities are distinct.
std::vector<BillableCounter> billable_counters(const Firewall& fw);

}  // namespace xfw
