// Wasm expression trees to eBPF (see lowering.hpp and docs/wasm-compiler.md).
//
// Evaluation model: every expression leaves its value in R0; i32 values are kept zero-extended
// to 64 bits (ALU32 operations do this by themselves). Locals, parameters and the temporaries
// of an expression whose later operand is not a leaf live in 8-byte frame slots. Natively the
// frame is part of the per-CPU instance map value, not the stack: the verifier treats map
// memory as unknown data, so a loop's states at its header are the same on every iteration
// and it proves a loop once (bounded by may_goto) instead of once per iteration. Every call is
// inlined with its own slots (recursion is refused), so frames are allocated at compile time.
//
// Registers: R6 the xdp_md context, R7 the instance, R8 linear memory (R7 + memory offset),
// R9 the frame (R7 + frame offset); R0-R5 scratch within one expression.
#include "wasm-policy/lowering.hpp"

#include "wasm-policy/fuel_instrument.hpp"
#include "wasm-policy/local_zeroing.hpp"
#include "wasm-policy/module_usage.hpp"
#include "xdp/insn.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#ifndef BPF_JCOND
#define BPF_JCOND 0xe0
#endif

namespace xfw::wasm {

using namespace bpf;

namespace {

constexpr const char* kCountStubOrigin = "wasm count stub";

// An error deep inside the recursive walk; turned into an Error at lower_policy's boundary.
struct LoweringFailure {
    std::string message;
};

// A native frame on the stack outgrew kMaxStackFrameBytes: lower again with an instance.
struct StackFrameFull {};

enum class Op : uint8_t {
    Add, Sub, Mul, DivS, DivU, RemS, RemU, And, Or, Xor, Shl, ShrU, ShrS, Rotl, Rotr,
    Eq, Ne, LtS, LtU, LeS, LeU, GtS, GtU, GeS, GeU,
    Clz, Ctz, Popcnt, Eqz, ExtendS32To64, ExtendU32To64, Wrap, Extend8, Extend16, Extend32,
};

struct OpInfo {
    Op op;
    bool wide;  // operates on i64
};

// binaryen numbers unary and binary operations separately: two tables.
const std::map<BinaryenOp, OpInfo>& binary_table() {
    static const std::map<BinaryenOp, OpInfo> table = {
        {BinaryenAddInt32(), {Op::Add, false}},   {BinaryenSubInt32(), {Op::Sub, false}},
        {BinaryenMulInt32(), {Op::Mul, false}},   {BinaryenDivSInt32(), {Op::DivS, false}},
        {BinaryenDivUInt32(), {Op::DivU, false}}, {BinaryenRemSInt32(), {Op::RemS, false}},
        {BinaryenRemUInt32(), {Op::RemU, false}}, {BinaryenAndInt32(), {Op::And, false}},
        {BinaryenOrInt32(), {Op::Or, false}},     {BinaryenXorInt32(), {Op::Xor, false}},
        {BinaryenShlInt32(), {Op::Shl, false}},   {BinaryenShrUInt32(), {Op::ShrU, false}},
        {BinaryenShrSInt32(), {Op::ShrS, false}}, {BinaryenRotLInt32(), {Op::Rotl, false}},
        {BinaryenRotRInt32(), {Op::Rotr, false}}, {BinaryenEqInt32(), {Op::Eq, false}},
        {BinaryenNeInt32(), {Op::Ne, false}},     {BinaryenLtSInt32(), {Op::LtS, false}},
        {BinaryenLtUInt32(), {Op::LtU, false}},   {BinaryenLeSInt32(), {Op::LeS, false}},
        {BinaryenLeUInt32(), {Op::LeU, false}},   {BinaryenGtSInt32(), {Op::GtS, false}},
        {BinaryenGtUInt32(), {Op::GtU, false}},   {BinaryenGeSInt32(), {Op::GeS, false}},
        {BinaryenGeUInt32(), {Op::GeU, false}},
        {BinaryenAddInt64(), {Op::Add, true}},    {BinaryenSubInt64(), {Op::Sub, true}},
        {BinaryenMulInt64(), {Op::Mul, true}},    {BinaryenDivSInt64(), {Op::DivS, true}},
        {BinaryenDivUInt64(), {Op::DivU, true}},  {BinaryenRemSInt64(), {Op::RemS, true}},
        {BinaryenRemUInt64(), {Op::RemU, true}},  {BinaryenAndInt64(), {Op::And, true}},
        {BinaryenOrInt64(), {Op::Or, true}},      {BinaryenXorInt64(), {Op::Xor, true}},
        {BinaryenShlInt64(), {Op::Shl, true}},    {BinaryenShrUInt64(), {Op::ShrU, true}},
        {BinaryenShrSInt64(), {Op::ShrS, true}},  {BinaryenRotLInt64(), {Op::Rotl, true}},
        {BinaryenRotRInt64(), {Op::Rotr, true}},  {BinaryenEqInt64(), {Op::Eq, true}},
        {BinaryenNeInt64(), {Op::Ne, true}},      {BinaryenLtSInt64(), {Op::LtS, true}},
        {BinaryenLtUInt64(), {Op::LtU, true}},    {BinaryenLeSInt64(), {Op::LeS, true}},
        {BinaryenLeUInt64(), {Op::LeU, true}},    {BinaryenGtSInt64(), {Op::GtS, true}},
        {BinaryenGtUInt64(), {Op::GtU, true}},    {BinaryenGeSInt64(), {Op::GeS, true}},
        {BinaryenGeUInt64(), {Op::GeU, true}},
    };
    return table;
}

const std::map<BinaryenOp, OpInfo>& unary_table() {
    static const std::map<BinaryenOp, OpInfo> table = {
        {BinaryenClzInt32(), {Op::Clz, false}},   {BinaryenCtzInt32(), {Op::Ctz, false}},
        {BinaryenPopcntInt32(), {Op::Popcnt, false}}, {BinaryenEqZInt32(), {Op::Eqz, false}},
        {BinaryenClzInt64(), {Op::Clz, true}},    {BinaryenCtzInt64(), {Op::Ctz, true}},
        {BinaryenPopcntInt64(), {Op::Popcnt, true}}, {BinaryenEqZInt64(), {Op::Eqz, true}},
        {BinaryenExtendSInt32(), {Op::ExtendS32To64, true}}, {BinaryenExtendUInt32(), {Op::ExtendU32To64, true}},
        {BinaryenWrapInt64(), {Op::Wrap, false}}, {BinaryenExtendS8Int32(), {Op::Extend8, false}},
        {BinaryenExtendS16Int32(), {Op::Extend16, false}}, {BinaryenExtendS8Int64(), {Op::Extend8, true}},
        {BinaryenExtendS16Int64(), {Op::Extend16, true}}, {BinaryenExtendS32Int64(), {Op::Extend32, true}},
    };
    return table;
}

// The eBPF conditional jump of a comparison, and of its negation.
std::optional<uint8_t> jump_op(Op op, bool negate) {
    switch (op) {
        case Op::Eq: return negate ? BPF_JNE : BPF_JEQ;
        case Op::Ne: return negate ? BPF_JEQ : BPF_JNE;
        case Op::LtS: return negate ? BPF_JSGE : BPF_JSLT;
        case Op::LtU: return negate ? BPF_JGE : BPF_JLT;
        case Op::LeS: return negate ? BPF_JSGT : BPF_JSLE;
        case Op::LeU: return negate ? BPF_JGT : BPF_JLE;
        case Op::GtS: return negate ? BPF_JSLE : BPF_JSGT;
        case Op::GtU: return negate ? BPF_JLE : BPF_JGT;
        case Op::GeS: return negate ? BPF_JSLT : BPF_JSGE;
        case Op::GeU: return negate ? BPF_JLT : BPF_JGE;
        default: return std::nullopt;
    }
}

bool is_import(BinaryenFunctionRef f) {
    const char* module = BinaryenFunctionImportGetModule(f);
    return module && *module;
}

int64_t const_value(BinaryenExpressionRef c) {
    if (BinaryenExpressionGetType(c) == BinaryenTypeInt64()) return BinaryenConstGetValueI64(c);
    return static_cast<uint32_t>(BinaryenConstGetValueI32(c));
}

struct GlobalSlot {
    BinaryenType type;
    bool is_mutable;
    int64_t initial;  // i32 zero-extended
    int16_t offset;   // in the instance (native), or a frame slot offset (offload fuel)
    bool in_frame = false;
};

struct Lowerer {
    BinaryenModuleRef m;
    const ModuleFacts& facts;
    const PolicyOptions& options;
    const bool native;
    const ModuleUsage& usage;
    const FrameHome home;
    const bool policy_entry_charged;
    Emitter e;

    // Layout.
    std::map<std::string, GlobalSlot> globals;
    uint32_t global_count = 0;
    uint32_t memory_offset = 0;
    uint32_t memory_max_bytes = 0;
    uint32_t frame_offset = 0;  // of the frame in the instance
    bool has_instance = true;
    std::map<BinaryenFunctionRef, std::vector<bool>> zero_on_entry;  // locals_read_before_written

    // Frame slots (8 bytes each), allocated at compile time.
    uint32_t top = 0;
    uint32_t max_slots = 0;

    Label traps[8];
    bool trap_used[8] = {};
    Label no_instance = e.new_label();
    Label count_stub = e.new_label();

    struct Scope {
        const char* name;
        Label label;
    };
    std::vector<Scope> scopes;
    struct Activation {
        BinaryenFunctionRef function;
        uint32_t base;  // first slot: parameters, then locals
        Label ret;
        size_t scope_floor;
    };
    std::vector<Activation> activations;

    [[noreturn]] void fail(const std::string& message) { throw LoweringFailure{message}; }
    std::string where() const {
        return activations.empty() ? std::string("module")
                                   : describe_function(m, activations.back().function);
    }

    Label trap(uint32_t code) {
        trap_used[code] = true;
        return traps[code];
    }

    // ---- frame slots ----
    uint32_t push_slot() {
        uint32_t s = top++;
        if (top > max_slots) max_slots = top;
        return s;
    }
    void reserve(uint32_t slots) {
        top += slots;
        if (top > max_slots) max_slots = top;
    }
    Reg frame_reg() const { return has_instance ? R9 : R10; }
    int16_t slot_offset(uint32_t s) const {
        const uint32_t limit = has_instance ? kMaxFrameSlotsNative : (kMaxStackFrameBytes - 16) / 8;
        if (s >= limit) {
            if (native && !has_instance) throw StackFrameFull{};
            throw LoweringFailure{"the policy needs more than " + std::to_string(limit) +
                                  " locals and temporaries in its deepest call chain " +
                                  (native ? "" : "(the NFP stack is small) ") +
                                  "; use fewer locals or shallower calls"};
        }
        return has_instance ? static_cast<int16_t>(8 * s) : static_cast<int16_t>(-16 - 8 * static_cast<int32_t>(s));
    }
    void store_slot(uint32_t s, Reg r) { e.emit(stx(BPF_DW, frame_reg(), r, slot_offset(s))); }
    void load_slot(Reg r, uint32_t s) { e.emit(ldx(BPF_DW, r, frame_reg(), slot_offset(s))); }
    uint32_t local_slot(BinaryenIndex index) const { return activations.back().base + index; }

    // ---- constants ----
    void load_const(Reg r, int64_t v, bool wide) {
        if (!wide) e.emit(mov32_imm(r, static_cast<int32_t>(static_cast<uint32_t>(v))));
        else if (v >= INT32_MIN && v <= INT32_MAX) e.emit(mov64_imm(r, static_cast<int32_t>(v)));
        else e.load_imm64(r, static_cast<uint64_t>(v));
    }

    // ---- leaves: evaluated straight into any register, without clobbering others ----
    bool is_leaf(BinaryenExpressionRef x) const {
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        return id == BinaryenConstId() || id == BinaryenLocalGetId() || id == BinaryenGlobalGetId();
    }
    void load_leaf(BinaryenExpressionRef x, Reg r) {
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        if (id == BinaryenConstId()) {
            load_const(r, const_value(x), BinaryenExpressionGetType(x) == BinaryenTypeInt64());
        } else if (id == BinaryenLocalGetId()) {
            load_slot(r, local_slot(BinaryenLocalGetGetIndex(x)));
        } else {
            load_global(r, BinaryenGlobalGetGetName(x));
        }
    }

    const GlobalSlot& global(const char* name) {
        auto it = globals.find(name);
        if (it == globals.end()) fail(where() + ": global $" + name + " is not defined");
        return it->second;
    }
    void load_global(Reg r, const char* name) {
        const GlobalSlot& g = global(name);
        if (g.in_frame) e.emit(ldx(BPF_DW, r, R10, g.offset));
        else if (!has_instance || !g.is_mutable) load_const(r, g.initial, g.type == BinaryenTypeInt64());
        else e.emit(ldx(BPF_DW, r, R7, g.offset));
    }
    void store_global(Reg r, const char* name) {
        const GlobalSlot& g = global(name);
        if (!g.is_mutable) fail(where() + ": global.set of immutable global $" + name);
        if (g.in_frame) e.emit(stx(BPF_DW, R10, r, g.offset));
        else e.emit(stx(BPF_DW, R7, r, g.offset));
    }

    // Evaluates `a` into R0 and `b` into R1 (in Wasm order: a, then b).
    void eval_pair(BinaryenExpressionRef a, BinaryenExpressionRef b) {
        eval(a);
        if (is_leaf(b)) {
            load_leaf(b, R1);
            return;
        }
        const uint32_t t = push_slot();
        store_slot(t, R0);
        eval(b);
        e.emit(mov64_reg(R1, R0));
        load_slot(R0, t);
        --top;
    }

    // Jumps to `target` when the i32 condition `c` is nonzero (when_true) or zero.
    void eval_jump(BinaryenExpressionRef c, Label target, bool when_true) {
        const BinaryenExpressionId id = BinaryenExpressionGetId(c);
        if (id == BinaryenBinaryId()) {
            const OpInfo info = binary_table().at(BinaryenBinaryGetOp(c));
            if (auto jop = jump_op(info.op, !when_true)) {
                BinaryenExpressionRef right = BinaryenBinaryGetRight(c);
                if (BinaryenExpressionGetId(right) == BinaryenConstId()) {
                    const int64_t v = const_value(right);
                    if (!info.wide || (v >= INT32_MIN && v <= INT32_MAX)) {
                        eval(BinaryenBinaryGetLeft(c));
                        e.jump_if_imm(*jop, R0, static_cast<int32_t>(v), target, info.wide);
                        return;
                    }
                }
                eval_pair(BinaryenBinaryGetLeft(c), right);
                e.jump_if_reg(*jop, R0, R1, target, info.wide);
                return;
            }
        }
        if (id == BinaryenBinaryId() && both_comparisons(c)) {
            // i32.and / i32.or of two 0-or-1 values as branches: the right operand cannot trap
            // or change anything, so not evaluating it when the left decides is unobservable.
            const Op op = binary_table().at(BinaryenBinaryGetOp(c)).op;
            BinaryenExpressionRef left = BinaryenBinaryGetLeft(c), right = BinaryenBinaryGetRight(c);
            if (op == Op::And ? when_true : !when_true) {
                // and: jump if both hold; or: jump if both fail.
                Label decided = e.new_label();
                eval_jump(left, decided, !when_true);
                eval_jump(right, target, when_true);
                e.bind(decided);
            } else {
                eval_jump(left, target, when_true);
                eval_jump(right, target, when_true);
            }
            return;
        }
        if (id == BinaryenUnaryId()) {
            const OpInfo info = unary_table().at(BinaryenUnaryGetOp(c));
            if (info.op == Op::Eqz) {
                eval(BinaryenUnaryGetValue(c));
                e.jump_if_imm(when_true ? BPF_JEQ : BPF_JNE, R0, 0, target, info.wide);
                return;
            }
        }
        eval(c);
        e.jump_if_imm(when_true ? BPF_JNE : BPF_JEQ, R0, 0, target, false);
    }

    // A comparison or eqz (a 0-or-1 value); `of_leaves`: of leaves only, so without effects or traps.
    bool is_comparison(BinaryenExpressionRef x, bool of_leaves) const {
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        if (id == BinaryenUnaryId())
            return unary_table().at(BinaryenUnaryGetOp(x)).op == Op::Eqz &&
                   (!of_leaves || is_leaf(BinaryenUnaryGetValue(x)));
        if (id != BinaryenBinaryId()) return false;
        return jump_op(binary_table().at(BinaryenBinaryGetOp(x)).op, false).has_value() &&
               (!of_leaves || (is_leaf(BinaryenBinaryGetLeft(x)) && is_leaf(BinaryenBinaryGetRight(x))));
    }
    // i32.and or i32.or of two comparisons, the right one of leaves (it may go unevaluated).
    bool both_comparisons(BinaryenExpressionRef x) const {
        const OpInfo info = binary_table().at(BinaryenBinaryGetOp(x));
        return !info.wide && (info.op == Op::And || info.op == Op::Or) &&
               is_comparison(BinaryenBinaryGetLeft(x), false) && is_comparison(BinaryenBinaryGetRight(x), true);
    }

    Label find_scope(const char* name) {
        const size_t floor = activations.empty() ? 0 : activations.back().scope_floor;
        for (size_t i = scopes.size(); i-- > floor;)
            if (std::strcmp(scopes[i].name, name) == 0) return scopes[i].label;
        fail(where() + ": branch to unknown label " + name);
    }

    // ---- the expression walk ----
    void eval(BinaryenExpressionRef x) {
        if (!x) return;
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        if (id == BinaryenConstId() || id == BinaryenLocalGetId() || id == BinaryenGlobalGetId()) {
            load_leaf(x, R0);
        } else if (id == BinaryenBlockId()) {
            const char* name = BinaryenBlockGetName(x);
            Label end = e.new_label();
            if (name) scopes.push_back({name, end});
            for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(x); ++i) eval(BinaryenBlockGetChildAt(x, i));
            if (name) scopes.pop_back();
            e.bind(end);
        } else if (id == BinaryenIfId()) {
            Label otherwise = e.new_label(), end = e.new_label();
            eval_jump(BinaryenIfGetCondition(x), otherwise, false);
            eval(BinaryenIfGetIfTrue(x));
            if (BinaryenIfGetIfFalse(x)) {
                e.jump(end);
                e.bind(otherwise);
                eval(BinaryenIfGetIfFalse(x));
            } else {
                e.bind(otherwise);
            }
            e.bind(end);
        } else if (id == BinaryenLoopId()) {
            eval_loop(x);
        } else if (id == BinaryenBreakId()) {
            eval_break(x);
        } else if (id == BinaryenSwitchId()) {
            eval_switch(x);
        } else if (id == BinaryenCallId()) {
            eval_call(x);
        } else if (id == BinaryenLocalSetId()) {
            eval(BinaryenLocalSetGetValue(x));
            store_slot(local_slot(BinaryenLocalSetGetIndex(x)), R0);
        } else if (id == BinaryenGlobalSetId()) {
            eval(BinaryenGlobalSetGetValue(x));
            store_global(R0, BinaryenGlobalSetGetName(x));
        } else if (id == BinaryenLoadId()) {
            eval_load(x);
        } else if (id == BinaryenStoreId()) {
            eval_store(x);
        } else if (id == BinaryenUnaryId()) {
            eval(BinaryenUnaryGetValue(x));
            unary(unary_table().at(BinaryenUnaryGetOp(x)));
        } else if (id == BinaryenBinaryId()) {
            eval_binary(x);
        } else if (id == BinaryenSelectId()) {
            eval_select(x);
        } else if (id == BinaryenDropId()) {
            eval(BinaryenDropGetValue(x));
        } else if (id == BinaryenReturnId()) {
            eval(BinaryenReturnGetValue(x));
            e.jump(activations.back().ret);
        } else if (id == BinaryenMemorySizeId()) {
            require_memory("memory.size");
            e.emit(ldx(BPF_W, R0, R7, instance::kMemoryPages));
        } else if (id == BinaryenMemoryGrowId()) {
            eval_memory_grow(x);
        } else if (id == BinaryenUnreachableId()) {
            e.jump(trap(kTrapUnreachable));
        } else if (id == BinaryenNopId()) {
        } else {
            fail(where() + ": an instruction the policy compiler does not support (expression kind " +
                 std::to_string(id) + ")");
        }
    }

    void eval_loop(BinaryenExpressionRef x) {
        if (!native)
            fail(where() + ": loop: loops are not supported on the offload target (the NFP has no may_goto "
                 "to bound them); unroll the loop or use the native target");
        Label head = e.new_label();
        e.bind(head);
        // The verifier's proof that the loop ends: may_goto leaves the loop (as a fuel trap) after
        // the kernel's own iteration budget; the policy's fuel normally traps long before.
        e.jump_if_imm(BPF_JCOND, R0, 0, trap(kTrapFuel));
        const char* name = BinaryenLoopGetName(x);
        if (name) scopes.push_back({name, head});
        eval(BinaryenLoopGetBody(x));
        if (name) scopes.pop_back();
    }

    void eval_break(BinaryenExpressionRef x) {
        Label target = find_scope(BinaryenBreakGetName(x));
        BinaryenExpressionRef value = BinaryenBreakGetValue(x), condition = BinaryenBreakGetCondition(x);
        if (!condition) {
            eval(value);
            e.jump(target);
            return;
        }
        if (!value) {
            eval_jump(condition, target, true);
            return;
        }
        eval(value);
        const uint32_t t = push_slot();
        store_slot(t, R0);
        eval(condition);
        e.emit(mov64_reg(R1, R0));
        load_slot(R0, t);
        --top;
        e.jump_if_imm(BPF_JNE, R1, 0, target, false);
    }

    void eval_switch(BinaryenExpressionRef x) {
        BinaryenExpressionRef value = BinaryenSwitchGetValue(x);
        uint32_t t = 0;
        if (value) {
            eval(value);
            t = push_slot();
            store_slot(t, R0);
        }
        eval(BinaryenSwitchGetCondition(x));
        e.emit(mov64_reg(R1, R0));
        if (value) {
            load_slot(R0, t);
            --top;
        }
        Label fallback = find_scope(BinaryenSwitchGetDefaultName(x));
        const BinaryenIndex entries = BinaryenSwitchGetNumNames(x);
        if (entries <= kMaxBranchTableTests) {
            for (BinaryenIndex i = 0; i < entries; ++i) {
                Label target = find_scope(BinaryenSwitchGetNameAt(x, i));
                if (target.id != fallback.id) e.jump_if_imm(BPF_JEQ, R1, static_cast<int32_t>(i), target, false);
            }
            e.jump(fallback);
            return;
        }
        // Runs of equal targets, then everything from `entries` up (the index is unsigned) to
        // the default: a binary search over the runs takes log2(runs) branches on any path,
        // where one test per entry would exceed the verifier's branch budget for big tables.
        std::vector<TableRun> runs;
        for (BinaryenIndex i = 0; i < entries; ++i) {
            Label target = find_scope(BinaryenSwitchGetNameAt(x, i));
            if (runs.empty() || runs.back().target.id != target.id) runs.push_back({i, target});
        }
        if (runs.back().target.id != fallback.id) runs.push_back({entries, fallback});
        branch_search(runs, 0, runs.size() - 1);
    }

    struct TableRun {
        uint32_t first;  // lowest index of the run; it ends where the next begins
        Label target;
    };

    // R1 (an unsigned i32) lies in the runs [lo, hi]: branch to the target of its run.
    void branch_search(const std::vector<TableRun>& runs, size_t lo, size_t hi) {
        if (lo == hi) {
            e.jump(runs[lo].target);
            return;
        }
        const size_t mid = lo + (hi - lo + 1) / 2;
        Label upper = e.new_label();
        e.jump_if_imm(BPF_JGE, R1, static_cast<int32_t>(runs[mid].first), upper, false);
        branch_search(runs, lo, mid - 1);
        e.bind(upper);
        branch_search(runs, mid, hi);
    }

    void eval_select(BinaryenExpressionRef x) {
        BinaryenExpressionRef a = BinaryenSelectGetIfTrue(x), b = BinaryenSelectGetIfFalse(x);
        Label done = e.new_label();
        if (is_leaf(a) && is_leaf(b)) {
            eval(BinaryenSelectGetCondition(x));
            e.emit(mov64_reg(R1, R0));
            load_leaf(a, R0);
            e.jump_if_imm(BPF_JNE, R1, 0, done, false);
            load_leaf(b, R0);
            e.bind(done);
            return;
        }
        eval(a);
        const uint32_t ta = push_slot();
        store_slot(ta, R0);
        eval(b);
        const uint32_t tb = push_slot();
        store_slot(tb, R0);
        eval(BinaryenSelectGetCondition(x));
        e.emit(mov64_reg(R1, R0));
        load_slot(R0, ta);
        e.jump_if_imm(BPF_JNE, R1, 0, done, false);
        load_slot(R0, tb);
        e.bind(done);
        top -= 2;
    }

    // ---- calls ----
    void eval_call(BinaryenExpressionRef x) {
        const char* target_name = BinaryenCallGetTarget(x);
        BinaryenFunctionRef target = BinaryenGetFunction(m, target_name);
        if (is_import(target)) {
            if (std::strcmp(BinaryenFunctionImportGetModule(target), kInternalModule) == 0) {
                e.jump(trap(kTrapFuel));
                return;
            }
            auto host = host_import_of(target);
            if (!host) fail(where() + ": call to import $" + target_name + ", which is not part of the policy ABI");
            if (is_packet_load(*host) && BinaryenExpressionGetId(BinaryenCallGetOperandAt(x, 0)) == BinaryenConstId()) {
                packet_load_at(packet_load_width(*host), static_cast<uint32_t>(const_value(BinaryenCallGetOperandAt(x, 0))));
                return;
            }
            for (BinaryenIndex i = 0; i < BinaryenCallGetNumOperands(x); ++i) eval(BinaryenCallGetOperandAt(x, i));
            host_call(*host);
            return;
        }
        for (const Activation& a : activations)
            if (a.function == target)
                fail(where() + ": call $" + target_name + ": recursion is not supported (eBPF has no "
                     "unbounded call stack); rewrite the recursion as a loop");
        if (activations.size() >= kMaxCallDepth)
            fail(where() + ": call $" + target_name + ": calls nest deeper than " +
                 std::to_string(kMaxCallDepth) + " functions");
        const uint32_t params = BinaryenTypeArity(BinaryenFunctionGetParams(target));
        const uint32_t base = top;
        reserve(params);
        for (BinaryenIndex i = 0; i < BinaryenCallGetNumOperands(x); ++i) {
            eval(BinaryenCallGetOperandAt(x, i));
            store_slot(base + i, R0);
        }
        enter(target, base, params);
    }

    // Runs `function`'s body with its parameters already in slots [base, base + params).
    void enter(BinaryenFunctionRef function, uint32_t base, uint32_t params) {
        const uint32_t vars = BinaryenFunctionGetNumVars(function);
        top = base + params;
        reserve(vars);
        // Slots keep what earlier packets and calls left: Wasm's zero is stored only for the
        // locals some path reads before writing.
        auto zero = zero_on_entry.find(function);
        if (zero == zero_on_entry.end())
            zero = zero_on_entry.emplace(function, locals_read_before_written(function)).first;
        for (uint32_t v = 0; v < vars; ++v)
            if (zero->second[params + v]) e.emit(st_imm(BPF_DW, frame_reg(), slot_offset(base + params + v), 0));
        Label ret = e.new_label();
        activations.push_back({function, base, ret, scopes.size()});
        eval(BinaryenFunctionGetBody(function));
        e.bind(ret);
        activations.pop_back();
        top = base;
    }

    void data_pointers() {
        e.emit(ldx(BPF_W, R2, R6, offsetof(xdp_md, data)));
        e.emit(ldx(BPF_W, R3, R6, offsetof(xdp_md, data_end)));
    }

    static bool is_packet_load(HostImport host) {
        return host == HostImport::LoadU8 || host == HostImport::LoadU16 || host == HostImport::LoadU32 ||
               host == HostImport::LoadU64;
    }
    static int packet_load_width(HostImport host) {
        switch (host) {
            case HostImport::LoadU8: return 1;
            case HostImport::LoadU16: return 2;
            case HostImport::LoadU32: return 4;
            default: return 8;
        }
    }

    void host_call(HostImport host) {
        switch (host) {
            case HostImport::LoadU8:
            case HostImport::LoadU16:
            case HostImport::LoadU32:
            case HostImport::LoadU64: packet_load(packet_load_width(host)); break;
            case HostImport::PktLen:
                data_pointers();
                e.emit(mov64_reg(R0, R3));
                e.emit(alu64_reg(BPF_SUB, R0, R2));
                break;
            case HostImport::Ifindex:
                e.emit(ldx(BPF_W, R0, R6, offsetof(xdp_md, ingress_ifindex)));
                break;
            case HostImport::Count: {
                const uint32_t buckets = static_cast<uint32_t>(facts.bucket_names.size());
                if (buckets == 0) {
                    e.jump(trap(kTrapBucket));
                    break;
                }
                e.jump_if_imm(BPF_JGE, R0, static_cast<int32_t>(buckets), trap(kTrapBucket), false);
                data_pointers();
                e.emit(alu64_reg(BPF_SUB, R3, R2));
                e.emit(mov64_reg(R2, R3));
                e.emit(mov64_reg(R1, R0));
                e.emit(alu64_imm(BPF_ADD, R1, 0));  // + the bucket base slot, set at emission
                e.call(count_stub);
                break;
            }
        }
    }

    // R0 = the big-endian `bytes`-wide value at the constant packet offset `off`, or the packet
    // trap: the offset goes into the instructions, and one comparison with the end does.
    void packet_load_at(int bytes, uint32_t off) {
        if (off > 0x7fffu - static_cast<uint32_t>(bytes)) {  // beyond a 16-bit instruction offset
            load_const(R0, off, false);
            packet_load(bytes);
            return;
        }
        data_pointers();
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_imm(BPF_ADD, R4, static_cast<int32_t>(off) + bytes));
        e.jump_if_reg(BPF_JGT, R4, R3, trap(kTrapPacket));
        e.emit(ldx(size_code(static_cast<uint32_t>(bytes)), R0, R2, static_cast<int16_t>(off)));
        if (bytes > 1) e.emit(to_be(R0, bytes * 8));
    }

    // R0 = the big-endian `bytes`-wide value at packet offset R0 (u32), or the packet trap.
    void packet_load(int bytes) {
        data_pointers();
        // Frames are shorter than 64 KiB, so a larger offset is out of range anyway; the bound
        // also lets the verifier accept the variable offset.
        e.jump_if_imm(BPF_JGT, R0, 0xffff - bytes, trap(kTrapPacket));
        e.emit(alu64_reg(BPF_ADD, R2, R0));
        e.emit(mov64_reg(R4, R2));
        e.emit(alu64_imm(BPF_ADD, R4, bytes));
        e.jump_if_reg(BPF_JGT, R4, R3, trap(kTrapPacket));
        e.emit(ldx(size_code(static_cast<uint32_t>(bytes)), R0, R2, 0));
        if (bytes > 1) e.emit(to_be(R0, bytes * 8));
    }

    // ---- memory ----
    void require_memory(const char* what) {
        if (!facts.has_memory) fail(where() + ": " + what + " without a memory");
    }

    // R2 = pointer to `bytes` bytes at Wasm address R0 (u32) + `offset`, or the memory trap.
    // Clobbers R3, R4.
    void address(uint32_t offset, uint32_t bytes) {
        // R2 = offset + address, built from the constant: copying R0 and adding the offset would
        // link R2 to R0 with the offset as a delta, and the verifier refuses a pointer
        // arithmetic operand carrying a delta of 2^29 or more, whatever its checked range.
        if (offset <= INT32_MAX) e.emit(mov64_imm(R2, static_cast<int32_t>(offset)));
        else e.load_imm64(R2, offset);
        e.emit(alu64_reg(BPF_ADD, R2, R0));
        if (memory_max_bytes < bytes) {
            e.jump(trap(kTrapMemoryOutOfBounds));
            return;
        }
        // The constant bound is what the verifier needs; the current size is Wasm's bound.
        e.jump_if_imm(BPF_JGT, R2, static_cast<int32_t>(memory_max_bytes - bytes), trap(kTrapMemoryOutOfBounds));
        if (facts.memory_initial_pages != facts.memory_max_pages) {
            e.emit(ldx(BPF_W, R3, R7, instance::kMemoryPages));
            e.emit(alu64_imm(BPF_LSH, R3, 16));
            e.emit(mov64_reg(R4, R2));
            e.emit(alu64_imm(BPF_ADD, R4, static_cast<int32_t>(bytes)));
            e.jump_if_reg(BPF_JGT, R4, R3, trap(kTrapMemoryOutOfBounds));
        }
        e.emit(alu64_reg(BPF_ADD, R2, R8));
    }

    static uint8_t size_code(uint32_t bytes) {
        switch (bytes) {
            case 1: return BPF_B;
            case 2: return BPF_H;
            case 4: return BPF_W;
            default: return BPF_DW;
        }
    }

    void sign_extend(uint32_t from_bits, bool wide) {
        if (wide) {
            if (from_bits >= 64) return;
            e.emit(alu64_imm(BPF_LSH, R0, 64 - from_bits));
            e.emit(alu64_imm(BPF_ARSH, R0, 64 - from_bits));
        } else {
            if (from_bits >= 32) return;
            e.emit(alu32_imm(BPF_LSH, R0, 32 - from_bits));
            e.emit(alu32_imm(BPF_ARSH, R0, 32 - from_bits));
        }
    }

    void eval_load(BinaryenExpressionRef x) {
        require_memory("load");
        eval(BinaryenLoadGetPtr(x));
        const uint32_t bytes = BinaryenLoadGetBytes(x);
        address(BinaryenLoadGetOffset(x), bytes);
        e.emit(ldx(size_code(bytes), R0, R2, 0));
        if (BinaryenLoadIsSigned(x)) sign_extend(bytes * 8, BinaryenExpressionGetType(x) == BinaryenTypeInt64());
    }

    void eval_store(BinaryenExpressionRef x) {
        require_memory("store");
        eval_pair(BinaryenStoreGetPtr(x), BinaryenStoreGetValue(x));
        const uint32_t bytes = BinaryenStoreGetBytes(x);
        address(BinaryenStoreGetOffset(x), bytes);
        e.emit(stx(size_code(bytes), R2, R1, 0));
    }

    void eval_memory_grow(BinaryenExpressionRef x) {
        require_memory("memory.grow");
        eval(BinaryenMemoryGrowGetDelta(x));
        Label refuse = e.new_label(), done = e.new_label();
        e.emit(ldx(BPF_W, R1, R7, instance::kMemoryPages));
        e.emit(mov64_imm(R2, static_cast<int32_t>(facts.memory_max_pages)));
        e.emit(alu64_reg(BPF_SUB, R2, R1));
        e.jump_if_reg(BPF_JGT, R0, R2, refuse);
        e.emit(mov64_reg(R2, R1));
        e.emit(alu64_reg(BPF_ADD, R2, R0));
        e.emit(stx(BPF_W, R7, R2, instance::kMemoryPages));
        e.emit(mov64_reg(R0, R1));
        e.jump(done);
        e.bind(refuse);
        e.emit(mov32_imm(R0, -1));
        e.bind(done);
    }

    // ---- arithmetic ----
    void alu(uint8_t op, bool wide, Reg dst, Reg src) { e.emit(wide ? alu64_reg(op, dst, src) : alu32_reg(op, dst, src)); }
    void alu_imm(uint8_t op, bool wide, Reg dst, int32_t imm) {
        e.emit(wide ? alu64_imm(op, dst, imm) : alu32_imm(op, dst, imm));
    }
    void mov(bool wide, Reg dst, Reg src) { e.emit(wide ? mov64_reg(dst, src) : mov32_reg(dst, src)); }

    void eval_binary(BinaryenExpressionRef x) {
        const OpInfo info = binary_table().at(BinaryenBinaryGetOp(x));
        const bool divides = info.op == Op::DivS || info.op == Op::DivU || info.op == Op::RemS || info.op == Op::RemU;
        if (divides && !native && BinaryenExpressionGetId(BinaryenBinaryGetRight(x)) != BinaryenConstId())
            fail(where() + ": " + binary_op_name(BinaryenBinaryGetOp(x)) +
                 ": the offload target divides only by constants (the NFP has no division by a run-time "
                 "value); divide by a constant or use the native target");
        BinaryenExpressionRef right = BinaryenBinaryGetRight(x);
        if (BinaryenExpressionGetId(right) == BinaryenConstId()) {
            eval(BinaryenBinaryGetLeft(x));
            if (binary_with_constant(info, const_value(right))) return;
            load_const(R1, const_value(right), info.wide);
        } else {
            eval_pair(BinaryenBinaryGetLeft(x), right);
        }
        binary(info);
    }

    // R0 = R0 op v with the constant in the instruction, when one instruction (or a fixed
    // sequence without R1) does it; false leaves R0 as it is. A 64-bit operation sign-extends
    // its 32-bit immediate, so only constants in the int32 range qualify there.
    bool binary_with_constant(OpInfo info, int64_t v) {
        const bool w = info.wide;
        const int bits = w ? 64 : 32;
        const bool fits = !w || (v >= INT32_MIN && v <= INT32_MAX);
        const int32_t imm = static_cast<int32_t>(v);  // i32 constants are zero-extended: the low word
        switch (info.op) {
            case Op::Add: case Op::Sub: case Op::Mul: case Op::And: case Op::Or: case Op::Xor: {
                if (!fits) return false;
                static const std::map<Op, uint8_t> code = {{Op::Add, BPF_ADD}, {Op::Sub, BPF_SUB}, {Op::Mul, BPF_MUL},
                                                           {Op::And, BPF_AND}, {Op::Or, BPF_OR}, {Op::Xor, BPF_XOR}};
                alu_imm(code.at(info.op), w, R0, imm);
                return true;
            }
            case Op::Shl: case Op::ShrU: case Op::ShrS: {
                const int32_t count = static_cast<int32_t>(v & (bits - 1));  // Wasm: modulo the width
                if (count) alu_imm(info.op == Op::Shl ? BPF_LSH : info.op == Op::ShrU ? BPF_RSH : BPF_ARSH, w, R0, count);
                return true;
            }
            case Op::Rotl: case Op::Rotr: {
                const int32_t count = static_cast<int32_t>(v & (bits - 1));
                if (!count) return true;
                mov(w, R2, R0);
                alu_imm(info.op == Op::Rotl ? BPF_LSH : BPF_RSH, w, R0, count);
                alu_imm(info.op == Op::Rotl ? BPF_RSH : BPF_LSH, w, R2, bits - count);
                alu(BPF_OR, w, R0, R2);
                return true;
            }
            case Op::DivU: case Op::RemU:
                // A constant divisor cannot be 0: no trap test. Offload keeps its own sequence
                // (the NFP has no BPF_MOD); a 64-bit divisor must be positive as an int32.
                if (!native || v == 0 || (w && (v < 1 || v > INT32_MAX))) return false;
                alu_imm(info.op == Op::DivU ? BPF_DIV : BPF_MOD, w, R0, imm);
                return true;
            default: {
                auto jop = jump_op(info.op, false);
                if (!jop || !fits) return false;
                comparison_value(*jop, w, imm);
                return true;
            }
        }
    }

    // R0 = 1 if R0 `jop` (the constant `imm`, or R1 without one) holds, else 0.
    void comparison_value(uint8_t jop, bool w, std::optional<int32_t> imm) {
        Label yes = e.new_label();
        e.emit(mov64_imm(R2, 1));
        if (imm) e.jump_if_imm(jop, R0, *imm, yes, w);
        else e.jump_if_reg(jop, R0, R1, yes, w);
        e.emit(mov64_imm(R2, 0));
        e.bind(yes);
        e.emit(mov64_reg(R0, R2));
    }

    // R0 = R0 op R1.
    void binary(OpInfo info) {
        const bool w = info.wide;
        const int32_t mask = w ? 63 : 31;
        switch (info.op) {
            case Op::Add: alu(BPF_ADD, w, R0, R1); break;
            case Op::Sub: alu(BPF_SUB, w, R0, R1); break;
            case Op::Mul: alu(BPF_MUL, w, R0, R1); break;
            case Op::And: alu(BPF_AND, w, R0, R1); break;
            case Op::Or: alu(BPF_OR, w, R0, R1); break;
            case Op::Xor: alu(BPF_XOR, w, R0, R1); break;
            case Op::Shl:
            case Op::ShrU:
            case Op::ShrS:
                alu_imm(BPF_AND, w, R1, mask);
                alu(info.op == Op::Shl ? BPF_LSH : info.op == Op::ShrU ? BPF_RSH : BPF_ARSH, w, R0, R1);
                break;
            case Op::Rotl:
            case Op::Rotr: {
                const uint8_t first = info.op == Op::Rotl ? BPF_LSH : BPF_RSH;
                const uint8_t second = info.op == Op::Rotl ? BPF_RSH : BPF_LSH;
                alu_imm(BPF_AND, w, R1, mask);
                mov(w, R2, R0);
                alu(first, w, R0, R1);
                alu_imm(BPF_MOV, w, R3, 0);
                alu(BPF_SUB, w, R3, R1);
                alu_imm(BPF_AND, w, R3, mask);
                alu(second, w, R2, R3);
                alu(BPF_OR, w, R0, R2);
                break;
            }
            case Op::DivU:
            case Op::RemU:
                e.jump_if_imm(BPF_JEQ, R1, 0, trap(kTrapDivideByZero), w);
                unsigned_divide(info.op == Op::RemU, w);
                break;
            case Op::DivS:
            case Op::RemS:
                signed_divide(info.op == Op::RemS, w);
                break;
            default: {
                comparison_value(*jump_op(info.op, false), w, std::nullopt);
                break;
            }
        }
    }

    // R0 = R0 / R1 or R0 % R1, unsigned, R1 != 0. Offload has no BPF_MOD: a - (a / b) * b.
    void unsigned_divide(bool remainder, bool w) {
        if (!remainder) {
            alu(BPF_DIV, w, R0, R1);
        } else if (native) {
            alu(BPF_MOD, w, R0, R1);
        } else {
            mov(w, R5, R0);
            alu(BPF_DIV, w, R5, R1);
            alu(BPF_MUL, w, R5, R1);
            alu(BPF_SUB, w, R0, R5);
        }
    }

    // Signed division on unsigned division with sign fix-ups (no cpu-v4 sdiv/smod needed).
    void signed_divide(bool remainder, bool w) {
        e.jump_if_imm(BPF_JEQ, R1, 0, trap(kTrapDivideByZero), w);
        if (!remainder) {
            Label ok = e.new_label();
            e.jump_if_imm(BPF_JNE, R1, -1, ok, w);
            if (w) {
                e.load_imm64(R2, 0x8000000000000000ull);
                e.jump_if_reg(BPF_JEQ, R0, R2, trap(kTrapIntegerOverflow), true);
            } else {
                e.jump_if_imm(BPF_JEQ, R0, INT32_MIN, trap(kTrapIntegerOverflow), false);
            }
            e.bind(ok);
        }
        const int32_t sign_shift = w ? 63 : 31;
        mov(w, R2, R0);
        alu_imm(BPF_ARSH, w, R2, sign_shift);  // R2 = sign of the dividend (0 or -1)
        mov(w, R3, R1);
        alu_imm(BPF_ARSH, w, R3, sign_shift);  // R3 = sign of the divisor
        alu(BPF_XOR, w, R0, R2);
        alu(BPF_SUB, w, R0, R2);  // |a|
        alu(BPF_XOR, w, R1, R3);
        alu(BPF_SUB, w, R1, R3);  // |b|
        unsigned_divide(remainder, w);
        if (!remainder) alu(BPF_XOR, w, R2, R3);  // quotient sign; a remainder takes the dividend's
        alu(BPF_XOR, w, R0, R2);
        alu(BPF_SUB, w, R0, R2);
    }

    // R0 = number of set bits of R0 (32 or 64 bits); clobbers R1, R2. No multiply (the NFP
    // has no 64-bit one).
    void popcount(bool w) {
        auto constant = [&](uint64_t v) {
            if (w) e.load_imm64(R2, v);
            else e.emit(mov32_imm(R2, static_cast<int32_t>(static_cast<uint32_t>(v))));
        };
        mov(w, R1, R0);
        alu_imm(BPF_RSH, w, R1, 1);
        constant(0x5555555555555555ull);
        alu(BPF_AND, w, R1, R2);
        alu(BPF_SUB, w, R0, R1);
        constant(0x3333333333333333ull);
        mov(w, R1, R0);
        alu_imm(BPF_RSH, w, R1, 2);
        alu(BPF_AND, w, R1, R2);
        alu(BPF_AND, w, R0, R2);
        alu(BPF_ADD, w, R0, R1);
        mov(w, R1, R0);
        alu_imm(BPF_RSH, w, R1, 4);
        alu(BPF_ADD, w, R0, R1);
        constant(0x0f0f0f0f0f0f0f0full);
        alu(BPF_AND, w, R0, R2);
        for (int shift = 8; shift < (w ? 64 : 32); shift *= 2) {
            mov(w, R1, R0);
            alu_imm(BPF_RSH, w, R1, shift);
            alu(BPF_ADD, w, R0, R1);
        }
        alu_imm(BPF_AND, w, R0, 0x7f);
    }

    void unary(OpInfo info) {
        const bool w = info.wide;
        switch (info.op) {
            case Op::Eqz: {
                Label zero = e.new_label();
                e.emit(mov64_reg(R1, R0));
                e.emit(mov64_imm(R0, 1));
                e.jump_if_imm(BPF_JEQ, R1, 0, zero, w);
                e.emit(mov64_imm(R0, 0));
                e.bind(zero);
                break;
            }
            case Op::Popcnt: popcount(w); break;
            case Op::Clz:
                for (int shift = 1; shift < (w ? 64 : 32); shift *= 2) {
                    mov(w, R1, R0);
                    alu_imm(BPF_RSH, w, R1, shift);
                    alu(BPF_OR, w, R0, R1);
                }
                alu_imm(BPF_XOR, w, R0, -1);
                popcount(w);
                break;
            case Op::Ctz:
                // popcount((x & -x) - 1): the bits below the lowest set bit (all of them for 0).
                alu_imm(BPF_MOV, w, R1, 0);
                alu(BPF_SUB, w, R1, R0);
                alu(BPF_AND, w, R0, R1);
                alu_imm(BPF_SUB, w, R0, 1);
                popcount(w);
                break;
            case Op::ExtendS32To64: sign_extend(32, true); break;
            case Op::ExtendU32To64: e.emit(mov32_reg(R0, R0)); break;
            case Op::Wrap: e.emit(mov32_reg(R0, R0)); break;
            case Op::Extend8: sign_extend(8, w); break;
            case Op::Extend16: sign_extend(16, w); break;
            case Op::Extend32: sign_extend(32, w); break;
            default: fail(where() + ": internal: unexpected unary operation");
        }
    }

    // ---- the subprogram ----
    void layout() {
        has_instance = home != FrameHome::Stack;
        int16_t offset = instance::kGlobals;
        for (BinaryenIndex i = 0; i < BinaryenGetNumGlobals(m); ++i) {
            BinaryenGlobalRef g = BinaryenGetGlobalByIndex(m, i);
            GlobalSlot slot{BinaryenGlobalGetType(g), BinaryenGlobalIsMutable(g),
                            const_value(BinaryenGlobalGetInitExpr(g)), 0};
            const std::string name = BinaryenGlobalGetName(g);
            if (!has_instance && name == kFuelGlobal) {
                slot.in_frame = true;
                slot.offset = slot_offset(push_slot());
            } else if (!native && slot.is_mutable) {
                fail("global $" + name + ": mutable globals are not supported on the offload target (the NFP "
                     "cannot store into map values); use the native target");
            } else if (has_instance) {
                slot.offset = offset;
                offset = static_cast<int16_t>(offset + 8);
                if (name != kFuelGlobal) ++global_count;
            }
            globals.emplace(name, slot);
        }
        if (!native && facts.has_memory)
            fail("memory: linear memory is not supported on the offload target (NFP map values hold at most "
                 "64 bytes and take no plain stores); use the native target");
        memory_offset = static_cast<uint32_t>(offset);
        // Memory no reachable instruction touches takes no room (its data is unobservable).
        memory_max_bytes = usage.memory ? facts.memory_max_pages * 65536u : 0;
        frame_offset = memory_offset + memory_max_bytes;
    }

    void initialise_instance() {
        // A new map value is all zeros: without memory, zero-initialised globals need nothing.
        bool all_zero = !usage.memory;
        for (const auto& [name, g] : globals) all_zero &= g.in_frame || !g.is_mutable || g.initial == 0;
        if (all_zero) return;
        Label ready = e.new_label();
        e.emit(ldx(BPF_W, R1, R7, instance::kInitialised));
        e.jump_if_imm(BPF_JNE, R1, 0, ready);
        e.emit(st_imm(BPF_W, R7, instance::kMemoryPages, static_cast<int32_t>(facts.memory_initial_pages)));
        for (const auto& [name, g] : globals) {
            if (g.in_frame) continue;
            load_const(R1, g.initial, g.type == BinaryenTypeInt64());
            e.emit(stx(BPF_DW, R7, R1, g.offset));
        }
        // Data segments, as the memory image they make (later segments overwrite earlier ones).
        if (usage.memory) {
            std::vector<uint8_t> image(static_cast<size_t>(facts.memory_initial_pages) * 65536u, 0);
            for (uint32_t i = 0; i < BinaryenGetNumMemorySegments(m); ++i) {
                const size_t length = BinaryenGetMemorySegmentByteLength(m, i);
                std::vector<char> bytes(length);
                if (length) BinaryenCopyMemorySegmentData(m, i, bytes.data());
                std::memcpy(image.data() + BinaryenGetMemorySegmentByteOffset(m, i), bytes.data(), length);
            }
            uint32_t nonzero = 0;
            int32_t window = -1;  // R1 = R8 + window: 16-bit store offsets reach 32 KiB from it
            for (uint32_t address = 0; address + 4 <= image.size(); address += 4) {
                uint32_t word;
                std::memcpy(&word, image.data() + address, 4);
                if (!word) continue;
                nonzero += 4;
                if (nonzero > kMaxDataBytes)
                    fail("data segments: more than " + std::to_string(kMaxDataBytes) +
                         " non-zero bytes of initial memory (each 4 bytes costs one instruction at first use); "
                         "shrink the data");
                const int32_t w = static_cast<int32_t>(address & ~0x7fffu);
                if (w != window) {
                    e.emit(mov64_reg(R1, R8));
                    if (w) e.emit(alu64_imm(BPF_ADD, R1, w));
                    window = w;
                }
                e.emit(st_imm(BPF_W, R1, static_cast<int16_t>(address - static_cast<uint32_t>(w)),
                              static_cast<int32_t>(word)));
            }
        }
        e.emit(st_imm(BPF_W, R7, instance::kInitialised, 1));
        e.bind(ready);
    }

    void emit_traps() {
        for (uint32_t code = 1; code < 8; ++code) {
            if (!trap_used[code]) continue;
            e.set_origin(std::string("wasm trap ") + std::to_string(code));
            e.bind(traps[code]);
            if (has_instance) e.emit(st_imm(BPF_W, R7, instance::kLastTrap, static_cast<int32_t>(code)));
            e.load_imm64(R0, xdp::kPolicyTrapped | code);
            e.emit(exit_insn());
        }
        e.bind(no_instance);
        e.load_imm64(R0, xdp::kPolicyTrapped | kTrapMemoryOutOfBounds);
        e.emit(exit_insn());
    }

    void run(BinaryenFunctionRef policy) {
        for (Label& l : traps) l = e.new_label();
        layout();
        e.set_origin(std::string("wasm $") + BinaryenFunctionGetName(policy));
        e.emit(mov64_reg(R6, R1));
        if (has_instance) {
            // A per-CPU array's lookup is inlined by the kernel to this CPU's value; a value too
            // big for one (linear memory) is the CPU's entry of a plain array.
            if (home == FrameHome::CpuIndexedValue) {
                e.emit(call_helper(BPF_FUNC_get_smp_processor_id));
                e.emit(stx(BPF_W, R10, R0, -8));
            } else {
                e.emit(st_imm(BPF_W, R10, -8, 0));
            }
            e.load_map(R1, 0);
            e.emit(mov64_reg(R2, R10));
            e.emit(alu64_imm(BPF_ADD, R2, -8));
            e.emit(call_helper(BPF_FUNC_map_lookup_elem));
            e.jump_if_imm(BPF_JEQ, R0, 0, no_instance);
            e.emit(mov64_reg(R7, R0));
            if (usage.memory) {
                e.emit(mov64_reg(R8, R7));
                e.emit(alu64_imm(BPF_ADD, R8, static_cast<int32_t>(memory_offset)));
            }
            e.emit(mov64_reg(R9, R7));
            e.emit(alu64_imm(BPF_ADD, R9, static_cast<int32_t>(frame_offset)));
            initialise_instance();
        }
        // Fuel for this packet (none when nothing charges it any more); a charge on the policy
        // function's own entry (see instrument_fuel) is not a call.
        auto fuel = globals.find(kFuelGlobal);
        if (fuel != globals.end() && usage.fuel_read) {
            const GlobalSlot& g = fuel->second;
            e.emit(st_imm(BPF_DW, g.in_frame ? R10 : R7, g.offset,
                          static_cast<int32_t>(options.fuel + (policy_entry_charged ? 1 : 0))));
        }
        enter(policy, top, 0);
        e.emit(mov32_reg(R0, R0));
        e.emit(exit_insn());
        emit_traps();
        e.set_origin(kCountStubOrigin);
        e.bind(count_stub);
        e.emit(mov64_imm(R0, 0));
        e.emit(exit_insn());
    }
};

// Most conditional branches on one path (forward jumps; a loop body counts once).
uint32_t longest_branch_path(const std::vector<Insn>& insns) {
    const size_t n = insns.size();
    std::vector<uint32_t> from(n + 2, 0);
    for (size_t k = n; k-- > 0;) {
        const Insn& insn = insns[k];
        const uint8_t cls = BPF_CLASS(insn.code), op = BPF_OP(insn.code);
        auto at = [&](int64_t i) { return i > static_cast<int64_t>(k) && static_cast<size_t>(i) <= n ? from[i] : 0u; };
        if (insn.code == (BPF_LD | BPF_DW | BPF_IMM)) from[k] = at(static_cast<int64_t>(k) + 2);
        else if (cls != BPF_JMP && cls != BPF_JMP32) from[k] = at(static_cast<int64_t>(k) + 1);
        else if (op == BPF_EXIT) from[k] = 0;
        else if (op == BPF_CALL) from[k] = at(static_cast<int64_t>(k) + 1);
        else {
            const int64_t target = static_cast<int64_t>(k) + 1 + insn.off;
            from[k] = op == BPF_JA ? at(target) : 1 + std::max(at(target), at(static_cast<int64_t>(k) + 1));
        }
    }
    return n ? from[0] : 0;
}

// The finished subprogram, checked against the limits, with its instance map (if any).
Expected<LoweredPolicy> finish_lowering(Lowerer& lowerer, const std::string& map_name, uint32_t value_size) {
    auto program = lowerer.e.finish();
    if (!program) return program.error();
    LoweredPolicy out;
    out.program = std::move(program).value();
    const auto& insns = out.program.insns;
    out.length = static_cast<uint32_t>(insns.size());  // up to the local count stub, which is last
    for (const SourceSpan& span : out.program.spans)
        if (span.origin == kCountStubOrigin) out.length = std::min(out.length, span.first_insn);
    for (uint32_t i = 0; i < out.length; ++i)
        if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == BPF_PSEUDO_CALL) out.count_calls.push_back(i);
    if (out.length > kMaxPolicyInstructions)
        return bad_input("policy too big: it compiles to " + std::to_string(out.length) +
                         " eBPF instructions (limit " + std::to_string(kMaxPolicyInstructions) +
                         "); inlining every call multiplies the code of functions called from many places");
    if (const uint32_t branches = longest_branch_path(insns); branches > kMaxPolicyBranchesPerPath)
        return bad_input("policy too complex for the verifier: " + std::to_string(branches) +
                         " conditional branches on one path (limit " + std::to_string(kMaxPolicyBranchesPerPath) +
                         "); simplify the policy");
    out.globals = lowerer.global_count;
    out.memory_bytes = lowerer.memory_max_bytes;
    out.home = lowerer.home;
    if (lowerer.has_instance) {
        xdp::MapSpec spec;
        spec.name = map_name;
        spec.type = lowerer.home == FrameHome::PerCpuValue ? BPF_MAP_TYPE_PERCPU_ARRAY : BPF_MAP_TYPE_ARRAY;
        spec.key_size = 4;
        spec.value_size = value_size;
        spec.max_entries = 1;  // CpuIndexedValue: one per CPU, set by the caller (libbpf_num_possible_cpus)
        out.maps.push_back(spec);
    }
    out.stack_bytes = lowerer.has_instance ? 8 : 16 + 8 * lowerer.max_slots;
    return out;
}

// The cheapest home the policy allows; a later one is the fallback when a frame does not fit.
FrameHome preferred_home(const ModuleUsage& usage, bool native) {
    if (!native) return FrameHome::Stack;
    if (usage.memory) return FrameHome::CpuIndexedValue;
    bool stateful_globals = false;
    for (const std::string& g : usage.globals_set) stateful_globals |= g != kFuelGlobal;
    // Loops need their frame in map memory (see the file comment), as state does.
    if (usage.loops || stateful_globals) return FrameHome::PerCpuValue;
    return FrameHome::Stack;
}

}  // namespace

Expected<LoweredPolicy> lower_policy(BinaryenModuleRef module, const ModuleFacts& facts,
                                     const PolicyOptions& options, const std::string& map_name,
                                     bool policy_entry_charged) {
    BinaryenFunctionRef policy = facts.policy;
    if (!policy) return bad_input("the module exports no function \"" + options.function + "\"");
    const bool native = options.target == Target::Native;
    const ModuleUsage usage = scan_usage(module, policy);
    FrameHome home = preferred_home(usage, native);
    for (;;) {
        Lowerer lowerer{module, facts, options, native, usage, home, policy_entry_charged, {}};
        try {
            lowerer.run(policy);
        } catch (const LoweringFailure& failure) {
            return bad_input(failure.message);
        } catch (const StackFrameFull&) {
            home = FrameHome::PerCpuValue;
            continue;
        }
        const uint32_t value_size = lowerer.frame_offset + 8 * std::max(lowerer.max_slots, 1u);
        if (home == FrameHome::PerCpuValue && value_size > kMaxPerCpuValueBytes) {
            home = FrameHome::CpuIndexedValue;
            continue;
        }
        return finish_lowering(lowerer, map_name, value_size);
    }
}

}  // namespace xfw::wasm
