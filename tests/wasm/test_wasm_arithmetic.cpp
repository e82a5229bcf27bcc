// Integer semantics of the lowering, instruction group by instruction group, on edge values:
// each operation runs in a module whose operands come from the frame (so binaryen cannot fold
// them) over every pair of edge values, and is compared with a C++ model of the Wasm spec,
// traps included.
#include "tests/wasm/wasm_test_util.hpp"

#include <bit>
#include <climits>
#include <functional>
#include <optional>

namespace xfw::test {
namespace {

// A result or a trap code.
struct Outcome {
    std::optional<uint64_t> value;
    uint32_t trap = 0;
};
Outcome ok(uint64_t v) { return {v, 0}; }
Outcome trap(uint32_t code) { return {std::nullopt, code}; }

const std::vector<uint32_t> kEdges32 = {0,          1,          2,          3,          7,          31,
                                        32,         33,         63,         64,         0x7fffffff, 0x80000000,
                                        0x80000001, 0xffffffff, 0xfffffffe, 0x12345678, 0xdeadbeef, 0x00ff00ff};
const std::vector<uint64_t> kEdges64 = {0,
                                        1,
                                        2,
                                        31,
                                        32,
                                        63,
                                        64,
                                        65,
                                        0x7fffffffffffffffull,
                                        0x8000000000000000ull,
                                        0x8000000000000001ull,
                                        0xffffffffffffffffull,
                                        0xfffffffffffffffeull,
                                        0x00000000ffffffffull,
                                        0x0000000080000000ull,
                                        0x123456789abcdef0ull,
                                        0xfedcba9876543210ull};

void put_be(std::vector<uint8_t>& f, size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) f[at + i] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - i)));
}

constexpr const char* kImports = R"(
  (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
  (import "xfw" "load_u32" (func $u32 (param i32) (result i32)))
  (import "xfw" "load_u64" (func $u64 (param i32) (result i64))))";

// Runs `wat_body` (an expression of type i32 or i64 over the operands) on every operand tuple
// and compares with `model`. i64 results are checked half by half (frame byte 24 selects).
void check(const std::string& name, const std::string& wat_body, bool result_is_64,
           const std::vector<std::vector<uint64_t>>& operand_sets, bool operands_64,
           const std::function<Outcome(const std::vector<uint64_t>&)>& model) {
    SCOPED_TRACE(name);
    std::string body = result_is_64
                           ? "(local $r i64) (local.set $r " + wat_body +
                                 ") (if (result i32) (call $u8 (i32.const 24)) "
                                 "(then (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32)))) "
                                 "(else (i32.wrap_i64 (local.get $r))))"
                           : wat_body;
    const std::string wat = std::string("(module ") + kImports +
                            "\n (func (export \"filter\") (result i32) " + body + "))";
    std::vector<std::vector<uint8_t>> frames;
    std::vector<Outcome> expected;
    std::vector<std::string> labels;
    for (const auto& operands : operand_sets) {
        for (int half = 0; half < (result_is_64 ? 2 : 1); ++half) {
            std::vector<uint8_t> f(64, 0);
            for (size_t i = 0; i < operands.size(); ++i)
                put_be(f, operands_64 ? 8 * i : 4 * i, operands[i], operands_64 ? 8 : 4);
            f[24] = static_cast<uint8_t>(half);
            frames.push_back(f);
            Outcome o = model(operands);
            if (o.value) o.value = half ? (*o.value >> 32) : (*o.value & 0xffffffffu);
            expected.push_back(o);
            std::string label = "operands";
            for (uint64_t v : operands) label += " " + std::to_string(v);
            labels.push_back(label + (half ? " (high half)" : ""));
        }
    }
    PolicyRunReport report = run_wat(wat, frames);
    ASSERT_EQ(report.runs.size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
        const PolicyRun& run = report.runs[i];
        if (expected[i].value) {
            EXPECT_FALSE(run.trapped) << labels[i] << ": trapped with " << run.trap_code;
            EXPECT_EQ(run.result, *expected[i].value) << labels[i];
        } else {
            EXPECT_TRUE(run.trapped) << labels[i] << ": returned " << run.result;
            EXPECT_EQ(run.trap_code, expected[i].trap) << labels[i];
        }
    }
}

std::vector<std::vector<uint64_t>> pairs32() {
    std::vector<std::vector<uint64_t>> out;
    for (uint32_t a : kEdges32)
        for (uint32_t b : kEdges32) out.push_back({a, b});
    return out;
}
std::vector<std::vector<uint64_t>> singles32() {
    std::vector<std::vector<uint64_t>> out;
    for (uint32_t a : kEdges32) out.push_back({a});
    return out;
}
std::vector<std::vector<uint64_t>> pairs64() {
    std::vector<std::vector<uint64_t>> out;
    for (uint64_t a : kEdges64)
        for (uint64_t b : kEdges64) out.push_back({a, b});
    return out;
}
std::vector<std::vector<uint64_t>> singles64() {
    std::vector<std::vector<uint64_t>> out;
    for (uint64_t a : kEdges64) out.push_back({a});
    return out;
}

using Binary32 = std::function<Outcome(uint32_t, uint32_t)>;
using Binary64 = std::function<Outcome(uint64_t, uint64_t)>;

void check32(const std::string& op, const Binary32& f) {
    check("i32." + op, "(i32." + op + " (call $u32 (i32.const 0)) (call $u32 (i32.const 4)))", false, pairs32(),
          false, [&](const auto& v) { return f(static_cast<uint32_t>(v[0]), static_cast<uint32_t>(v[1])); });
}
void check64(const std::string& op, const Binary64& f, bool result_is_64 = true) {
    const std::string expr = "(i64." + op + " (call $u64 (i32.const 0)) (call $u64 (i32.const 8)))";
    check("i64." + op, expr, result_is_64, pairs64(), true, [&](const auto& v) { return f(v[0], v[1]); });
}

Outcome bool_result(bool b) { return ok(b ? 1 : 0); }

TEST(WasmArithmetic, I32AddSubMulBitwise) {
    XFW_REQUIRE_ROOT();
    check32("add", [](uint32_t a, uint32_t b) { return ok(a + b); });
    check32("sub", [](uint32_t a, uint32_t b) { return ok(a - b); });
    check32("mul", [](uint32_t a, uint32_t b) { return ok(a * b); });
    check32("and", [](uint32_t a, uint32_t b) { return ok(a & b); });
    check32("or", [](uint32_t a, uint32_t b) { return ok(a | b); });
    check32("xor", [](uint32_t a, uint32_t b) { return ok(a ^ b); });
}

TEST(WasmArithmetic, I32ShiftsAndRotatesTakeTheCountModulo32) {
    XFW_REQUIRE_ROOT();
    check32("shl", [](uint32_t a, uint32_t b) { return ok(a << (b & 31)); });
    check32("shr_u", [](uint32_t a, uint32_t b) { return ok(a >> (b & 31)); });
    check32("shr_s", [](uint32_t a, uint32_t b) { return ok(static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31))); });
    check32("rotl", [](uint32_t a, uint32_t b) { return ok(std::rotl(a, static_cast<int>(b & 31))); });
    check32("rotr", [](uint32_t a, uint32_t b) { return ok(std::rotr(a, static_cast<int>(b & 31))); });
}

TEST(WasmArithmetic, I32DivisionAndRemainderWithTraps) {
    XFW_REQUIRE_ROOT();
    check32("div_u", [](uint32_t a, uint32_t b) { return b == 0 ? trap(2) : ok(a / b); });
    check32("rem_u", [](uint32_t a, uint32_t b) { return b == 0 ? trap(2) : ok(a % b); });
    check32("div_s", [](uint32_t a, uint32_t b) {
        const int32_t x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
        if (y == 0) return trap(2);
        if (x == INT32_MIN && y == -1) return trap(3);
        return ok(static_cast<uint32_t>(x / y));
    });
    check32("rem_s", [](uint32_t a, uint32_t b) {
        const int32_t x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
        if (y == 0) return trap(2);
        if (y == -1) return ok(0);
        return ok(static_cast<uint32_t>(x % y));
    });
}

TEST(WasmArithmetic, I32Comparisons) {
    XFW_REQUIRE_ROOT();
    auto s = [](uint32_t v) { return static_cast<int32_t>(v); };
    check32("eq", [](uint32_t a, uint32_t b) { return bool_result(a == b); });
    check32("ne", [](uint32_t a, uint32_t b) { return bool_result(a != b); });
    check32("lt_s", [&](uint32_t a, uint32_t b) { return bool_result(s(a) < s(b)); });
    check32("lt_u", [](uint32_t a, uint32_t b) { return bool_result(a < b); });
    check32("le_s", [&](uint32_t a, uint32_t b) { return bool_result(s(a) <= s(b)); });
    check32("le_u", [](uint32_t a, uint32_t b) { return bool_result(a <= b); });
    check32("gt_s", [&](uint32_t a, uint32_t b) { return bool_result(s(a) > s(b)); });
    check32("gt_u", [](uint32_t a, uint32_t b) { return bool_result(a > b); });
    check32("ge_s", [&](uint32_t a, uint32_t b) { return bool_result(s(a) >= s(b)); });
    check32("ge_u", [](uint32_t a, uint32_t b) { return bool_result(a >= b); });
}

TEST(WasmArithmetic, I32UnaryAndConversions) {
    XFW_REQUIRE_ROOT();
    auto unary = [](const std::string& op, std::function<uint32_t(uint32_t)> f) {
        check(op, "(" + op + " (call $u32 (i32.const 0)))", false, singles32(), false,
              [&](const auto& v) { return ok(f(static_cast<uint32_t>(v[0]))); });
    };
    unary("i32.clz", [](uint32_t a) { return static_cast<uint32_t>(std::countl_zero(a)); });
    unary("i32.ctz", [](uint32_t a) { return static_cast<uint32_t>(std::countr_zero(a)); });
    unary("i32.popcnt", [](uint32_t a) { return static_cast<uint32_t>(std::popcount(a)); });
    unary("i32.eqz", [](uint32_t a) { return a == 0 ? 1u : 0u; });
    unary("i32.extend8_s", [](uint32_t a) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(a))); });
    unary("i32.extend16_s", [](uint32_t a) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(a))); });
    // i64 from i32 and back.
    check("i64.extend_i32_s", "(i64.extend_i32_s (call $u32 (i32.const 0)))", true, singles32(), false,
          [](const auto& v) { return ok(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v[0])))); });
    check("i64.extend_i32_u", "(i64.extend_i32_u (call $u32 (i32.const 0)))", true, singles32(), false,
          [](const auto& v) { return ok(v[0] & 0xffffffffu); });
    check("i32.wrap_i64", "(i32.wrap_i64 (call $u64 (i32.const 0)))", false, singles64(), true,
          [](const auto& v) { return ok(v[0] & 0xffffffffu); });
}

TEST(WasmArithmetic, I64AddSubMulBitwise) {
    XFW_REQUIRE_ROOT();
    check64("add", [](uint64_t a, uint64_t b) { return ok(a + b); });
    check64("sub", [](uint64_t a, uint64_t b) { return ok(a - b); });
    check64("mul", [](uint64_t a, uint64_t b) { return ok(a * b); });
    check64("and", [](uint64_t a, uint64_t b) { return ok(a & b); });
    check64("or", [](uint64_t a, uint64_t b) { return ok(a | b); });
    check64("xor", [](uint64_t a, uint64_t b) { return ok(a ^ b); });
}

TEST(WasmArithmetic, I64ShiftsAndRotatesTakeTheCountModulo64) {
    XFW_REQUIRE_ROOT();
    check64("shl", [](uint64_t a, uint64_t b) { return ok(a << (b & 63)); });
    check64("shr_u", [](uint64_t a, uint64_t b) { return ok(a >> (b & 63)); });
    check64("shr_s", [](uint64_t a, uint64_t b) { return ok(static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63))); });
    check64("rotl", [](uint64_t a, uint64_t b) { return ok(std::rotl(a, static_cast<int>(b & 63))); });
    check64("rotr", [](uint64_t a, uint64_t b) { return ok(std::rotr(a, static_cast<int>(b & 63))); });
}

TEST(WasmArithmetic, I64DivisionAndRemainderWithTraps) {
    XFW_REQUIRE_ROOT();
    check64("div_u", [](uint64_t a, uint64_t b) { return b == 0 ? trap(2) : ok(a / b); });
    check64("rem_u", [](uint64_t a, uint64_t b) { return b == 0 ? trap(2) : ok(a % b); });
    check64("div_s", [](uint64_t a, uint64_t b) {
        const int64_t x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
        if (y == 0) return trap(2);
        if (x == INT64_MIN && y == -1) return trap(3);
        return ok(static_cast<uint64_t>(x / y));
    });
    check64("rem_s", [](uint64_t a, uint64_t b) {
        const int64_t x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
        if (y == 0) return trap(2);
        if (y == -1) return ok(0);
        return ok(static_cast<uint64_t>(x % y));
    });
}

TEST(WasmArithmetic, I64Comparisons) {
    XFW_REQUIRE_ROOT();
    auto s = [](uint64_t v) { return static_cast<int64_t>(v); };
    check64("eq", [](uint64_t a, uint64_t b) { return bool_result(a == b); }, false);
    check64("ne", [](uint64_t a, uint64_t b) { return bool_result(a != b); }, false);
    check64("lt_s", [&](uint64_t a, uint64_t b) { return bool_result(s(a) < s(b)); }, false);
    check64("lt_u", [](uint64_t a, uint64_t b) { return bool_result(a < b); }, false);
    check64("le_s", [&](uint64_t a, uint64_t b) { return bool_result(s(a) <= s(b)); }, false);
    check64("le_u", [](uint64_t a, uint64_t b) { return bool_result(a <= b); }, false);
    check64("gt_s", [&](uint64_t a, uint64_t b) { return bool_result(s(a) > s(b)); }, false);
    check64("gt_u", [](uint64_t a, uint64_t b) { return bool_result(a > b); }, false);
    check64("ge_s", [&](uint64_t a, uint64_t b) { return bool_result(s(a) >= s(b)); }, false);
    check64("ge_u", [](uint64_t a, uint64_t b) { return bool_result(a >= b); }, false);
}

TEST(WasmArithmetic, I64UnaryAndSignExtension) {
    XFW_REQUIRE_ROOT();
    auto unary = [](const std::string& op, bool result_64, std::function<uint64_t(uint64_t)> f) {
        check(op, "(" + op + " (call $u64 (i32.const 0)))", result_64, singles64(), true,
              [&](const auto& v) { return ok(f(v[0])); });
    };
    unary("i64.clz", true, [](uint64_t a) { return static_cast<uint64_t>(std::countl_zero(a)); });
    unary("i64.ctz", true, [](uint64_t a) { return static_cast<uint64_t>(std::countr_zero(a)); });
    unary("i64.popcnt", true, [](uint64_t a) { return static_cast<uint64_t>(std::popcount(a)); });
    unary("i64.eqz", false, [](uint64_t a) { return a == 0 ? 1u : 0u; });
    unary("i64.extend8_s", true, [](uint64_t a) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(a))); });
    unary("i64.extend16_s", true, [](uint64_t a) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(a))); });
    unary("i64.extend32_s", true, [](uint64_t a) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(a))); });
}

TEST(WasmArithmetic, ConstantOperandsFoldedOrNotGiveTheSameResults) {
    XFW_REQUIRE_ROOT();
    // Immediate forms of comparisons and branches (the lowering compares against constants
    // directly), including constants that do not fit a sign-extended 32-bit immediate.
    const std::string wat = std::string("(module ") + kImports + R"(
      (func (export "filter") (result i32)
        (local $x i64) (local $y i32) (local $r i32)
        (local.set $x (call $u64 (i32.const 0)))
        (local.set $y (call $u32 (i32.const 8)))
        (if (i64.gt_u (local.get $x) (i64.const 0xffffffff)) (then (local.set $r (i32.or (local.get $r) (i32.const 1)))))
        (if (i64.lt_s (local.get $x) (i64.const -5)) (then (local.set $r (i32.or (local.get $r) (i32.const 2)))))
        (if (i32.ge_u (local.get $y) (i32.const 0x80000000)) (then (local.set $r (i32.or (local.get $r) (i32.const 4)))))
        (if (i32.le_s (local.get $y) (i32.const -1)) (then (local.set $r (i32.or (local.get $r) (i32.const 8)))))
        (if (i64.eq (local.get $x) (i64.const 0x8000000000000000)) (then (local.set $r (i32.or (local.get $r) (i32.const 16)))))
        (local.get $r))))";
    struct Case { uint64_t x; uint32_t y; uint32_t expect; };
    const std::vector<Case> cases = {
        {0, 0, 0},
        {0x100000000ull, 0x80000000u, 1 | 4 | 8},
        {static_cast<uint64_t>(-6), 0x7fffffffu, 1 | 2},
        {0x8000000000000000ull, 0xffffffffu, 1 | 2 | 4 | 8 | 16},
        {static_cast<uint64_t>(-5), 1, 1},
    };
    std::vector<std::vector<uint8_t>> frames;
    for (const Case& c : cases) {
        std::vector<uint8_t> f(64, 0);
        put_be(f, 0, c.x, 8);
        put_be(f, 8, c.y, 4);
        frames.push_back(f);
    }
    PolicyRunReport report = run_wat(wat, frames);
    ASSERT_EQ(report.runs.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_FALSE(report.runs[i].trapped);
        EXPECT_EQ(report.runs[i].result, cases[i].expect) << "case " << i;
    }
}

}  // namespace
}  // namespace xfw::test
