// Control flow and calls: blocks with values, br/br_if with values, br_table (in range, out of
// range), if/else, select, return from nested inlined calls, unreachable, and loops whose
// bound comes from the packet (so the verifier must prove them through may_goto).
#include "tests/wasm/wasm_test_util.hpp"

namespace xfw::test {
namespace {

constexpr const char* kImports = R"(
  (import "xfw" "load_u32" (func $u32 (param i32) (result i32))))";

std::vector<uint8_t> frame_with(uint32_t a, uint32_t b = 0) {
    std::vector<uint8_t> f(64, 0);
    for (int i = 0; i < 4; ++i) {
        f[i] = static_cast<uint8_t>(a >> (24 - 8 * i));
        f[4 + i] = static_cast<uint8_t>(b >> (24 - 8 * i));
    }
    return f;
}

std::vector<uint32_t> results(const std::string& wat, const std::vector<uint32_t>& inputs,
                              wasm::PolicyOptions options = {}) {
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t v : inputs) frames.push_back(frame_with(v));
    PolicyRunReport r = run_wat(wat, frames, options);
    std::vector<uint32_t> out;
    for (const PolicyRun& run : r.runs) out.push_back(run.trapped ? 0xdead0000u | run.trap_code : run.result);
    return out;
}

TEST(WasmControl, BrTableInRangeAndDefault) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (func (export "filter") (result i32)
        (block $d (result i32) (block $c (result i32) (block $b (result i32) (block $a (result i32)
          (br_table $a $b $c $b $d (i32.const 100) (call $u32 (i32.const 0))))
          (return (i32.add (i32.const 1))))
          (return (i32.add (i32.const 2))))
          (return (i32.add (i32.const 3))))
        (i32.add (i32.const 4)))))";
    EXPECT_EQ(results(wat, {0, 1, 2, 3, 4, 5, 0xffffffff}),
              (std::vector<uint32_t>{101, 102, 103, 102, 104, 104, 104}));
}

TEST(WasmControl, BrIfWithValuePassesItThroughWhenNotTaken) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (func (export "filter") (result i32)
        (i32.add (i32.const 1000)
          (block $out (result i32)
            (drop (br_if $out (i32.const 7) (i32.eq (call $u32 (i32.const 0)) (i32.const 1))))
            (i32.mul (br_if $out (i32.const 9) (call $u32 (i32.const 0))) (i32.const 2)))))))";
    // 0: neither taken -> 9*2; 1: first taken -> 7; 2: second taken -> 9.
    EXPECT_EQ(results(wat, {0, 1, 2}), (std::vector<uint32_t>{1018, 1007, 1009}));
}

TEST(WasmControl, IfElseSelectAndNestedCallsWithReturn) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (func $clamp (param $v i32) (param $lo i32) (param $hi i32) (result i32)
        (if (i32.lt_s (local.get $v) (local.get $lo)) (then (return (local.get $lo))))
        (select (local.get $hi) (local.get $v) (i32.gt_s (local.get $v) (local.get $hi))))
      (func $twice (param $v i32) (result i32)
        (i32.add (call $clamp (local.get $v) (i32.const -10) (i32.const 10))
                 (call $clamp (local.get $v) (i32.const -10) (i32.const 10))))
      (func (export "filter") (result i32)
        (local $x i32)
        (local.set $x (call $u32 (i32.const 0)))
        (if (result i32) (i32.and (local.get $x) (i32.const 0x100))
          (then (call $twice (i32.and (local.get $x) (i32.const 0xff))))
          (else (call $twice (i32.sub (i32.const 0) (local.get $x))))))))";
    EXPECT_EQ(results(wat, {3, 50, 0x105, 0x1ff}),
              (std::vector<uint32_t>{static_cast<uint32_t>(-6), static_cast<uint32_t>(-20), 10, 20}));
}

TEST(WasmControl, UnreachableTraps) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (func (export "filter") (result i32)
        (if (call $u32 (i32.const 0)) (then (unreachable)))
        (i32.const 5))))";
    EXPECT_EQ(results(wat, {0, 1}), (std::vector<uint32_t>{5, 0xdead0001}));
}

TEST(WasmControl, PacketBoundedNestedLoops) {
    XFW_REQUIRE_ROOT();
    // Sum over i < n, j < i of (i xor j): two nested loops bounded only at run time.
    const std::string wat = std::string("(module ") + kImports + R"(
      (func (export "filter") (result i32)
        (local $n i32) (local $i i32) (local $j i32) (local $s i32)
        (local.set $n (call $u32 (i32.const 0)))
        (block $done
          (loop $outer
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $j (i32.const 0))
            (block $inner_done
              (loop $inner
                (br_if $inner_done (i32.ge_u (local.get $j) (local.get $i)))
                (local.set $s (i32.add (local.get $s) (i32.xor (local.get $i) (local.get $j))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $inner)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $outer)))
        (local.get $s))))";
    auto model = [](uint32_t n) {
        uint32_t s = 0;
        for (uint32_t i = 0; i < n; ++i)
            for (uint32_t j = 0; j < i; ++j) s += i ^ j;
        return s;
    };
    EXPECT_EQ(results(wat, {0, 1, 2, 10, 100}),
              (std::vector<uint32_t>{model(0), model(1), model(2), model(10), model(100)}));
}

}  // namespace
}  // namespace xfw::test
