// xfw entry point: global options (Boost.Program_options), then one sub-command or one
// iptables-style command.
#include "control/cli/commands.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <set>

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage = R"(usage: xfw [--bpffs DIR] [--state-dir DIR] COMMAND

Rule commands (iptables syntax; the XDP ingress chain is INPUT):
  -A CHAIN RULE                 append a rule
  -I CHAIN [N] RULE             insert a rule at position N (default 1)
  -D CHAIN RULE | N             delete a rule by specification or number
  -R CHAIN N RULE               replace rule N
  -C CHAIN RULE                 check whether RULE exists (exit 0) or not (exit 1)
  -L [CHAIN] [-v] [-n] [-x] [--line-numbers]
                                list rules (with -v: packet and byte counters)
  -S [CHAIN]                    print rules as commands
  -F [CHAIN]                    delete every rule (of a chain)
  -Z [CHAIN]                    zero the counters shown by -L (billing totals are kept)
  -P CHAIN ACCEPT|DROP          set a built-in chain's policy
  -N CHAIN | -X [CHAIN] | -E OLD NEW
                                create, delete, rename a user chain

Other commands:
  save [-c] [-4|-6]             print the ruleset in iptables-save format (-4/-6: only the
                                rules of one family, for iptables-restore/ip6tables-restore)
  restore [--noflush] [-4|-6] [FILE|-]
                                replace the ruleset from iptables-save text, all or nothing
  attach IFACE [--mode native|generic|offload]
                                run the firewall on IFACE's XDP hook
  detach IFACE                  remove it from IFACE
  status                        attached interfaces, programs, rule count
  reload                        recompile and re-attach (after a reboot or new interfaces)
  replay --pcap FILE [--rules FILE] [--json]
                                run a capture through a ruleset with BPF_PROG_TEST_RUN
  compile [--rules FILE] [--target native|offload] [--profile nfp|netdevsim] [--stats] -o FILE.o
                                write the ruleset as a BPF ELF object (section xdp, map
                                xfw_counters) for bpftool, ip link, xdp-loader, libbpf;
                                --target offload: checked for the NFP (ip link ... xdpoffload)
  check [--target offload] [--profile nfp|netdevsim] [FILE.o | --rules FILE]
                                list every instruction an offload device would refuse
  set create NAME hash:ip|hash:net|hash:ip,port|hash:net,port [family inet|inet6] [maxelem N]
  set add|del|test NAME ELEMENT   set flush|destroy [NAME]   set list [NAME] [-n] [-t]
  set save [NAME]   set restore [-exist] [FILE|-]
                                ipset-style sets for -m set --match-set NAME src|dst[,...];
                                element changes reach the running program without a reload
  counters [--json|--csv|--prometheus] [--raw]
                                every rule's counters with its id and account=NAME comment
                                (since -Z; --raw and --prometheus: never reset)
  exporter [--listen ADDRESS:PORT]
                                serve the counters for Prometheus on http://ADDRESS:PORT/metrics
                                (default 127.0.0.1:9469; [::1]:PORT for IPv6)
  policy check FILE.wasm [--func NAME] [--target native|offload] [--buckets N] [--fuel N]
                                compile a WebAssembly policy and load it into the kernel
                                verifier (nothing attached): size, stack, maps, target fit
  billing snapshot              append the usage since the last snapshot to the ledger
  billing report [--from T] [--to T] [--rates FILE] [--format table|csv|json]
                                usage per account and counter over a period, priced

)";

}  // namespace

int main(int argc, char** argv) {
    using namespace xfw;
    std::vector<std::string> args(argv + 1, argv + argc);

    po::options_description global("Global options");
    global.add_options()
        ("bpffs", po::value<std::string>()->default_value("/sys/fs/bpf/xfw"),
         "directory on a BPF filesystem for pinned programs, links and counters")
        ("state-dir", po::value<std::string>()->default_value("/var/lib/xfw"),
         "directory for the persisted ruleset and the lock")
        ("help,h", "print this help")
        ("version", "print the version");

    // Global options come first; everything from the first other token on is the command.
    static const std::set<std::string> kGlobalWithValue = {"--bpffs", "--state-dir"};
    size_t split = 0;
    while (split < args.size()) {
        const std::string& a = args[split];
        if (kGlobalWithValue.count(a)) {
            split += 2;
        } else if (a.rfind("--bpffs=", 0) == 0 || a.rfind("--state-dir=", 0) == 0 || a == "--help" ||
                   a == "-h" || a == "--version") {
            split += 1;
        } else {
            break;
        }
    }
    if (split > args.size()) {
        std::fprintf(stderr, "xfw: %s needs a directory argument\n", args.back().c_str());
        return cli::kExitBadInput;
    }
    po::variables_map vm;
    try {
        std::vector<std::string> global_args(args.begin(), args.begin() + static_cast<long>(split));
        po::store(po::command_line_parser(global_args).options(global).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::fprintf(stderr, "xfw: %s\n", e.what());
        return cli::kExitBadInput;
    }
    if (vm.count("version")) {
        std::puts("xfw 0.1.0");
        return cli::kExitOk;
    }
    std::vector<std::string> rest(args.begin() + static_cast<long>(split), args.end());
    if (vm.count("help") || rest.empty() || rest[0] == "help") {
        std::cout << kUsage << global;
        return rest.empty() && !vm.count("help") ? cli::kExitBadInput : cli::kExitOk;
    }
    Paths paths{vm["bpffs"].as<std::string>(), vm["state-dir"].as<std::string>()};
    if (paths.bpffs.empty() || paths.state_dir.empty()) {
        std::fprintf(stderr, "xfw: --bpffs and --state-dir need a non-empty directory\n");
        return cli::kExitBadInput;
    }
    while (paths.bpffs.size() > 1 && paths.bpffs.back() == '/') paths.bpffs.pop_back();

    const std::string& verb = rest[0];
    std::vector<std::string> sub(rest.begin() + 1, rest.end());
    if (verb == "save") return cli::run_save(paths, sub);
    if (verb == "restore") return cli::run_restore(paths, sub);
    if (verb == "attach") return cli::run_attach(paths, sub);
    if (verb == "detach") return cli::run_detach(paths, sub);
    if (verb == "status") return cli::run_status(paths, sub);
    if (verb == "reload") return cli::run_reload(paths, sub);
    if (verb == "replay") return cli::run_replay(paths, sub);
    if (verb == "compile") return cli::run_compile(paths, sub);
    if (verb == "check") return cli::run_check(paths, sub);
    if (verb == "counters") return cli::run_counters(paths, sub);
    if (verb == "set") return cli::run_set(paths, sub);
    if (verb == "exporter") return cli::run_exporter(paths, sub);
    if (verb == "policy") return cli::run_policy(paths, sub);
    if (verb == "billing") return cli::run_billing(paths, sub);
    if (!verb.empty() && verb[0] == '-') return cli::run_rule_command(paths, rest);
    std::fprintf(stderr, "xfw: unknown command \"%s\" (see xfw --help)\n", verb.c_str());
    return cli::kExitBadInput;
}
