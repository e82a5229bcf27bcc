// ABI and instruction-subset checks on the module as read (see module_check.hpp).
#include "wasm-policy/module_check.hpp"

#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace xfw::wasm {

namespace {

struct OpName {
    BinaryenOp op;
    const char* name;
};

const std::vector<OpName>& unary_ops() {
    static const std::vector<OpName> ops = {
        {BinaryenClzInt32(), "i32.clz"},          {BinaryenCtzInt32(), "i32.ctz"},
        {BinaryenPopcntInt32(), "i32.popcnt"},    {BinaryenEqZInt32(), "i32.eqz"},
        {BinaryenClzInt64(), "i64.clz"},          {BinaryenCtzInt64(), "i64.ctz"},
        {BinaryenPopcntInt64(), "i64.popcnt"},    {BinaryenEqZInt64(), "i64.eqz"},
        {BinaryenExtendSInt32(), "i64.extend_i32_s"}, {BinaryenExtendUInt32(), "i64.extend_i32_u"},
        {BinaryenWrapInt64(), "i32.wrap_i64"},    {BinaryenExtendS8Int32(), "i32.extend8_s"},
        {BinaryenExtendS16Int32(), "i32.extend16_s"}, {BinaryenExtendS8Int64(), "i64.extend8_s"},
        {BinaryenExtendS16Int64(), "i64.extend16_s"}, {BinaryenExtendS32Int64(), "i64.extend32_s"},
    };
    return ops;
}

const std::vector<OpName>& binary_ops() {
    static const std::vector<OpName> ops = {
        {BinaryenAddInt32(), "i32.add"},   {BinaryenSubInt32(), "i32.sub"},   {BinaryenMulInt32(), "i32.mul"},
        {BinaryenDivSInt32(), "i32.div_s"}, {BinaryenDivUInt32(), "i32.div_u"}, {BinaryenRemSInt32(), "i32.rem_s"},
        {BinaryenRemUInt32(), "i32.rem_u"}, {BinaryenAndInt32(), "i32.and"},   {BinaryenOrInt32(), "i32.or"},
        {BinaryenXorInt32(), "i32.xor"},   {BinaryenShlInt32(), "i32.shl"},   {BinaryenShrUInt32(), "i32.shr_u"},
        {BinaryenShrSInt32(), "i32.shr_s"}, {BinaryenRotLInt32(), "i32.rotl"}, {BinaryenRotRInt32(), "i32.rotr"},
        {BinaryenEqInt32(), "i32.eq"},     {BinaryenNeInt32(), "i32.ne"},     {BinaryenLtSInt32(), "i32.lt_s"},
        {BinaryenLtUInt32(), "i32.lt_u"},  {BinaryenLeSInt32(), "i32.le_s"},  {BinaryenLeUInt32(), "i32.le_u"},
        {BinaryenGtSInt32(), "i32.gt_s"},  {BinaryenGtUInt32(), "i32.gt_u"},  {BinaryenGeSInt32(), "i32.ge_s"},
        {BinaryenGeUInt32(), "i32.ge_u"},
        {BinaryenAddInt64(), "i64.add"},   {BinaryenSubInt64(), "i64.sub"},   {BinaryenMulInt64(), "i64.mul"},
        {BinaryenDivSInt64(), "i64.div_s"}, {BinaryenDivUInt64(), "i64.div_u"}, {BinaryenRemSInt64(), "i64.rem_s"},
        {BinaryenRemUInt64(), "i64.rem_u"}, {BinaryenAndInt64(), "i64.and"},   {BinaryenOrInt64(), "i64.or"},
        {BinaryenXorInt64(), "i64.xor"},   {BinaryenShlInt64(), "i64.shl"},   {BinaryenShrUInt64(), "i64.shr_u"},
        {BinaryenShrSInt64(), "i64.shr_s"}, {BinaryenRotLInt64(), "i64.rotl"}, {BinaryenRotRInt64(), "i64.rotr"},
        {BinaryenEqInt64(), "i64.eq"},     {BinaryenNeInt64(), "i64.ne"},     {BinaryenLtSInt64(), "i64.lt_s"},
        {BinaryenLtUInt64(), "i64.lt_u"},  {BinaryenLeSInt64(), "i64.le_s"},  {BinaryenLeUInt64(), "i64.le_u"},
        {BinaryenGtSInt64(), "i64.gt_s"},  {BinaryenGtUInt64(), "i64.gt_u"},  {BinaryenGeSInt64(), "i64.ge_s"},
        {BinaryenGeUInt64(), "i64.ge_u"},
    };
    return ops;
}

std::string find_name(const std::vector<OpName>& ops, BinaryenOp op) {
    for (const OpName& o : ops)
        if (o.op == op) return o.name;
    return {};
}

bool is_integer(BinaryenType t) { return t == BinaryenTypeInt32() || t == BinaryenTypeInt64(); }

std::string type_name(BinaryenType t) {
    if (t == BinaryenTypeNone()) return "none";
    if (t == BinaryenTypeInt32()) return "i32";
    if (t == BinaryenTypeInt64()) return "i64";
    if (t == BinaryenTypeFloat32()) return "f32";
    if (t == BinaryenTypeFloat64()) return "f64";
    if (t == BinaryenTypeVec128()) return "v128";
    if (t == BinaryenTypeFuncref()) return "funcref";
    if (t == BinaryenTypeExternref()) return "externref";
    if (BinaryenTypeArity(t) > 1) return "a tuple of " + std::to_string(BinaryenTypeArity(t)) + " values";
    return "a reference";
}

// Why a value type is refused.
std::string type_refusal(BinaryenType t) {
    if (t == BinaryenTypeFloat32() || t == BinaryenTypeFloat64())
        return "floating point is not supported (eBPF has no floating-point instructions)";
    if (t == BinaryenTypeVec128()) return "SIMD is not supported";
    if (BinaryenTypeArity(t) > 1) return "multi-value results are not supported";
    return "reference types are not supported";
}

const char* kind_name(BinaryenExpressionId id) {
    static const std::vector<std::pair<BinaryenExpressionId, const char*>> names = {
        {BinaryenNopId(), "nop"}, {BinaryenBlockId(), "block"}, {BinaryenIfId(), "if"},
        {BinaryenLoopId(), "loop"}, {BinaryenBreakId(), "br/br_if"}, {BinaryenSwitchId(), "br_table"},
        {BinaryenCallId(), "call"}, {BinaryenCallIndirectId(), "call_indirect"},
        {BinaryenLocalGetId(), "local.get"}, {BinaryenLocalSetId(), "local.set"},
        {BinaryenGlobalGetId(), "global.get"}, {BinaryenGlobalSetId(), "global.set"},
        {BinaryenLoadId(), "load"}, {BinaryenStoreId(), "store"}, {BinaryenAtomicRMWId(), "atomic.rmw"},
        {BinaryenAtomicCmpxchgId(), "atomic.rmw.cmpxchg"}, {BinaryenAtomicWaitId(), "memory.atomic.wait"},
        {BinaryenAtomicNotifyId(), "memory.atomic.notify"}, {BinaryenAtomicFenceId(), "atomic.fence"},
        {BinaryenSIMDExtractId(), "SIMD extract_lane"}, {BinaryenSIMDReplaceId(), "SIMD replace_lane"},
        {BinaryenSIMDShuffleId(), "i8x16.shuffle"}, {BinaryenSIMDTernaryId(), "SIMD ternary"},
        {BinaryenSIMDShiftId(), "SIMD shift"}, {BinaryenSIMDLoadId(), "SIMD load"},
        {BinaryenSIMDLoadStoreLaneId(), "SIMD load/store lane"}, {BinaryenMemoryInitId(), "memory.init"},
        {BinaryenDataDropId(), "data.drop"}, {BinaryenMemoryCopyId(), "memory.copy"},
        {BinaryenMemoryFillId(), "memory.fill"}, {BinaryenConstId(), "const"}, {BinaryenUnaryId(), "unary"},
        {BinaryenBinaryId(), "binary"}, {BinaryenSelectId(), "select"}, {BinaryenDropId(), "drop"},
        {BinaryenReturnId(), "return"}, {BinaryenMemorySizeId(), "memory.size"},
        {BinaryenMemoryGrowId(), "memory.grow"}, {BinaryenUnreachableId(), "unreachable"},
        {BinaryenTryId(), "try"}, {BinaryenThrowId(), "throw"}, {BinaryenRethrowId(), "rethrow"},
        {BinaryenTupleMakeId(), "tuple.make"}, {BinaryenTupleExtractId(), "tuple.extract"},
        {BinaryenTableGetId(), "table.get"}, {BinaryenTableSetId(), "table.set"},
        {BinaryenTableSizeId(), "table.size"}, {BinaryenTableGrowId(), "table.grow"},
        {BinaryenRefNullId(), "ref.null"}, {BinaryenRefIsId(), "ref.is_null"}, {BinaryenRefFuncId(), "ref.func"},
    };
    for (const auto& [k, n] : names)
        if (k == id) return n;
    return "a GC or other post-MVP instruction";
}

// Why an expression kind is refused, or "" when it is supported.
std::string kind_refusal(BinaryenExpressionId id) {
    if (id == BinaryenCallIndirectId() || id == BinaryenTableGetId() || id == BinaryenTableSetId() ||
        id == BinaryenTableSizeId() || id == BinaryenTableGrowId())
        return "tables and indirect calls are not supported (eBPF calls only known code)";
    if (id == BinaryenAtomicRMWId() || id == BinaryenAtomicCmpxchgId() || id == BinaryenAtomicWaitId() ||
        id == BinaryenAtomicNotifyId() || id == BinaryenAtomicFenceId())
        return "threads and atomics are not supported (each CPU has its own instance)";
    if (id == BinaryenSIMDExtractId() || id == BinaryenSIMDReplaceId() || id == BinaryenSIMDShuffleId() ||
        id == BinaryenSIMDTernaryId() || id == BinaryenSIMDShiftId() || id == BinaryenSIMDLoadId() ||
        id == BinaryenSIMDLoadStoreLaneId())
        return "SIMD is not supported";
    if (id == BinaryenMemoryInitId() || id == BinaryenDataDropId() || id == BinaryenMemoryCopyId() ||
        id == BinaryenMemoryFillId())
        return "bulk memory operations are not supported (build without -mbulk-memory)";
    if (id == BinaryenTryId() || id == BinaryenThrowId() || id == BinaryenRethrowId())
        return "exceptions are not supported";
    if (id == BinaryenTupleMakeId() || id == BinaryenTupleExtractId())
        return "multi-value is not supported";
    static const std::set<BinaryenExpressionId> supported = {
        BinaryenNopId(), BinaryenBlockId(), BinaryenIfId(), BinaryenLoopId(), BinaryenBreakId(),
        BinaryenSwitchId(), BinaryenCallId(), BinaryenLocalGetId(), BinaryenLocalSetId(),
        BinaryenGlobalGetId(), BinaryenGlobalSetId(), BinaryenLoadId(), BinaryenStoreId(), BinaryenConstId(),
        BinaryenUnaryId(), BinaryenBinaryId(), BinaryenSelectId(), BinaryenDropId(), BinaryenReturnId(),
        BinaryenMemorySizeId(), BinaryenMemoryGrowId(), BinaryenUnreachableId(),
    };
    if (supported.count(id)) return {};
    return "reference types, GC and other post-MVP instructions are not supported";
}

struct FunctionChecker {
    ModuleFacts& facts;
    std::string function;
    std::string error;

    bool refuse(const std::string& instruction, const std::string& why) {
        if (error.empty()) error = function + ": " + instruction + ": " + why;
        return false;
    }

    bool walk(BinaryenExpressionRef x) {
        if (!x) return true;
        ++facts.wasm_instructions;
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        const BinaryenType type = BinaryenExpressionGetType(x);
        if (std::string why = kind_refusal(id); !why.empty()) return refuse(kind_name(id), why);
        if (type != BinaryenTypeNone() && type != BinaryenTypeUnreachable() && !is_integer(type)) {
            std::string what = kind_name(id);
            if (id == BinaryenUnaryId() || id == BinaryenBinaryId() || id == BinaryenConstId() ||
                id == BinaryenLoadId())
                what = type_name(type) + " " + what;
            else
                what += " of " + type_name(type);
            return refuse(what, type_refusal(type));
        }
        auto all = [&](std::initializer_list<BinaryenExpressionRef> children) {
            for (BinaryenExpressionRef c : children)
                if (!walk(c)) return false;
            return true;
        };
        if (id == BinaryenBlockId()) {
            for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(x); ++i)
                if (!walk(BinaryenBlockGetChildAt(x, i))) return false;
            return true;
        }
        if (id == BinaryenIfId())
            return all({BinaryenIfGetCondition(x), BinaryenIfGetIfTrue(x), BinaryenIfGetIfFalse(x)});
        if (id == BinaryenLoopId()) {
            facts.has_loops = true;
            return walk(BinaryenLoopGetBody(x));
        }
        if (id == BinaryenBreakId()) return all({BinaryenBreakGetValue(x), BinaryenBreakGetCondition(x)});
        if (id == BinaryenSwitchId()) return all({BinaryenSwitchGetValue(x), BinaryenSwitchGetCondition(x)});
        if (id == BinaryenCallId()) {
            if (BinaryenCallIsReturn(x))
                return refuse("return_call", "tail calls are not supported");
            for (BinaryenIndex i = 0; i < BinaryenCallGetNumOperands(x); ++i)
                if (!walk(BinaryenCallGetOperandAt(x, i))) return false;
            return true;
        }
        if (id == BinaryenLocalSetId()) return walk(BinaryenLocalSetGetValue(x));
        if (id == BinaryenGlobalSetId()) return walk(BinaryenGlobalSetGetValue(x));
        if (id == BinaryenLoadId()) {
            if (BinaryenLoadIsAtomic(x)) return refuse("atomic load", kind_refusal(BinaryenAtomicRMWId()));
            return walk(BinaryenLoadGetPtr(x));
        }
        if (id == BinaryenStoreId()) {
            if (BinaryenStoreIsAtomic(x)) return refuse("atomic store", kind_refusal(BinaryenAtomicRMWId()));
            if (!is_integer(BinaryenStoreGetValueType(x)))
                return refuse(type_name(BinaryenStoreGetValueType(x)) + ".store",
                              type_refusal(BinaryenStoreGetValueType(x)));
            return all({BinaryenStoreGetPtr(x), BinaryenStoreGetValue(x)});
        }
        if (id == BinaryenUnaryId()) {
            if (unary_op_name(BinaryenUnaryGetOp(x)).empty()) {
                BinaryenType operand = BinaryenExpressionGetType(BinaryenUnaryGetValue(x));
                return refuse("a conversion from " + type_name(operand),
                              is_integer(operand) ? type_refusal(BinaryenTypeFloat32()) : type_refusal(operand));
            }
            return walk(BinaryenUnaryGetValue(x));
        }
        if (id == BinaryenBinaryId()) {
            if (binary_op_name(BinaryenBinaryGetOp(x)).empty()) {
                BinaryenType operand = BinaryenExpressionGetType(BinaryenBinaryGetLeft(x));
                return refuse("a " + type_name(operand) + " comparison", type_refusal(operand));
            }
            return all({BinaryenBinaryGetLeft(x), BinaryenBinaryGetRight(x)});
        }
        if (id == BinaryenSelectId())
            return all({BinaryenSelectGetIfTrue(x), BinaryenSelectGetIfFalse(x), BinaryenSelectGetCondition(x)});
        if (id == BinaryenDropId()) return walk(BinaryenDropGetValue(x));
        if (id == BinaryenReturnId()) return walk(BinaryenReturnGetValue(x));
        if (id == BinaryenMemoryGrowId()) return walk(BinaryenMemoryGrowGetDelta(x));
        return true;
    }
};

struct ImportSignature {
    HostImport which;
    std::vector<BinaryenType> params;
    BinaryenType result;
    const char* spelled;
};

const std::map<std::string, ImportSignature>& abi_imports() {
    static const std::map<std::string, ImportSignature> imports = {
        {"load_u8", {HostImport::LoadU8, {BinaryenTypeInt32()}, BinaryenTypeInt32(), "(i32) -> i32"}},
        {"load_u16", {HostImport::LoadU16, {BinaryenTypeInt32()}, BinaryenTypeInt32(), "(i32) -> i32"}},
        {"load_u32", {HostImport::LoadU32, {BinaryenTypeInt32()}, BinaryenTypeInt32(), "(i32) -> i32"}},
        {"load_u64", {HostImport::LoadU64, {BinaryenTypeInt32()}, BinaryenTypeInt64(), "(i32) -> i64"}},
        {"pkt_len", {HostImport::PktLen, {}, BinaryenTypeInt32(), "() -> i32"}},
        {"ifindex", {HostImport::Ifindex, {}, BinaryenTypeInt32(), "() -> i32"}},
        {"count", {HostImport::Count, {BinaryenTypeInt32()}, BinaryenTypeNone(), "(i32) -> ()"}},
    };
    return imports;
}

std::vector<BinaryenType> expand(BinaryenType t) {
    std::vector<BinaryenType> out(BinaryenTypeArity(t));
    if (!out.empty()) BinaryenTypeExpand(t, out.data());
    return out;
}

bool is_import(BinaryenFunctionRef f) {
    const char* module = BinaryenFunctionImportGetModule(f);
    return module && *module;
}

Expected<std::vector<std::string>> bucket_names(const ModuleScan& scan, const PolicyOptions& options) {
    std::vector<std::string> names;
    if (scan.buckets_section) {
        std::set<std::string> seen;
        const std::string& text = *scan.buckets_section;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            std::string name = text.substr(start, end - start);
            start = end + 1;
            if (name.empty() || name.size() > 64)
                return bad_input("\"xfw.buckets\" section: bucket " + std::to_string(names.size()) +
                                 " has an empty name or one longer than 64 bytes");
            for (char c : name)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-'))
                    return bad_input("\"xfw.buckets\" section: bucket name \"" + name +
                                     "\" may only contain letters, digits and _ . : -");
            if (!seen.insert(name).second)
                return bad_input("\"xfw.buckets\" section: bucket \"" + name + "\" is declared twice");
            names.push_back(std::move(name));
        }
        if (options.buckets && *options.buckets != names.size())
            return bad_input("--buckets " + std::to_string(*options.buckets) + " does not match the module's "
                             "\"xfw.buckets\" section, which declares " + std::to_string(names.size()) +
                             " buckets; drop --buckets or make them agree");
    } else if (options.buckets) {
        for (uint32_t i = 0; i < *options.buckets; ++i) names.push_back("b" + std::to_string(i));
    }
    if (names.size() > kMaxBuckets)
        return bad_input("the policy declares " + std::to_string(names.size()) + " buckets; at most " +
                         std::to_string(kMaxBuckets) + " are allowed");
    return names;
}

}  // namespace

std::string describe_function(BinaryenModuleRef module, BinaryenFunctionRef function) {
    const std::string name = BinaryenFunctionGetName(function);
    const bool numbered = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
    if (!numbered) return "function $" + name;
    std::string out = "function " + name;
    for (BinaryenIndex i = 0; i < BinaryenGetNumExports(module); ++i) {
        BinaryenExportRef ex = BinaryenGetExportByIndex(module, i);
        if (BinaryenExportGetKind(ex) == BinaryenExternalFunction() && name == BinaryenExportGetValue(ex))
            return out + " (exported as \"" + BinaryenExportGetName(ex) + "\")";
    }
    return out;
}

std::string unary_op_name(BinaryenOp op) { return find_name(unary_ops(), op); }
std::string binary_op_name(BinaryenOp op) { return find_name(binary_ops(), op); }

std::optional<HostImport> host_import_of(BinaryenFunctionRef function) {
    if (!is_import(function) || std::strcmp(BinaryenFunctionImportGetModule(function), kAbiModule) != 0)
        return std::nullopt;
    auto it = abi_imports().find(BinaryenFunctionImportGetBase(function));
    if (it == abi_imports().end()) return std::nullopt;
    return it->second.which;
}

Expected<ModuleFacts> check_module(BinaryenModuleRef module, const ModuleScan& scan, const PolicyOptions& options) {
    ModuleFacts facts;
    if (options.fuel < 1 || options.fuel > kMaxFuel)
        return bad_input("--fuel " + std::to_string(options.fuel) + " is out of range (1.." +
                         std::to_string(kMaxFuel) + ")");
    if (options.max_memory_pages < 1 || options.max_memory_pages > kMaxMemoryPagesCap)
        return bad_input("the memory cap must be 1.." + std::to_string(kMaxMemoryPagesCap) + " pages of 64 KiB");
    if (scan.has_start)
        return bad_input("the module has a start function; policies may not run code at instantiation "
                         "(initialise state on the first packet instead)");
    if (scan.has_tables || scan.has_elements || BinaryenGetNumTables(module) > 0)
        return bad_input("the module declares a table or element segments: tables and call_indirect are "
                         "not supported (eBPF calls only known code; avoid function pointers)");
    if (scan.has_data_count)
        return bad_input("the module uses bulk memory (a data count section): not supported "
                         "(build without -mbulk-memory)");
    if (scan.has_tags) return bad_input("the module declares exception tags: exceptions are not supported");

    // Imports: only the ABI's functions from module "xfw".
    for (const ImportEntry& import : scan.imports) {
        static const char* kKinds[] = {"function", "table", "memory", "global", "tag"};
        const std::string what = std::string(import.kind < 5 ? kKinds[import.kind] : "item") + " import \"" +
                                 import.module + "\".\"" + import.name + "\"";
        if (import.kind != 0)
            return bad_input(what + ": a policy may import only the functions of the policy ABI from module "
                             "\"xfw\" (define memory, tables and globals in the module itself)");
        if (import.module != kAbiModule || !abi_imports().count(import.name)) {
            std::string known;
            for (const auto& [name, sig] : abi_imports()) known += (known.empty() ? "" : ", ") + name;
            return bad_input(what + " is not part of the policy ABI; the imports are xfw." + known);
        }
    }
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(module); ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
        if (!is_import(f)) continue;
        const ImportSignature& sig = abi_imports().at(BinaryenFunctionImportGetBase(f));
        std::vector<BinaryenType> results = expand(BinaryenFunctionGetResults(f));
        BinaryenType result = results.empty() ? BinaryenTypeNone() : results[0];
        if (expand(BinaryenFunctionGetParams(f)) != sig.params || results.size() > 1 || result != sig.result)
            return bad_input(std::string("function import \"xfw\".\"") + BinaryenFunctionImportGetBase(f) +
                             "\" has the wrong type; the policy ABI declares it " + sig.spelled);
    }

    // Memory: one, defined here, bounded by the cap.
    if (scan.memory_count > 1) return bad_input("the module declares several memories; a policy may have one");
    if (scan.memory) {
        const MemoryLimits& mem = *scan.memory;
        if (mem.memory64) return bad_input("64-bit memory (memory64) is not supported");
        if (mem.shared) return bad_input("shared memory (threads) is not supported");
        if (!mem.max_pages)
            return bad_input("the memory has no declared maximum; policies need a bounded memory (clang: "
                             "-Wl,--max-memory=65536; WAT: (memory 1 1))");
        if (*mem.max_pages > options.max_memory_pages)
            return bad_input("the memory's maximum is " + std::to_string(*mem.max_pages) + " pages of 64 KiB; the cap is " +
                             std::to_string(options.max_memory_pages) + " (at most " +
                             std::to_string(kMaxMemoryPagesCap) + " with a larger cap)");
        facts.has_memory = true;
        facts.memory_initial_pages = static_cast<uint32_t>(mem.initial_pages);
        facts.memory_max_pages = static_cast<uint32_t>(*mem.max_pages);
    }
    for (uint32_t i = 0; i < BinaryenGetNumMemorySegments(module); ++i) {
        if (BinaryenGetMemorySegmentPassive(module, i))
            return bad_input("data segment " + std::to_string(i) + " is passive (bulk memory): not supported");
        uint64_t end = static_cast<uint64_t>(BinaryenGetMemorySegmentByteOffset(module, i)) +
                       BinaryenGetMemorySegmentByteLength(module, i);
        if (end > static_cast<uint64_t>(facts.memory_initial_pages) * 65536)
            return bad_input("data segment " + std::to_string(i) + " ends at byte " + std::to_string(end) +
                             ", outside the initial memory");
    }

    // Globals: integers only.
    for (BinaryenIndex i = 0; i < BinaryenGetNumGlobals(module); ++i) {
        BinaryenGlobalRef g = BinaryenGetGlobalByIndex(module, i);
        if (!is_integer(BinaryenGlobalGetType(g)))
            return bad_input(std::string("global $") + BinaryenGlobalGetName(g) + " of type " +
                             type_name(BinaryenGlobalGetType(g)) + ": " + type_refusal(BinaryenGlobalGetType(g)));
        BinaryenExpressionRef init = BinaryenGlobalGetInitExpr(g);
        if (BinaryenExpressionGetId(init) != BinaryenConstId())
            return bad_input(std::string("global $") + BinaryenGlobalGetName(g) +
                             ": only constant initial values are supported");
    }

    // The policy function.
    BinaryenFunctionRef policy = nullptr;
    std::string exported;
    for (BinaryenIndex i = 0; i < BinaryenGetNumExports(module); ++i) {
        BinaryenExportRef ex = BinaryenGetExportByIndex(module, i);
        if (BinaryenExportGetKind(ex) != BinaryenExternalFunction()) continue;
        exported += std::string(exported.empty() ? "" : ", ") + BinaryenExportGetName(ex);
        if (options.function == BinaryenExportGetName(ex)) policy = BinaryenGetFunction(module, BinaryenExportGetValue(ex));
    }
    if (!policy)
        return bad_input("the module exports no function \"" + options.function + "\"" +
                         (exported.empty() ? std::string(" (it exports no functions)")
                                           : " (it exports: " + exported + "); pick one with --func NAME"));
    if (BinaryenFunctionGetParams(policy) != BinaryenTypeNone() || BinaryenFunctionGetResults(policy) != BinaryenTypeInt32())
        return bad_input("exported function \"" + options.function + "\" must have type () -> i32 (it takes " +
                         type_name(BinaryenFunctionGetParams(policy)) + " and returns " +
                         type_name(BinaryenFunctionGetResults(policy)) + ")");
    if (is_import(policy))
        return bad_input("exported function \"" + options.function + "\" is an import, not policy code");
    facts.policy = policy;

    // Every defined function: integer types only, supported instructions only.
    for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(module); ++i) {
        BinaryenFunctionRef f = BinaryenGetFunctionByIndex(module, i);
        if (is_import(f)) continue;
        const std::string name = describe_function(module, f);
        std::vector<BinaryenType> types = expand(BinaryenFunctionGetParams(f));
        std::vector<BinaryenType> results = expand(BinaryenFunctionGetResults(f));
        if (results.size() > 1)
            return bad_input(name + " returns " + std::to_string(results.size()) +
                             " values: multi-value results are not supported");
        types.insert(types.end(), results.begin(), results.end());
        for (BinaryenIndex v = 0; v < BinaryenFunctionGetNumVars(f); ++v) types.push_back(BinaryenFunctionGetVar(f, v));
        for (BinaryenType t : types)
            if (!is_integer(t))
                return bad_input(name + ": a parameter, result or local of type " + type_name(t) +
                                 ": " + type_refusal(t));
        FunctionChecker checker{facts, name, {}};
        if (!checker.walk(BinaryenFunctionGetBody(f))) return bad_input(checker.error);
    }

    auto names = bucket_names(scan, options);
    if (!names) return names.error();
    facts.bucket_names = std::move(names).value();
    return facts;
}

}  // namespace xfw::wasm
