// What counting costs per packet: each ruleset as the firewall compiles it, beside the same
// program with counting cut out (see without_counting), in the same run as bare XDP_DROP
// (bench_classify.cpp).
// The benchmark packet matches no rule, so every run counts exactly once (the policy's slot).
#include "bench/bench_programs.hpp"
#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "xdp/emitter.hpp"

#include <benchmark/benchmark.h>

namespace {

constexpr uint32_t kRepeat = 20000;

// `program` with no counter update: calls into the counting subprogram become `ja +0`, and
// the counter lookups that are inlined (the policy's, the error and non-IP counters) find
// nothing (`r0 = 0`: the update after them is skipped). The counter map is the program's only
// map, so every lookup is a counter lookup.
xfw::bpf::Program without_counting(xfw::bpf::Program program) {
    for (size_t i = 0; i < program.insns.size(); ++i) {
        xfw::bpf::Insn& insn = program.insns[i];
        if (insn.code != (BPF_JMP | BPF_CALL)) continue;
        if (insn.src_reg == BPF_PSEUDO_CALL) {
            const auto target = static_cast<uint32_t>(static_cast<int64_t>(i) + 1 + insn.imm);
            if (program.origin_of(target) == "counter update") insn = xfw::bpf::make(BPF_JMP | BPF_JA, 0, 0, 0, 0);
        } else if (insn.src_reg == 0 && insn.imm == BPF_FUNC_map_lookup_elem) {
            insn = xfw::bpf::mov64_imm(xfw::bpf::R0, 0);
        }
    }
    xfw::bpf::remove_unreachable(program);
    return program;
}

void BM_Counting(benchmark::State& state) {
    const bool counting = state.range(1) != 0;
    xfw::State fw;
    fw.ruleset = xfw::bench::make_port_ruleset(static_cast<size_t>(state.range(0)));
    xfw::assign_identities(fw);
    const uint32_t slots = xfw::counter_slots_needed(fw);
    auto generated = xfw::generate_ruleset(fw, slots, xfw::xdp::CounterMode::PerCpu);
    if (!generated) return state.SkipWithError(generated.error().message.c_str());
    if (generated->maps.size() != 1) return state.SkipWithError("expected the counter map only");
    auto map = xfw::create_map(xfw::xdp::counter_map_spec(slots, xfw::xdp::CounterMode::PerCpu));
    if (!map) return state.SkipWithError(map.error().message.c_str());
    const xfw::bpf::Program program = counting ? generated->program : without_counting(generated->program);
    auto prog = xfw::load_xdp_program(program, {map->get()}, {.name = "xfw_count_cost"});
    if (!prog) return state.SkipWithError(prog.error().message.c_str());

    // The variants differ in counting and nothing else: one run counts one packet, or none.
    const auto frame = xfw::bench::unmatched_tcp_frame();
    auto verdict = xfw::test_run(prog->get(), frame);
    auto counts = xfw::read_counters(map->get(), xfw::xdp::CounterMode::PerCpu, slots);
    if (!verdict || !counts) return state.SkipWithError("cannot run the program or read its counters");
    uint64_t counted = 0;
    for (const auto& c : *counts) counted += c.packets;
    if (counted != (counting ? 1u : 0u)) return state.SkipWithError("the program counted the wrong number of packets");

    double ns_sum = 0;
    for (auto _ : state) {
        auto ns = xfw::bench::ns_per_packet(prog->get(), frame, kRepeat);
        if (!ns) return state.SkipWithError(ns.error().message.c_str());
        ns_sum += *ns;
        state.SetIterationTime(*ns * 1e-9 * kRepeat);
    }
    state.counters["insns"] = static_cast<double>(program.insns.size());
    state.counters["ns_per_pkt"] = ns_sum / static_cast<double>(state.iterations());
}

}  // namespace

// Args: rules, counting (1) or not (0).
BENCHMARK(BM_Counting)->ArgsProduct({{1, 10, 100}, {1, 0}})->ArgNames({"rules", "counting"})->Iterations(50)
    ->UseManualTime()->Unit(benchmark::kNanosecond)->Repetitions(5)->ReportAggregatesOnly();
