// policy check: compile a Wasm policy, load it into the kernel verifier inside the smallest
// firewall program that uses it (parser, one rule matching on the policy, the policy chain
// verdict; nothing attached) and say what it costs and whether it fits the target.
#include "control/cli/commands.hpp"

#include "control/loader.hpp"
#include "offload/checker.hpp"
#include "wasm-policy/policy_compiler.hpp"
#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

constexpr const char* kPolicyUsage =
    "usage: xfw policy check FILE.wasm [--func NAME] [--target native|offload] [--buckets N] [--fuel N]";

Expected<std::vector<uint8_t>> read_module_file(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return bad_input("policy check: " + path + ": no such file (give the .wasm module to check)");
    std::ifstream in(path, std::ios::binary);
    if (!in) return bad_input("policy check: cannot read " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The checking program: parser, a rule that runs the policy as a match, and the chain policy.
xdp::Plan checking_plan(const wasm::CompiledPolicy& policy, const std::string& origin) {
    const uint32_t buckets = static_cast<uint32_t>(policy.bucket_names.size());
    xdp::Plan plan;
    xdp::PlanPolicy p;
    p.code = policy.code;
    p.trap_slot = xdp::kFirstRuleSlot;
    p.bucket_base_slot = xdp::kFirstRuleSlot + 2;
    p.bucket_count = buckets;
    p.origin = origin;
    plan.policies.push_back(p);
    xdp::Step match;
    match.tests.push_back(xdp::TestPolicy{0});
    match.counter = xdp::kFirstRuleSlot + 1;
    match.on_match = {xdp::Action::Kind::Drop, 0};
    match.on_miss = 1;
    match.origin = "INPUT:1";
    xdp::Step fallthrough;
    fallthrough.counter = xdp::kSlotPolicyInput;
    fallthrough.on_match = {xdp::Action::Kind::Pass, 0};
    fallthrough.origin = "INPUT policy";
    plan.steps = {match, fallthrough};
    plan.counter_slots = xdp::kFirstRuleSlot + 2 + buckets;
    return plan;
}

std::string map_line(const xdp::MapSpec& m) {
    std::ostringstream out;
    out << "    " << m.name << ": "
        << (m.type == BPF_MAP_TYPE_PERCPU_ARRAY ? "per-CPU array" : m.type == BPF_MAP_TYPE_ARRAY ? "array" : "map")
        << ", " << m.max_entries << (m.max_entries == 1 ? " entry" : " entries") << " of " << m.value_size << " bytes\n";
    return out.str();
}

int run_policy_check(const std::vector<std::string>& args) {
    po::options_description desc("policy check options");
    desc.add_options()
        ("file", po::value<std::string>(), "the .wasm module")
        ("func", po::value<std::string>()->default_value("filter"), "exported policy function")
        ("target", po::value<std::string>()->default_value("native"), "native|offload")
        ("buckets", po::value<uint32_t>(), "number of unnamed billing buckets (modules without xfw.buckets)")
        ("fuel", po::value<uint32_t>()->default_value(65536), "loop back-edges and calls allowed per packet");
    po::positional_options_description positional;
    positional.add("file", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("policy check: ") + e.what() + "\n" + kPolicyUsage));
    }
    if (!vm.count("file")) return report(bad_input(std::string("policy check: no module given\n") + kPolicyUsage));
    const std::string file = vm["file"].as<std::string>();
    wasm::PolicyOptions options;
    options.function = vm["func"].as<std::string>();
    options.fuel = vm["fuel"].as<uint32_t>();
    if (vm.count("buckets")) options.buckets = vm["buckets"].as<uint32_t>();
    const std::string target = vm["target"].as<std::string>();
    if (target != "native" && target != "offload")
        return report(bad_input("policy check: --target \"" + target + "\": expected native or offload"));
    options.target = target == "offload" ? wasm::Target::Offload : wasm::Target::Native;

    auto bytes = read_module_file(file);
    if (!bytes) return report(bytes.error());
    auto compiled = wasm::compile_policy(*bytes, options, file);
    if (!compiled) return report(compiled.error());

    const xdp::CounterMode counters =
        options.target == wasm::Target::Offload ? xdp::CounterMode::SharedAtomic : xdp::CounterMode::PerCpu;
    auto generated = xdp::generate(checking_plan(*compiled, file + ":" + options.function), {counters});
    if (!generated) return report(generated.error());

    // Fit on the target: the NFP profile for offload (the card itself is not needed); for both,
    // the kernel verifier (an offload program is also a valid native program).
    offload::NfpProfile kernel = offload::nfp_profile();
    kernel.stack_frame_align = 32;
    const offload::CheckReport stack = offload::check_program(generated->program, generated->maps, kernel);
    std::optional<offload::CheckReport> nfp;
    if (options.target == wasm::Target::Offload)
        nfp = offload::check_program(generated->program, generated->maps, offload::nfp_profile());

    std::vector<Fd> maps;
    std::vector<int> fds;
    for (const xdp::MapSpec& spec : generated->maps) {
        auto fd = create_map(spec);
        if (!fd) return report(fd.error());
        fds.push_back(fd->get());
        maps.push_back(std::move(fd).value());
    }
    auto prog = load_xdp_program(generated->program, fds, {.name = "xfw_policy_chk"});
    if (!prog) {
        Error e = prog.error();
        e.message = "policy check: " + file + ": " + e.message;
        return report(e);
    }

    const wasm::PolicyStats& s = compiled->stats;
    std::ostringstream out;
    out << file << ": function \"" << options.function << "\"\n";
    out << "  wasm instructions:  " << s.wasm_instructions << (s.has_loops ? " (with loops)" : " (no loops)") << "\n";
    out << "  eBPF instructions:  " << s.bpf_instructions << " in the policy subprogram, "
        << generated->program.insns.size() << " in a one-rule program\n";
    out << "  stack:              " << s.stack_bytes << " bytes in the policy's frame, " << stack.stack_bytes
        << " of 512 on the deepest call chain\n";
    out << "  linear memory:      " << s.memory_bytes << " bytes, " << s.globals << " globals in the instance\n";
    out << "  fuel:               " << options.fuel << " per packet\n";
    out << "  buckets:            " << compiled->bucket_names.size();
    for (size_t i = 0; i < compiled->bucket_names.size(); ++i) out << (i ? ", " : " (") << compiled->bucket_names[i];
    out << (compiled->bucket_names.empty() ? "\n" : ")\n");
    const auto policy_maps = compiled->code->maps();
    out << "  maps:" << (policy_maps.empty() ? "               none\n" : "\n");
    for (const xdp::MapSpec& m : policy_maps) out << map_line(m);
    out << "  kernel verifier:    accepted\n";
    bool fits = true;
    if (nfp) {
        fits = nfp->ok();
        out << "  target offload:     " << (fits ? "fits the NFP profile" : "does not fit the NFP profile") << "\n";
        const std::string details = nfp->format();
        if (!details.empty()) out << details << (details.back() == '\n' ? "" : "\n");
    } else {
        out << "  target native:      fits\n";
    }
    const std::string text = out.str();
    std::fwrite(text.data(), 1, text.size(), stdout);
    return fits ? kExitOk : kExitBadInput;
}

}  // namespace

int run_policy(const Paths& /*paths*/, const std::vector<std::string>& args) {
    if (args.empty() || args[0] != "check") {
        std::fprintf(stderr, "xfw: %s\n", kPolicyUsage);
        return kExitBadInput;
    }
    return run_policy_check(std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace xfw::cli
