// counters: every rule's counters (and the fixed ones) for billing and monitoring.
#include "control/cli/commands.hpp"

#include "control/counter_export.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>

#include <cstdio>

namespace po = boost::program_options;

namespace xfw::cli {

Expected<CounterSnapshot> read_counter_snapshot(const Paths& paths, bool raw) {
    // The rules' stored text is all a snapshot needs: no parse of every rule on every scrape.
    auto fw = Firewall::open(paths, RuleForm::Text);
    if (!fw) return fw.error();
    if (Status s = fw->refresh_counters(); !s) return s.error();
    auto pick = [&](uint32_t slot) {
        const RuleCounters c = fw->slot_counters(slot);
        const xdp::CounterValue& v = raw ? c.raw : c.shown;
        return CounterPair{v.packets, v.bytes};
    };
    const State& state = fw->state();
    CounterSnapshot snapshot;
    snapshot.rules = listed_rules(state);
    for (CounterRow& row : snapshot.rules) {
        const CounterPair c = pick(state.slot_of_rule.at(row.id));
        row.packets = c.packets;
        row.bytes = c.bytes;
    }
    const Chain* input = state.ruleset.find(kInputChain);
    snapshot.input_policy = input && input->policy == Target::Kind::Drop ? "DROP" : "ACCEPT";
    snapshot.input_policy_counts = pick(xdp::kSlotPolicyInput);
    snapshot.errors = pick(xdp::kSlotError);
    snapshot.non_ip = pick(xdp::kSlotNonIp);
    // Wasm policies' trap counters and buckets, under their rules in listing order.
    for (const CounterRow& row : snapshot.rules) {
        const auto slots = state.policy_slots.find(row.id);
        if (slots == state.policy_slots.end()) continue;
        for (size_t k = 0; k < slots->second.size(); ++k) {
            const PolicySlots& ps = slots->second[k];
            PolicyCounterRow trap{row.chain, row.num, row.id, static_cast<uint32_t>(k + 1), true};
            const CounterPair t = pick(ps.trap);
            trap.packets = t.packets;
            trap.bytes = t.bytes;
            snapshot.policy_counters.push_back(trap);
            for (uint32_t b = 0; b < ps.bucket_count; ++b) {
                PolicyCounterRow bucket{row.chain, row.num, row.id, static_cast<uint32_t>(k + 1), false};
                bucket.bucket = ps.bucket_name(b);
                bucket.account = bucket.bucket;
                const CounterPair c = pick(ps.bucket_base + b);
                bucket.packets = c.packets;
                bucket.bytes = c.bytes;
                snapshot.policy_counters.push_back(bucket);
            }
        }
    }
    return snapshot;
}

int run_counters(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("counters options");
    desc.add_options()
        ("json", "print a JSON object")
        ("csv", "print CSV (RFC 4180)")
        ("prometheus", "print the Prometheus text format (always the raw, never reset counts)")
        ("raw", "the counts since each rule was created, ignoring -Z");
    // Object deployments (ip link ... obj F.o): counters from the interface's programs or a pin.
    for (const std::string& a : args)
        if (a == "--iface" || a == "--map" || a.rfind("--iface=", 0) == 0 || a.rfind("--map=", 0) == 0)
            return run_object_counters(paths, args);
    for (const std::string& a : args)
        if (a.empty() || a[0] != '-') return report(bad_input("counters: unexpected argument \"" + a + "\""));
    po::variables_map vm;
    try {
        // Options are spelled out in full: scripts should not depend on abbreviations.
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(desc).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("counters: ") + e.what()));
    }
    const int formats = static_cast<int>(vm.count("json") + vm.count("csv") + vm.count("prometheus"));
    if (formats > 1) return report(bad_input("counters: --json, --csv and --prometheus exclude each other"));
    const bool prometheus = vm.count("prometheus") > 0;
    // Prometheus counters must be monotonic: -Z does not apply to them.
    const bool raw = vm.count("raw") > 0 || prometheus;

    auto read = read_counter_snapshot(paths, raw);
    if (!read) return report(read.error());
    const CounterSnapshot& snapshot = *read;

    const std::string text = vm.count("json") ? format_counters_json(snapshot)
                             : vm.count("csv") ? format_counters_csv(snapshot)
                             : prometheus      ? format_counters_prometheus(snapshot)
                                               : format_counters_table(snapshot);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitRuntime;
}

}  // namespace xfw::cli
