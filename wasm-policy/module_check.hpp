// What a module must satisfy before it is translated: the policy ABI (imports from "xfw" with
// their exact types, the exported policy function () -> i32, buckets) and the instruction
// subset eBPF can express (integers only: no floats, SIMD, atomics, reference types, tables,
// bulk memory, multi-value, exceptions, tail calls). Refusals name the function and the
// instruction.
#pragma once

#include "wasm-policy/module_scan.hpp"
#include "wasm-policy/policy_compiler.hpp"

#include <binaryen-c.h>

#include <string>
#include <vector>

namespace xfw::wasm {

// The ABI imports, by their name in module "xfw".
enum class HostImport : uint8_t { LoadU8, LoadU16, LoadU32, LoadU64, PktLen, Ifindex, Count };

inline constexpr const char* kAbiModule = "xfw";
inline constexpr uint32_t kMaxBuckets = 64;
inline constexpr uint32_t kMaxMemoryPagesCap = 4;
inline constexpr uint32_t kMaxFuel = 1u << 24;

struct ModuleFacts {
    std::vector<std::string> bucket_names;
    uint32_t wasm_instructions = 0;
    bool has_loops = false;
    bool has_memory = false;
    uint32_t memory_initial_pages = 0;
    uint32_t memory_max_pages = 0;
    BinaryenFunctionRef policy = nullptr;  // the exported policy function
};

// Checks everything above on the module as read; fills the facts the lowering needs.
Expected<ModuleFacts> check_module(BinaryenModuleRef module, const ModuleScan& scan, const PolicyOptions& options);

// The host import a function import stands for, if it is one of the ABI's.
std::optional<HostImport> host_import_of(BinaryenFunctionRef function);

// "function $name", or for a module without a name section "function 3 (exported as "filter")".
std::string describe_function(BinaryenModuleRef module, BinaryenFunctionRef function);

// "i32.add" and friends for the integer operations the compiler lowers.
std::string unary_op_name(BinaryenOp op);
std::string binary_op_name(BinaryenOp op);

}  // namespace xfw::wasm
