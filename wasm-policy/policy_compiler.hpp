// The WebAssembly policy compiler: a Wasm module (the policy ABI, docs/policy-abi.md) in, an
// xdp::PolicyCode out, which the code generator emits as a bpf-to-bpf subprogram of the XDP
// program. How the lowering works: docs/wasm-compiler.md.
#pragma once

#include "xdp/error.hpp"
#include "xdp/plan.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xfw::wasm {

enum class Target : uint8_t { Native, Offload };

struct PolicyOptions {
    std::string function = "filter";
    std::optional<uint32_t> buckets;  // --buckets N: N unnamed buckets b0..bN-1 (see the ABI)
    uint32_t fuel = 65536;            // back-edges + calls per packet, 1..2^24
    uint32_t max_memory_pages = 1;    // cap on the module's declared maximum, up to 4
    Target target = Target::Native;
    // Name of the policy's instance map (BPF object names hold 15 characters); the control
    // plane numbers them when a program runs several policies.
    std::string instance_map_name = "xfw_wasm";
};

struct PolicyStats {
    uint32_t wasm_instructions = 0;  // expressions in the module as read (before optimisation)
    uint32_t bpf_instructions = 0;   // of the policy subprogram
    uint32_t stack_bytes = 0;        // of the policy subprogram's own frame
    uint32_t memory_bytes = 0;       // linear memory at its maximum
    uint32_t globals = 0;            // module globals kept in the instance
    bool has_loops = false;
};

struct CompiledPolicy {
    std::shared_ptr<const xdp::PolicyCode> code;  // emits the subprogram into the caller's Emitter
    std::vector<std::string> bucket_names;        // size = bucket count
    PolicyStats stats;
};

// Reads, validates, checks against the ABI and the target, optimises and translates. Errors
// (Error kind bad input) name `source_name`, the function, the instruction and why.
Expected<CompiledPolicy> compile_policy(std::span<const uint8_t> module, const PolicyOptions& options,
                                        const std::string& source_name);

}  // namespace xfw::wasm
