// xfw-bench-xdp: per-packet cost of an XDP program through BPF_PROG_TEST_RUN, after checking
// its verdicts and per-rule counts on each trace against the expected ones.
//
//   xfw-bench-xdp (--rules FILE [--family v4|v6] [--linear] | --bare-drop | --prog-id ID)
//                 --dir RULESET_DIR --traces NAME[,NAME...] [--runs 5] [--packets 200000]
//                 [--max-run-ms MS]
//
// --rules compiles an iptables-restore file exactly as `xfw restore` + `xfw attach` do (the
// firewall's one compile path, with a private counter map); with --linear, map-backed rule
// groups and classification trees are off (CompileOptions group_rules and classifier_trees false): every rule is tested in turn, as
// bpfilter's generated code does, the baseline the grouped program is compared with; --bare-drop loads a two-instruction
// XDP_DROP program (the floor); --prog-id times an XDP program already loaded by another tool
// (xdp-filter), whose counts the suite checks live instead. RULESET_DIR holds expected.json and
// the traces written by xfw-bench-workload.
//
// Prints one JSON object on stdout: instructions, compile_ms (plan + emit + verify + load),
// map_memory_bytes (the kernel's memlock charge of every map the program uses, from
// /proc/self/fdinfo), seconds spent checking and timing, and per trace the verification and
// the timed runs. Each run sends every frame of the trace --packets / frames times, fewer when
// a calibration run says a run would take longer than --max-run-ms: a slow program's kernel
// average over a few thousand runs per frame is as steady as over hundreds of thousands, and
// the 1000-rule programs would otherwise spend most of the suite's time here. A ruleset xfw refuses gives {"refused": "<message>"} and
// exit status 3, so the suite records the refusal instead of a figure.
#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "control/restore_file.hpp"
#include "xdp/insn.hpp"
#include "xdp/maps.hpp"
#include "tests/support/pcap_io.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

using json = nlohmann::json;
using namespace xfw;

namespace {

[[noreturn]] void fail(const std::string& what, int code = 2) {
    std::cerr << "xfw-bench-xdp: " << what << "\n";
    std::exit(code);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Program {
    Fd counters;
    Fd prog;
    State state;
    uint32_t slots = 0;
    uint32_t instructions = 0;
    double compile_ms = 0;
    bool has_counters = false;
};

// The counts one trace produced in xfw's counter map.
struct Counts {
    std::vector<xdp::CounterValue> slots;
};

Expected<Counts> snapshot(const Program& p) {
    auto v = read_counters(p.counters.get(), xdp::CounterMode::PerCpu, p.slots);
    if (!v) return v.error();
    return Counts{std::move(v).value()};
}

// Runs every frame once and compares verdicts and per-rule counts with expected.json's entry.
json verify(const Program& p, const std::vector<test::Frame>& frames, const json& expected) {
    json problems = json::array();
    auto before = snapshot(p);
    if (!before) return {{"ok", false}, {"problems", {before.error().message}}};
    uint64_t dropped = 0, passed = 0, other = 0;
    for (const auto& f : frames) {
        auto r = test_run(p.prog.get(), f);
        if (!r) return {{"ok", false}, {"problems", {r.error().message}}};
        (*r == XDP_DROP ? dropped : *r == XDP_PASS ? passed : other)++;
    }
    if (dropped != expected["dropped"].get<uint64_t>() || passed != expected["passed"].get<uint64_t>() || other)
        problems.push_back("verdicts: " + std::to_string(dropped) + " dropped, " + std::to_string(passed) +
                           " passed, " + std::to_string(other) + " other; expected " + expected["dropped"].dump() +
                           " dropped, " + expected["passed"].dump() + " passed");
    auto after = snapshot(p);
    if (!after) return {{"ok", false}, {"problems", {after.error().message}}};
    auto delta = [&](uint32_t slot) {
        return std::pair<uint64_t, uint64_t>{after->slots[slot].packets - before->slots[slot].packets,
                                             after->slots[slot].bytes - before->slots[slot].bytes};
    };
    const Chain* input = p.state.ruleset.find(kInputChain);
    const json& want = expected["rule_counts"];
    size_t mismatched = 0;
    for (size_t n = 1; n <= input->rules.size(); ++n) {
        const auto got = delta(p.state.slot_of_rule.at(input->rules[n - 1].id));
        std::pair<uint64_t, uint64_t> exp{0, 0};
        if (auto it = want.find(std::to_string(n)); it != want.end()) exp = {(*it)[0], (*it)[1]};
        if (got != exp && mismatched++ < 5)
            problems.push_back("rule " + std::to_string(n) + ": " + std::to_string(got.first) + " packets/" +
                               std::to_string(got.second) + " bytes, expected " + std::to_string(exp.first) + "/" +
                               std::to_string(exp.second));
    }
    if (mismatched > 5) problems.push_back(std::to_string(mismatched - 5) + " more rules differ");
    const auto policy = delta(xdp::kSlotPolicyInput);
    if (policy.first != expected["policy"][0].get<uint64_t>())
        problems.push_back("policy: " + std::to_string(policy.first) + " packets, expected " + expected["policy"][0].dump());
    return {{"ok", problems.empty()}, {"problems", problems}};
}

Program compile_rules(const std::string& path, const std::string& family, bool linear) {
    RestoreOptions opts;
    if (family == "v4") opts.family_hint = Family::V4;
    else if (family == "v6") opts.family_hint = Family::V6;
    else if (!family.empty()) fail("--family \"" + family + "\": expected v4 or v6");
    auto rs = parse_restore(read_text(path), Ruleset::empty(), opts);
    if (!rs) {
        std::cout << json{{"refused", rs.error().message}}.dump() << "\n";
        std::exit(3);
    }
    Program p;
    p.state.ruleset = std::move(rs).value();
    assign_identities(p.state);
    const auto t0 = std::chrono::steady_clock::now();
    auto prog = compile_private(p.state, "xfw_bench", CompileOptions{.group_rules = !linear, .classifier_trees = !linear});
    p.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!prog) {
        std::cout << json{{"refused", prog.error().message}}.dump() << "\n";
        std::exit(3);
    }
    p.slots = prog->counter_slots;
    p.counters = std::move(prog->counters);
    p.prog = std::move(prog->compiled.program);
    p.instructions = prog->compiled.instruction_count;
    p.has_counters = true;
    return p;
}

Program bare_drop() {
    bpf::Program code;
    code.insns = {bpf::mov64_imm(bpf::R0, XDP_DROP), bpf::exit_insn()};
    auto prog = load_xdp_program(code, {}, {.name = "bare_drop"});
    if (!prog) fail(prog.error().message, 1);
    Program p;
    p.prog = std::move(prog).value();
    p.instructions = 2;
    return p;
}

Program by_id(uint32_t id) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) fail("no BPF program with id " + std::to_string(id) + ": " + errno_text(errno), 1);
    Program p;
    p.prog = Fd(fd);
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) p.instructions = info.xlated_prog_len / 8;
    return p;
}

// What the kernel charges for a map (its "memlock" line in fdinfo): entries, values and the
// map's own structures, the figure to compare between programs that use maps differently.
uint64_t map_memlock_bytes(int map_fd) {
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(map_fd));
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("memlock:")) continue;
        const auto digits = line.find_first_of("0123456789");
        uint64_t bytes = 0;
        if (digits != std::string::npos) std::from_chars(line.data() + digits, line.data() + line.size(), bytes);
        return bytes;
    }
    return 0;
}

// Sum over the maps the loaded program references (counter map, group and set maps).
json program_maps(int prog_fd) {
    std::vector<uint32_t> ids(64);
    bpf_prog_info info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uint64_t>(ids.data());
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return {{"error", errno_text(errno)}};
    ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
    uint64_t total = 0;
    for (uint32_t id : ids) {
        Fd map(bpf_map_get_fd_by_id(id));
        if (map.valid()) total += map_memlock_bytes(map.get());
    }
    return {{"maps", ids.size()}, {"map_memory_bytes", total}};
}

// Mean kernel-measured ns per packet over the trace: each frame run `repeat` times.
Expected<double> time_trace(const Program& p, const std::vector<test::Frame>& frames, uint32_t repeat) {
    double sum = 0;
    for (const auto& f : frames) {
        uint32_t duration = 0;
        auto r = test_run(p.prog.get(), f, repeat, &duration);
        if (!r) return r.error();
        sum += duration;
    }
    return sum / static_cast<double>(frames.size());
}

// BPF_PROG_TEST_RUN with repeat > 1 adds the program to the kernel's XDP dispatcher for the
// call and removes it afterwards, each change waiting for an RCU grace period (~25 ms here), so
// a trace of many frames would spend most of its time there. A program attached somewhere is
// already in the dispatcher and skips both; it is also then called the way an attached program
// is (a direct call from the dispatcher). So the program is attached, in generic mode, to the
// loopback of a private network namespace that this process alone uses.
void park_in_dispatcher(int prog_fd) {
    if (unshare(CLONE_NEWNET) != 0) {
        std::cerr << "xfw-bench-xdp: note: no private network namespace (" << errno_text(errno)
                  << "); timings include a dispatcher update per call\n";
        return;
    }
    const int lo = static_cast<int>(if_nametoindex("lo"));
    if (lo <= 0 || bpf_xdp_attach(lo, prog_fd, XDP_FLAGS_SKB_MODE, nullptr) != 0)
        std::cerr << "xfw-bench-xdp: note: could not attach to a private loopback; timings include a dispatcher "
                     "update per call\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::string rules, family, dir, traces_arg;
    bool bare = false, linear = false;
    long prog_id = -1;
    int runs = 5;
    uint64_t packets = 200000;
    double max_run_ms = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value");
            return argv[++i];
        };
        if (a == "--rules") rules = value();
        else if (a == "--family") family = value();
        else if (a == "--linear") linear = true;
        else if (a == "--bare-drop") bare = true;
        else if (a == "--prog-id") prog_id = std::stol(value());
        else if (a == "--dir") dir = value();
        else if (a == "--traces") traces_arg = value();
        else if (a == "--runs") runs = std::stoi(value());
        else if (a == "--packets") packets = std::stoull(value());
        else if (a == "--max-run-ms") max_run_ms = std::stod(value());
        else fail("unknown option \"" + a + "\"");
    }
    if ((rules.empty() ? 0 : 1) + (bare ? 1 : 0) + (prog_id >= 0 ? 1 : 0) != 1)
        fail("give exactly one of --rules FILE, --bare-drop, --prog-id ID");
    if (linear && rules.empty()) fail("--linear applies to --rules only");
    if (dir.empty() || traces_arg.empty()) fail("--dir and --traces are required");
    if (runs < 1 || packets < 1) fail("--runs and --packets must be positive");

    const json expected = json::parse(read_text(dir + "/expected.json"));
    Program p = !rules.empty() ? compile_rules(rules, family, linear) : bare ? bare_drop() : by_id(static_cast<uint32_t>(prog_id));

    // A program loaded by another tool is attached already (and its interface is elsewhere).
    if (prog_id < 0) park_in_dispatcher(p.prog.get());

    json out{{"instructions", p.instructions}, {"traces", json::object()}};
    double check_seconds = 0, timed_seconds = 0;
    const auto since = [](std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    if (p.has_counters) out["compile_ms"] = p.compile_ms;
    out.update(program_maps(p.prog.get()));
    std::stringstream names(traces_arg);
    for (std::string name; std::getline(names, name, ',');) {
        auto it = expected["traces"].find(name);
        if (it == expected["traces"].end()) fail("no trace \"" + name + "\" in " + dir + "/expected.json");
        auto frames = test::read_pcap(dir + "/" + (*it)["file"].get<std::string>());
        if (!frames) fail(frames.error().message);
        json t;
        auto t0 = std::chrono::steady_clock::now();
        if (p.has_counters) t["verify"] = verify(p, *frames, *it);
        check_seconds += since(t0);
        t0 = std::chrono::steady_clock::now();
        auto repeat = static_cast<uint32_t>(std::max<uint64_t>(1, packets / frames->size()));
        if (max_run_ms > 0) {
            constexpr uint32_t kCalibrationRepeat = 50;
            auto ns = time_trace(p, *frames, kCalibrationRepeat);
            if (!ns) fail(ns.error().message, 1);
            const double run_ns = *ns * static_cast<double>(frames->size()) * repeat;
            if (run_ns > max_run_ms * 1e6)
                repeat = std::min(repeat, std::max<uint32_t>(kCalibrationRepeat, static_cast<uint32_t>(
                                                                  repeat * (max_run_ms * 1e6 / run_ns))));
        }
        t["repeat"] = repeat;
        t["ns_per_packet"] = json::array();
        for (int r = 0; r < runs; ++r) {
            auto ns = time_trace(p, *frames, repeat);
            if (!ns) fail(ns.error().message, 1);
            t["ns_per_packet"].push_back(*ns);
        }
        timed_seconds += since(t0);
        out["traces"][name] = t;
    }
    out["seconds"] = {{"check", check_seconds}, {"timed", timed_seconds}};
    std::cout << out.dump() << "\n";
    return 0;
}
