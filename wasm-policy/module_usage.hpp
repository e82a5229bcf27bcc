// What the optimised policy actually uses, from its exported function through every function it
// calls. The lowering picks the cheapest layout these allow (docs/wasm-compiler.md, "Instance
// or stack"): a policy that keeps no state between packets needs no per-CPU instance at all.
#pragma once

#include <binaryen-c.h>

#include <set>
#include <string>

namespace xfw::wasm {

struct ModuleUsage {
    bool memory = false;                // a load, store, memory.size or memory.grow
    bool loops = false;
    bool fuel_read = false;             // the fuel counter is ever tested (calls or loops remain)
    std::set<std::string> globals_set;  // globals some global.set writes (the fuel counter included)
};

ModuleUsage scan_usage(BinaryenModuleRef module, BinaryenFunctionRef policy);

}  // namespace xfw::wasm
