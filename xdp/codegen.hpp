// Turns a Plan into an eBPF XDP program: parser prologue, one block per step, counters.
#pragma once

#include "xdp/emitter.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"
#include "xdp/plan.hpp"

#include <vector>

namespace xfw::xdp {

struct CodegenOptions {
    CounterMode counters = CounterMode::PerCpu;
    // Counter slots per map value (SharedAtomic only); above 1 every update is inlined with
    // the slot's constant key and offset (see counter_map_spec). Offload targets with few map
    // entries set it (offload/lowering.hpp).
    uint32_t counters_per_entry = 1;
};

struct GeneratedProgram {
    bpf::Program program;
    std::vector<MapSpec> maps;  // indexed by the program's map relocations
};

Expected<GeneratedProgram> generate(const Plan& plan, const CodegenOptions& options);

}  // namespace xfw::xdp
