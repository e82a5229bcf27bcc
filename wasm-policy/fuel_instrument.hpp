// Fuel, as the policy ABI counts it: one unit per call and per loop back-edge. The count is
// written into the module itself, before binaryen optimises it, so that inlining (which removes
// calls) and loop rewrites cannot change what a policy is charged: the optimiser preserves the
// instrumentation's observable behaviour like any other code.
//
//   every defined function, on entry:   charge
//   every loop:                         refund; loop { charge; body }
//   charge = if (fuel == 0) fuel_exhausted(); fuel -= 1
//   refund = fuel += 1   (the first entry into a loop is not a back-edge)
//
// The policy function's own entry from the host is not a call: it is left uncharged unless the
// module also calls the policy function itself, and then the subprogram starts the packet with
// (limit + 1) instead of limit. `fuel` is a mutable i32 global; fuel_exhausted is an import the
// lowering turns into the `fuel` trap.
#pragma once

#include <binaryen-c.h>

namespace xfw::wasm {

inline constexpr const char* kFuelGlobal = "xfw$fuel";
inline constexpr const char* kInternalModule = "xfw$internal";
inline constexpr const char* kFuelExhaustedImport = "fuel_exhausted";
inline constexpr const char* kFuelExhaustedFunction = "xfw$fuel_exhausted";

// Returns whether `policy`'s entry carries a charge (the module calls it too).
bool instrument_fuel(BinaryenModuleRef module, BinaryenFunctionRef policy);

}  // namespace xfw::wasm
