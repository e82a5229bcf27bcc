// Control-plane cost: plan + emit + verify + load of a ruleset, by size.
#include "bench/bench_programs.hpp"

#include <benchmark/benchmark.h>

namespace {

void BM_CompileAndLoad(benchmark::State& state) {
    const auto ruleset = xfw::bench::make_port_ruleset(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        auto prog = xfw::bench::compile_and_load(ruleset);
        if (!prog) return state.SkipWithError(prog.error().message.c_str());
        benchmark::DoNotOptimize(prog->program.get());
    }
}

}  // namespace

BENCHMARK(BM_CompileAndLoad)->Arg(1)->Arg(100)->Arg(1000)->Iterations(3)->Unit(benchmark::kMillisecond)->Repetitions(5)
    ->ReportAggregatesOnly();

BENCHMARK_MAIN();
