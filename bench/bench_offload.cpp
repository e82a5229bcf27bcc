// Offload vs native programs for the same rulesets (1, 10, 100 rules): instruction count, stack
// use, counter map, and whether the program fits the NFP profile; as root, also the per-packet
// cost of each program run on the host through BPF_PROG_TEST_RUN (the offload target's atomic
// adds into one shared map against the native per-CPU read-modify-write), in the same run.
// Run: build/bench/xfw_bench_offload [--markdown]   (figures: docs/benchmarks.md, "Offload").
#include "bench/bench_programs.hpp"
#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "offload/checker.hpp"
#include "offload/lowering.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace xfw;

struct Figures {
    std::string target;
    size_t rules = 0;
    uint32_t instructions = 0;
    uint32_t stack_kernel = 0;  // deepest call chain, frames rounded to 32 bytes as the kernel does
    uint32_t stack_nfp = 0;     // ... rounded to 64 bytes as the NFP JIT does
    std::string map;
    bool fits_nfp = false;
    double ns = -1;
};

uint32_t stack(const xdp::GeneratedProgram& g, uint32_t align) {
    offload::NfpProfile p = offload::nfp_profile();
    p.stack_frame_align = align;
    return offload::check_program(g.program, g.maps, p).stack_bytes;
}

std::string map_text(const xdp::MapSpec& m) {
    return std::string(m.type == BPF_MAP_TYPE_PERCPU_ARRAY ? "PERCPU_ARRAY" : "ARRAY") + " " +
           std::to_string(m.max_entries) + "x" + std::to_string(m.value_size) + "B";
}

// Median ns/packet of `g` loaded on the host with its own counter map.
double measure(const xdp::GeneratedProgram& g, const std::vector<uint8_t>& frame) {
    auto map = create_map(g.maps[0]);
    if (!map) return -1;
    auto prog = load_xdp_program(g.program, {map->get()}, {.name = "xfw_bench_off"});
    if (!prog) return -1;
    std::vector<double> runs;
    for (int i = 0; i < 7; ++i) {
        auto ns = bench::ns_per_packet(prog->get(), frame, 1000000);
        if (!ns) return -1;
        runs.push_back(*ns);
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const bool markdown = argc > 1 && std::strcmp(argv[1], "--markdown") == 0;
    const bool root = ::geteuid() == 0;
    const std::vector<uint8_t> frame = bench::unmatched_tcp_frame();
    std::vector<Figures> rows;
    for (size_t count : {1, 10, 100}) {
        State state;
        state.ruleset = bench::make_port_ruleset(count);
        assign_identities(state);
        const uint32_t slots = counter_slots_needed(state);
        auto native = generate_ruleset(state, kCounterMapSlots, xdp::CounterMode::PerCpu);
        if (!native) {
            std::fprintf(stderr, "native, %zu rules: %s\n", count, native.error().message.c_str());
            return 1;
        }
        Figures n{"native", count, static_cast<uint32_t>(native->program.insns.size()), stack(*native, 32),
                  stack(*native, 64), map_text(native->maps[0]),
                  offload::check_program(native->program, native->maps, offload::nfp_profile()).ok()};
        if (root) n.ns = measure(*native, frame);
        rows.push_back(n);
        for (const auto& profile : {offload::nfp_profile(), offload::netdevsim_profile()}) {
            auto off = generate_offload_ruleset(state, slots, profile);
            if (!off) {
                std::fprintf(stderr, "offload (%s), %zu rules: %s\n", profile.name.c_str(), count,
                             off.error().message.c_str());
                return 1;
            }
            Figures o{"offload (" + profile.name + ")", count,
                      static_cast<uint32_t>(off->generated.program.insns.size()), stack(off->generated, 32),
                      off->report.stack_bytes, map_text(off->generated.maps[0]), off->report.ok()};
            if (root) o.ns = measure(off->generated, frame);
            rows.push_back(o);
        }
    }
    if (markdown) {
        std::puts("| rules | target | instructions | stack (kernel frames) | stack (NFP frames) | counter map | fits NFP | ns/packet on host |");
        std::puts("|---:|---|---:|---:|---:|---|---|---:|");
    }
    for (const Figures& f : rows) {
        char ns[32] = "n/a (needs root)";
        if (f.ns >= 0) std::snprintf(ns, sizeof(ns), "%.1f", f.ns);
        if (markdown)
            std::printf("| %zu | %s | %u | %u B | %u B | %s | %s | %s |\n", f.rules, f.target.c_str(), f.instructions,
                        f.stack_kernel, f.stack_nfp, f.map.c_str(), f.fits_nfp ? "yes" : "no", ns);
        else
            std::printf("%4zu rules  %-20s %6u insns  stack %4u B (NFP frames %4u B)  %-22s fits NFP: %-3s  %s ns/packet\n",
                        f.rules, f.target.c_str(), f.instructions, f.stack_kernel, f.stack_nfp, f.map.c_str(),
                        f.fits_nfp ? "yes" : "no", ns);
    }
    return 0;
}
