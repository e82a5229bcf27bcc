// Lowering of a checked, fuel-instrumented and optimised module to one eBPF subprogram.
// Register and frame layout, loops and traps: docs/wasm-compiler.md.
#pragma once

#include "wasm-policy/module_check.hpp"
#include "wasm-policy/policy_compiler.hpp"
#include "xdp/emitter.hpp"
#include "xdp/maps.hpp"

#include <binaryen-c.h>

#include <cstdint>
#include <vector>

namespace xfw::wasm {

// The instance value (one per CPU, or one for offload): its fixed header.
namespace instance {
inline constexpr int16_t kInitialised = 0;  // u32: 1 once data segments and globals are in place
inline constexpr int16_t kLastTrap = 4;     // u32: trap code of the last run that trapped
inline constexpr int16_t kMemoryPages = 8;  // u32: current memory size in 64 KiB pages
inline constexpr int16_t kGlobals = 16;     // 8 bytes per global, in module order
}  // namespace instance

// Trap codes of the policy ABI.
enum TrapCode : uint32_t {
    kTrapUnreachable = 1,
    kTrapDivideByZero = 2,
    kTrapIntegerOverflow = 3,
    kTrapMemoryOutOfBounds = 4,
    kTrapPacket = 5,
    kTrapFuel = 6,
    kTrapBucket = 7,
};

// Limits the compiler enforces (refused with a message, never left to the verifier).
inline constexpr uint32_t kMaxCallDepth = 32;               // nested calls the inliner follows
inline constexpr uint32_t kMaxPolicyInstructions = 200000;  // eBPF instructions of one policy
inline constexpr uint32_t kMaxPolicyBranchesPerPath = 4000; // of the verifier's 8192 per path
inline constexpr uint32_t kMaxDataBytes = 65536;            // non-zero bytes of data segments
inline constexpr uint32_t kMaxFrameSlotsNative = 4095;      // 8-byte locals/temporaries (16-bit offsets)
inline constexpr uint32_t kMaxStackFrameBytes = 256;        // a frame on the stack: 512 B shared with the main program
inline constexpr uint32_t kMaxPerCpuValueBytes = 32768;     // the kernel's cap on a per-CPU map value
inline constexpr uint32_t kMaxBranchTableTests = 8;         // br_table targets tested one by one below this

// Where a policy keeps its frame (locals and temporaries), its fuel and its state; the cheapest
// one the policy allows is chosen (docs/wasm-compiler.md, "Instance or stack").
enum class FrameHome : uint8_t {
    Stack,          // no state between packets, no loops: no instance at all (and always offload)
    PerCpuValue,    // no linear memory: this CPU's value of a one-entry per-CPU array
    CpuIndexedValue // linear memory (too big for a per-CPU value): entry smp_processor_id()
};

// A self-contained subprogram: jumps resolved, map references by the policy's own map index,
// and calls to the counting subprogram (PolicyEmitContext::count_subprogram) as pseudo calls
// whose preceding instruction adds the bucket base slot to R1.
struct LoweredPolicy {
    bpf::Program program;
    uint32_t length = 0;                   // instructions of the subprogram (a local stub follows)
    std::vector<uint32_t> count_calls;     // indices of the calls to the counting subprogram
    std::vector<xdp::MapSpec> maps;
    uint32_t stack_bytes = 0;
    uint32_t globals = 0;
    uint32_t memory_bytes = 0;
    FrameHome home = FrameHome::Stack;
};


// The instance map is named `map_name`; `policy_entry_charged` is instrument_fuel's answer.
Expected<LoweredPolicy> lower_policy(BinaryenModuleRef module, const ModuleFacts& facts,
                                     const PolicyOptions& options, const std::string& map_name,
                                     bool policy_entry_charged);

}  // namespace xfw::wasm
