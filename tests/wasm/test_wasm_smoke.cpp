#include "tests/wasm/wasm_test_util.hpp"

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
