// Usage reports from the ledger (see billing_report.hpp).
#include "control/billing_report.hpp"

#include "control/billing_time.hpp"
#include "control/counter_export.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <sstream>

namespace xfw {

using nlohmann::json;

bool counter_identity_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
        if (da && db) {
            size_t ei = i, ej = j;
            while (ei < a.size() && a[ei] >= '0' && a[ei] <= '9') ++ei;
            while (ej < b.size() && b[ej] >= '0' && b[ej] <= '9') ++ej;
            std::string na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
            na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
            nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

Expected<UsageReport> summarize_usage(const std::vector<LedgerRecord>& records, std::optional<int64_t> from,
                                      std::optional<int64_t> to) {
    UsageReport report;
    report.from = from;
    report.to = to;
    std::map<std::pair<std::string, std::string>, UsageLine> lines;
    std::string previous_generation;
    for (const LedgerRecord& r : records) {
        const bool in_period = (!from || r.time >= *from) && (!to || r.time < *to);
        const bool map_changed = !previous_generation.empty() && !r.generation.empty() &&
                                 r.generation != previous_generation;
        if (!r.generation.empty()) previous_generation = r.generation;
        if (!in_period) continue;
        if (report.snapshots == 0) {
            report.first_snapshot = r.time;
            report.covers_from = r.prev_time;
        }
        ++report.snapshots;
        report.last_snapshot = r.time;
        if (map_changed) ++report.resets;
        for (const LedgerRow& row : r.rows) {
            if (row.reset) ++report.resets;
            UsageLine& line = lines[{row.account, row.counter}];
            line.account = row.account;
            line.counter = row.counter;
            line.chain = row.chain;
            line.rule = row.rule;
            line.retired = line.retired || row.retired;
            if (__builtin_add_overflow(line.packets, row.packets, &line.packets) ||
                __builtin_add_overflow(line.bytes, row.bytes, &line.bytes))
                return bad_input("usage of " + row.counter + " passes 2^64 in this period; report shorter periods");
        }
    }
    for (auto& [key, line] : lines) report.lines.push_back(std::move(line));
    std::sort(report.lines.begin(), report.lines.end(), [](const UsageLine& a, const UsageLine& b) {
        if (a.account != b.account) return a.account < b.account;
        return counter_identity_less(a.counter, b.counter);
    });
    return report;
}

namespace {

struct AccountTotal {
    std::string account;
    uint64_t packets = 0, bytes = 0;
    const Rate* rate = nullptr;
    Cost cost = 0;
    std::vector<const UsageLine*> lines;
};

std::string period_text(const UsageReport& r) {
    return std::string("from ") + (r.from ? format_billing_time(*r.from) : "the first snapshot") + " to " +
           (r.to ? format_billing_time(*r.to) : "the last snapshot");
}

std::string pad(const std::string& s, size_t width, bool right = false) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

Expected<std::string> format_usage_report(const UsageReport& report, const RateCard* rates,
                                          const std::string& rates_name, ReportFormat format) {
    std::vector<AccountTotal> accounts;
    std::vector<std::string> unpriced;
    for (const UsageLine& l : report.lines) {
        if (accounts.empty() || accounts.back().account != l.account) {
            accounts.push_back({l.account});
            if (rates && !l.account.empty()) {
                accounts.back().rate = rates->find(l.account);
                if (!accounts.back().rate) unpriced.push_back(l.account);
            }
        }
        AccountTotal& a = accounts.back();
        if (__builtin_add_overflow(a.packets, l.packets, &a.packets) ||
            __builtin_add_overflow(a.bytes, l.bytes, &a.bytes))
            return bad_input("usage of account " + l.account + " passes 2^64 in this period; report shorter periods");
        if (a.rate) a.cost += cost_of(l.packets, l.bytes, *a.rate);
        a.lines.push_back(&l);
    }
    if (!unpriced.empty()) {
        std::string names;
        for (const std::string& n : unpriced) names += (names.empty() ? "" : ", ") + n;
        return bad_input(rates_name + " has no entry for account" + (unpriced.size() > 1 ? "s " : " ") + names +
                         " and no account=default entry");
    }
    uint64_t total_packets = 0, total_bytes = 0;
    Cost total_cost = 0;
    for (const AccountTotal& a : accounts) {
        if (__builtin_add_overflow(total_packets, a.packets, &total_packets) ||
            __builtin_add_overflow(total_bytes, a.bytes, &total_bytes))
            return bad_input("total usage passes 2^64 in this period; report shorter periods");
        total_cost += a.cost;
    }
    const bool priced = rates != nullptr;
    auto line_cost = [&](const AccountTotal& a, const UsageLine& l) -> std::string {
        return a.rate ? format_cost(cost_of(l.packets, l.bytes, *a.rate)) : "";
    };

    if (format == ReportFormat::Json) {
        json j;
        j["from"] = report.from ? json(format_billing_time(*report.from)) : json(nullptr);
        j["to"] = report.to ? json(format_billing_time(*report.to)) : json(nullptr);
        j["snapshots"] = report.snapshots;
        j["first_snapshot"] = report.snapshots ? json(format_billing_time(report.first_snapshot)) : json(nullptr);
        j["last_snapshot"] = report.snapshots ? json(format_billing_time(report.last_snapshot)) : json(nullptr);
        j["covers_from"] = report.snapshots && report.covers_from ? json(format_billing_time(report.covers_from))
                                                                  : json(nullptr);
        j["resets"] = report.resets;
        j["accounts"] = json::array();
        for (const AccountTotal& a : accounts) {
            json acc{{"account", sanitize_utf8(a.account)}, {"packets", a.packets}, {"bytes", a.bytes}};
            acc["cost"] = a.rate ? json(format_cost(a.cost)) : json(nullptr);
            acc["rate"] = a.rate ? json{{"per_million_packets", format_price(a.rate->per_million_packets)},
                                        {"per_gb", format_price(a.rate->per_gb)}}
                                 : json(nullptr);
            acc["counters"] = json::array();
            for (const UsageLine* l : a.lines) {
                json c{{"counter", sanitize_utf8(l->counter)}, {"chain", sanitize_utf8(l->chain)},
                       {"rule", sanitize_utf8(l->rule)}, {"packets", l->packets}, {"bytes", l->bytes},
                       {"retired", l->retired}};
                c["cost"] = a.rate ? json(line_cost(a, *l)) : json(nullptr);
                acc["counters"].push_back(std::move(c));
            }
            j["accounts"].push_back(std::move(acc));
        }
        j["total"] = {{"packets", total_packets}, {"bytes", total_bytes}};
        j["total"]["cost"] = priced ? json(format_cost(total_cost)) : json(nullptr);
        return j.dump(2) + "\n";
    }

    if (format == ReportFormat::Csv) {
        std::string out = "account,counter,chain,rule,packets,bytes,cost\r\n";
        for (const AccountTotal& a : accounts) {
            for (const UsageLine* l : a.lines)
                out += csv_field(a.account) + "," + csv_field(l->counter) + "," + csv_field(l->chain) + "," +
                       csv_field(l->rule) + "," + std::to_string(l->packets) + "," + std::to_string(l->bytes) + "," +
                       line_cost(a, *l) + "\r\n";
            out += csv_field(a.account) + ",total,,," + std::to_string(a.packets) + "," + std::to_string(a.bytes) +
                   "," + (a.rate ? format_cost(a.cost) : "") + "\r\n";
        }
        return out;
    }

    std::ostringstream out;
    out << "Usage " << period_text(report) << ": " << report.snapshots << " snapshot"
        << (report.snapshots == 1 ? "" : "s");
    if (report.snapshots)
        out << ", intervals " << (report.covers_from ? format_billing_time(report.covers_from) : "(start)") << " to "
            << format_billing_time(report.last_snapshot);
    out << "\n";
    if (report.resets)
        out << "Counter resets in this period: " << report.resets
            << " (usage between the snapshot before a reset and the reset itself is not in the ledger)\n";
    size_t wa = 7, wc = 7, wch = 5, wp = 7, wb = 5, wcost = 4;
    for (const AccountTotal& a : accounts) {
        wa = std::max(wa, a.account.empty() ? size_t{1} : a.account.size());
        wp = std::max(wp, std::to_string(a.packets).size());
        wb = std::max(wb, std::to_string(a.bytes).size());
        if (a.rate) wcost = std::max(wcost, format_cost(a.cost).size());
        for (const UsageLine* l : a.lines) {
            wc = std::max(wc, l->counter.size());
            wch = std::max(wch, l->chain.size());
        }
    }
    wp = std::max(wp, std::to_string(total_packets).size());
    wb = std::max(wb, std::to_string(total_bytes).size());
    if (priced) wcost = std::max(wcost, format_cost(total_cost).size());
    auto row = [&](const std::string& acc, const std::string& counter, const std::string& chain, uint64_t p,
                   uint64_t b, const std::string& cost, const std::string& rule) {
        out << pad(acc, wa) << "  " << pad(counter, wc) << "  " << pad(chain, wch) << "  "
            << pad(std::to_string(p), wp, true) << "  " << pad(std::to_string(b), wb, true);
        if (priced) out << "  " << pad(cost, wcost, true);
        out << (rule.empty() ? "" : "  " + rule) << "\n";
    };
    out << pad("ACCOUNT", wa) << "  " << pad("COUNTER", wc) << "  " << pad("CHAIN", wch) << "  "
        << pad("PACKETS", wp, true) << "  " << pad("BYTES", wb, true);
    if (priced) out << "  " << pad("COST", wcost, true);
    out << "  RULE\n";
    for (const AccountTotal& a : accounts) {
        const std::string name = a.account.empty() ? "-" : a.account;
        for (const UsageLine* l : a.lines)
            row(name, l->counter, l->chain, l->packets, l->bytes, a.rate ? line_cost(a, *l) : (priced ? "-" : ""),
                sanitize_utf8(l->rule) + (l->retired ? " (removed)" : ""));
        row(name, "total", "", a.packets, a.bytes, a.rate ? format_cost(a.cost) : (priced ? "-" : ""), "");
    }
    row("all", "total", "", total_packets, total_bytes, priced ? format_cost(total_cost) : "", "");
    return out.str();
}

}  // namespace xfw
