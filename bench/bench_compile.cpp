// Control-plane cost by ruleset size, phase by phase, on the benchmark suite's ClassBench-style
// rulesets (bench/workload): parse (iptables-restore text to the policy IR), plan (IR to the
// data-plane plan), emit (plan to eBPF instructions), and compile+verify+load (all of it through
// the firewall's one compile path, with the kernel verifier; verify+load is this minus plan and
// emit). A size the compiler refuses is reported as an error naming the limit, not a time.
#include "bench/bench_programs.hpp"
#include "bench/workload/rules.hpp"

#include "control/compile.hpp"
#include "control/planner.hpp"
#include "control/restore_file.hpp"
#include "xdp/codegen.hpp"

#include <benchmark/benchmark.h>

#include <map>

namespace {

// Generated once per size: the same text the suite's xfw-bench-workload writes.
const std::string& ruleset_text(size_t rules) {
    static std::map<size_t, std::string> cache;
    auto it = cache.find(rules);
    if (it == cache.end())
        it = cache.emplace(rules, xfw::bench::to_iptables_restore(xfw::bench::generate_ruleset(
                                      xfw::bench::Shape::ClassBench, rules, false, 1))).first;
    return it->second;
}

xfw::Expected<xfw::State> parsed_state(size_t rules) {
    auto rs = xfw::parse_restore(ruleset_text(rules), xfw::Ruleset::empty());
    if (!rs) return rs.error();
    xfw::State state;
    state.ruleset = std::move(rs).value();
    xfw::assign_identities(state);
    return state;
}

xfw::PlanInputs plan_inputs(const xfw::State& state) {
    xfw::PlanInputs inputs;
    inputs.slot_of = [&state](const xfw::Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = xfw::resolve_interface_on_host;
    inputs.counter_slots = xfw::counter_slots_needed(state);
    return inputs;
}

void BM_Parse(benchmark::State& st) {
    const std::string& text = ruleset_text(static_cast<size_t>(st.range(0)));
    for (auto _ : st) {
        auto rs = xfw::parse_restore(text, xfw::Ruleset::empty());
        if (!rs) return st.SkipWithError(rs.error().message.c_str());
        benchmark::DoNotOptimize(rs);
    }
}

void BM_Plan(benchmark::State& st) {
    auto state = parsed_state(static_cast<size_t>(st.range(0)));
    if (!state) return st.SkipWithError(state.error().message.c_str());
    const auto inputs = plan_inputs(*state);
    for (auto _ : st) {
        auto plan = xfw::plan_ruleset(state->ruleset, inputs);
        if (!plan) return st.SkipWithError(plan.error().message.c_str());
        benchmark::DoNotOptimize(plan);
    }
}

void BM_Emit(benchmark::State& st) {
    auto state = parsed_state(static_cast<size_t>(st.range(0)));
    if (!state) return st.SkipWithError(state.error().message.c_str());
    auto plan = xfw::plan_ruleset(state->ruleset, plan_inputs(*state));
    if (!plan) return st.SkipWithError(plan.error().message.c_str());
    for (auto _ : st) {
        auto program = xfw::xdp::generate(*plan, xfw::xdp::CodegenOptions{});
        if (!program) return st.SkipWithError(program.error().message.c_str());
        st.counters["insns"] = static_cast<double>(program->program.insns.size());
        benchmark::DoNotOptimize(program);
    }
}

void BM_CompileVerifyLoad(benchmark::State& st) {
    // A refusal is the same on every repetition; verifying up to the kernel's million-instruction
    // limit takes seconds, so the first refusal's message stands for the other repetitions.
    static std::map<size_t, std::string> refused;
    const auto rules = static_cast<size_t>(st.range(0));
    if (auto it = refused.find(rules); it != refused.end()) return st.SkipWithError(it->second.c_str());
    auto state = parsed_state(rules);
    if (!state) return st.SkipWithError(state.error().message.c_str());
    for (auto _ : st) {
        auto prog = xfw::compile_private(*state, "xfw_bench");
        if (!prog) {
            const std::string& message = refused.emplace(rules, prog.error().message).first->second;
            return st.SkipWithError(message.c_str());
        }
        benchmark::DoNotOptimize(prog->compiled.program.get());
    }
}

// The synthetic port rules of the per-packet benchmarks, plan + emit + verify + load.
void BM_CompileAndLoad(benchmark::State& state) {
    const auto ruleset = xfw::bench::make_port_ruleset(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        auto prog = xfw::bench::compile_and_load(ruleset);
        if (!prog) return state.SkipWithError(prog.error().message.c_str());
        benchmark::DoNotOptimize(prog->program.get());
    }
}

void sizes(benchmark::internal::Benchmark* b) {
    for (int n : {1, 10, 100, 1000, 10000}) b->Arg(n);
}

}  // namespace

BENCHMARK(BM_Parse)->Apply(sizes)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_Plan)->Apply(sizes)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_Emit)->Apply(sizes)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_CompileVerifyLoad)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Iterations(3)->Unit(benchmark::kMillisecond)
    ->Repetitions(5)->ReportAggregatesOnly();
// About a second of kernel verification for the 10 000-rule classification tree
// (docs/scalable-classification.md): one timed load keeps the suite within its time.
BENCHMARK(BM_CompileVerifyLoad)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond)->Repetitions(1);
BENCHMARK(BM_CompileAndLoad)->Arg(1)->Arg(100)->Arg(1000)->Iterations(3)->Unit(benchmark::kMillisecond)->Repetitions(5)
    ->ReportAggregatesOnly();

BENCHMARK_MAIN();
