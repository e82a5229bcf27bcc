// attach, detach, status, reload: where the firewall runs.
#include "control/cli/commands.hpp"

#include "xdp/plan.hpp"

#include <boost/program_options.hpp>

#include <cstdio>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

// Parses `args` with `desc`, one positional IFACE; errors name the offending token.
Expected<po::variables_map> parse_iface_args(const std::vector<std::string>& args, po::options_description desc,
                                             const char* command) {
    desc.add_options()("iface", po::value<std::string>(), "interface name");
    po::positional_options_description pos;
    pos.add("iface", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return bad_input(std::string(command) + ": " + e.what());
    }
    if (!vm.count("iface")) return bad_input(std::string(command) + ": missing interface name (xfw " + command + " IFACE)");
    return vm;
}

}  // namespace

int run_attach(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("attach options");
    desc.add_options()("mode", po::value<std::string>()->default_value("native"), "native|generic|offload");
    auto vm = parse_iface_args(args, desc, "attach");
    if (!vm) return report(vm.error());
    const std::string mode_text = (*vm)["mode"].as<std::string>();
    auto mode = parse_attach_mode(mode_text);
    if (!mode) return report(bad_input("attach: --mode \"" + mode_text + "\": expected native, generic or offload"));
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    if (Status s = fw->attach((*vm)["iface"].as<std::string>(), *mode); !s) return report(s.error());
    return kExitOk;
}

int run_detach(const Paths& paths, const std::vector<std::string>& args) {
    auto vm = parse_iface_args(args, po::options_description("detach options"), "detach");
    if (!vm) return report(vm.error());
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    if (Status s = fw->detach((*vm)["iface"].as<std::string>()); !s) return report(s.error());
    return kExitOk;
}

int run_status(const Paths& paths, const std::vector<std::string>& args) {
    if (!args.empty()) return report(bad_input("status: unexpected argument \"" + args[0] + "\""));
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    size_t rules = 0;
    for (const Chain& c : fw->state().ruleset.chains) rules += c.rules.size();
    std::printf("rules: %zu in %zu chains\n", rules, fw->state().ruleset.chains.size());
    std::printf("bpffs: %s\nstate: %s\n", paths.bpffs.c_str(), paths.state_dir.c_str());
    if (Status s = fw->refresh_counters(); !s) return report(s.error());
    const auto errors = fw->slot_counters(xdp::kSlotError).shown;
    const auto non_ip = fw->slot_counters(xdp::kSlotNonIp).shown;
    std::printf("malformed headers: %llu packets, %llu bytes (counted, then judged by the rules)\n",
                static_cast<unsigned long long>(errors.packets), static_cast<unsigned long long>(errors.bytes));
    std::printf("non-IP frames passed: %llu packets, %llu bytes\n",
                static_cast<unsigned long long>(non_ip.packets), static_cast<unsigned long long>(non_ip.bytes));
    auto status = fw->attachment_status();
    if (status.empty()) std::printf("attached: none\n");
    for (const AttachmentStatus& s : status) {
        std::printf("attached: %-15s mode %-8s ifindex %-4u prog id %-6u %s\n", s.attachment.ifname.c_str(),
                    to_string(s.attachment.mode), s.ifindex, s.prog_id, s.live ? "live" : s.problem.c_str());
    }
    return kExitOk;
}

int run_reload(const Paths& paths, const std::vector<std::string>& args) {
    if (!args.empty()) return report(bad_input("reload: unexpected argument \"" + args[0] + "\""));
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    if (Status s = fw->reload(); !s) return report(s.error());
    return kExitOk;
}

}  // namespace xfw::cli
