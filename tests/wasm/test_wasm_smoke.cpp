#include "tests/wasm/wasm_test_util.hpp"
#include "wasm-policy/policy_compiler.hpp"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

namespace xfw::test {
TEST(WasmSmoke, ReturnsConstant) {
    XFW_REQUIRE_ROOT();
    PolicyRun r = run_once(R"((module (func (export "filter") (result i32) (i32.const 42))))");
    EXPECT_FALSE(r.trapped);
    EXPECT_EQ(r.result, 42u);
}
TEST(WasmSmoke, Loop) {
    XFW_REQUIRE_ROOT();
    PolicyRun r = run_once(R"((module (func (export "filter") (result i32) (local $i i32) (local $s i32)
      (loop $l (local.set $s (i32.add (local.get $s) (local.get $i)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
      (local.get $s))))");
    EXPECT_FALSE(r.trapped) << r.trap_code;
    EXPECT_EQ(r.result, 4950u);
}
}  // namespace xfw::test

// Where the frame lives (docs/wasm-compiler.md, "Instance or stack"): the cheapest home the
// policy allows, with the same results in each.
namespace xfw::test {
namespace {

std::vector<xdp::MapSpec> instance_maps(const std::string& wat) {
    auto compiled = wasm::compile_policy(wasm_of(wat), {}, "layout.wasm");
    if (!compiled) {
        ADD_FAILURE() << compiled.error().message;
        return {};
    }
    return compiled->code->maps();
}

std::vector<uint32_t> results_of(const std::string& wat, size_t packets) {
    std::vector<std::vector<uint8_t>> frames(packets, pattern_frame());
    std::vector<uint32_t> out;
    for (const PolicyRun& r : run_wat(wat, frames).runs) out.push_back(r.trapped ? 0xdead0000u | r.trap_code : r.result);
    return out;
}

// `n` locals, each loaded from the packet, all live until their sum at the end.
std::string many_locals(int n) {
    std::string locals, sets, sum = "(i32.const 0)";
    for (int i = 0; i < n; ++i) {
        locals += " (local $l" + std::to_string(i) + " i32)";
        sets += " (local.set $l" + std::to_string(i) + " (call $u8 (i32.const " + std::to_string(i) + ")))";
        sum = "(i32.add " + sum + " (local.get $l" + std::to_string(i) + "))";
    }
    return R"((module (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
      (func (export "filter") (result i32))" + locals + sets + " " + sum + "))";
}

TEST(WasmLayout, StatelessPolicyNeedsNoInstance) {
    XFW_REQUIRE_ROOT();
    const std::string wat = many_locals(8);
    EXPECT_TRUE(instance_maps(wat).empty());
    uint32_t expected = 0;
    for (int i = 0; i < 8; ++i) expected += (i * 7 + 1) & 0xff;
    EXPECT_EQ(results_of(wat, 2), (std::vector<uint32_t>{expected, expected}));
}

TEST(WasmLayout, AFrameTooBigForTheStackMovesToAPerCpuValue) {
    XFW_REQUIRE_ROOT();
    const std::string wat = many_locals(40);
    const auto maps = instance_maps(wat);
    ASSERT_EQ(maps.size(), 1u);
    EXPECT_EQ(maps[0].type, BPF_MAP_TYPE_PERCPU_ARRAY);
    EXPECT_EQ(maps[0].max_entries, 1u);
    uint32_t expected = 0;
    for (int i = 0; i < 40; ++i) expected += (i * 7 + 1) & 0xff;
    EXPECT_EQ(results_of(wat, 2), (std::vector<uint32_t>{expected, expected}));
}

TEST(WasmLayout, StateWithoutMemoryIsAPerCpuValueAndPersists) {
    XFW_REQUIRE_ROOT();
    const std::string wat = R"((module (memory 1 1) (global $n (mut i32) (i32.const 0))
      (func (export "filter") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))))";
    const auto maps = instance_maps(wat);
    ASSERT_EQ(maps.size(), 1u);
    EXPECT_EQ(maps[0].type, BPF_MAP_TYPE_PERCPU_ARRAY);
    EXPECT_EQ(results_of(wat, 3), (std::vector<uint32_t>{1, 2, 3}));
}

TEST(WasmLayout, LinearMemoryIsAnEntryPerCpu) {
    XFW_REQUIRE_ROOT();
    const std::string wat = R"((module (memory 1 1)
      (func (export "filter") (result i32)
        (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 5))) (i32.load (i32.const 64)))))";
    const auto maps = instance_maps(wat);
    ASSERT_EQ(maps.size(), 1u);
    EXPECT_EQ(maps[0].type, BPF_MAP_TYPE_ARRAY);
    EXPECT_EQ(maps[0].max_entries, static_cast<uint32_t>(libbpf_num_possible_cpus()));
    EXPECT_EQ(results_of(wat, 3), (std::vector<uint32_t>{5, 10, 15}));
}

// Slots are reused by the next inlined call and the next packet: a local that a path reads
// before writing it must still start at zero.
TEST(WasmLayout, LocalsReadBeforeWrittenStartAtZeroInEveryCallAndPacket) {
    XFW_REQUIRE_ROOT();
    const std::string body = R"(
      (func $f (param $x i32) (result i32) (local $acc i32)
        (if (local.get $x) (then (local.set $acc (i32.const 5))))
        (i32.add (local.get $acc) (local.get $x)))
      (func (export "filter") (result i32) (local $i i32)
        (i32.add (i32.mul (call $f (i32.const 1)) (i32.const 100)) (call $f (i32.const 0)))))";
    EXPECT_EQ(results_of("(module" + body + ")", 2), (std::vector<uint32_t>{600, 600}));
    // The same with state between packets, which puts the frame in the per-CPU instance.
    const std::string looping = R"(
      (func $g (param $x i32) (result i32) (local $acc i32)
        (if (local.get $x) (then (local.set $acc (i32.const 5))))
        (i32.add (local.get $acc) (local.get $x)))
      (global $p (mut i32) (i32.const 1))
      (func (export "filter") (result i32) (local $r i32)
        (local.set $r (call $g (global.get $p)))
        (global.set $p (i32.const 0))
        (local.get $r)))";
    EXPECT_EQ(results_of("(module" + looping + ")", 3), (std::vector<uint32_t>{6, 0, 0}));
}

}  // namespace
}  // namespace xfw::test
