// Classification trees against xfw's linear code (bpfilter-style: one block of compares per
// rule) and a bare XDP_DROP program on ClassBench-style ACLs, per packet through
// BPF_PROG_TEST_RUN, plus the compile+verify+load time and program size. Run as root:
//
//   build/bench/xfw_bench_trees --benchmark_counters_tabular=true
//
// ns_per_pkt is the figure to quote (the benchmark's median over its repetitions);
// ratio_to_bare divides it by the bare program measured in the same process. Results:
// docs/scalable-classification.md.
#include "bench/bench_programs.hpp"
#include "bench/workload/rules.hpp"
#include "bench/workload/traces.hpp"

#include "control/compile.hpp"
#include "control/restore_file.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

namespace {

using namespace xfw;

constexpr uint32_t kRepeat = 20000;
constexpr uint64_t kSeed = 1;  // the bench suite's default seed: the same rulesets as its report

double median_ns(int prog_fd, const std::vector<uint8_t>& frame, int runs) {
    std::vector<double> v;
    for (int i = 0; i < runs; ++i)
        if (auto r = bench::ns_per_packet(prog_fd, frame, kRepeat)) v.push_back(*r);
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

double bare_ns() {
    static double ns = [] {
        auto prog = bench::load_bare_drop();
        return prog ? median_ns(prog->program.get(), bench::unmatched_tcp_frame(), 15) : 0.0;
    }();
    return ns;
}

struct Built {
    bench::BenchRuleset rules;
    State state;
    Fd counters;
    Fd program;
    uint32_t instructions = 0;
    double load_ms = 0;
    std::string error;
};

// One compile per (size, family, strategy) for the whole process. `min_tree_run` 0: the
// planner's default.
const Built& built(size_t count, bool v6, bool trees, size_t min_tree_run) {
    static std::map<std::tuple<size_t, bool, bool, size_t>, std::unique_ptr<Built>> cache;
    auto& slot = cache[{count, v6, trees, min_tree_run}];
    if (slot) return *slot;
    slot = std::make_unique<Built>();
    Built& b = *slot;
    b.rules = bench::generate_ruleset(bench::Shape::ClassBench, count, v6, kSeed);
    auto rs = parse_restore(bench::to_iptables_restore(b.rules), Ruleset::empty());
    if (!rs) {
        b.error = rs.error().message;
        return b;
    }
    b.state.ruleset = std::move(rs).value();
    assign_identities(b.state);
    const auto start = std::chrono::steady_clock::now();
    auto prog = compile_private(b.state, "xfw_bench", CompileOptions{.group_rules = trees, .classifier_trees = trees, .min_tree_run = min_tree_run});
    b.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!prog) {
        b.error = prog.error().message;
        return b;
    }
    b.counters = std::move(prog->counters);
    b.program = std::move(prog->compiled.program);
    b.instructions = prog->compiled.instruction_count;
    return b;
}

void BM_BareXdpDrop(benchmark::State& st) {
    auto prog = bench::load_bare_drop();
    if (!prog) return st.SkipWithError(prog.error().message.c_str());
    const auto frame = bench::unmatched_tcp_frame();
    double sum = 0;
    for (auto _ : st) {
        auto ns = bench::ns_per_packet(prog->program.get(), frame, kRepeat);
        if (!ns) return st.SkipWithError(ns.error().message.c_str());
        sum += *ns;
        st.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    st.counters["ns_per_pkt"] = sum / static_cast<double>(st.iterations());
}

// ClassBench ACL of N rules; arg 1: trees (1) or linear code (0); arg 2: the trace kind (the
// bench suite's: 0 first rule, 1 middle, 2 last, 3 none); arg 3: IPv6 (1) or IPv4 (0). Each
// iteration runs the trace's frames in turn, kRepeat runs each.
void measure_classbench(benchmark::State& st, size_t min_tree_run) {
    const auto count = static_cast<size_t>(st.range(0));
    const bool trees = st.range(1) != 0, v6 = st.range(3) != 0;
    const Built& b = built(count, v6, trees, min_tree_run);
    if (!b.program.valid()) return st.SkipWithError(("not loaded: " + b.error).c_str());
    const auto kind = static_cast<bench::TraceKind>(st.range(2));
    const bench::Trace trace = bench::generate_trace(b.rules, kind, bench::SizeMix::Min64, 16, kSeed);
    if (trace.frames.empty()) return st.SkipWithError("no packet reaches the trace's rule");
    double sum = 0;
    size_t next = 0;
    for (auto _ : st) {
        auto ns = bench::ns_per_packet(b.program.get(), trace.frames[next++ % trace.frames.size()], kRepeat);
        if (!ns) return st.SkipWithError(ns.error().message.c_str());
        sum += *ns;
        st.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    const double ns = sum / static_cast<double>(st.iterations());
    st.counters["ns_per_pkt"] = ns;
    st.counters["ratio_to_bare"] = bare_ns() > 0 ? ns / bare_ns() : 0;
    st.counters["insns"] = b.instructions;
    st.counters["load_ms"] = b.load_ms;
}

void BM_ClassBench(benchmark::State& st) { measure_classbench(st, 0); }

// Where a tree starts to pay: runs of N ClassBench rules, packet matching none, the tree
// forced whatever the run's length.
void BM_TreeRunLength(benchmark::State& st) {
    st.SetLabel(st.range(1) ? "tree" : "linear");
    measure_classbench(st, 2);
}

void classbench_args(benchmark::internal::Benchmark* b) {
    for (int64_t n : {100, 1000, 10000})
        for (int64_t trees : {0, 1}) {
            if (!trees && n > 1000) continue;  // linear code of 10 000 rules does not verify
            for (int64_t kind : {0, 1, 2, 3}) b->Args({n, trees, kind, 0});
        }
    b->Args({1000, 1, 3, 1});
    b->Args({1000, 1, 2, 1});
}

}  // namespace

BENCHMARK(BM_BareXdpDrop)->Iterations(40)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)
    ->ReportAggregatesOnly();
BENCHMARK(BM_ClassBench)->Apply(classbench_args)->Iterations(32)->UseManualTime()->Unit(benchmark::kNanosecond)
    ->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_TreeRunLength)->ArgsProduct({{8, 16, 24, 32, 64}, {0, 1}, {3}, {0}})->Iterations(32)->UseManualTime()
    ->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK_MAIN();
