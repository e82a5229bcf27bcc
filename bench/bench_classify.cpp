// Per-packet cost of compiled rulesets through BPF_PROG_TEST_RUN, beside a bare XDP_DROP
// program measured in the same run. The packet matches no rule, the worst case for linear
// code. Each iteration's time is the kernel's average over `kRepeat` runs.
#include "bench/bench_programs.hpp"

#include <benchmark/benchmark.h>

namespace {

constexpr uint32_t kRepeat = 100000;

void run_program(benchmark::State& state, const xfw::bench::LoadedProgram& prog) {
    const auto frame = xfw::bench::unmatched_tcp_frame();
    for (auto _ : state) {
        auto ns = xfw::bench::ns_per_packet(prog.program.get(), frame, kRepeat);
        if (!ns) {
            state.SkipWithError(ns.error().message.c_str());
            return;
        }
        state.SetIterationTime(*ns * 1e-9);
    }
    state.counters["insns"] = prog.instructions;
    // One iteration stands for one packet's time: the rate reads as packets per second.
    state.counters["pps"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
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

BENCHMARK(BM_BareXdpDrop)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_Rules)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseManualTime()->Unit(benchmark::kNanosecond)
    ->Repetitions(5)->ReportAggregatesOnly();
