// The policy ABI's host side: packet loads (big endian, bounds at the exact end of the frame,
// offsets beyond 64 KiB and 4 GiB), pkt_len, ifindex, count() into declared buckets (trap on a
// bad bucket, counts made before a trap stay), and fuel (calls and loop back-edges, exactly).
#include "tests/wasm/wasm_test_util.hpp"

namespace xfw::test {
namespace {

constexpr const char* kImports = R"(
  (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
  (import "xfw" "load_u16" (func $u16 (param i32) (result i32)))
  (import "xfw" "load_u32" (func $u32 (param i32) (result i32)))
  (import "xfw" "load_u64" (func $u64 (param i32) (result i64)))
  (import "xfw" "pkt_len" (func $len (result i32)))
  (import "xfw" "ifindex" (func $ifindex (result i32)))
  (import "xfw" "count" (func $count (param i32))))";

// A frame of `size` bytes starting with `head` (BPF_PROG_TEST_RUN needs at least 14).
std::vector<uint8_t> sized(std::vector<uint8_t> head, size_t size = 64) {
    head.resize(size, 0);
    return head;
}

std::string module(const std::string& body) {
    return std::string("(module ") + kImports + "\n" + body + ")";
}

TEST(WasmHost, PacketLoadsAreBigEndianAndBoundedByTheFrame) {
    XFW_REQUIRE_ROOT();
    // Byte 0 selects the width, byte 1 the offset (0xff: offset 0xffffffff).
    const std::string wat = module(R"(
      (func (export "filter") (result i32)
        (local $off i32)
        (local.set $off (call $u8 (i32.const 1)))
        (if (i32.eq (local.get $off) (i32.const 0xff)) (then (local.set $off (i32.const -1))))
        (block $w8 (block $w4 (block $w2 (block $w1
          (br_table $w1 $w2 $w4 $w8 (call $u8 (i32.const 0))))
          (return (call $u8 (local.get $off))))
          (return (call $u16 (local.get $off))))
          (return (call $u32 (local.get $off))))
        (i32.wrap_i64 (i64.xor (call $u64 (local.get $off))
                               (i64.shr_u (call $u64 (local.get $off)) (i64.const 32))))))");
    auto frame = [](uint8_t width, uint8_t off, size_t size = 40) {
        std::vector<uint8_t> f(size);
        for (size_t i = 2; i < size; ++i) f[i] = static_cast<uint8_t>(0x10 + i);
        f[0] = width;
        f[1] = off;
        return f;
    };
    struct Case { uint8_t width, off; bool traps; uint32_t value; };
    const std::vector<Case> cases = {
        {0, 39, false, 0x37},          {0, 40, true, 0},
        {1, 38, false, 0x3637},        {1, 39, true, 0},
        {2, 36, false, 0x34353637},    {2, 37, true, 0},
        {3, 32, false, 0x30313233u ^ 0x34353637u}, {3, 33, true, 0},
        {2, 0xff, true, 0},            {0, 0xff, true, 0},
        {2, 4, false, 0x14151617},
    };
    std::vector<std::vector<uint8_t>> frames;
    for (const Case& c : cases) frames.push_back(frame(c.width, c.off));
    PolicyRunReport r = run_wat(wat, frames);
    ASSERT_EQ(r.runs.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE("case " + std::to_string(i));
        EXPECT_EQ(r.runs[i].trapped, cases[i].traps);
        if (cases[i].traps) EXPECT_EQ(r.runs[i].trap_code, 5u);
        else EXPECT_EQ(r.runs[i].result, cases[i].value);
    }
}

TEST(WasmHost, PktLenAndIfindex) {
    XFW_REQUIRE_ROOT();
    const std::string wat = module(R"(
      (func (export "filter") (result i32)
        (i32.add (i32.mul (call $ifindex) (i32.const 100000)) (call $len))))");
    auto wasm = wasm_of(wat);
    std::vector<std::vector<uint8_t>> frames = {std::vector<uint8_t>(60), std::vector<uint8_t>(1514)};
    auto report = run_wasm_policy(wasm, {}, frames, 1);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->runs.size(), 2u);
    EXPECT_EQ(report->runs[0].result, 100060u);
    EXPECT_EQ(report->runs[1].result, 101514u);
}

TEST(WasmHost, CountAddsPacketsAndBytesToBucketsAndABadBucketTraps) {
    XFW_REQUIRE_ROOT();
    // Counts bucket (byte 0), then bucket (byte 1), then returns 1.
    const std::string wat = module(R"(
      (func (export "filter") (result i32)
        (call $count (call $u8 (i32.const 0)))
        (call $count (call $u8 (i32.const 1)))
        (i32.const 1)))");
    auto bytes = wasm_of(wat);
    auto wasm = with_custom_section(bytes, "xfw.buckets", "syn\nother\n");
    std::vector<std::vector<uint8_t>> frames = {
        sized({0, 1}, 20),   // syn, other
        sized({1, 1}, 100),  // other, other
        sized({0, 2}, 24),   // syn, then bucket 2 traps
    };
    auto report = run_wasm_policy(wasm, {}, frames);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->runs.size(), 3u);
    EXPECT_FALSE(report->runs[0].trapped);
    EXPECT_FALSE(report->runs[1].trapped);
    EXPECT_TRUE(report->runs[2].trapped);
    EXPECT_EQ(report->runs[2].trap_code, 7u);
    ASSERT_EQ(report->buckets.size(), 2u);
    EXPECT_EQ(report->buckets[0].packets, 2u);
    EXPECT_EQ(report->buckets[0].bytes, 44u);
    EXPECT_EQ(report->buckets[1].packets, 3u);
    EXPECT_EQ(report->buckets[1].bytes, 220u);

    // --buckets N when the module has no section; no buckets at all: every count traps.
    wasm::PolicyOptions three;
    three.buckets = 3;
    const std::vector<std::vector<uint8_t>> one_frame = {sized({2, 0})};
    auto flagged = run_wasm_policy(bytes, three, one_frame);
    ASSERT_TRUE(flagged) << flagged.error().message;
    EXPECT_FALSE(flagged->runs.at(0).trapped);
    EXPECT_EQ(flagged->buckets.at(2).packets, 1u);
    EXPECT_EQ(flagged->buckets.at(0).packets, 1u);
    const std::vector<std::vector<uint8_t>> zero_frame = {sized({0, 0})};
    auto none = run_wasm_policy(bytes, {}, zero_frame);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->runs.at(0).trapped);
    EXPECT_EQ(none->runs.at(0).trap_code, 7u);
}

TEST(WasmHost, FuelCountsLoopBackEdgesExactly) {
    XFW_REQUIRE_ROOT();
    // A loop whose body runs n times (byte 0) has n - 1 back-edges.
    const std::string wat = module(R"(
      (func (export "filter") (result i32)
        (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (call $u8 (i32.const 0)))))
        (local.get $i)))");
    wasm::PolicyOptions options;
    options.fuel = 9;
    PolicyRunReport r = run_wat(wat, {sized({1}), sized({10}), sized({11}), sized({10})}, options);
    ASSERT_EQ(r.runs.size(), 4u);
    EXPECT_EQ(r.runs[0].result, 1u);
    EXPECT_FALSE(r.runs[1].trapped);  // 9 back-edges
    EXPECT_EQ(r.runs[1].result, 10u);
    EXPECT_TRUE(r.runs[2].trapped);   // 10 back-edges
    EXPECT_EQ(r.runs[2].trap_code, 6u);
    EXPECT_FALSE(r.runs[3].trapped);  // fuel is per packet
}

TEST(WasmHost, FuelCountsCallsEvenWhenTheyAreInlined) {
    XFW_REQUIRE_ROOT();
    // Byte 0 = number of calls to $inc made by an unrolled chain (0..4).
    const std::string wat = module(R"(
      (func $inc (param $v i32) (result i32) (i32.add (local.get $v) (i32.const 1)))
      (func (export "filter") (result i32)
        (local $n i32) (local $v i32)
        (local.set $n (call $u8 (i32.const 0)))
        (if (i32.gt_u (local.get $n) (i32.const 0)) (then (local.set $v (call $inc (local.get $v)))))
        (if (i32.gt_u (local.get $n) (i32.const 1)) (then (local.set $v (call $inc (local.get $v)))))
        (if (i32.gt_u (local.get $n) (i32.const 2)) (then (local.set $v (call $inc (local.get $v)))))
        (if (i32.gt_u (local.get $n) (i32.const 3)) (then (local.set $v (call $inc (local.get $v)))))
        (local.get $v)))");
    wasm::PolicyOptions options;
    options.fuel = 3;
    PolicyRunReport r = run_wat(wat, {sized({0}), sized({3}), sized({4})}, options);
    ASSERT_EQ(r.runs.size(), 3u);
    EXPECT_EQ(r.runs[0].result, 0u);
    EXPECT_EQ(r.runs[1].result, 3u);
    EXPECT_TRUE(r.runs[2].trapped);
    EXPECT_EQ(r.runs[2].trap_code, 6u);
}

TEST(WasmHost, AnInfiniteLoopEndsWithTheFuelTrap) {
    XFW_REQUIRE_ROOT();
    const std::string wat = module(R"(
      (func (export "filter") (result i32)
        (loop $forever (br $forever))
        (i32.const 0)))");
    PolicyRun r = run_once(wat);
    EXPECT_TRUE(r.trapped);
    EXPECT_EQ(r.trap_code, 6u);
}

}  // namespace
}  // namespace xfw::test
