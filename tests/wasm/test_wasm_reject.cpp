// What the compiler refuses, and that it says what, where and why: files that are not Wasm or
// are cut short, modules that fail validation, every unsupported feature, imports and exports
// outside the policy ABI, limits, and target restrictions. None of these needs root.
#include "tests/support/wasm_runner.hpp"
#include "wasm-policy/policy_compiler.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

std::vector<uint8_t> assemble(const std::string& wat, const std::string& flags = "") {
    auto bytes = wat_to_wasm(wat, flags);
    if (!bytes) {
        ADD_FAILURE() << bytes.error().message;
        return {};
    }
    return std::move(bytes).value();
}

// The compile error for `bytes`; fails the test when the compile succeeds.
Error refusal(const std::vector<uint8_t>& bytes, wasm::PolicyOptions options = {}) {
    auto compiled = wasm::compile_policy(bytes, options, "policy.wasm");
    if (compiled) {
        ADD_FAILURE() << "the module was accepted";
        return Error{"", 0};
    }
    return compiled.error();
}

void expect_refused(const std::vector<uint8_t>& bytes, const std::vector<std::string>& phrases,
                    wasm::PolicyOptions options = {}) {
    Error e = refusal(bytes, options);
    EXPECT_EQ(e.exit_code, 2) << e.message;
    EXPECT_EQ(e.message.rfind("policy.wasm: ", 0), 0u) << "names the file: " << e.message;
    for (const std::string& p : phrases) EXPECT_NE(e.message.find(p), std::string::npos) << "\"" << p << "\" in: " << e.message;
}

const std::string kFilter = R"((func (export "filter") (result i32) (i32.const 1)))";

TEST(WasmReject, NotWasmTruncatedEmptyAndWrongVersion) {
    expect_refused(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'},
                   {"not a WebAssembly binary"});
    expect_refused({}, {"not a WebAssembly binary"});
    expect_refused(std::vector<uint8_t>{0, 'a', 's', 'm', 2, 0, 0, 0}, {"version"});
    std::vector<uint8_t> good = assemble("(module (memory 1 1) (data (i32.const 0) \"abcdefgh\") " + kFilter + ")");
    ASSERT_GT(good.size(), 20u);
    // Section boundaries: a module cut exactly there is a smaller valid module.
    std::set<size_t> boundaries;
    for (size_t pos = 8; pos < good.size();) {
        size_t p = pos + 1;
        uint32_t size = 0;
        for (int shift = 0;; shift += 7) {
            size |= static_cast<uint32_t>(good[p] & 0x7f) << shift;
            if (!(good[p++] & 0x80)) break;
        }
        pos = p + size;
        boundaries.insert(pos);
    }
    // Every prefix cut inside a section is refused as malformed, never a crash.
    for (size_t cut = 9; cut < good.size(); ++cut) {
        if (boundaries.count(cut)) continue;
        std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<long>(cut));
        auto compiled = wasm::compile_policy(prefix, {}, "policy.wasm");
        ASSERT_FALSE(compiled) << "prefix of " << cut << " bytes accepted";
        EXPECT_EQ(compiled.error().exit_code, 2);
        EXPECT_NE(compiled.error().message.find("malformed"), std::string::npos)
            << cut << ": " << compiled.error().message;
    }
    // Garbage inside a well-framed section: binaryen's own reader refuses it.
    std::vector<uint8_t> mangled = good;
    for (size_t i = 12; i < mangled.size(); i += 3) mangled[i] ^= 0x5a;
    auto compiled = wasm::compile_policy(mangled, {}, "policy.wasm");
    ASSERT_FALSE(compiled);
    EXPECT_EQ(compiled.error().exit_code, 2);
}

TEST(WasmReject, ValidationFailure) {
    auto bad = assemble(R"((module (func (export "filter") (result i32) (i64.const 1))))", "--no-check");
    expect_refused(bad, {"validation"});
}

TEST(WasmReject, FloatsNameTheFunctionAndInstruction) {
    expect_refused(assemble(R"((module (func $avg (export "filter") (result i32)
        (i32.trunc_f32_s (f32.add (f32.const 1) (f32.const 2))))))", "--debug-names"),
                   {"function $avg", "f32", "floating point"});
    expect_refused(assemble(R"((module (func (export "filter") (result i32) (local f64) (i32.const 0))))"),
                   {"f64", "floating point"});
    expect_refused(assemble(R"((module (global $g f64 (f64.const 1)) )" + kFilter + ")"),
                   {"global $g", "floating point"});
}

TEST(WasmReject, FunctionsWithoutNamesAreNamedByIndexAndExport) {
    expect_refused(assemble(R"((module (func (export "filter") (result i32)
        (i32.trunc_f64_u (f64.const 1)))))"),
                   {"function 0 (exported as \"filter\")", "f64"});
}

TEST(WasmReject, SimdThreadsBulkMemoryReferenceTypesMultiValueTailCalls) {
    expect_refused(assemble(R"((module (func $v (export "filter") (result i32)
        (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))))", "--debug-names"),
                   {"function $v", "SIMD"});
    expect_refused(assemble(R"((module (memory 1 1 shared) )" + kFilter + ")", "--enable-threads"),
                   {"shared memory"});
    expect_refused(assemble(R"((module (memory 1 1) (func $a (export "filter") (result i32)
        (i32.atomic.load (i32.const 0)))))", "--enable-threads --debug-names"),
                   {"function $a", "atomic"});
    expect_refused(assemble(R"((module (memory 1 1) (func $f (export "filter") (result i32)
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 4)) (i32.const 0))))", "--debug-names"),
                   {"function $f", "memory.fill", "bulk memory"});
    expect_refused(assemble(R"((module (func $r (export "filter") (result i32)
        (drop (ref.null extern)) (i32.const 0))))", "--debug-names"),
                   {"function $r", "reference"});
    expect_refused(assemble(R"((module (func $two (result i32 i32) (i32.const 1) (i32.const 2)) )" + kFilter + ")", "--debug-names"),
                   {"function $two", "multi-value"});
    expect_refused(assemble(R"((module (func $t (result i32) (i32.const 1))
        (func (export "filter") (result i32) (return_call $t))))", "--enable-tail-call"),
                   {"return_call", "tail calls"});
}

TEST(WasmReject, TablesStartFunctionsAndPassiveData) {
    expect_refused(assemble(R"((module (type $t (func (result i32))) (table 1 funcref)
        (func $one (result i32) (i32.const 1)) (elem (i32.const 0) $one)
        (func (export "filter") (result i32) (call_indirect (type $t) (i32.const 0)))))"),
                   {"table", "call_indirect"});
    expect_refused(assemble(R"((module (func $init) (start $init) )" + kFilter + ")"), {"start function"});
    expect_refused(assemble(R"((module (memory 1 1) (data "abc") )" + kFilter + ")"),
                   {"bulk memory"});
}

TEST(WasmReject, ImportsOutsideTheAbi) {
    expect_refused(assemble(R"((module (import "env" "now" (func (result i32))) )" + kFilter + ")"),
                   {"\"env\".\"now\"", "not part of the policy ABI", "load_u8"});
    expect_refused(assemble(R"((module (import "xfw" "time" (func (result i64))) )" + kFilter + ")"),
                   {"\"xfw\".\"time\""});
    expect_refused(assemble(R"((module (import "xfw" "load_u8" (func (param i64) (result i32))) )" + kFilter + ")"),
                   {"\"load_u8\"", "wrong type", "(i32) -> i32"});
    expect_refused(assemble(R"((module (import "env" "memory" (memory 1 1)) )" + kFilter + ")"),
                   {"memory import", "\"env\".\"memory\""});
    expect_refused(assemble(R"((module (import "env" "g" (global i32)) )" + kFilter + ")"),
                   {"global import"});
}

TEST(WasmReject, MissingOrMistypedExport) {
    auto bytes = assemble(R"((module (func (export "other") (result i32) (i32.const 1))
                                     (func (export "g") (param i32) (result i32) (local.get 0))))");
    expect_refused(bytes, {"no function \"filter\"", "other", "--func"});
    wasm::PolicyOptions g;
    g.function = "g";
    expect_refused(bytes, {"\"g\"", "() -> i32"}, g);
    expect_refused(assemble(R"((module (func (export "filter"))))"), {"() -> i32"});
}

TEST(WasmReject, MemoryLimits) {
    expect_refused(assemble("(module (memory 1) " + kFilter + ")"), {"no declared maximum"});
    expect_refused(assemble("(module (memory 1 2) " + kFilter + ")"), {"maximum is 2 pages", "cap is 1"});
    wasm::PolicyOptions four;
    four.max_memory_pages = 4;
    EXPECT_TRUE(wasm::compile_policy(assemble("(module (memory 1 4) " + kFilter + ")"), four, "p"));
    four.max_memory_pages = 5;
    expect_refused(assemble("(module (memory 1 4) " + kFilter + ")"), {"cap"}, four);
}

TEST(WasmReject, RecursionIsRefusedWithTheCallChain) {
    expect_refused(assemble(R"((module
        (func $even (param i32) (result i32)
          (if (result i32) (local.get 0) (then (call $odd (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 1))))
        (func $odd (param i32) (result i32)
          (if (result i32) (local.get 0) (then (call $even (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0))))
        (func (export "filter") (result i32) (call $even (i32.const 7)))))"),
                   {"recursion"});
}

TEST(WasmReject, Buckets) {
    auto bytes = assemble("(module " + kFilter + ")");
    expect_refused(with_custom_section(bytes, "xfw.buckets", "a\na\n"), {"\"a\" is declared twice"});
    expect_refused(with_custom_section(bytes, "xfw.buckets", "ok\nbad name\n"), {"\"bad name\""});
    expect_refused(with_custom_section(bytes, "xfw.buckets", "a\n\nb"), {"empty name"});
    wasm::PolicyOptions three;
    three.buckets = 3;
    expect_refused(with_custom_section(bytes, "xfw.buckets", "a\nb\n"), {"--buckets 3", "declares 2"}, three);
    wasm::PolicyOptions many;
    many.buckets = 65;
    expect_refused(bytes, {"65 buckets", "at most 64"}, many);
    auto named = wasm::compile_policy(with_custom_section(bytes, "xfw.buckets", "syn_flood\nother:1\n"), {}, "p");
    ASSERT_TRUE(named) << named.error().message;
    EXPECT_EQ(named->bucket_names, (std::vector<std::string>{"syn_flood", "other:1"}));
    auto numbered = wasm::compile_policy(bytes, three, "p");
    ASSERT_TRUE(numbered);
    EXPECT_EQ(numbered->bucket_names, (std::vector<std::string>{"b0", "b1", "b2"}));
}

TEST(WasmReject, FuelRange) {
    auto bytes = assemble("(module " + kFilter + ")");
    wasm::PolicyOptions none;
    none.fuel = 0;
    expect_refused(bytes, {"--fuel 0"}, none);
    wasm::PolicyOptions too_much;
    too_much.fuel = (1u << 24) + 1;
    expect_refused(bytes, {"--fuel"}, too_much);
}

TEST(WasmReject, OffloadTargetRestrictions) {
    wasm::PolicyOptions offload;
    offload.target = wasm::Target::Offload;
    expect_refused(assemble(R"((module (func (export "filter") (result i32) (local i32)
        (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br_if $l (i32.lt_u (local.get 0) (i32.const 4))))
        (local.get 0))))"),
                   {"loop", "offload"}, offload);
    expect_refused(assemble("(module (memory 1 1) " + kFilter + ")"), {"memory", "offload"}, offload);
    expect_refused(assemble(R"((module (global $g (mut i32) (i32.const 0))
        (func (export "filter") (result i32) (global.set $g (i32.const 1)) (global.get $g))))"),
                   {"global $g", "offload"}, offload);
    expect_refused(assemble(R"((module (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
        (func (export "filter") (result i32) (i32.div_u (i32.const 1000) (call $u8 (i32.const 23))))))"),
                   {"i32.div_u", "divides only by constants"}, offload);
    // Loop-free, memory-free integer code is accepted, with no instance map.
    auto ok = wasm::compile_policy(assemble(R"((module (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
        (func (export "filter") (result i32) (i32.rem_u (call $u8 (i32.const 23)) (i32.const 7)))))"),
                                   offload, "p");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_TRUE(ok->code->maps().empty());
    EXPECT_FALSE(ok->stats.has_loops);
}

}  // namespace
}  // namespace xfw::test
