// Fuel instrumentation (see fuel_instrument.hpp).
#include "wasm-policy/fuel_instrument.hpp"

#include "wasm-policy/expression_children.hpp"

#include <cstring>
#include <vector>

namespace xfw::wasm {

namespace {

struct Instrumenter {
    BinaryenModuleRef m;

    BinaryenExpressionRef fuel() { return BinaryenGlobalGet(m, kFuelGlobal, BinaryenTypeInt32()); }
    BinaryenExpressionRef constant(int32_t v) { return BinaryenConst(m, BinaryenLiteralInt32(v)); }

    BinaryenExpressionRef charge() {
        BinaryenExpressionRef exhausted = BinaryenCall(m, kFuelExhaustedFunction, nullptr, 0, BinaryenTypeNone());
        BinaryenExpressionRef steps[2] = {
            BinaryenIf(m, BinaryenUnary(m, BinaryenEqZInt32(), fuel()), exhausted, nullptr),
            BinaryenGlobalSet(m, kFuelGlobal, BinaryenBinary(m, BinaryenSubInt32(), fuel(), constant(1))),
        };
        return BinaryenBlock(m, nullptr, steps, 2, BinaryenTypeNone());
    }
    BinaryenExpressionRef refund() {
        return BinaryenGlobalSet(m, kFuelGlobal, BinaryenBinary(m, BinaryenAddInt32(), fuel(), constant(1)));
    }
    BinaryenExpressionRef prefixed(BinaryenExpressionRef first, BinaryenExpressionRef body) {
        BinaryenExpressionRef children[2] = {first, body};
        return BinaryenBlock(m, nullptr, children, 2, BinaryenExpressionGetType(body));
    }

    // Returns what replaces `x` in its parent (x itself, or a block around it).
    BinaryenExpressionRef visit(BinaryenExpressionRef x) {
        if (!x) return x;
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        auto child = [&](BinaryenExpressionRef c, auto&& set) {
            if (!c) return;
            BinaryenExpressionRef r = visit(c);
            if (r != c) set(r);
        };
        if (id == BinaryenBlockId()) {
            for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(x); ++i)
                child(BinaryenBlockGetChildAt(x, i), [&](auto r) { BinaryenBlockSetChildAt(x, i, r); });
        } else if (id == BinaryenIfId()) {
            child(BinaryenIfGetCondition(x), [&](auto r) { BinaryenIfSetCondition(x, r); });
            child(BinaryenIfGetIfTrue(x), [&](auto r) { BinaryenIfSetIfTrue(x, r); });
            child(BinaryenIfGetIfFalse(x), [&](auto r) { BinaryenIfSetIfFalse(x, r); });
        } else if (id == BinaryenLoopId()) {
            BinaryenExpressionRef body = BinaryenLoopGetBody(x);
            BinaryenExpressionRef new_body = visit(body);
            BinaryenLoopSetBody(x, prefixed(charge(), new_body));
            return prefixed(refund(), x);
        } else if (id == BinaryenBreakId()) {
            child(BinaryenBreakGetValue(x), [&](auto r) { BinaryenBreakSetValue(x, r); });
            child(BinaryenBreakGetCondition(x), [&](auto r) { BinaryenBreakSetCondition(x, r); });
        } else if (id == BinaryenSwitchId()) {
            child(BinaryenSwitchGetValue(x), [&](auto r) { BinaryenSwitchSetValue(x, r); });
            child(BinaryenSwitchGetCondition(x), [&](auto r) { BinaryenSwitchSetCondition(x, r); });
        } else if (id == BinaryenCallId()) {
            for (BinaryenIndex i = 0; i < BinaryenCallGetNumOperands(x); ++i)
                child(BinaryenCallGetOperandAt(x, i), [&](auto r) { BinaryenCallSetOperandAt(x, i, r); });
        } else if (id == BinaryenLocalSetId()) {
            child(BinaryenLocalSetGetValue(x), [&](auto r) { BinaryenLocalSetSetValue(x, r); });
        } else if (id == BinaryenGlobalSetId()) {
            child(BinaryenGlobalSetGetValue(x), [&](auto r) { BinaryenGlobalSetSetValue(x, r); });
        } else if (id == BinaryenLoadId()) {
            child(BinaryenLoadGetPtr(x), [&](auto r) { BinaryenLoadSetPtr(x, r); });
        } else if (id == BinaryenStoreId()) {
            child(BinaryenStoreGetPtr(x), [&](auto r) { BinaryenStoreSetPtr(x, r); });
            child(BinaryenStoreGetValue(x), [&](auto r) { BinaryenStoreSetValue(x, r); });
        } else if (id == BinaryenUnaryId()) {
            child(BinaryenUnaryGetValue(x), [&](auto r) { BinaryenUnarySetValue(x, r); });
        } else if (id == BinaryenBinaryId()) {
            child(BinaryenBinaryGetLeft(x), [&](auto r) { BinaryenBinarySetLeft(x, r); });
            child(BinaryenBinaryGetRight(x), [&](auto r) { BinaryenBinarySetRight(x, r); });
        } else if (id == BinaryenSelectId()) {
            child(BinaryenSelectGetIfTrue(x), [&](auto r) { BinaryenSelectSetIfTrue(x, r); });
            child(BinaryenSelectGetIfFalse(x), [&](auto r) { BinaryenSelectSetIfFalse(x, r); });
            child(BinaryenSelectGetCondition(x), [&](auto r) { BinaryenSelectSetCondition(x, r); });
        } else if (id == BinaryenDropId()) {
            child(BinaryenDropGetValue(x), [&](auto r) { BinaryenDropSetValue(x, r); });
        } else if (id == BinaryenReturnId()) {
            child(BinaryenReturnGetValue(x), [&](auto r) { BinaryenReturnSetValue(x, r); });
        } else if (id == BinaryenMemoryGrowId()) {
            child(BinaryenMemoryGrowGetDelta(x), [&](auto r) { BinaryenMemoryGrowSetDelta(x, r); });
        }
        return x;
    }
};

bool is_import(BinaryenFunctionRef f) {
    const char* module = BinaryenFunctionImportGetModule(f);
    return module && *module;
}

// Whether any defined function calls `target`.
bool called_within(BinaryenModuleRef module, BinaryenFunctionRef target) {
    const char* name = BinaryenFunctionGetName(target);
    std::vector<BinaryenExpressionRef> pending;
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(module); ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
        if (!is_import(f)) pending.push_back(BinaryenFunctionGetBody(f));
    }
    while (!pending.empty()) {
        BinaryenExpressionRef x = pending.back();
        pending.pop_back();
        if (BinaryenExpressionGetId(x) == BinaryenCallId() && std::strcmp(BinaryenCallGetTarget(x), name) == 0)
            return true;
        for (BinaryenExpressionRef c : children_of(x)) pending.push_back(c);
    }
    return false;
}

}  // namespace

bool instrument_fuel(BinaryenModuleRef module, BinaryenFunctionRef policy) {
    const bool charge_policy_entry = called_within(module, policy);
    Instrumenter in{module};
    std::vector<BinaryenFunctionRef> defined;
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(module); ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
        if (!is_import(f)) defined.push_back(f);
    }
    BinaryenAddFunctionImport(module, kFuelExhaustedFunction, kInternalModule, kFuelExhaustedImport,
                              BinaryenTypeNone(), BinaryenTypeNone());
    BinaryenAddGlobal(module, kFuelGlobal, BinaryenTypeInt32(), true, in.constant(0));
    for (BinaryenFunctionRef f : defined) {
        BinaryenExpressionRef body = in.visit(BinaryenFunctionGetBody(f));
        BinaryenFunctionSetBody(f, f == policy && !charge_policy_entry ? body : in.prefixed(in.charge(), body));
    }
    return charge_policy_entry;
}

}  // namespace xfw::wasm
