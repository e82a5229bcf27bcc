// billing snapshot | report: the usage ledger (control/billing_ledger.hpp) and reports from it.
#include "control/cli/commands.hpp"

#include "control/billing_counters.hpp"
#include "control/billing_ledger.hpp"
#include "control/billing_rates.hpp"
#include "control/billing_report.hpp"
#include "control/billing_time.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

constexpr const char* kBillingUsage =
    "usage: xfw billing snapshot\n"
    "       xfw billing report [--from T] [--to T] [--rates FILE] [--format table|csv|json]\n";

Expected<po::variables_map> parse_options(const po::options_description& desc, const std::vector<std::string>& args,
                                          const std::string& command) {
    for (const std::string& a : args)
        if (a.empty() || a[0] != '-') return bad_input(command + ": unexpected argument \"" + a + "\"");
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(desc).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return bad_input(command + ": " + e.what());
    }
    return vm;
}

// Bills the usage since the last snapshot. Order matters for crash safety, all under the state
// lock: (1) the retired rules' final counts as read now are saved, so the ledger never bills
// more than the state can vouch for after a crash; (2) one ledger line is appended and synced:
// from here the interval is billed; (3) retired rules whose final counts the ledger now holds
// are forgotten. A crash before (2) completes bills nothing (the next snapshot covers the
// interval); a crash after it leaves rules that the next snapshot finds fully billed.
int run_snapshot(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("billing snapshot options");
    auto vm = parse_options(desc, args, "billing snapshot");
    if (!vm) return report(vm.error());

    // Billing reads rules, it does not compile them: their stored text is enough.
    auto fw = Firewall::open(paths, RuleForm::Text);
    if (!fw) return report(fw.error());
    // The ledger is read (and checked) before anything changes.
    auto ledger = LedgerWriter::open(paths.state_dir);
    if (!ledger) return report(ledger.error());
    if (Status s = fw->refresh_counters(); !s) return report(s.error());
    if (Status s = fw->save_retired([](const RetiredRule&) { return false; }); !s) return report(s.error());

    const std::vector<BillableCounter> counters = billable_counters(*fw);
    // A clock set back never makes a snapshot older than the one before it.
    const int64_t now = std::max<int64_t>(static_cast<int64_t>(std::time(nullptr)), ledger->last_time());
    auto record = make_snapshot_record(ledger->marks(), counters, ledger->last_seq() + 1, now, ledger->last_time(),
                                       fw->live_generation());
    if (!record) return report(record.error());
    for (const std::string& note : ledger->notes()) std::fprintf(stderr, "xfw: note: %s\n", note.c_str());
    if (Status s = ledger->append(*record, counters); !s) return report(s.error());

    const CounterMarks& marks = ledger->marks();
    Status forgot = fw->save_retired([&](const RetiredRule& r) {
        // Billed: the ledger's mark is the final count (a rule that never counted has no mark).
        auto it = marks.find(retired_counter_identity(r));
        const bool nothing = r.final.packets == 0 && r.final.bytes == 0;
        const bool billed = nothing || (it != marks.end() && it->second.generation == r.generation &&
                                        it->second.value.packets == r.final.packets &&
                                        it->second.value.bytes == r.final.bytes);
        return billed;
    });
    if (!forgot) return report(forgot.error());

    uint64_t packets = 0, bytes = 0;
    for (const LedgerRow& r : record->rows) {
        packets += r.packets;
        bytes += r.bytes;
    }
    std::printf("snapshot %llu at %s: %zu counters with usage, %llu packets, %llu bytes%s\n",
                static_cast<unsigned long long>(record->seq), format_billing_time(record->time).c_str(),
                record->rows.size(), static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
                fw->live_generation().empty() ? " (no counter map: nothing attached since boot)" : "");
    return std::fflush(stdout) == 0 ? kExitOk : kExitRuntime;
}

int run_report(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("billing report options");
    desc.add_options()
        ("from", po::value<std::string>(), "first time of the period (snapshots at or after it)")
        ("to", po::value<std::string>(), "end of the period (snapshots before it)")
        ("rates", po::value<std::string>(), "rate card file: prices per account")
        ("format", po::value<std::string>()->default_value("table"), "table, csv or json");
    std::vector<std::string> flat;  // "--from" "X" pairs are fine; values may not start with '-'
    for (size_t i = 0; i < args.size(); ++i) {
        flat.push_back(args[i]);
        if ((args[i] == "--from" || args[i] == "--to" || args[i] == "--rates" || args[i] == "--format") &&
            i + 1 < args.size())
            flat.back() += "=" + args[++i];
    }
    auto vm = parse_options(desc, flat, "billing report");
    if (!vm) return report(vm.error());

    std::optional<int64_t> from, to;
    if (vm->count("from")) {
        auto t = parse_billing_time((*vm)["from"].as<std::string>());
        if (!t) return report(bad_input("billing report: --from: " + t.error().message));
        from = *t;
    }
    if (vm->count("to")) {
        auto t = parse_billing_time((*vm)["to"].as<std::string>());
        if (!t) return report(bad_input("billing report: --to: " + t.error().message));
        to = *t;
    }
    if (from && to && *to <= *from) return report(bad_input("billing report: --to must be after --from"));
    const std::string format_name = (*vm)["format"].as<std::string>();
    ReportFormat format;
    if (format_name == "table") format = ReportFormat::Table;
    else if (format_name == "csv") format = ReportFormat::Csv;
    else if (format_name == "json") format = ReportFormat::Json;
    else return report(bad_input("billing report: --format " + format_name + ": use table, csv or json"));
    std::optional<RateCard> rates;
    std::string rates_name;
    if (vm->count("rates")) {
        rates_name = (*vm)["rates"].as<std::string>();
        auto card = read_rate_card(rates_name);
        if (!card) return report(card.error());
        rates = std::move(card).value();
    }

    // Read-only: no lock needed; a snapshot being appended shows as an incomplete last line.
    const std::string path = ledger_path(paths.state_dir);
    auto ledger = read_ledger(path);
    if (!ledger) return report(ledger.error());
    if (ledger->incomplete_tail)
        std::fprintf(stderr, "xfw: note: %s ends with an incomplete line (a snapshot being written or "
                             "interrupted); it is not part of this report\n", path.c_str());
    auto usage = summarize_usage(ledger->records, from, to);
    if (!usage) return report(usage.error());
    auto text = format_usage_report(*usage, rates ? &*rates : nullptr, rates_name, format);
    if (!text) return report(text.error());
    std::fwrite(text->data(), 1, text->size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitRuntime;
}

}  // namespace

int run_billing(const Paths& paths, const std::vector<std::string>& args) {
    if (args.empty()) {
        std::fputs(kBillingUsage, stderr);
        return kExitBadInput;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "snapshot") return run_snapshot(paths, rest);
    if (args[0] == "report") return run_report(paths, rest);
    return report(bad_input("billing: unknown sub-command \"" + args[0] + "\" (snapshot or report)"));
}

}  // namespace xfw::cli
