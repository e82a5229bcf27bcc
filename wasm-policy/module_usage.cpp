// Usage of memory, loops and globals by the functions a policy reaches (see module_usage.hpp).
#include "wasm-policy/module_usage.hpp"

#include "wasm-policy/expression_children.hpp"
#include "wasm-policy/fuel_instrument.hpp"

#include <cstring>
#include <vector>

namespace xfw::wasm {

ModuleUsage scan_usage(BinaryenModuleRef module, BinaryenFunctionRef policy) {
    ModuleUsage usage;
    std::set<BinaryenFunctionRef> seen{policy};
    std::vector<BinaryenFunctionRef> functions{policy};
    std::vector<BinaryenExpressionRef> pending;
    while (!functions.empty()) {
        BinaryenFunctionRef f = functions.back();
        functions.pop_back();
        pending.push_back(BinaryenFunctionGetBody(f));
        while (!pending.empty()) {
            BinaryenExpressionRef x = pending.back();
            pending.pop_back();
            const BinaryenExpressionId id = BinaryenExpressionGetId(x);
            if (id == BinaryenLoadId() || id == BinaryenStoreId() || id == BinaryenMemorySizeId() ||
                id == BinaryenMemoryGrowId()) {
                usage.memory = true;
            } else if (id == BinaryenLoopId()) {
                usage.loops = true;
            } else if (id == BinaryenGlobalGetId()) {
                if (std::strcmp(BinaryenGlobalGetGetName(x), kFuelGlobal) == 0) usage.fuel_read = true;
            } else if (id == BinaryenGlobalSetId()) {
                usage.globals_set.insert(BinaryenGlobalSetGetName(x));
            } else if (id == BinaryenCallId()) {
                BinaryenFunctionRef target = BinaryenGetFunction(module, BinaryenCallGetTarget(x));
                const char* import_module = BinaryenFunctionImportGetModule(target);
                const bool defined = !import_module || !*import_module;
                if (defined && seen.insert(target).second) functions.push_back(target);
            }
            for (BinaryenExpressionRef c : children_of(x)) pending.push_back(c);
        }
    }
    return usage;
}

}  // namespace xfw::wasm
