// Per-packet cost of compiled rulesets through BPF_PROG_TEST_RUN, beside a bare XDP_DROP
// program measured in the same iterations. The packet matches no rule, the worst case for
// linear code. Each iteration is `kRepeat` runs timed by the kernel; ns_per_pkt is the
// per-packet figure, ratio_to_bare the one to compare across runs.
//
// BM_Floor splits the 1-rule figure into its parts, each a program generated from a plan:
// the parser prologue alone (the rule's port test, no counter), the prologue and the policy's
// counter update, and the whole 1-rule program.
#include "bench/bench_programs.hpp"

#include "control/loader.hpp"
#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <benchmark/benchmark.h>

#include <linux/in.h>

namespace {

using namespace xfw;

constexpr uint32_t kRepeat = 20000;

// The bare XDP_DROP program every ratio is taken against, loaded once.
const bench::LoadedProgram* bare_program() {
    static auto bare = bench::load_bare_drop();
    return bare ? &*bare : nullptr;
}

// Each iteration times `prog` and, right after, the bare program on the same frame, so that
// ratio_to_bare (the sum of the program's times over the sum of the bare ones) compares runs a
// few milliseconds apart: on this shared machine the load changes between benchmarks far more
// than that. (The kernel reports whole nanoseconds per run: a ratio of sums over 50 iterations
// is finer than the ratio of any one pair.)
void run_program(benchmark::State& state, const bench::LoadedProgram& prog) {
    const auto frame = bench::unmatched_tcp_frame();
    const bench::LoadedProgram* bare = bare_program();
    if (!bare) return state.SkipWithError("cannot load the bare XDP_DROP program");
    double ns_sum = 0, bare_sum = 0;
    for (auto _ : state) {
        auto ns = bench::ns_per_packet(prog.program.get(), frame, kRepeat);
        auto bare_ns = bench::ns_per_packet(bare->program.get(), frame, kRepeat);
        if (!ns || !bare_ns) {
            state.SkipWithError((ns ? bare_ns : ns).error().message.c_str());
            return;
        }
        ns_sum += *ns;
        bare_sum += *bare_ns;
        // One iteration is kRepeat packets of the program under test.
        state.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["insns"] = prog.instructions;
    state.counters["ns_per_pkt"] = ns_sum / n;
    state.counters["bare_ns"] = bare_sum / n;
    state.counters["ratio_to_bare"] = bare_sum > 0 ? ns_sum / bare_sum : 0;
    state.counters["pps"] = benchmark::Counter(n * kRepeat, benchmark::Counter::kIsRate);
}

void BM_BareXdpDrop(benchmark::State& state) {
    auto prog = bench::load_bare_drop();
    if (!prog) return state.SkipWithError(prog.error().message.c_str());
    run_program(state, *prog);
}

void BM_Rules(benchmark::State& state) {
    auto prog = bench::compile_and_load(bench::make_port_ruleset(static_cast<size_t>(state.range(0))));
    if (!prog) return state.SkipWithError(prog.error().message.c_str());
    run_program(state, *prog);
}

// A plan of one step that tests the benchmark frame's TCP port (and misses), then the policy:
// counted in the policy slot or not counted at all.
xdp::Plan floor_plan(bool count_policy) {
    xdp::Plan plan;
    xdp::Step port;
    port.tests.push_back(xdp::TestPorts{.proto = IPPROTO_TCP, .ranges = {{1, 1}}});
    port.on_match = {xdp::Action::Kind::Drop, 0};
    port.on_miss = 1;
    xdp::Step policy;
    policy.counter = count_policy ? xdp::kSlotPolicyInput : xdp::kNoCounter;
    policy.on_match = {xdp::Action::Kind::Drop, 0};
    plan.steps = {port, policy};
    plan.counter_slots = xdp::kFirstRuleSlot;
    return plan;
}

// Arg 0: the parser prologue and the port test; 1: and the policy's counter update.
void BM_Floor(benchmark::State& state) {
    auto generated = xdp::generate(floor_plan(state.range(0) != 0), {});
    if (!generated) return state.SkipWithError(generated.error().message.c_str());
    auto map = create_map(generated->maps.at(0));
    if (!map) return state.SkipWithError(map.error().message.c_str());
    auto prog = load_xdp_program(generated->program, {map->get()}, {.name = "xfw_floor"});
    if (!prog) return state.SkipWithError(prog.error().message.c_str());
    bench::LoadedProgram loaded{std::move(map).value(), std::move(prog).value(),
                                static_cast<uint32_t>(generated->program.insns.size())};
    run_program(state, loaded);
}

}  // namespace

BENCHMARK(BM_BareXdpDrop)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_Floor)->Arg(0)->Arg(1)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)
    ->ReportAggregatesOnly();
BENCHMARK(BM_Rules)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Iterations(50)->UseManualTime()->Unit(benchmark::kNanosecond)
    ->Repetitions(5)->ReportAggregatesOnly();
