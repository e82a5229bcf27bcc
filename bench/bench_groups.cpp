// Scalable classification figures: map-backed rule groups and sets against the linear program
// and a bare XDP_DROP, per packet through BPF_PROG_TEST_RUN (the kernel times `kRepeat` runs),
// and the control-plane cost of big blocklists and sets. Run as root:
//
//   build/bench/xfw_bench_groups --benchmark_counters_tabular=true
//
// ns_per_pkt is the median figure to quote; ratio_to_bare divides it by the bare XDP_DROP
// program measured in the same process just before. Results: docs/scalable-classification.md.
#include "bench/bench_programs.hpp"

#include "control/compile.hpp"
#include "control/firewall.hpp"
#include "control/group_maps.hpp"
#include "control/loader.hpp"
#include "control/restore_file.hpp"
#include "control/set_maps.hpp"
#include "xdp/insn.hpp"

#include <benchmark/benchmark.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

namespace {

using namespace xfw;

constexpr uint32_t kRepeat = 20000;

std::string v4(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) +
           "." + std::to_string(a & 0xff);
}

// The bare floor, measured once per process and reused for every ratio.
double bare_ns() {
    static double ns = [] {
        auto prog = bench::load_bare_drop();
        if (!prog) return 0.0;
        const auto frame = bench::unmatched_tcp_frame();
        std::vector<double> runs;
        for (int i = 0; i < 15; ++i)
            if (auto r = bench::ns_per_packet(prog->program.get(), frame, kRepeat)) runs.push_back(*r);
        std::sort(runs.begin(), runs.end());
        return runs.empty() ? 0.0 : runs[runs.size() / 2];
    }();
    return ns;
}

struct Built {
    State state;
    std::vector<std::shared_ptr<Fd>> sets;
    Fd counters;
    Fd program;
    uint32_t instructions = 0;
    double load_ms = 0;
};

Expected<std::unique_ptr<Built>> build(const std::vector<std::string>& rules, bool group,
                                       const std::vector<SetBinding>& sets = {}, size_t min_run = 0) {
    auto b = std::make_unique<Built>();
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n";
    for (const std::string& r : rules) text += "-A INPUT " + r + "\n";
    text += "COMMIT\n";
    auto rs = parse_restore(text, Ruleset::empty());
    if (!rs) return rs.error();
    b->state.ruleset = std::move(rs).value();
    for (const SetBinding& s : sets) b->state.sets[s.definition.name] = s;
    assign_identities(b->state);
    const auto start = std::chrono::steady_clock::now();
    auto prog = compile_private(b->state, "xfw_bench", CompileOptions{.group_rules = group, .min_group_run = min_run, .classifier_trees = group});
    if (!prog) return prog.error();
    b->load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    b->counters = std::move(prog->counters);
    b->program = std::move(prog->compiled.program);
    b->instructions = prog->compiled.instruction_count;
    return b;
}

void measure(benchmark::State& st, const Built& b, const std::vector<uint8_t>& frame) {
    double sum = 0;
    for (auto _ : st) {
        auto ns = bench::ns_per_packet(b.program.get(), frame, kRepeat);
        if (!ns) return st.SkipWithError(ns.error().message.c_str());
        sum += *ns;
        st.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    const double ns = sum / static_cast<double>(st.iterations());
    st.counters["ns_per_pkt"] = ns;
    st.counters["ratio_to_bare"] = bare_ns() > 0 ? ns / bare_ns() : 0;
    st.counters["insns"] = b.instructions;
}

// A frame from `src` (IPv4, TCP to port 80).
std::vector<uint8_t> frame_from(uint32_t src, uint16_t dport = 80) {
    auto f = bench::unmatched_tcp_frame();
    uint8_t* ip = f.data() + 14;
    for (int i = 0; i < 4; ++i) ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<uint8_t>(~sum >> 8);
    ip[11] = static_cast<uint8_t>(~sum);
    ip[22] = static_cast<uint8_t>(dport >> 8);
    ip[23] = static_cast<uint8_t>(dport);
    return f;
}

constexpr uint32_t kBlockBase = 0xc6120000u;  // 198.18.0.0, the benchmarking range

std::vector<std::string> host_blocklist(size_t n) {
    std::vector<std::string> rules;
    for (size_t i = 0; i < n; ++i) rules.push_back("-s " + v4(kBlockBase + static_cast<uint32_t>(i) * 3) + " -j DROP");
    return rules;
}

void BM_BareXdpDrop(benchmark::State& st) {
    auto prog = bench::load_bare_drop();
    if (!prog) return st.SkipWithError(prog.error().message.c_str());
    Built b;
    b.program = std::move(prog->program);
    b.instructions = 2;
    measure(st, b, bench::unmatched_tcp_frame());
}

// Source blocklist of N hosts; arg 1: grouped (1) or linear (0); arg 2: the packet is listed
// (the last rule) or not (walks them all).
void BM_HostBlocklist(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(0));
    auto b = build(host_blocklist(n), st.range(1) != 0);
    if (!b) return st.SkipWithError(b.error().message.c_str());
    const uint32_t src = st.range(2) ? kBlockBase + static_cast<uint32_t>(n - 1) * 3 : 0x0a000001u;
    st.counters["load_ms"] = (*b)->load_ms;
    measure(st, **b, frame_from(src));
}

// Mixed-length prefixes (/16 to /32, overlapping): an LPM trie when grouped.
void BM_PrefixBlocklist(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(0));
    std::vector<std::string> rules;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t len = 16 + static_cast<uint32_t>(i % 17);
        const uint32_t a = (0x0b000000u + static_cast<uint32_t>(i) * 257u) & (len == 32 ? ~0u : ~((1u << (32 - len)) - 1));
        rules.push_back("-s " + v4(a) + "/" + std::to_string(len) + " -j DROP");
    }
    auto b = build(rules, st.range(1) != 0);
    if (!b) return st.SkipWithError(b.error().message.c_str());
    st.counters["load_ms"] = (*b)->load_ms;
    measure(st, **b, frame_from(0x0a000001u));
}

// `-p tcp --dport N -j ACCEPT` runs: the packet's port is in none of them.
void BM_PortList(benchmark::State& st) {
    std::vector<std::string> rules;
    for (int64_t i = 0; i < st.range(0); ++i) rules.push_back("-p tcp --dport " + std::to_string(1000 + i) + " -j ACCEPT");
    auto b = build(rules, st.range(1) != 0);
    if (!b) return st.SkipWithError(b.error().message.c_str());
    measure(st, **b, frame_from(0x0a000001u, 80));
}

// Where a run starts to pay: N host rules, grouped or not, the packet matching none.
void BM_RunLength(benchmark::State& st) {
    auto b = build(host_blocklist(static_cast<size_t>(st.range(0))), st.range(1) != 0, {}, 2);
    if (!b) return st.SkipWithError(b.error().message.c_str());
    measure(st, **b, frame_from(0x0a000001u));
}

// One `-m set --match-set big src -j DROP` over a hash:ip set of N elements.
void BM_SetHashIp(benchmark::State& st) {
    const uint32_t n = static_cast<uint32_t>(st.range(0));
    SetDefinition def;
    def.name = "big";
    def.maxelem = std::max<uint32_t>(n, 1);
    std::vector<SetElement> elements(n);
    for (uint32_t i = 0; i < n; ++i) {
        elements[i].address.family = Family::V4;
        elements[i].address.prefix_len = 32;
        const uint32_t a = 0x0a000000u + 2 * i + 2;
        for (int k = 0; k < 4; ++k) elements[i].address.bytes[static_cast<size_t>(k)] = static_cast<uint8_t>(a >> (24 - 8 * k));
    }
    const auto start = std::chrono::steady_clock::now();
    auto map = create_set_map(def, elements);
    if (!map) return st.SkipWithError(map.error().message.c_str());
    const double fill_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    auto shared = std::make_shared<Fd>(std::move(map).value());
    auto b = build({"-m set --match-set big src -j DROP"}, true, {SetBinding{def, "", shared}});
    if (!b) return st.SkipWithError(b.error().message.c_str());
    st.counters["fill_ms"] = fill_ms;
    measure(st, **b, frame_from(st.range(1) ? 0x0a000000u + 2 * (n / 2) + 2 : 0x0a000001u));
}

// Compile + verify + load of an N-rule host blocklist (grouped): the map fill included.
void BM_CompileBlocklist(benchmark::State& st) {
    const auto rules = host_blocklist(static_cast<size_t>(st.range(0)));
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n";
    for (const std::string& r : rules) text += "-A INPUT " + r + "\n";
    text += "COMMIT\n";
    auto rs = parse_restore(text, Ruleset::empty());
    if (!rs) return st.SkipWithError(rs.error().message.c_str());
    State state;
    state.ruleset = std::move(rs).value();
    assign_identities(state);
    for (auto _ : st) {
        auto prog = compile_private(state, "xfw_bench");
        if (!prog) return st.SkipWithError(prog.error().message.c_str());
        benchmark::DoNotOptimize(prog->compiled.program.get());
    }
}

// A private bpffs and state directory for the firewall benchmarks, removed afterwards.
class Scratch {
public:
    Scratch() {
        char tmpl[] = "/tmp/xfw-bench-groups-XXXXXX";
        if (!::mkdtemp(tmpl)) return;
        dir_ = tmpl;
        std::filesystem::create_directories(dir_ + "/bpf");
        std::filesystem::create_directories(dir_ + "/state");
        mounted_ = ::mount("bpf", (dir_ + "/bpf").c_str(), "bpf", 0, nullptr) == 0;
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() {
        if (mounted_) ::umount2((dir_ + "/bpf").c_str(), MNT_DETACH);
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }
    bool ok() const { return mounted_; }
    Paths paths() const { return Paths{dir_ + "/bpf/xfw", dir_ + "/state"}; }

private:
    std::string dir_;
    bool mounted_ = false;
};

// The ruleset `xfw restore` would commit: unchanged rules keep their identities (and slots).
Expected<Ruleset> ruleset_of(const std::vector<std::string>& rules, const Ruleset& current) {
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n";
    for (const std::string& r : rules) text += "-A INPUT " + r + "\n";
    auto next = parse_restore(text + "COMMIT\n", current);
    if (next) carry_identities(current, *next);
    return next;
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// One rule inside an N-rule source blocklist replaced (its address toggled), committed
// through the firewall as `xfw -R` does after reading the state: arg 1 = 1 lets the change be
// made in the group's maps (live), 0 replaces the last rule, outside the group, so the same
// commit compiles, verifies and swaps a new program (the baseline). `commit_ms` is the whole
// transaction (open with the state lock, commit, state saved); the wall time per iteration.
void BM_GroupRuleChange(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(0));
    const bool inside = st.range(1) != 0;
    Scratch scratch;
    if (!scratch.ok()) return st.SkipWithError("cannot mount a private bpffs (run as root)");
    std::vector<std::string> rules = host_blocklist(n);
    rules.push_back("-p tcp --dport 22 -j ACCEPT");
    {
        auto fw = Firewall::open(scratch.paths());
        if (!fw) return st.SkipWithError(fw.error().message.c_str());
        auto rs = ruleset_of(rules, fw->state().ruleset);
        if (!rs) return st.SkipWithError(rs.error().message.c_str());
        if (Status s = fw->commit(std::move(rs).value()); !s) return st.SkipWithError(s.error().message.c_str());
    }
    bool flip = false;
    for (auto _ : st) {
        flip = !flip;
        if (inside) rules[n / 2] = "-s " + v4(flip ? 0x0a0b0c0du : kBlockBase + static_cast<uint32_t>(n / 2) * 3) + " -j DROP";
        else rules.back() = std::string("-p tcp --dport ") + (flip ? "23" : "22") + " -j ACCEPT";
        const auto start = std::chrono::steady_clock::now();
        auto fw = Firewall::open(scratch.paths());
        if (!fw) return st.SkipWithError(fw.error().message.c_str());
        auto rs = ruleset_of(rules, fw->state().ruleset);
        if (!rs) return st.SkipWithError(rs.error().message.c_str());
        if (Status s = fw->commit(std::move(rs).value()); !s) return st.SkipWithError(s.error().message.c_str());
        st.SetIterationTime(ms_since(start) / 1e3);
    }
}

// The map part of a live change to one rule of an N-rule blocklist group, without the
// firewall around it: `prepare_ms` generates both programs and diffs their groups,
// `switch_us` writes the unused generation and switches to it (the change is in effect),
// `catch_up_ms` waits out the old generation (an RCU grace period) and rewrites it.
void BM_GroupMapSwitch(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(0));
    Scratch scratch;
    if (!scratch.ok()) return st.SkipWithError("cannot mount a private bpffs (run as root)");
    const Paths paths = scratch.paths();
    std::filesystem::create_directories(paths.bpffs);
    State states[2];
    for (int v = 0; v < 2; ++v) {
        std::vector<std::string> rules = host_blocklist(n);
        if (v == 1) rules[n / 2] = "-s 10.11.12.13 -j DROP";
        auto rs = ruleset_of(rules, v == 0 ? Ruleset::empty() : states[0].ruleset);
        if (!rs) return st.SkipWithError(rs.error().message.c_str());
        states[v] = v == 0 ? State{} : states[0];
        states[v].ruleset = std::move(rs).value();
        assign_identities(states[v]);
    }
    auto running = compile_private(states[0], "xfw_bench");
    if (!running) return st.SkipWithError(running.error().message.c_str());
    if (Status s = pin_group_maps(paths.bpffs, running->compiled.group_maps); !s)
        return st.SkipWithError(s.error().message.c_str());
    std::vector<double> prepare_ms, switch_us, catch_up_ms;
    int from = 0;
    for (auto _ : st) {
        auto start = std::chrono::steady_clock::now();
        auto before = generate_for_host(states[from], running->counter_slots, xdp::CounterMode::PerCpu);
        auto after = generate_for_host(states[1 - from], running->counter_slots, xdp::CounterMode::PerCpu);
        if (!before || !after) return st.SkipWithError("cannot generate the programs");
        auto change = LiveGroupChange::prepare(paths.bpffs, running->compiled.program.get(), *before, *after);
        if (!change) return st.SkipWithError("the change was not found live-capable");
        prepare_ms.push_back(ms_since(start));
        st.counters["entries_changed"] = static_cast<double>(change->changed_entries());
        start = std::chrono::steady_clock::now();
        Status s = change->write_next();
        if (s) s = change->switch_generation();
        if (!s) return st.SkipWithError(s.error().message.c_str());
        const double switched_ms = ms_since(start);
        switch_us.push_back(switched_ms * 1e3);
        start = std::chrono::steady_clock::now();
        if (s = change->catch_up(); !s) return st.SkipWithError(s.error().message.c_str());
        catch_up_ms.push_back(ms_since(start));
        st.SetIterationTime(switched_ms / 1e3);
        from = 1 - from;
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() / 2];
    };
    st.counters["prepare_ms"] = median(prepare_ms);
    st.counters["switch_us"] = median(switch_us);
    st.counters["catch_up_ms"] = median(catch_up_ms);
}

}  // namespace

BENCHMARK(BM_BareXdpDrop)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)
    ->ReportAggregatesOnly();
BENCHMARK(BM_HostBlocklist)
    ->ArgsProduct({{100, 1000, 10000}, {0, 1}, {0, 1}})
    ->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_PrefixBlocklist)
    ->ArgsProduct({{100, 1000, 10000}, {0, 1}})
    ->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_PortList)
    ->ArgsProduct({{16, 100, 1000}, {0, 1}})
    ->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_RunLength)
    ->ArgsProduct({{2, 4, 8, 16, 32, 64}, {0, 1}})
    ->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_SetHashIp)
    ->ArgsProduct({{1000, 1000000}, {0, 1}})
    ->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_CompileBlocklist)->Arg(1000)->Arg(10000)->Iterations(5)->Unit(benchmark::kMillisecond)->Repetitions(5)
    ->ReportAggregatesOnly();

BENCHMARK(BM_GroupRuleChange)
    ->ArgsProduct({{1000, 10000}, {1, 0}})
    ->Iterations(20)->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_GroupMapSwitch)
    ->Arg(1000)->Arg(10000)
    ->Iterations(20)->UseManualTime()->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly();

BENCHMARK_MAIN();
