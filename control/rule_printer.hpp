// Prints the policy IR the way iptables does: iptables-save rule specs, `-L` tables and `-S`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/ruleset.hpp"

namespace xfw {

// `xfw -L` flags, as in iptables: -v, -n, -x, --line-numbers.
struct ListOptions {
    bool verbose = false;
    bool numeric = false;
    bool exact = false;
    bool line_numbers = false;
    bool operator==(const ListOptions&) const = default;
};

// {packets, bytes} for a rule (the caller maps Rule::id to its counters) and for a built-in
// chain's policy (by chain name). An empty std::function means "all zero".
using CounterLookup = std::function<std::pair<uint64_t, uint64_t>(const Rule&)>;
using PolicyCounterLookup = std::function<std::pair<uint64_t, uint64_t>(const std::string& chain)>;

// Extra counted lines under a rule in `-L -v` (e.g. a Wasm policy's buckets and traps): each
// prints its counters in the rule's columns, then its label.
struct RuleNote {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::string label;  // "bucket tenant_a (policy 1)"
};
using RuleNoteLookup = std::function<std::vector<RuleNote>(const Rule&)>;

// The rule exactly as iptables-save prints it after "-A CHAIN " (empty for a rule with no
// options at all), e.g. "-s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT".
std::string format_rule_spec(const Rule& rule);

// "10.1.2.3/32", "2001:db8::/32".
std::string format_cidr(const Cidr& cidr);

// iptables-save's quoting of a string argument (only when needed; '"', '\'' and '\\' escaped).
std::string quote_argument(const std::string& text);

// Built-ins first (INPUT, FORWARD, OUTPUT), then user chains sorted by name, as iptables lists.
std::vector<const Chain*> chains_in_listing_order(const Ruleset& rs);

// Number of rules (in any chain) that jump to `chain`.
std::size_t chain_references(const Ruleset& rs, const std::string& chain);

// `xfw -L [CHAIN]` in iptables' layout. Addresses are always printed numerically ("anywhere"
// for /0 unless -n); port and ICMP names come from built-in tables. Returns "" for an unknown
// chain: the caller checks the command first (apply_command does).
std::string format_listing(const Ruleset& rs, const std::optional<std::string>& chain,
                           const ListOptions& options, const CounterLookup& rule_counters = {},
                           const PolicyCounterLookup& policy_counters = {},
                           const RuleNoteLookup& rule_notes = {});

// `xfw -S [CHAIN]`: "-P INPUT ACCEPT", "-N chain", "-A INPUT ...". With -v, iptables'
// "-c PKTS BYTES" counters.
std::string format_rules_S(const Ruleset& rs, const std::optional<std::string>& chain,
                           const ListOptions& options = {}, const CounterLookup& rule_counters = {},
                           const PolicyCounterLookup& policy_counters = {});

}  // namespace xfw
