#include "tests/wasm/module_generator.hpp"

#include <binaryen-c.h>

#include <climits>
#include <cstdlib>
#include <memory>
#include <string>

namespace xfw::test {
namespace {

// A small deterministic generator (splitmix64): the same seed gives the same module with any
// standard library, unlike std::uniform_int_distribution.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint32_t below(uint32_t n) { return n ? static_cast<uint32_t>(next() % n) : 0; }
    bool percent(uint32_t p) { return below(100) < p; }
    template <class T, size_t N>
    const T& pick(const T (&a)[N]) { return a[below(N)]; }

private:
    uint64_t s_;
};

constexpr int32_t kI32Edges[] = {0, 1, -1, INT32_MIN, INT32_MAX, 2, 7, 8, 31, 32, 33, 63, 64, 65,
                                 0x80, 0xff, 0x100, 0xffff, 0x10000, -2, -31, -32, -64,
                                 0x7fff, 65535, 65536, 0x55555555, static_cast<int32_t>(0xaaaaaaaa)};
constexpr int64_t kI64Edges[] = {0, 1, -1, INT64_MIN, INT64_MAX, 2, 31, 32, 33, 63, 64, 65,
                                 0xffffffffll, 0x100000000ll, 0x7fffffffll, -0x80000000ll,
                                 INT32_MIN, INT32_MAX, -64, 0xff, 0x5555555555555555ll};
// Packet offsets around the headers the corpus has, its ends and beyond.
constexpr uint32_t kPacketOffsets[] = {0, 1, 6, 12, 13, 14, 16, 18, 20, 22, 23, 26, 30, 34, 36,
                                       38, 40, 41, 53, 54, 56, 59, 60, 61, 63, 64, 100, 1499,
                                       65535, 0xfffffffcu, 0xffffffffu};
constexpr uint32_t kMemoryAddresses[] = {0, 1, 8, 1024, 4096, 65520, 65528, 65532, 65534, 65535,
                                         65536, 65537, 0x7fffffffu, 0xfffffff0u, 0xffffffffu};
constexpr uint32_t kMemoryOffsets[] = {1, 4, 7, 100, 65532, 65535, 65536, 0x7fffffffu, 0xffffffffu};

enum class Ty { I32, I64, None };

BinaryenType bt(Ty t) {
    return t == Ty::I32 ? BinaryenTypeInt32() : t == Ty::I64 ? BinaryenTypeInt64() : BinaryenTypeNone();
}

struct Signature {
    std::vector<Ty> params;
    Ty result = Ty::I32;
};

struct Helper {
    std::string name;
    Signature sig;
};

struct Label {
    std::string name;
    bool loop = false;  // a bounded loop's label: a branch to it is a back-edge
};

struct ModuleDeleter {
    void operator()(BinaryenModuleRef m) const { BinaryenModuleDispose(m); }
};

class Generator {
public:
    explicit Generator(uint64_t seed) : rng_(seed), m_(BinaryenModuleCreate()) {}

    Expected<GeneratedModule> build(uint64_t seed) {
        GeneratedModule out;
        out.seed = seed;
        BinaryenModuleRef m = m_.get();
        BinaryenModuleSetFeatures(m, BinaryenFeatureMVP() | BinaryenFeatureMutableGlobals());

        // The whole ABI, so any expression may use any import.
        BinaryenType i32 = BinaryenTypeInt32();
        BinaryenAddFunctionImport(m, "load_u8", "xfw", "load_u8", i32, i32);
        BinaryenAddFunctionImport(m, "load_u16", "xfw", "load_u16", i32, i32);
        BinaryenAddFunctionImport(m, "load_u32", "xfw", "load_u32", i32, i32);
        BinaryenAddFunctionImport(m, "load_u64", "xfw", "load_u64", i32, BinaryenTypeInt64());
        BinaryenAddFunctionImport(m, "pkt_len", "xfw", "pkt_len", BinaryenTypeNone(), i32);
        BinaryenAddFunctionImport(m, "ifindex", "xfw", "ifindex", BinaryenTypeNone(), i32);
        BinaryenAddFunctionImport(m, "count", "xfw", "count", i32, BinaryenTypeNone());

        // Memory: one page, or none until memory.grow; data segments only where they fit.
        // How often a site picks an operand meant to trap (out-of-range address or offset, zero
        // divisor, bad bucket): some modules rarely trap and show long runs, others trap a lot.
        static const uint32_t hazards[] = {1, 3, 8, 20};
        hazard_ = rng_.pick(hazards);
        initial_pages_ = rng_.percent(88) ? 1 : 0;
        std::vector<std::string> seg_data;
        std::vector<BinaryenExpressionRef> seg_offsets;
        if (initial_pages_ == 1) {
            const uint32_t n = rng_.below(3);
            const uint32_t bases[] = {0, 16, 1000, 65520};
            for (uint32_t i = 0; i < n; ++i) {
                std::string bytes;
                for (int b = 0; b < 16; ++b) bytes.push_back(static_cast<char>(rng_.below(256)));
                seg_data.push_back(bytes);
                seg_offsets.push_back(BinaryenConst(m, BinaryenLiteralInt32(static_cast<int32_t>(rng_.pick(bases)))));
            }
        }
        std::vector<const char*> seg_ptrs;
        std::unique_ptr<bool[]> passive(new bool[seg_data.size() + 1]());
        std::vector<BinaryenIndex> seg_sizes;
        for (const std::string& s : seg_data) {
            seg_ptrs.push_back(s.data());
            seg_sizes.push_back(static_cast<BinaryenIndex>(s.size()));
        }
        BinaryenSetMemory(m, initial_pages_, 1, "memory", seg_ptrs.data(), passive.get(),
                          seg_offsets.data(), seg_sizes.data(),
                          static_cast<BinaryenIndex>(seg_data.size()), false);

        // Globals: mutable i32 and i64 state that persists across packets, and a constant.
        add_global("g0", Ty::I32, true);
        add_global("g1", Ty::I64, true);
        add_global("g2", Ty::I32, true);
        add_global("gc", Ty::I32, false);

        // Buckets: a named section, the --buckets flag, or none at all.
        out.bucket_count = rng_.below(5);
        if (out.bucket_count > 0 && rng_.percent(50)) {
            std::string names;
            for (uint32_t i = 0; i < out.bucket_count; ++i) names += "k" + std::to_string(i) + "\n";
            BinaryenAddCustomSection(m, "xfw.buckets", names.data(), static_cast<BinaryenIndex>(names.size()));
        } else if (out.bucket_count > 0) {
            out.buckets_flag = out.bucket_count;
        }
        buckets_ = out.bucket_count;
        out.fuel = rng_.percent(80) ? 65536 : 1 + rng_.below(200);

        // Helpers, each calling only the ones before it.
        const uint32_t helpers = rng_.below(4);
        for (uint32_t h = 0; h < helpers; ++h) {
            Signature sig;
            const uint32_t np = rng_.below(3);
            for (uint32_t p = 0; p < np; ++p) sig.params.push_back(rng_.percent(60) ? Ty::I32 : Ty::I64);
            const uint32_t r = rng_.below(10);
            sig.result = r < 5 ? Ty::I32 : r < 8 ? Ty::I64 : Ty::None;
            std::string name = "h" + std::to_string(h);
            add_function(name, sig);
            helpers_.push_back({name, sig});
        }
        add_function("filter", Signature{{}, Ty::I32});
        BinaryenAddFunctionExport(m, "filter", "filter");

        if (!BinaryenModuleValidate(m))
            return bad_input("module generator: seed " + std::to_string(seed) + " built an invalid module");
        BinaryenModuleAllocateAndWriteResult bin = BinaryenModuleAllocateAndWrite(m, nullptr);
        out.wasm.assign(static_cast<uint8_t*>(bin.binary), static_cast<uint8_t*>(bin.binary) + bin.binaryBytes);
        std::free(bin.binary);
        std::free(bin.sourceMap);
        char* text = BinaryenModuleAllocateAndWriteText(m);
        out.wat = text;
        std::free(text);
        out.instructions = std::move(used_);
        return out;
    }

private:
    BinaryenModuleRef mod() { return m_.get(); }
    void use(const char* name) { used_.insert(name); }

    void add_global(const char* name, Ty t, bool mut) {
        BinaryenExpressionRef init = t == Ty::I32 ? BinaryenConst(mod(), BinaryenLiteralInt32(i32_const()))
                                                  : BinaryenConst(mod(), BinaryenLiteralInt64(i64_const()));
        BinaryenAddGlobal(mod(), name, bt(t), mut, init);
        globals_.push_back({name, t, mut});
    }

    // ---- functions --------------------------------------------------------------------------

    void add_function(const std::string& name, const Signature& sig) {
        locals_.clear();
        reserved_.clear();
        labels_.clear();
        result_ = sig.result;
        for (Ty p : sig.params) locals_.push_back(p);
        params_ = static_cast<uint32_t>(sig.params.size());
        // A few scratch locals of each type.
        for (int i = 0; i < 3; ++i) locals_.push_back(Ty::I32);
        for (int i = 0; i < 2; ++i) locals_.push_back(Ty::I64);
        reserved_.assign(locals_.size(), false);

        std::vector<BinaryenExpressionRef> body;
        const uint32_t n = 2 + rng_.below(5);
        for (uint32_t i = 0; i < n; ++i) body.push_back(stmt(3));
        if (sig.result != Ty::None) body.push_back(expr(sig.result, 3));
        BinaryenExpressionRef block = BinaryenBlock(mod(), nullptr, body.data(),
                                                    static_cast<BinaryenIndex>(body.size()),
                                                    sig.result == Ty::None ? BinaryenTypeNone() : bt(sig.result));

        std::vector<BinaryenType> params;
        for (Ty p : sig.params) params.push_back(bt(p));
        std::vector<BinaryenType> vars;
        for (size_t i = params_; i < locals_.size(); ++i) vars.push_back(bt(locals_[i]));
        BinaryenAddFunction(mod(), name.c_str(),
                            BinaryenTypeCreate(params.data(), static_cast<BinaryenIndex>(params.size())),
                            bt(sig.result), vars.data(), static_cast<BinaryenIndex>(vars.size()), block);
    }

    std::string fresh_label(const char* prefix) { return prefix + std::to_string(label_counter_++); }

    // ---- constants --------------------------------------------------------------------------

    int32_t i32_const() {
        if (rng_.percent(70)) return rng_.pick(kI32Edges);
        return static_cast<int32_t>(rng_.next());
    }
    int64_t i64_const() {
        if (rng_.percent(70)) return rng_.pick(kI64Edges);
        return static_cast<int64_t>(rng_.next());
    }
    BinaryenExpressionRef c32(int32_t v) { return BinaryenConst(mod(), BinaryenLiteralInt32(v)); }
    BinaryenExpressionRef c64(int64_t v) { return BinaryenConst(mod(), BinaryenLiteralInt64(v)); }

    // ---- locals -----------------------------------------------------------------------------

    // A local of type t that random code may write (not a loop counter), or -1.
    int pick_local(Ty t, bool writable) {
        std::vector<int> c;
        for (size_t i = 0; i < locals_.size(); ++i)
            if (locals_[i] == t && !(writable && reserved_[i])) c.push_back(static_cast<int>(i));
        return c.empty() ? -1 : c[rng_.below(static_cast<uint32_t>(c.size()))];
    }
    BinaryenIndex new_counter() {
        locals_.push_back(Ty::I32);
        reserved_.push_back(true);
        return static_cast<BinaryenIndex>(locals_.size() - 1);
    }

    // ---- addresses --------------------------------------------------------------------------

    BinaryenExpressionRef packet_offset() {
        if (rng_.percent(hazard_)) {
            if (rng_.percent(70)) return c32(static_cast<int32_t>(rng_.pick(kPacketOffsets)));
            return expr(Ty::I32, 1);
        }
        if (rng_.percent(60)) {
            use("i32.and");
            return BinaryenBinary(mod(), BinaryenAndInt32(), expr(Ty::I32, 1), c32(rng_.percent(80) ? 31 : 63));
        }
        return c32(static_cast<int32_t>(rng_.below(40)));
    }
    BinaryenExpressionRef memory_address() {
        if (rng_.percent(hazard_)) {
            if (rng_.percent(70)) return c32(static_cast<int32_t>(rng_.pick(kMemoryAddresses)));
            return expr(Ty::I32, 1);
        }
        if (rng_.percent(70)) {
            use("i32.and");
            return BinaryenBinary(mod(), BinaryenAndInt32(), expr(Ty::I32, 1), c32(0x7fff));
        }
        return c32(static_cast<int32_t>(rng_.pick(kMemoryAddresses) & 0x7fffu));
    }
    uint32_t memory_offset() {
        if (rng_.percent(hazard_)) return rng_.pick(kMemoryOffsets);
        static const uint32_t small[] = {0, 0, 0, 1, 4, 7, 100, 4096};
        return rng_.pick(small);
    }

    // ---- expressions ------------------------------------------------------------------------

    BinaryenExpressionRef leaf(Ty t) {
        const uint32_t r = rng_.below(100);
        if (r < 40) {
            use(t == Ty::I32 ? "i32.const" : "i64.const");
            return t == Ty::I32 ? c32(i32_const()) : c64(i64_const());
        }
        if (r < 65) {
            const int l = pick_local(t, false);
            if (l >= 0) {
                use("local.get");
                return BinaryenLocalGet(mod(), static_cast<BinaryenIndex>(l), bt(t));
            }
        }
        if (r < 80) {
            std::vector<size_t> c;
            for (size_t i = 0; i < globals_.size(); ++i)
                if (globals_[i].type == t) c.push_back(i);
            if (!c.empty()) {
                use("global.get");
                return BinaryenGlobalGet(mod(), globals_[c[rng_.below(static_cast<uint32_t>(c.size()))]].name.c_str(), bt(t));
            }
        }
        if (t == Ty::I32) {
            if (r < 88) {
                use("call xfw.pkt_len");
                return BinaryenCall(mod(), "pkt_len", nullptr, 0, BinaryenTypeInt32());
            }
            if (r < 93) {
                use("call xfw.ifindex");
                return BinaryenCall(mod(), "ifindex", nullptr, 0, BinaryenTypeInt32());
            }
            use("memory.size");
            return BinaryenMemorySize(mod());
        }
        use("i64.const");
        return c64(i64_const());
    }

    BinaryenExpressionRef divisor(Ty t, int depth) {
        // Mostly made nonzero (x | 1, which keeps -1 for the overflow case); sometimes raw, so
        // zero reaches the divide.
        BinaryenExpressionRef d = expr(t, depth);
        if (!rng_.percent(hazard_ * 2)) {
            use(t == Ty::I32 ? "i32.or" : "i64.or");
            return t == Ty::I32 ? BinaryenBinary(mod(), BinaryenOrInt32(), d, c32(1))
                                : BinaryenBinary(mod(), BinaryenOrInt64(), d, c64(1));
        }
        return d;
    }

    BinaryenExpressionRef unary(Ty t, int depth) {
        struct Op { BinaryenOp (*op)(); const char* name; Ty arg; };
        static const Op k32[] = {
            {BinaryenClzInt32, "i32.clz", Ty::I32}, {BinaryenCtzInt32, "i32.ctz", Ty::I32},
            {BinaryenPopcntInt32, "i32.popcnt", Ty::I32}, {BinaryenEqZInt32, "i32.eqz", Ty::I32},
            {BinaryenEqZInt64, "i64.eqz", Ty::I64}, {BinaryenWrapInt64, "i32.wrap_i64", Ty::I64},
        };
        static const Op k64[] = {
            {BinaryenClzInt64, "i64.clz", Ty::I64}, {BinaryenCtzInt64, "i64.ctz", Ty::I64},
            {BinaryenPopcntInt64, "i64.popcnt", Ty::I64},
            {BinaryenExtendSInt32, "i64.extend_i32_s", Ty::I32},
            {BinaryenExtendUInt32, "i64.extend_i32_u", Ty::I32},
        };
        const Op& o = t == Ty::I32 ? rng_.pick(k32) : rng_.pick(k64);
        use(o.name);
        return BinaryenUnary(mod(), o.op(), expr(o.arg, depth - 1));
    }

    BinaryenExpressionRef binary(Ty t, int depth) {
        struct Op { BinaryenOp (*op)(); const char* name; Ty arg; int kind; };  // kind 1 = div/rem, 2 = shift
        static const Op k32[] = {
            {BinaryenAddInt32, "i32.add", Ty::I32, 0}, {BinaryenSubInt32, "i32.sub", Ty::I32, 0},
            {BinaryenMulInt32, "i32.mul", Ty::I32, 0}, {BinaryenDivSInt32, "i32.div_s", Ty::I32, 1},
            {BinaryenDivUInt32, "i32.div_u", Ty::I32, 1}, {BinaryenRemSInt32, "i32.rem_s", Ty::I32, 1},
            {BinaryenRemUInt32, "i32.rem_u", Ty::I32, 1}, {BinaryenAndInt32, "i32.and", Ty::I32, 0},
            {BinaryenOrInt32, "i32.or", Ty::I32, 0}, {BinaryenXorInt32, "i32.xor", Ty::I32, 0},
            {BinaryenShlInt32, "i32.shl", Ty::I32, 2}, {BinaryenShrSInt32, "i32.shr_s", Ty::I32, 2},
            {BinaryenShrUInt32, "i32.shr_u", Ty::I32, 2}, {BinaryenRotLInt32, "i32.rotl", Ty::I32, 2},
            {BinaryenRotRInt32, "i32.rotr", Ty::I32, 2},
            {BinaryenEqInt32, "i32.eq", Ty::I32, 0}, {BinaryenNeInt32, "i32.ne", Ty::I32, 0},
            {BinaryenLtSInt32, "i32.lt_s", Ty::I32, 0}, {BinaryenLtUInt32, "i32.lt_u", Ty::I32, 0},
            {BinaryenGtSInt32, "i32.gt_s", Ty::I32, 0}, {BinaryenGtUInt32, "i32.gt_u", Ty::I32, 0},
            {BinaryenLeSInt32, "i32.le_s", Ty::I32, 0}, {BinaryenLeUInt32, "i32.le_u", Ty::I32, 0},
            {BinaryenGeSInt32, "i32.ge_s", Ty::I32, 0}, {BinaryenGeUInt32, "i32.ge_u", Ty::I32, 0},
            {BinaryenEqInt64, "i64.eq", Ty::I64, 0}, {BinaryenNeInt64, "i64.ne", Ty::I64, 0},
            {BinaryenLtSInt64, "i64.lt_s", Ty::I64, 0}, {BinaryenLtUInt64, "i64.lt_u", Ty::I64, 0},
            {BinaryenGtSInt64, "i64.gt_s", Ty::I64, 0}, {BinaryenGtUInt64, "i64.gt_u", Ty::I64, 0},
            {BinaryenLeSInt64, "i64.le_s", Ty::I64, 0}, {BinaryenLeUInt64, "i64.le_u", Ty::I64, 0},
            {BinaryenGeSInt64, "i64.ge_s", Ty::I64, 0}, {BinaryenGeUInt64, "i64.ge_u", Ty::I64, 0},
        };
        static const Op k64[] = {
            {BinaryenAddInt64, "i64.add", Ty::I64, 0}, {BinaryenSubInt64, "i64.sub", Ty::I64, 0},
            {BinaryenMulInt64, "i64.mul", Ty::I64, 0}, {BinaryenDivSInt64, "i64.div_s", Ty::I64, 1},
            {BinaryenDivUInt64, "i64.div_u", Ty::I64, 1}, {BinaryenRemSInt64, "i64.rem_s", Ty::I64, 1},
            {BinaryenRemUInt64, "i64.rem_u", Ty::I64, 1}, {BinaryenAndInt64, "i64.and", Ty::I64, 0},
            {BinaryenOrInt64, "i64.or", Ty::I64, 0}, {BinaryenXorInt64, "i64.xor", Ty::I64, 0},
            {BinaryenShlInt64, "i64.shl", Ty::I64, 2}, {BinaryenShrSInt64, "i64.shr_s", Ty::I64, 2},
            {BinaryenShrUInt64, "i64.shr_u", Ty::I64, 2}, {BinaryenRotLInt64, "i64.rotl", Ty::I64, 2},
            {BinaryenRotRInt64, "i64.rotr", Ty::I64, 2},
        };
        const Op& o = t == Ty::I32 ? rng_.pick(k32) : rng_.pick(k64);
        use(o.name);
        BinaryenExpressionRef lhs = expr(o.arg, depth - 1);
        BinaryenExpressionRef rhs;
        if (o.kind == 1 && rng_.percent(8)) {
            // The one signed overflow: INT_MIN / -1 (div_s traps, rem_s gives 0), chosen by a
            // packet byte so that some frames hit it and others do not.
            BinaryenExpressionRef min = o.arg == Ty::I32 ? c32(INT32_MIN) : c64(INT64_MIN);
            lhs = BinaryenSelect(mod(), condition(1), min, lhs, bt(o.arg));
            use("select");
            rhs = o.arg == Ty::I32 ? c32(-1) : c64(-1);
        } else if (o.kind == 1) {
            rhs = divisor(o.arg, depth - 1);
        } else if (o.kind == 2 && rng_.percent(60)) {
            // Shift and rotate counts at and around the width (taken modulo the width).
            static const int64_t counts[] = {0, 1, 7, 31, 32, 33, 63, 64, 65, -1, -32, 127, 128};
            const int64_t c = rng_.pick(counts);
            rhs = o.arg == Ty::I32 ? c32(static_cast<int32_t>(c)) : c64(c);
        } else {
            rhs = expr(o.arg, depth - 1);
        }
        return BinaryenBinary(mod(), o.op(), lhs, rhs);
    }

    BinaryenExpressionRef load(Ty t) {
        struct Op { uint32_t bytes; bool sign; const char* name; };
        static const Op k32[] = {{4, false, "i32.load"}, {1, true, "i32.load8_s"}, {1, false, "i32.load8_u"},
                                 {2, true, "i32.load16_s"}, {2, false, "i32.load16_u"}};
        static const Op k64[] = {{8, false, "i64.load"}, {1, true, "i64.load8_s"}, {1, false, "i64.load8_u"},
                                 {2, true, "i64.load16_s"}, {2, false, "i64.load16_u"},
                                 {4, true, "i64.load32_s"}, {4, false, "i64.load32_u"}};
        const Op& o = t == Ty::I32 ? rng_.pick(k32) : rng_.pick(k64);
        use(o.name);
        return BinaryenLoad(mod(), o.bytes, o.sign, memory_offset(), 0, bt(t), memory_address());
    }

    BinaryenExpressionRef packet_load(Ty t) {
        if (t == Ty::I64) {
            use("call xfw.load_u64");
            BinaryenExpressionRef off = packet_offset();
            return BinaryenCall(mod(), "load_u64", &off, 1, BinaryenTypeInt64());
        }
        static const char* names[] = {"load_u8", "load_u16", "load_u32"};
        static const char* used[] = {"call xfw.load_u8", "call xfw.load_u16", "call xfw.load_u32"};
        const uint32_t i = rng_.below(3);
        const char* n = names[i];
        use(used[i]);
        BinaryenExpressionRef off = packet_offset();
        return BinaryenCall(mod(), n, &off, 1, BinaryenTypeInt32());
    }

    BinaryenExpressionRef call_helper(Ty want, int depth) {
        std::vector<const Helper*> c;
        for (const Helper& h : helpers_)
            if (h.sig.result == want) c.push_back(&h);
        if (c.empty()) return nullptr;
        const Helper* h = c[rng_.below(static_cast<uint32_t>(c.size()))];
        std::vector<BinaryenExpressionRef> args;
        for (Ty p : h->sig.params) args.push_back(expr(p, depth - 1));
        use("call");
        return BinaryenCall(mod(), h->name.c_str(), args.data(), static_cast<BinaryenIndex>(args.size()), bt(want));
    }

    // A valued block: statements, a br_if carrying a value out, then the fallthrough value.
    BinaryenExpressionRef valued_block(Ty t, int depth) {
        // The label carries a value, so it is not offered to the value-less branches that
        // statements make.
        std::string name = fresh_label("v");
        std::vector<BinaryenExpressionRef> kids;
        kids.push_back(stmt(depth - 1));
        use("br_if");
        kids.push_back(BinaryenDrop(mod(), BinaryenBreak(mod(), name.c_str(), condition(depth - 1), expr(t, depth - 1))));
        use("drop");
        kids.push_back(expr(t, depth - 1));
        use("block");
        return BinaryenBlock(mod(), name.c_str(), kids.data(), static_cast<BinaryenIndex>(kids.size()), bt(t));
    }

    BinaryenExpressionRef condition(int depth) {
        // Often a test on packet bytes, so that frames take different paths.
        if (rng_.percent(40)) {
            use("i32.eq");
            return BinaryenBinary(mod(), rng_.percent(50) ? BinaryenEqInt32() : BinaryenLtUInt32(),
                                  packet_load(Ty::I32), c32(static_cast<int32_t>(rng_.below(64))));
        }
        return expr(Ty::I32, depth);
    }

    BinaryenExpressionRef expr(Ty t, int depth) {
        if (depth <= 0) return leaf(t);
        const uint32_t r = rng_.below(100);
        if (r < 15) return leaf(t);
        if (r < 25) return unary(t, depth);
        if (r < 50) return binary(t, depth);
        if (r < 56) return load(t);
        if (r < 64) return packet_load(t);
        if (r < 69) {
            use("select");
            BinaryenExpressionRef a = expr(t, depth - 1);
            BinaryenExpressionRef b = expr(t, depth - 1);
            return BinaryenSelect(mod(), condition(depth - 1), a, b, bt(t));
        }
        if (r < 74) {
            const int l = pick_local(t, true);
            if (l >= 0) {
                use("local.tee");
                return BinaryenLocalTee(mod(), static_cast<BinaryenIndex>(l), expr(t, depth - 1), bt(t));
            }
            return leaf(t);
        }
        if (r < 80) {
            use("if");
            BinaryenExpressionRef c = condition(depth - 1);
            BinaryenExpressionRef a = expr(t, depth - 1);
            BinaryenExpressionRef b = expr(t, depth - 1);
            return BinaryenIf(mod(), c, a, b);
        }
        if (r < 86) {
            if (BinaryenExpressionRef call = call_helper(t, depth)) return call;
            return leaf(t);
        }
        if (r < 92) return valued_block(t, depth);
        if (t == Ty::I32 && r < 96) {
            use("memory.grow");
            return BinaryenMemoryGrow(mod(), rng_.percent(70) ? c32(static_cast<int32_t>(rng_.below(3)))
                                                              : expr(Ty::I32, depth - 1));
        }
        return leaf(t);
    }

    // ---- statements -------------------------------------------------------------------------

    BinaryenExpressionRef block_of(int depth, uint32_t max_stmts) {
        std::vector<BinaryenExpressionRef> kids;
        const uint32_t n = 1 + rng_.below(max_stmts);
        for (uint32_t i = 0; i < n; ++i) kids.push_back(stmt(depth));
        return BinaryenBlock(mod(), nullptr, kids.data(), static_cast<BinaryenIndex>(kids.size()), BinaryenTypeNone());
    }

    // A branch to a label in scope: br, br_if or br_table.
    BinaryenExpressionRef branch(int depth) {
        if (labels_.empty()) return BinaryenNop(mod());
        // Copies: generating the condition below pushes and pops labels.
        const Label target = labels_[rng_.below(static_cast<uint32_t>(labels_.size()))];
        const uint32_t r = rng_.below(3);
        if (r == 0) {
            use("br");
            // An unconditional branch only under a condition, or the rest is dead code.
            BinaryenExpressionRef br = BinaryenBreak(mod(), target.name.c_str(), nullptr, nullptr);
            use("if");
            return BinaryenIf(mod(), condition(depth), br, nullptr);
        }
        if (r == 1) {
            use("br_if");
            return BinaryenBreak(mod(), target.name.c_str(), condition(depth), nullptr);
        }
        use("br_table");
        std::vector<std::string> names;
        const uint32_t n = 1 + rng_.below(4);
        for (uint32_t i = 0; i < n; ++i) names.push_back(labels_[rng_.below(static_cast<uint32_t>(labels_.size()))].name);
        const std::string def = labels_[rng_.below(static_cast<uint32_t>(labels_.size()))].name;
        BinaryenExpressionRef index = rng_.percent(50) ? expr(Ty::I32, depth)
                                                       : BinaryenBinary(mod(), BinaryenAndInt32(), expr(Ty::I32, depth), c32(7));
        std::vector<const char*> name_ptrs;
        for (const std::string& nm : names) name_ptrs.push_back(nm.c_str());
        // Only branches whose index is large take the default: keep it under a condition.
        BinaryenExpressionRef sw = BinaryenSwitch(mod(), name_ptrs.data(), static_cast<BinaryenIndex>(name_ptrs.size()), def.c_str(), index, nullptr);
        return BinaryenIf(mod(), condition(depth), sw, nullptr);
    }

    // (local.set $n N) (block $exit (loop $L (br_if $exit (i32.eqz $n)) (local.set $n (- $n 1))
    //   body (br $L))) — every iteration passes the decrement, so any branch back to $L (from
    // the body too) still ends after N iterations; a large N runs out of fuel first.
    BinaryenExpressionRef bounded_loop(int depth) {
        const BinaryenIndex n = new_counter();
        const uint32_t iterations = rng_.percent(92) ? rng_.below(7) : 70000 + rng_.below(1000);
        std::string exit = fresh_label("x");
        std::string loop = fresh_label("l");
        labels_.push_back({exit, false});
        labels_.push_back({loop, true});
        std::vector<BinaryenExpressionRef> body;
        use("br_if");
        body.push_back(BinaryenBreak(mod(), exit.c_str(),
                                     BinaryenUnary(mod(), BinaryenEqZInt32(), BinaryenLocalGet(mod(), n, BinaryenTypeInt32())),
                                     nullptr));
        use("local.set");
        body.push_back(BinaryenLocalSet(mod(), n, BinaryenBinary(mod(), BinaryenSubInt32(),
                                                                 BinaryenLocalGet(mod(), n, BinaryenTypeInt32()), c32(1))));
        body.push_back(block_of(depth - 1, 3));
        use("br");
        body.push_back(BinaryenBreak(mod(), loop.c_str(), nullptr, nullptr));
        labels_.pop_back();
        labels_.pop_back();
        use("loop");
        BinaryenExpressionRef l = BinaryenLoop(mod(), loop.c_str(),
                                               BinaryenBlock(mod(), nullptr, body.data(), static_cast<BinaryenIndex>(body.size()), BinaryenTypeNone()));
        BinaryenExpressionRef outer[2] = {BinaryenLocalSet(mod(), n, c32(static_cast<int32_t>(iterations))), l};
        BinaryenExpressionRef exit_block = BinaryenBlock(mod(), exit.c_str(), &outer[1], 1, BinaryenTypeNone());
        BinaryenExpressionRef seq[2] = {outer[0], exit_block};
        use("block");
        return BinaryenBlock(mod(), nullptr, seq, 2, BinaryenTypeNone());
    }

    BinaryenExpressionRef store() {
        struct Op { uint32_t bytes; Ty t; const char* name; };
        static const Op ops[] = {{4, Ty::I32, "i32.store"}, {1, Ty::I32, "i32.store8"}, {2, Ty::I32, "i32.store16"},
                                 {8, Ty::I64, "i64.store"}, {1, Ty::I64, "i64.store8"}, {2, Ty::I64, "i64.store16"},
                                 {4, Ty::I64, "i64.store32"}};
        const Op& o = rng_.pick(ops);
        use(o.name);
        BinaryenExpressionRef addr = memory_address();
        return BinaryenStore(mod(), o.bytes, memory_offset(), 0, addr, expr(o.t, 2), bt(o.t));
    }

    BinaryenExpressionRef count_stmt() {
        use("call xfw.count");
        BinaryenExpressionRef bucket;
        if (buckets_ > 0 && !rng_.percent(hazard_)) {
            bucket = rng_.percent(70) ? c32(static_cast<int32_t>(rng_.below(buckets_)))
                                      : BinaryenBinary(mod(), BinaryenRemUInt32(), expr(Ty::I32, 1),
                                                       c32(static_cast<int32_t>(buckets_)));
        } else if (rng_.percent(60)) {
            bucket = c32(static_cast<int32_t>(rng_.percent(50) ? buckets_ : 0xffffffffu));
        } else {
            bucket = BinaryenBinary(mod(), BinaryenAndInt32(), expr(Ty::I32, 1), c32(7));
        }
        return BinaryenCall(mod(), "count", &bucket, 1, BinaryenTypeNone());
    }

    BinaryenExpressionRef stmt(int depth) {
        const uint32_t r = rng_.below(100);
        if (depth <= 0 || r < 14) {
            const Ty t = rng_.percent(60) ? Ty::I32 : Ty::I64;
            const int l = pick_local(t, true);
            if (l < 0) return BinaryenNop(mod());
            use("local.set");
            return BinaryenLocalSet(mod(), static_cast<BinaryenIndex>(l), expr(t, depth <= 0 ? 1 : 2));
        }
        if (r < 22) {
            std::vector<size_t> c;
            for (size_t i = 0; i < globals_.size(); ++i)
                if (globals_[i].mut) c.push_back(i);
            const auto& g = globals_[c[rng_.below(static_cast<uint32_t>(c.size()))]];
            use("global.set");
            return BinaryenGlobalSet(mod(), g.name.c_str(), expr(g.type, 2));
        }
        if (r < 32) return store();
        if (r < 40) {
            use("drop");
            return BinaryenDrop(mod(), expr(rng_.percent(60) ? Ty::I32 : Ty::I64, 3));
        }
        // Without buckets every count traps: only now and then.
        if (r < 50 && (buckets_ > 0 || rng_.percent(hazard_ * 3))) return count_stmt();
        if (r < 60) {
            use("if");
            BinaryenExpressionRef c = condition(2);
            BinaryenExpressionRef a = block_of(depth - 1, 3);
            BinaryenExpressionRef b = rng_.percent(50) ? block_of(depth - 1, 2) : nullptr;
            return BinaryenIf(mod(), c, a, b);
        }
        if (r < 70) {
            std::string name = fresh_label("b");
            labels_.push_back({name, false});
            std::vector<BinaryenExpressionRef> kids;
            const uint32_t n = 1 + rng_.below(3);
            for (uint32_t i = 0; i < n; ++i) kids.push_back(rng_.percent(40) ? branch(2) : stmt(depth - 1));
            kids.push_back(branch(2));
            kids.push_back(stmt(depth - 1));
            labels_.pop_back();
            use("block");
            return BinaryenBlock(mod(), name.c_str(), kids.data(), static_cast<BinaryenIndex>(kids.size()), BinaryenTypeNone());
        }
        if (r < 78) return bounded_loop(depth);
        if (r < 82) return branch(2);
        if (r < 86) {
            use("return");
            BinaryenExpressionRef v = result_ == Ty::None ? nullptr : expr(result_, 2);
            return BinaryenIf(mod(), condition(2), BinaryenReturn(mod(), v), nullptr);
        }
        if (r < 88) {
            use("unreachable");
            // True for some frames: a byte of the frame below a constant.
            BinaryenExpressionRef c = BinaryenBinary(mod(), BinaryenLtUInt32(), packet_load(Ty::I32),
                                                     c32(static_cast<int32_t>(rng_.below(64))));
            return BinaryenIf(mod(), c, BinaryenUnreachable(mod()), nullptr);
        }
        if (r < 94) {
            const Ty want = static_cast<Ty>(rng_.below(3));
            if (BinaryenExpressionRef call = call_helper(want, 2))
                return want == Ty::None ? call : BinaryenDrop(mod(), call);
        }
        use("memory.grow");
        return BinaryenDrop(mod(), BinaryenMemoryGrow(mod(), c32(static_cast<int32_t>(rng_.below(2)))));
    }

    struct Global { std::string name; Ty type; bool mut; };

    Rng rng_;
    std::unique_ptr<std::remove_pointer_t<BinaryenModuleRef>, ModuleDeleter> m_;
    uint32_t initial_pages_ = 1;
    uint32_t buckets_ = 0;
    uint32_t hazard_ = 5;
    std::vector<Global> globals_;
    std::vector<Helper> helpers_;
    std::vector<Ty> locals_;
    std::vector<bool> reserved_;
    uint32_t params_ = 0;
    Ty result_ = Ty::I32;
    std::vector<Label> labels_;
    uint32_t label_counter_ = 0;
    std::set<std::string> used_;
};

}  // namespace

Expected<GeneratedModule> generate_module(uint64_t seed) {
    Generator g(seed);
    return g.build(seed);
}

const std::set<std::string>& generator_instruction_names() {
    static const std::set<std::string> names = {
        "i32.const", "i64.const", "local.get", "local.set", "local.tee", "global.get", "global.set",
        "i32.clz", "i32.ctz", "i32.popcnt", "i32.eqz", "i64.eqz", "i32.wrap_i64",
        "i64.clz", "i64.ctz", "i64.popcnt", "i64.extend_i32_s", "i64.extend_i32_u",
        "i32.add", "i32.sub", "i32.mul", "i32.div_s", "i32.div_u", "i32.rem_s", "i32.rem_u",
        "i32.and", "i32.or", "i32.xor", "i32.shl", "i32.shr_s", "i32.shr_u", "i32.rotl", "i32.rotr",
        "i32.eq", "i32.ne", "i32.lt_s", "i32.lt_u", "i32.gt_s", "i32.gt_u", "i32.le_s", "i32.le_u",
        "i32.ge_s", "i32.ge_u",
        "i64.eq", "i64.ne", "i64.lt_s", "i64.lt_u", "i64.gt_s", "i64.gt_u", "i64.le_s", "i64.le_u",
        "i64.ge_s", "i64.ge_u",
        "i64.add", "i64.sub", "i64.mul", "i64.div_s", "i64.div_u", "i64.rem_s", "i64.rem_u",
        "i64.and", "i64.or", "i64.xor", "i64.shl", "i64.shr_s", "i64.shr_u", "i64.rotl", "i64.rotr",
        "i32.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u",
        "i64.load", "i64.load8_s", "i64.load8_u", "i64.load16_s", "i64.load16_u", "i64.load32_s",
        "i64.load32_u",
        "i32.store", "i32.store8", "i32.store16", "i64.store", "i64.store8", "i64.store16", "i64.store32",
        "memory.size", "memory.grow", "select", "drop", "block", "loop", "if", "br", "br_if",
        "br_table", "return", "unreachable", "call",
        "call xfw.load_u8", "call xfw.load_u16", "call xfw.load_u32", "call xfw.load_u64",
        "call xfw.pkt_len", "call xfw.ifindex", "call xfw.count",
    };
    return names;
}

}  // namespace xfw::test
