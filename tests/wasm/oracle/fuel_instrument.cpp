#include "tests/wasm/oracle/fuel_instrument.hpp"

#include <binaryen-c.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace xfw::test {
namespace {

constexpr const char* kChargeName = "__xfw_oracle_charge";

// Binaryen reports a defined function's import module as null or "" depending on the version.
bool is_import(BinaryenFunctionRef f) {
    const char* module = BinaryenFunctionImportGetModule(f);
    return module != nullptr && *module != '\0';
}

struct ModuleDeleter {
    void operator()(BinaryenModuleRef m) const { BinaryenModuleDispose(m); }
};
using ModulePtr = std::unique_ptr<std::remove_pointer_t<BinaryenModuleRef>, ModuleDeleter>;

// Rewrites one function body; collects the locals it needs.
class FunctionRewriter {
public:
    FunctionRewriter(BinaryenModuleRef module, BinaryenIndex first_new_local, bool charge_imports)
        : m_(module), next_local_(first_new_local), charge_imports_(charge_imports) {}

    const std::vector<BinaryenType>& new_locals() const { return new_locals_; }
    const std::string& error() const { return error_; }

    BinaryenExpressionRef visit(BinaryenExpressionRef e) {
        if (!e || !error_.empty()) return e;
        const BinaryenExpressionId id = BinaryenExpressionGetId(e);
        if (id == BinaryenBlockId()) {
            for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(e); ++i)
                BinaryenBlockSetChildAt(e, i, visit(BinaryenBlockGetChildAt(e, i)));
            return e;
        }
        if (id == BinaryenIfId()) {
            BinaryenIfSetCondition(e, visit(BinaryenIfGetCondition(e)));
            BinaryenIfSetIfTrue(e, visit(BinaryenIfGetIfTrue(e)));
            if (BinaryenIfGetIfFalse(e)) BinaryenIfSetIfFalse(e, visit(BinaryenIfGetIfFalse(e)));
            return e;
        }
        if (id == BinaryenLoopId()) return rewrite_loop(e);
        if (id == BinaryenBreakId()) {
            if (BinaryenBreakGetValue(e)) BinaryenBreakSetValue(e, visit(BinaryenBreakGetValue(e)));
            if (BinaryenBreakGetCondition(e))
                BinaryenBreakSetCondition(e, visit(BinaryenBreakGetCondition(e)));
            return e;
        }
        if (id == BinaryenSwitchId()) {
            if (BinaryenSwitchGetValue(e)) BinaryenSwitchSetValue(e, visit(BinaryenSwitchGetValue(e)));
            BinaryenSwitchSetCondition(e, visit(BinaryenSwitchGetCondition(e)));
            return e;
        }
        if (id == BinaryenCallId()) return rewrite_call(e);
        if (id == BinaryenLocalSetId()) {
            BinaryenLocalSetSetValue(e, visit(BinaryenLocalSetGetValue(e)));
            return e;
        }
        if (id == BinaryenGlobalSetId()) {
            BinaryenGlobalSetSetValue(e, visit(BinaryenGlobalSetGetValue(e)));
            return e;
        }
        if (id == BinaryenLoadId()) {
            BinaryenLoadSetPtr(e, visit(BinaryenLoadGetPtr(e)));
            return e;
        }
        if (id == BinaryenStoreId()) {
            BinaryenStoreSetPtr(e, visit(BinaryenStoreGetPtr(e)));
            BinaryenStoreSetValue(e, visit(BinaryenStoreGetValue(e)));
            return e;
        }
        if (id == BinaryenUnaryId()) {
            BinaryenUnarySetValue(e, visit(BinaryenUnaryGetValue(e)));
            return e;
        }
        if (id == BinaryenBinaryId()) {
            BinaryenBinarySetLeft(e, visit(BinaryenBinaryGetLeft(e)));
            BinaryenBinarySetRight(e, visit(BinaryenBinaryGetRight(e)));
            return e;
        }
        if (id == BinaryenSelectId()) {
            BinaryenSelectSetIfTrue(e, visit(BinaryenSelectGetIfTrue(e)));
            BinaryenSelectSetIfFalse(e, visit(BinaryenSelectGetIfFalse(e)));
            BinaryenSelectSetCondition(e, visit(BinaryenSelectGetCondition(e)));
            return e;
        }
        if (id == BinaryenDropId()) {
            BinaryenDropSetValue(e, visit(BinaryenDropGetValue(e)));
            return e;
        }
        if (id == BinaryenReturnId()) {
            if (BinaryenReturnGetValue(e)) BinaryenReturnSetValue(e, visit(BinaryenReturnGetValue(e)));
            return e;
        }
        if (id == BinaryenMemoryGrowId()) {
            BinaryenMemoryGrowSetDelta(e, visit(BinaryenMemoryGrowGetDelta(e)));
            return e;
        }
        if (id == BinaryenConstId() || id == BinaryenLocalGetId() || id == BinaryenGlobalGetId() ||
            id == BinaryenNopId() || id == BinaryenUnreachableId() || id == BinaryenMemorySizeId())
            return e;
        error_ = "expression kind " + std::to_string(id) +
                 " is outside the integer MVP subset the oracle instruments";
        return e;
    }

private:
    BinaryenIndex add_local(BinaryenType type) {
        new_locals_.push_back(type);
        return next_local_++;
    }
    BinaryenExpressionRef charge() {
        return BinaryenCall(m_, kChargeName, nullptr, 0, BinaryenTypeNone());
    }

    // (local.set $entered 1)
    // (loop $L (if (i32.eqz (local.get $entered)) (call $charge)) (local.set $entered 0) body)
    BinaryenExpressionRef rewrite_loop(BinaryenExpressionRef loop) {
        const BinaryenIndex entered = add_local(BinaryenTypeInt32());
        BinaryenType type = BinaryenExpressionGetType(loop);
        if (type == BinaryenTypeUnreachable()) type = BinaryenTypeAuto();
        BinaryenExpressionRef body = visit(BinaryenLoopGetBody(loop));
        BinaryenExpressionRef prologue[3] = {
            BinaryenIf(m_,
                       BinaryenUnary(m_, BinaryenEqZInt32(),
                                     BinaryenLocalGet(m_, entered, BinaryenTypeInt32())),
                       charge(), nullptr),
            BinaryenLocalSet(m_, entered, BinaryenConst(m_, BinaryenLiteralInt32(0))),
            body,
        };
        BinaryenLoopSetBody(loop, BinaryenBlock(m_, nullptr, prologue, 3, type));
        BinaryenExpressionRef outer[2] = {
            BinaryenLocalSet(m_, entered, BinaryenConst(m_, BinaryenLiteralInt32(1))),
            loop,
        };
        return BinaryenBlock(m_, nullptr, outer, 2, type);
    }

    // (local.set $a0 op0) ... (call $charge) (call $f (local.get $a0) ...)
    BinaryenExpressionRef rewrite_call(BinaryenExpressionRef call) {
        if (BinaryenCallIsReturn(call)) {
            error_ = "return_call (tail calls) is outside the integer MVP subset";
            return call;
        }
        const char* target = BinaryenCallGetTarget(call);
        BinaryenFunctionRef callee = BinaryenGetFunction(m_, target);
        const bool callee_is_import = callee && is_import(callee);
        const BinaryenIndex n = BinaryenCallGetNumOperands(call);
        for (BinaryenIndex i = 0; i < n; ++i)
            BinaryenCallSetOperandAt(call, i, visit(BinaryenCallGetOperandAt(call, i)));
        if (callee_is_import && !charge_imports_) return call;

        std::vector<BinaryenType> params(n);
        if (callee && n) {
            BinaryenType ptype = BinaryenFunctionGetParams(callee);
            if (BinaryenTypeArity(ptype) == n) BinaryenTypeExpand(ptype, params.data());
        }
        std::vector<BinaryenExpressionRef> seq;
        for (BinaryenIndex i = 0; i < n; ++i) {
            BinaryenExpressionRef op = BinaryenCallGetOperandAt(call, i);
            BinaryenType t = params[i] ? params[i] : BinaryenExpressionGetType(op);
            const BinaryenIndex tmp = add_local(t);
            seq.push_back(BinaryenLocalSet(m_, tmp, op));
            BinaryenCallSetOperandAt(call, i, BinaryenLocalGet(m_, tmp, t));
        }
        seq.push_back(charge());
        seq.push_back(call);
        BinaryenType type = BinaryenExpressionGetType(call);
        if (type == BinaryenTypeUnreachable()) type = BinaryenTypeAuto();
        return BinaryenBlock(m_, nullptr, seq.data(), static_cast<BinaryenIndex>(seq.size()), type);
    }

    BinaryenModuleRef m_;
    BinaryenIndex next_local_;
    bool charge_imports_;
    std::vector<BinaryenType> new_locals_;
    std::string error_;
};

}  // namespace

Expected<std::vector<uint8_t>> instrument_fuel(std::span<const uint8_t> module,
                                               const FuelInstrumentOptions& options) {
    std::vector<char> input(module.begin(), module.end());
    ModulePtr m(BinaryenModuleRead(input.data(), input.size()));
    if (!m) return bad_input("fuel instrumentation: binaryen could not read the module");
    BinaryenModuleSetFeatures(m.get(), BinaryenFeatureMVP() | BinaryenFeatureMutableGlobals());
    if (!BinaryenModuleValidate(m.get()))
        return bad_input("fuel instrumentation: the module does not validate as integer MVP Wasm");

    // Snapshot the defined functions first: re-adding a function changes the index order.
    struct Defined { std::string name; BinaryenFunctionRef ref; };
    std::vector<Defined> defined;
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(m.get()); ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(m.get(), i);
        if (!is_import(f)) defined.push_back({BinaryenFunctionGetName(f), f});
    }
    BinaryenAddFunctionImport(m.get(), kChargeName, "xfw_oracle", "charge", BinaryenTypeNone(),
                              BinaryenTypeNone());

    // The C API cannot add locals to a function, so each function is rebuilt under its own
    // name with its old locals followed by the new ones; calls and exports refer to names.
    for (const Defined& d : defined) {
        BinaryenFunctionRef f = d.ref;
        const BinaryenType params = BinaryenFunctionGetParams(f);
        const BinaryenType results = BinaryenFunctionGetResults(f);
        std::vector<BinaryenType> vars;
        for (BinaryenIndex v = 0; v < BinaryenFunctionGetNumVars(f); ++v) vars.push_back(BinaryenFunctionGetVar(f, v));
        FunctionRewriter rw(m.get(), BinaryenFunctionGetNumLocals(f), options.charge_import_calls);
        BinaryenExpressionRef body = rw.visit(BinaryenFunctionGetBody(f));
        if (!rw.error().empty()) return bad_input("fuel instrumentation: function " + d.name + ": " + rw.error());
        vars.insert(vars.end(), rw.new_locals().begin(), rw.new_locals().end());
        BinaryenRemoveFunction(m.get(), d.name.c_str());
        BinaryenAddFunction(m.get(), d.name.c_str(), params, results, vars.data(),
                            static_cast<BinaryenIndex>(vars.size()), body);
    }
    if (!BinaryenModuleValidate(m.get()))
        return bad_input("fuel instrumentation: the rewritten module does not validate (oracle bug)");

    BinaryenModuleAllocateAndWriteResult out = BinaryenModuleAllocateAndWrite(m.get(), nullptr);
    std::vector<uint8_t> bytes(static_cast<uint8_t*>(out.binary),
                               static_cast<uint8_t*>(out.binary) + out.binaryBytes);
    std::free(out.binary);
    std::free(out.sourceMap);
    return bytes;
}

}  // namespace xfw::test
