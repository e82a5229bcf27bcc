// Per-packet cost of compiled rulesets through BPF_PROG_TEST_RUN, beside a bare XDP_DROP
// program measured in the same run. The packet matches no rule, the worst case for linear
// code. Each iteration is `kRepeat` runs timed by the kernel; ns_per_pkt is the per-packet figure.
#include "bench/bench_programs.hpp"

#include <benchmark/benchmark.h>

namespace {

constexpr uint32_t kRepeat = 20000;

void run_program(benchmark::State& state, const xfw::bench::LoadedProgram& prog) {
    const auto frame = xfw::bench::unmatched_tcp_frame();
    double ns_sum = 0;
    for (auto _ : state) {
        auto ns = xfw::bench::ns_per_packet(prog.program.get(), frame, kRepeat);
        if (!ns) {
            state.SkipWithError(ns.error().message.c_str());
            return;
        }
        ns_sum += *ns;
        // One iteration is kRepeat packets.
        state.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    state.counters["insns"] = prog.instructions;
    state.counters["ns_per_pkt"] = ns_sum / static_cast<double>(state.iterations());
    state.counters["pps"] = benchmark::Counter(static_cast<double>(state.iterations()) * kRepeat,
                                               benchmark::Counter::kIsRate);
}

void BM_BareXdpDrop(benchmark::State& state) {
    auto prog = xfw::bench::load_bare_drop();
    if (!prog) return state.SkipWithError(prog.error().message.c_str());
    run_program(state, *prog);
}

void BM_Rules(benchmark::State& state) {
    auto prog = xfw::bench::compile_and_load(xfw::bench::make_port_ruleset(static_cast<size_t>(state.range(0))));
    if (!prog) return state.SkipWithError(prog.error().message.c_str());
    run_program(state, *prog);
}

}  // namespace

BENCHMARK(BM_BareXdpDrop)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_Rules)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)
    ->Repetitions(5)->ReportAggregatesOnly();
