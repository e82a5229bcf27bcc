// Linear memory, globals and per-CPU instance state: loads and stores of every width and sign,
// bounds at the exact edge, address + offset beyond 4 GiB, memory.size/grow up to the maximum,
// data segments and global initial values before the first packet, state kept across frames.
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

TEST(WasmMemory, LoadsOfEveryWidthAndSign) {
    XFW_REQUIRE_ROOT();
    // Memory holds the bytes 0x80 0x81 ... from address 8 (a data segment); frame word 0 picks
    // the load.
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (data (i32.const 8) "\80\81\82\83\84\85\86\87\88\89\8a\8b\8c\8d\8e\8f")
      (func (export "filter") (result i32)
        (block $b8 (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 (call $u32 (i32.const 0))))
          (return (i32.load8_u (i32.const 8))))
          (return (i32.load8_s (i32.const 8))))
          (return (i32.load16_u (i32.const 9))))
          (return (i32.load16_s (i32.const 9))))
          (return (i32.load (i32.const 10))))
          (return (i32.wrap_i64 (i64.load8_s (i32.const 15)))))
          (return (i32.wrap_i64 (i64.shr_u (i64.load32_s (i32.const 12)) (i64.const 32)))))
          (return (i32.wrap_i64 (i64.shr_u (i64.load (i32.const 8)) (i64.const 32)))))
        (i32.wrap_i64 (i64.load32_u offset=4 (i32.const 8))))))";
    const std::vector<uint32_t> expected = {0x80, 0xffffff80, 0x8281, 0xffff8281, 0x85848382,
                                            0xffffff87, 0xffffffff, 0x87868584, 0x87868584};
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t i = 0; i < expected.size(); ++i) frames.push_back(frame_with(i));
    PolicyRunReport r = run_wat(wat, frames);
    ASSERT_EQ(r.runs.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_FALSE(r.runs[i].trapped) << "load " << i;
        EXPECT_EQ(r.runs[i].result, expected[i]) << "load " << i;
    }
}

TEST(WasmMemory, StoresOfEveryWidthThenLoadBack) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (func (export "filter") (result i32)
        (i64.store (i32.const 100) (i64.const 0x1122334455667788))
        (i32.store8 (i32.const 100) (i32.const 0x1ff))
        (i32.store16 (i32.const 102) (i32.const 0xabcdef))
        (i64.store32 (i32.const 104) (i64.const 0x7777777766554433))
        (i64.store8 (i32.const 108) (i64.const -1))
        (i64.store16 (i32.const 110) (i64.const 0x1234))
        (i32.xor (i32.load (i32.const 100))
                 (i32.xor (i32.load (i32.const 104)) (i32.load (i32.const 108)))))))";
    // 100: ff 77 ef cd | 104: 33 44 55 66 | 108: ff 00 34 12  (little endian)
    const uint32_t expected = 0xcdef77ffu ^ 0x66554433u ^ 0x123400ffu;
    PolicyRun r = run_once(wat);
    EXPECT_FALSE(r.trapped) << r.trap_code;
    EXPECT_EQ(r.result, expected);
}

TEST(WasmMemory, BoundsAreExactAndAddressPlusOffsetDoesNotWrap) {
    XFW_REQUIRE_ROOT();
    // Frame word 0 = address, word 1 selects the access.
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (func (export "filter") (result i32)
        (local $a i32)
        (local.set $a (call $u32 (i32.const 0)))
        (block $w (block $s (block $l8 (block $l4 (block $l1
          (br_table $l1 $l4 $l8 $s $w (call $u32 (i32.const 4))))
          (return (i32.load8_u (local.get $a))))
          (return (i32.load (local.get $a))))
          (return (i32.wrap_i64 (i64.load (local.get $a)))))
          (i32.store offset=4 (local.get $a) (i32.const 7))
          (return (i32.const 1)))
        (i32.load offset=0xfffffff0 (local.get $a)))))";
    struct Case { uint32_t address, access; bool traps; };
    const std::vector<Case> cases = {
        {65535, 0, false}, {65536, 0, true},  {65532, 1, false}, {65533, 1, true},
        {65528, 2, false}, {65529, 2, true},  {0xffffffff, 0, true}, {65528, 3, false},
        {65529, 3, true},  {0x10, 4, true},   {0xffffffff, 1, true},
    };
    std::vector<std::vector<uint8_t>> frames;
    for (const Case& c : cases) frames.push_back(frame_with(c.address, c.access));
    PolicyRunReport r = run_wat(wat, frames);
    ASSERT_EQ(r.runs.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(r.runs[i].trapped, cases[i].traps) << "address " << cases[i].address << " access " << cases[i].access;
        if (cases[i].traps) {
            EXPECT_EQ(r.runs[i].trap_code, 4u);
        }
    }
}

TEST(WasmMemory, LargeStaticOffsetsVerifyAndTrap) {
    XFW_REQUIRE_ROOT();
    // Offsets of 2^29 and more once made the verifier refuse the address arithmetic.
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (func (export "filter") (result i32)
        (if (call $u32 (i32.const 4)) (then (return (i32.load offset=0x7fffffff (call $u32 (i32.const 0))))))
        (i32.load8_u offset=0x20000000 (call $u32 (i32.const 0))))))";
    PolicyRunReport r = run_wat(wat, {frame_with(0, 1), frame_with(0, 0), frame_with(0xe0000000u, 0)});
    ASSERT_EQ(r.runs.size(), 3u);
    for (const PolicyRun& run : r.runs) {
        EXPECT_TRUE(run.trapped);
        EXPECT_EQ(run.trap_code, 4u);
    }
}

TEST(WasmMemory, GrowUpToTheMaximumAndBoundsFollowTheCurrentSize) {
    XFW_REQUIRE_ROOT();
    // 1 page initially, 2 at most (cap raised to 2). Frame word 0 = action.
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 2)
      (func (export "filter") (result i32)
        (block $load (block $grow2 (block $grow1 (block $size
          (br_table $size $grow1 $grow2 $load (call $u32 (i32.const 0))))
          (return (memory.size)))
          (return (memory.grow (i32.const 1))))
          (return (memory.grow (i32.const 2))))
        (i32.load8_u (i32.const 70000)))))";
    wasm::PolicyOptions options;
    options.max_memory_pages = 2;
    std::vector<std::vector<uint8_t>> frames = {frame_with(0), frame_with(3), frame_with(2), frame_with(1),
                                                frame_with(0), frame_with(3), frame_with(1), frame_with(2)};
    PolicyRunReport r = run_wat(wat, frames, options);
    ASSERT_EQ(r.runs.size(), frames.size());
    EXPECT_EQ(r.runs[0].result, 1u);                      // size
    EXPECT_TRUE(r.runs[1].trapped);                       // load at 70000 with one page
    EXPECT_EQ(r.runs[1].trap_code, 4u);
    EXPECT_EQ(r.runs[2].result, 0xffffffffu);             // grow by 2 beyond max: -1
    EXPECT_EQ(r.runs[3].result, 1u);                      // grow by 1: old size
    EXPECT_EQ(r.runs[4].result, 2u);                      // size now 2 (state persists)
    EXPECT_FALSE(r.runs[5].trapped);                      // load at 70000 now in range, zero
    EXPECT_EQ(r.runs[5].result, 0u);
    EXPECT_EQ(r.runs[6].result, 0xffffffffu);             // at the maximum
    EXPECT_EQ(r.runs[7].result, 0xffffffffu);
}

TEST(WasmMemory, GlobalsAndMemoryPersistAcrossPacketsWithInitialValues) {
    XFW_REQUIRE_ROOT();
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (data (i32.const 65532) "\05\00\00\00")
      (global $n (mut i32) (i32.const 40))
      (global $big (mut i64) (i64.const 0x100000000))
      (global $k i32 (i32.const 3))
      (func (export "filter") (result i32)
        (global.set $n (i32.add (global.get $n) (global.get $k)))
        (global.set $big (i64.add (global.get $big) (i64.const 1)))
        (i32.store (i32.const 65532) (i32.add (i32.load (i32.const 65532)) (i32.const 1)))
        (i32.add (i32.add (global.get $n) (i32.load (i32.const 65532)))
                 (i32.wrap_i64 (i64.shr_u (global.get $big) (i64.const 32)))))))";
    PolicyRunReport r = run_wat(wat, {frame_with(0), frame_with(0), frame_with(0)});
    ASSERT_EQ(r.runs.size(), 3u);
    EXPECT_EQ(r.runs[0].result, 43u + 6u + 1u);
    EXPECT_EQ(r.runs[1].result, 46u + 7u + 1u);
    EXPECT_EQ(r.runs[2].result, 49u + 8u + 1u);
}

TEST(WasmMemory, ClangStyleShadowStackInLinearMemory) {
    XFW_REQUIRE_ROOT();
    // The layout clang emits for C: a mutable global stack pointer into linear memory, frames
    // carved from it by helper functions.
    const std::string wat = std::string("(module ") + kImports + R"(
      (memory 1 1)
      (global $sp (mut i32) (i32.const 4096))
      (func $sum (param $n i32) (result i32)
        (local $frame i32) (local $i i32) (local $s i32)
        (local.set $frame (i32.sub (global.get $sp) (i32.const 64)))
        (global.set $sp (local.get $frame))
        (loop $fill
          (i32.store (i32.add (local.get $frame) (i32.shl (local.get $i) (i32.const 2))) (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $fill (i32.lt_u (local.get $i) (local.get $n))))
        (local.set $i (i32.const 0))
        (loop $add
          (local.set $s (i32.add (local.get $s)
            (i32.load (i32.add (local.get $frame) (i32.shl (local.get $i) (i32.const 2))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $add (i32.lt_u (local.get $i) (local.get $n))))
        (global.set $sp (i32.add (local.get $frame) (i32.const 64)))
        (local.get $s))
      (func (export "filter") (result i32)
        (i32.add (call $sum (call $u32 (i32.const 0))) (global.get $sp)))))";
    PolicyRunReport r = run_wat(wat, {frame_with(16), frame_with(5)});
    ASSERT_EQ(r.runs.size(), 2u);
    EXPECT_EQ(r.runs[0].result, 120u + 4096u);
    EXPECT_EQ(r.runs[1].result, 10u + 4096u);
}

}  // namespace
}  // namespace xfw::test
