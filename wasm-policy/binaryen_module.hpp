// Owning handle for a binaryen module, and a read that cannot take the process down: binaryen's
// C API reports a malformed binary (and prints validation failures) by printing to stderr and
// exiting. The binary is first read and validated in a short-lived child process; only a module
// the child read and validated cleanly is read in this process.
#pragma once

#include "xdp/error.hpp"

#include <binaryen-c.h>

#include <cstdint>
#include <memory>
#include <span>

namespace xfw::wasm {

struct ModuleDeleter {
    void operator()(BinaryenModuleRef module) const { BinaryenModuleDispose(module); }
};
using ModulePtr = std::unique_ptr<std::remove_pointer_t<BinaryenModuleRef>, ModuleDeleter>;

// Reads `bytes` and validates it with every feature enabled (features the policy ABI forbids
// are refused afterwards, with a message naming the instruction). Errors quote binaryen.
Expected<ModulePtr> read_module(std::span<const uint8_t> bytes);

}  // namespace xfw::wasm
