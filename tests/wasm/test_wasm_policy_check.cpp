// `xfw policy check`: the real binary on modules that fit, that the compiler refuses, that are
// cut short or missing, and on the offload target; exit codes and what it prints.
#include "tests/support/wasm_runner.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace xfw::test {
namespace {

struct Outcome {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

class PolicyCheck : public ::testing::Test {
protected:
    void SetUp() override {
        const char* xfw = std::getenv("XFW");
        if (!xfw) GTEST_SKIP() << "XFW (the xfw binary) is not set; run through meson test";
        xfw_ = xfw;
        char tmpl[] = "/tmp/xfw-policy-check-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }

    std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                    static_cast<std::streamsize>(bytes.size()));
        return path;
    }
    std::string write_wat(const std::string& name, const std::string& wat) {
        auto bytes = wat_to_wasm(wat);
        EXPECT_TRUE(bytes) << bytes.error().message;
        return write(name, bytes ? *bytes : std::vector<uint8_t>{});
    }

    Outcome run(const std::string& args) {
        const std::string out = (dir_ / "out.txt").string();
        const int status = std::system((xfw_ + " policy check " + args + " >'" + out + "' 2>&1").c_str());
        Outcome o;
        o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        std::ifstream f(out);
        o.output.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        return o;
    }

    std::string xfw_;
    std::filesystem::path dir_;
};

const std::string kPolicy = R"((module
  (import "xfw" "load_u16" (func $u16 (param i32) (result i32)))
  (import "xfw" "count" (func $count (param i32)))
  (memory 1 1)
  (global $n (mut i32) (i32.const 0))
  (func (export "filter") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (call $count (i32.const 1))
    (i32.eq (call $u16 (i32.const 12)) (i32.const 0x0806)))))";

TEST_F(PolicyCheck, AFittingPolicyReportsItsCostAndExitsZero) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load into the verifier";
    const std::string file = write_wat("arp.wasm", kPolicy);
    Outcome o = run("'" + file + "' --buckets 2 --fuel 100");
    EXPECT_EQ(o.exit_code, 0) << o.output;
    EXPECT_NE(o.output.find("eBPF instructions:"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("buckets:            2 (b0, b1)"), std::string::npos) << o.output;
    // The global it keeps between packets needs an instance; the memory it never touches takes
    // no room, so the instance fits a per-CPU value.
    EXPECT_NE(o.output.find("xfw_wasm: per-CPU array, 1 entry"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("linear memory:      0 bytes"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("kernel verifier:    accepted"), std::string::npos) << o.output;
    EXPECT_NE(o.output.find("target native:      fits"), std::string::npos) << o.output;
}

TEST_F(PolicyCheck, RefusalsExitTwoWithTheReason) {
    Outcome missing = run("'" + (dir_ / "absent.wasm").string() + "'");
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.output.find("no such file"), std::string::npos) << missing.output;

    auto bytes = wat_to_wasm(kPolicy);
    ASSERT_TRUE(bytes);
    std::vector<uint8_t> cut(bytes->begin(), bytes->end() - 3);  // inside the last section
    Outcome truncated = run("'" + write("cut.wasm", cut) + "'");
    EXPECT_EQ(truncated.exit_code, 2);
    EXPECT_NE(truncated.output.find("malformed"), std::string::npos) << truncated.output;

    Outcome text = run("'" + write("text.wasm", std::vector<uint8_t>{'(', 'm', 'o', 'd', 'u', 'l', 'e', ')'}) + "'");
    EXPECT_EQ(text.exit_code, 2);
    EXPECT_NE(text.output.find("not a WebAssembly binary"), std::string::npos) << text.output;

    const std::string floats = write_wat("f.wasm", R"((module (func (export "filter") (result i32)
        (i32.trunc_f32_s (f32.const 1.5)))))");
    Outcome f = run("'" + floats + "'");
    EXPECT_EQ(f.exit_code, 2);
    EXPECT_NE(f.output.find("floating point"), std::string::npos) << f.output;

    Outcome func = run("'" + write_wat("arp2.wasm", kPolicy) + "' --func nope");
    EXPECT_EQ(func.exit_code, 2);
    EXPECT_NE(func.output.find("no function \"nope\""), std::string::npos) << func.output;

    Outcome target = run("'" + write_wat("arp3.wasm", kPolicy) + "' --target gpu");
    EXPECT_EQ(target.exit_code, 2);
    EXPECT_NE(target.output.find("expected native or offload"), std::string::npos) << target.output;
}

TEST_F(PolicyCheck, OffloadTarget) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load into the verifier";
    Outcome memory = run("'" + write_wat("arp.wasm", kPolicy) + "' --target offload --buckets 2");
    EXPECT_EQ(memory.exit_code, 2);
    EXPECT_NE(memory.output.find("offload"), std::string::npos) << memory.output;
    const std::string small = write_wat("small.wasm", R"((module
        (import "xfw" "load_u8" (func $u8 (param i32) (result i32)))
        (func (export "filter") (result i32) (i32.eq (call $u8 (i32.const 23)) (i32.const 17)))))");
    Outcome ok = run("'" + small + "' --target offload");
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    EXPECT_NE(ok.output.find("fits the NFP profile"), std::string::npos) << ok.output;
}

}  // namespace
}  // namespace xfw::test
