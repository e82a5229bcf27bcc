// Which declared locals of a function can be read before anything writes them. Wasm gives every
// local a zero on entry; the lowering keeps locals in frame slots that hold whatever the last
// packet or call left there, so it stores that zero only for the locals this analysis names
// (on the examples, none: compilers write locals before reading them).
#pragma once

#include <binaryen-c.h>

#include <vector>

namespace xfw::wasm {

// Indexed by local index (parameters included, always false): true when some path from the
// function's entry reads the local before a local.set/tee on that path.
std::vector<bool> locals_read_before_written(BinaryenFunctionRef function);

}  // namespace xfw::wasm
