// save and restore in iptables-save format.
#include "control/cli/commands.hpp"

#include "control/restore_file.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace xfw::cli {

int run_save(const Paths& paths, const std::vector<std::string>& args) {
    bool counters = false;
    std::optional<Family> family;
    for (const std::string& a : args) {
        if (a == "-c" || a == "--counters") counters = true;
        else if ((a == "-4" || a == "--ipv4" || a == "-6" || a == "--ipv6") && family)
            return report(bad_input("save: -4 and -6 exclude each other"));
        else if (a == "-4" || a == "--ipv4") family = Family::V4;
        else if (a == "-6" || a == "--ipv6") family = Family::V6;
        else if (a == "-t" || a == "--table" || a == "filter") continue;
        else return report(bad_input("save: unexpected argument \"" + a + "\""));
    }
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    PolicyCounters policy;
    CounterLookup rules;
    if (counters) {
        if (Status s = fw->refresh_counters(); !s) return report(s.error());
        policy = [&](const std::string& chain) -> std::pair<uint64_t, uint64_t> {
            if (chain != kInputChain) return {0, 0};
            auto c = fw->slot_counters(xdp::kSlotPolicyInput);
            return {c.shown.packets, c.shown.bytes};
        };
        rules = [&](const Rule& r) -> std::pair<uint64_t, uint64_t> {
            auto c = fw->rule_counters(r);
            return c ? std::pair{c->shown.packets, c->shown.bytes} : std::pair<uint64_t, uint64_t>{0, 0};
        };
    }
    const Ruleset& all = fw->state().ruleset;
    std::fputs(format_save(family ? rules_for_family(all, *family) : all, policy, rules).c_str(), stdout);
    return kExitOk;
}

int run_restore(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("restore options");
    desc.add_options()
        ("noflush,n", "add to the current ruleset instead of replacing it")
        ("ipv4,4", "rules that imply no family apply to IPv4 only (an iptables-save file)")
        ("ipv6,6", "rules that imply no family apply to IPv6 only (an ip6tables-save file)")
        ("file", po::value<std::string>()->default_value("-"), "input file, - for standard input");
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("restore: ") + e.what()));
    }
    if (vm.count("ipv4") && vm.count("ipv6")) return report(bad_input("restore: -4 and -6 exclude each other"));
    RestoreOptions options;
    options.noflush = vm.count("noflush") > 0;
    if (vm.count("ipv4")) options.family_hint = Family::V4;
    if (vm.count("ipv6")) options.family_hint = Family::V6;

    const std::string file = vm["file"].as<std::string>();
    std::stringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(file);
        if (!in) return report(bad_input("restore: cannot read " + file));
        text << in.rdbuf();
    }
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    auto next = parse_restore(text.str(), fw->state().ruleset, options);
    if (!next) {
        Error e = next.error();
        if (file != "-") e.message = file + ": " + e.message;
        return report(e);
    }
    carry_identities(fw->state().ruleset, *next);
    if (Status s = fw->commit(std::move(next).value()); !s) return report(s.error());
    return kExitOk;
}

}  // namespace xfw::cli
