// The operands of a supported (integer MVP) expression, in Wasm evaluation order. The module
// checker has refused every other kind before any analysis walks a tree.
#pragma once

#include <binaryen-c.h>

#include <vector>

namespace xfw::wasm {

inline std::vector<BinaryenExpressionRef> children_of(BinaryenExpressionRef x) {
    std::vector<BinaryenExpressionRef> out;
    auto add = [&](BinaryenExpressionRef c) {
        if (c) out.push_back(c);
    };
    const BinaryenExpressionId id = BinaryenExpressionGetId(x);
    if (id == BinaryenBlockId()) {
        for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(x); ++i) add(BinaryenBlockGetChildAt(x, i));
    } else if (id == BinaryenIfId()) {
        add(BinaryenIfGetCondition(x));
        add(BinaryenIfGetIfTrue(x));
        add(BinaryenIfGetIfFalse(x));
    } else if (id == BinaryenLoopId()) {
        add(BinaryenLoopGetBody(x));
    } else if (id == BinaryenBreakId()) {
        add(BinaryenBreakGetValue(x));
        add(BinaryenBreakGetCondition(x));
    } else if (id == BinaryenSwitchId()) {
        add(BinaryenSwitchGetValue(x));
        add(BinaryenSwitchGetCondition(x));
    } else if (id == BinaryenCallId()) {
        for (BinaryenIndex i = 0; i < BinaryenCallGetNumOperands(x); ++i) add(BinaryenCallGetOperandAt(x, i));
    } else if (id == BinaryenLocalSetId()) {
        add(BinaryenLocalSetGetValue(x));
    } else if (id == BinaryenGlobalSetId()) {
        add(BinaryenGlobalSetGetValue(x));
    } else if (id == BinaryenLoadId()) {
        add(BinaryenLoadGetPtr(x));
    } else if (id == BinaryenStoreId()) {
        add(BinaryenStoreGetPtr(x));
        add(BinaryenStoreGetValue(x));
    } else if (id == BinaryenUnaryId()) {
        add(BinaryenUnaryGetValue(x));
    } else if (id == BinaryenBinaryId()) {
        add(BinaryenBinaryGetLeft(x));
        add(BinaryenBinaryGetRight(x));
    } else if (id == BinaryenSelectId()) {
        add(BinaryenSelectGetIfTrue(x));
        add(BinaryenSelectGetIfFalse(x));
        add(BinaryenSelectGetCondition(x));
    } else if (id == BinaryenDropId()) {
        add(BinaryenDropGetValue(x));
    } else if (id == BinaryenReturnId()) {
        add(BinaryenReturnGetValue(x));
    } else if (id == BinaryenMemoryGrowId()) {
        add(BinaryenMemoryGrowGetDelta(x));
    }
    return out;
}

}  // namespace xfw::wasm
