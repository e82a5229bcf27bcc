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
};

struct GeneratedProgram {
    bpf::Program program;
    std::vector<MapSpec> maps;  // indexed by the program's map relocations
};

Expected<GeneratedProgram> generate(const Plan& plan, const CodegenOptions& options);

}  // namespace xfw::xdp
