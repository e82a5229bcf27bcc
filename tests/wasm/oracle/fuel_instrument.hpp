// Fuel for the Node oracle (run_policy.mjs): rewrites a policy module so that running it in a
// plain Wasm engine charges fuel exactly where xfw's eBPF does (docs/wasm-compiler.md, "Fuel"):
//   - +1 at every call instruction, after its operands are evaluated and before the callee runs;
//   - +1 each time a loop is re-entered through a branch to its label (every iteration after
//     the first); entering a loop by falling into it costs nothing.
// Each charge calls the import "xfw_oracle" "charge" (), which the harness implements: it
// traps with the fuel code when the run has no fuel left, otherwise takes one unit.
//
// The rewrite works on binaryen's IR (Debian binaryen, C API) and changes nothing else: every
// loop gets an i32 local that says whether the loop was entered from outside (set to 1 just
// before the loop, cleared at the top of its body), and every call's operands go through fresh
// locals so that the charge sits between operand evaluation and the call.
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace xfw::test {

struct FuelInstrumentOptions {
    // Whether calls to the "xfw" imports (load_u8, count, ...) cost fuel like calls to the
    // module's own functions.
    bool charge_import_calls = false;
};

// Returns the rewritten module, or a bad_input error when binaryen cannot read or validate it
// or it contains an instruction outside the integer MVP subset xfw accepts.
Expected<std::vector<uint8_t>> instrument_fuel(std::span<const uint8_t> module,
                                               const FuelInstrumentOptions& options = {});

}  // namespace xfw::test
