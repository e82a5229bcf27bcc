// End to end: rules with Wasm policies (`-m wasm`, `-j WASM`) in the real xfw binary, attached
// in native XDP on a veth pair. Policies are written in WAT and assembled with wat2wasm when the
// test runs. The packets a policy selects are dropped and no others; rule, bucket and trap
// counters equal the frames sent; save/restore round-trips; bad modules change nothing.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;
using Pair = std::pair<uint64_t, uint64_t>;

// Selects UDP over IPv4 (no options) to an odd port, counting each UDP packet into bucket
// "odd" or "even" (declared by the rule's --buckets 2: b0 even, b1 odd).
constexpr const char* kOddPortWat = R"((module
  (import "xfw" "load_u8" (func $load_u8 (param i32) (result i32)))
  (import "xfw" "load_u16" (func $load_u16 (param i32) (result i32)))
  (import "xfw" "count" (func $count (param i32)))
  (func (export "filter") (result i32) (local $odd i32)
    (if (i32.ne (call $load_u16 (i32.const 12)) (i32.const 0x0800)) (then (return (i32.const 0))))
    (if (i32.ne (call $load_u8 (i32.const 23)) (i32.const 17)) (then (return (i32.const 0))))
    (local.set $odd (i32.and (call $load_u16 (i32.const 36)) (i32.const 1)))
    (call $count (local.get $odd))
    (local.get $odd)))
)";

// A target: drops packets with TTL 7, continues with the next rule otherwise.
constexpr const char* kTtlVerdictWat = R"((module
  (import "xfw" "load_u8" (func $load_u8 (param i32) (result i32)))
  (func (export "filter") (result i32)
    (if (result i32) (i32.eq (call $load_u8 (i32.const 22)) (i32.const 7))
      (then (i32.const 1)) (else (i32.const -1)))))
)";

// Always traps (reads far past any frame).
constexpr const char* kTrapWat = R"((module
  (import "xfw" "load_u32" (func $load_u32 (param i32) (result i32)))
  (func (export "filter") (result i32) (call $load_u32 (i32.const 60000))))
)";

// Uses a float: xfw must refuse it.
constexpr const char* kFloatWat = R"((module
  (func (export "filter") (result i32) (i32.trunc_f32_s (f32.const 1.5))))
)";

class WasmRulesE2e : public XfwLabTest {
protected:
    void SetUp() override {
        XfwLabTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        policies_.emplace("wasm-policies");
        ASSERT_TRUE(policies_->ok());
    }

    // Assembles `wat` into <policies>/<name>.wasm; returns the path.
    std::string assemble(const std::string& name, const std::string& wat) {
        const std::string src = policies_->file(name + ".wat"), out = policies_->file(name + ".wasm");
        EXPECT_TRUE(write_text_file(src, wat));
        CommandResult r = run_command({"wat2wasm", src, "-o", out}, std::chrono::seconds(30));
        EXPECT_TRUE(r.ok()) << "wat2wasm (Debian package wabt) failed: " << r.describe();
        return out;
    }

    nlohmann::json counters_json() {
        CommandResult r = xfw({"counters", "--json"});
        EXPECT_TRUE(r.ok()) << r.describe();
        return nlohmann::json::parse(r.out);
    }

    // {packets, bytes} of a policy counter of rule `num` of INPUT ("traps" or a bucket name).
    std::pair<uint64_t, uint64_t> policy_counter(const nlohmann::json& j, uint64_t num, const std::string& which) {
        for (const auto& p : j.at("policy_counters")) {
            if (p.at("chain") != "INPUT" || p.at("num").get<uint64_t>() != num) continue;
            const bool trap = p.at("counter") == "traps";
            if ((which == "traps" && trap) || (!trap && p.at("bucket") == which))
                return {p.at("packets").get<uint64_t>(), p.at("bytes").get<uint64_t>()};
        }
        ADD_FAILURE() << "no policy counter " << which << " for INPUT rule " << num << " in " << j.dump();
        return {0, 0};
    }

    std::pair<uint64_t, uint64_t> rule_counter(const nlohmann::json& j, uint64_t num) {
        for (const auto& r : j.at("rules"))
            if (r.at("chain") == "INPUT" && r.at("num").get<uint64_t>() == num)
                return {r.at("packets").get<uint64_t>(), r.at("bytes").get<uint64_t>()};
        ADD_FAILURE() << "no INPUT rule " << num;
        return {0, 0};
    }

    std::optional<TempDir> policies_;
};

TEST_F(WasmRulesE2e, MatchDropsExactlyWhatThePolicySelectsAndCountsBuckets) {
    const std::string odd = assemble("odd", kOddPortWat);
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-m", "wasm", "--policy", odd, "--buckets", "2", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));

    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;
    const Frame to_odd = lab().to_host().udp(40000, 7001).payload_len(20).build();
    const Frame to_even = lab().to_host().udp(40000, 7002).payload_len(30).build();
    std::vector<Frame> frames;
    for (int i = 0; i < 5; ++i) frames.push_back(to_odd);
    for (int i = 0; i < 4; ++i) frames.push_back(to_even);
    send(frames);
    if (HasFatalFailure()) return;

    // The even-port frames pass (the capture sees them), the odd-port ones never arrive.
    std::vector<Frame> seen = capture->collect(100, 500ms);
    size_t seen_odd = 0, seen_even = 0;
    for (const Frame& f : seen) {
        seen_odd += f == to_odd;
        seen_even += f == to_even;
    }
    EXPECT_EQ(seen_odd, 0u);
    EXPECT_EQ(seen_even, 4u);

    auto j = counters_json();
    EXPECT_EQ(rule_counter(j, 1), Pair(5, 5 * to_odd.size()));
    EXPECT_EQ(policy_counter(j, 1, "b1"), Pair(5, 5 * to_odd.size()));
    EXPECT_EQ(policy_counter(j, 1, "b0"), Pair(4, 4 * to_even.size()));
    EXPECT_EQ(policy_counter(j, 1, "traps").first, 0u);

    // -L -v shows the buckets under the rule; Prometheus exports them.
    CommandResult list = xfw({"-L", "INPUT", "-v", "-x", "-n"});
    ASSERT_TRUE(list.ok()) << list.describe();
    EXPECT_NE(list.out.find("policy 1 bucket b1"), std::string::npos) << list.out;
    CommandResult prom = xfw({"counters", "--prometheus"});
    ASSERT_TRUE(prom.ok());
    EXPECT_NE(prom.out.find("xfw_wasm_bucket_packets_total{chain=\"INPUT\",num=\"1\""), std::string::npos) << prom.out;

    // -Z clears what -L shows for buckets too, not the raw counts.
    ASSERT_TRUE(xfw_ok({"-Z"}));
    auto shown = counters_json();
    EXPECT_EQ(policy_counter(shown, 1, "b1").first, 0u);
    CommandResult raw = xfw({"counters", "--json", "--raw"});
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(policy_counter(nlohmann::json::parse(raw.out), 1, "b1").first, 5u);
}

TEST_F(WasmRulesE2e, TargetVerdictsContinueAndTraps) {
    const std::string ttl = assemble("ttl", kTtlVerdictWat);
    const std::string trap = assemble("trap", kTrapWat);
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7006", "-j", "WASM", "--policy", ttl}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7006", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7007", "-m", "wasm", "--policy", trap, "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));

    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;
    const Frame ttl7 = lab().to_host().ttl(7).udp(40000, 7006).payload_len(10).build();
    const Frame ttl64 = lab().to_host().ttl(64).udp(40000, 7006).payload_len(10).build();
    const Frame trapping = lab().to_host().udp(40000, 7007).payload_len(10).build();
    send({ttl7, ttl7, ttl64, ttl64, ttl64, trapping, trapping});
    if (HasFatalFailure()) return;
    std::vector<Frame> seen = capture->collect(100, 500ms);
    size_t n7 = 0, n64 = 0, ntrap = 0;
    for (const Frame& f : seen) {
        n7 += f == ttl7;
        n64 += f == ttl64;
        ntrap += f == trapping;
    }
    EXPECT_EQ(n7, 0u);     // the policy dropped them
    EXPECT_EQ(n64, 3u);    // continued to rule 2, accepted
    EXPECT_EQ(ntrap, 0u);  // a trap drops

    auto j = counters_json();
    EXPECT_EQ(rule_counter(j, 1).first, 5u);  // a target's rule counts every packet that reached it
    EXPECT_EQ(rule_counter(j, 2).first, 3u);
    EXPECT_EQ(rule_counter(j, 3).first, 0u);  // a trapped match does not match
    EXPECT_EQ(policy_counter(j, 1, "traps").first, 0u);
    EXPECT_EQ(policy_counter(j, 3, "traps"), Pair(2, 2 * trapping.size()));
}

TEST_F(WasmRulesE2e, SaveRestoreReloadAndTheStoredCopy) {
    const std::string odd = assemble("odd", kOddPortWat);
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-m", "wasm", "--policy", odd, "--buckets", "2", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const Frame to_odd = lab().to_host().udp(40000, 7001).payload_len(20).build();
    send({to_odd, to_odd});
    if (HasFatalFailure()) return;

    CommandResult save = xfw({"save"});
    ASSERT_TRUE(save.ok());
    EXPECT_NE(save.out.find("-A INPUT -p udp -m wasm --policy " + odd + " --buckets 2 -j DROP"), std::string::npos)
        << save.out;
    // Restoring the same file keeps the rule's identity and counts (rule and buckets).
    const std::string file = policies_->file("rules.v4");
    ASSERT_TRUE(write_text_file(file, save.out));
    ASSERT_TRUE(xfw_ok({"restore", file}));
    auto j = counters_json();
    EXPECT_EQ(rule_counter(j, 1).first, 2u);
    EXPECT_EQ(policy_counter(j, 1, "b1").first, 2u);

    // The module file goes away: reload runs the stored copy and traffic is still judged.
    std::filesystem::remove(odd);
    ASSERT_TRUE(xfw_ok({"reload"}));
    send({to_odd});
    if (HasFatalFailure()) return;
    j = counters_json();
    EXPECT_EQ(rule_counter(j, 1).first, 3u);
    EXPECT_EQ(policy_counter(j, 1, "b1").first, 3u);

    // -D by the same spec finds the rule.
    ASSERT_TRUE(xfw_ok({"-D", "INPUT", "-p", "udp", "-m", "wasm", "--policy", odd, "--buckets", "2", "-j", "DROP"}));
    CommandResult after = xfw({"-S"});
    EXPECT_EQ(after.out.find("wasm"), std::string::npos) << after.out;
}

TEST_F(WasmRulesE2e, BadModulesAreRefusedAndNothingChanges) {
    const std::string odd = assemble("odd", kOddPortWat);
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-m", "wasm", "--policy", odd, "--buckets", "2", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const std::string before = xfw({"-S"}).out;

    const std::string floats = assemble("floats", kFloatWat);
    CommandResult r = xfw({"-A", "INPUT", "-m", "wasm", "--policy", floats, "-j", "DROP"});
    EXPECT_EQ(r.exit_status, 2) << r.describe();
    EXPECT_NE(r.err.find("INPUT rule 2"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("float"), std::string::npos) << r.err;

    const std::string garbage = policies_->file("garbage.wasm");
    ASSERT_TRUE(write_text_file(garbage, "this is not wasm"));
    r = xfw({"-A", "INPUT", "-m", "wasm", "--policy", garbage, "-j", "DROP"});
    EXPECT_EQ(r.exit_status, 2) << r.describe();

    r = xfw({"-A", "INPUT", "-m", "wasm", "--policy", policies_->file("missing.wasm"), "-j", "DROP"});
    EXPECT_EQ(r.exit_status, 2) << r.describe();
    EXPECT_NE(r.err.find("missing.wasm"), std::string::npos) << r.err;

    r = xfw({"-A", "INPUT", "-m", "wasm", "--policy", odd, "--func", "nosuch", "-j", "DROP"});
    EXPECT_EQ(r.exit_status, 2) << r.describe();
    EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;

    EXPECT_EQ(xfw({"-S"}).out, before);
    // The old program still filters.
    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok());
    const Frame to_odd = lab().to_host().udp(40000, 7001).payload_len(20).build();
    send({to_odd});
    EXPECT_EQ(capture->count_matching([&](const Frame& f) { return f == to_odd; }, 300ms), 0u);
}

}  // namespace
}  // namespace xfw::test
