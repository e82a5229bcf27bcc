// `xfw counters`: the per-rule counters as billing and monitoring systems read them. The
// command takes a snapshot (rules in listing order with their counts, plus the fixed
// counters); everything here is pure formatting of that snapshot, with no BPF involved.
#pragma once

#include "control/ruleset.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace xfw {

struct CounterPair {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool operator==(const CounterPair&) const = default;
};

struct CounterRow {
    std::string chain;
    uint32_t num = 0;      // 1-based position in the chain
    uint64_t id = 0;       // the rule's stable identity
    std::string spec;      // iptables-save text after "-A CHAIN "
    std::string account;   // from "-m comment --comment account=NAME", else empty
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool operator==(const CounterRow&) const = default;
};

// A counter of a rule's Wasm policy: its traps, or one of its buckets.
struct PolicyCounterRow {
    std::string chain;
    uint32_t num = 0;       // the rule's position
    uint64_t id = 0;        // the rule's identity
    uint32_t policy = 0;    // 1-based, in the rule's evaluation order
    bool trap = false;      // the trap counter (else a bucket)
    std::string bucket;     // bucket name
    std::string account;    // a bucket bills to the account it is named after
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool operator==(const PolicyCounterRow&) const = default;
};

struct CounterSnapshot {
    std::vector<CounterRow> rules;
    std::vector<PolicyCounterRow> policy_counters;  // in rule listing order
    std::string input_policy = "ACCEPT";  // INPUT's policy target
    CounterPair input_policy_counts;
    CounterPair errors;   // malformed / truncated headers
    CounterPair non_ip;   // non-IP frames (passed)
};

// The account named by a comment: the first word "account=NAME" in it (words are separated
// by blanks, ',' or ';'), NAME being the rest of that word. "" when there is none.
std::string parse_account(const std::string& comment);
// The account of a rule: the first of its comments that names one.
std::string rule_account(const Rule& rule);

// The snapshot of `rs`: every rule of every chain in listing order (built-ins first, then user
// chains by name), counts from `rule_counts`, the fixed counters as given.
CounterSnapshot make_counter_snapshot(const Ruleset& rs,
                                      const std::function<CounterPair(const Rule&)>& rule_counts,
                                      CounterPair input_policy, CounterPair errors, CounterPair non_ip);

// An aligned text table (one line per rule) followed by the policy, malformed-header and
// non-IP counters.
std::string format_counters_table(const CounterSnapshot& s);
// {"rules":[{chain,num,id,spec,account,packets,bytes}...],"policy":{"INPUT":{target,packets,
// bytes}},"errors":{packets,bytes},"non_ip":{packets,bytes}}, pretty-printed, with a final
// newline. Bytes that are not UTF-8 are replaced by U+FFFD.
std::string format_counters_json(const CounterSnapshot& s);
// RFC 4180: CRLF line ends, header "chain,num,id,account,packets,bytes,spec"; fields with a
// comma, double quote, CR or LF are quoted, embedded quotes doubled. Rules only.
std::string format_counters_csv(const CounterSnapshot& s);
// Prometheus text exposition format 0.0.4. The caller passes raw (never reset) counts:
// counters must be monotonic.
std::string format_counters_prometheus(const CounterSnapshot& s);

// Helpers, exposed for tests.
std::string csv_field(const std::string& field);
// A Prometheus label value's contents (without the surrounding quotes): '\\', '"' and newline
// escaped, bytes that are not UTF-8 replaced by U+FFFD.
std::string prometheus_label_value(const std::string& value);
// `text` with every byte sequence that is not well-formed UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(const std::string& text);

}  // namespace xfw
