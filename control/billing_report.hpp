// `xfw billing report`: usage per account and counter over a period, summed from ledger
// records, optionally priced with a rate card, as a table, CSV or JSON. Pure functions of the
// records (no BPF, no state lock).
#pragma once

#include "control/billing_ledger.hpp"
#include "control/billing_rates.hpp"
#include "xdp/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xfw {

struct UsageLine {
    std::string account;  // "" for counters without one (policy, errors, unlabelled rules)
    std::string counter;
    std::string chain;
    std::string rule;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool retired = false;  // the rule was removed (its final counts are included)
    bool operator==(const UsageLine&) const = default;
};

struct UsageReport {
    std::optional<int64_t> from, to;  // the period asked for: from <= snapshot time < to
    size_t snapshots = 0;             // snapshots in the period
    int64_t first_snapshot = 0, last_snapshot = 0;
    int64_t covers_from = 0;          // start of the first snapshot's interval (0: none before it)
    size_t resets = 0;                // counter map changes and counter resets seen in the period
    std::vector<UsageLine> lines;     // by account, then counter identity (numbers in order)
};

// Sums the rows of the records whose time is in [from, to). A snapshot's usage belongs to the
// period containing its time (the end of its interval). Fails if a sum passes 2^64.
Expected<UsageReport> summarize_usage(const std::vector<LedgerRecord>& records, std::optional<int64_t> from,
                                      std::optional<int64_t> to);

enum class ReportFormat { Table, Csv, Json };

// `rates` null: no prices. With rates, every account with usage needs an entry or a default
// (else a bad-input error naming the accounts and `rates_name`); usage without an account is
// never priced.
Expected<std::string> format_usage_report(const UsageReport& report, const RateCard* rates,
                                          const std::string& rates_name, ReportFormat format);

// Orders counter identities with numbers compared as numbers ("rule:9" < "rule:10").
bool counter_identity_less(const std::string& a, const std::string& b);

}  // namespace xfw
