// The example policies as real rules: the xfw binary, attached in native XDP on a veth pair
// (tests/e2e/xfw_cli.hpp's XfwLabTest), traffic sent from the namespace end. The DNS filter as a
// match drops exactly the amplified answers and nothing else; the VLAN meter as a target counts
// every frame into its tenant's bucket and lets the next rule decide. What passes is checked with
// a capture on the host end; rule and bucket counters with `xfw counters --json`.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"
#include "tests/wasm/policy_corpus.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;
using Pair = std::pair<uint64_t, uint64_t>;

class WasmExamplesVeth : public XfwLabTest {
protected:
    void SetUp() override {
        XfwLabTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        const char* dir = std::getenv("XFW_WASM_EXAMPLES");
        ASSERT_NE(dir, nullptr) << "XFW_WASM_EXAMPLES is not set; run through `meson test`";
        examples_ = dir;
    }

    std::string example(const std::string& file) {
        const std::string path = examples_ + "/" + file;
        EXPECT_TRUE(std::filesystem::exists(path)) << path << " is not built (`ninja` builds it)";
        return path;
    }

    nlohmann::json counters() {
        CommandResult r = xfw({"counters", "--json"});
        EXPECT_TRUE(r.ok()) << r.describe();
        return r.ok() ? nlohmann::json::parse(r.out) : nlohmann::json::object();
    }

    static Pair rule(const nlohmann::json& j, uint64_t num) {
        for (const auto& r : j.at("rules"))
            if (r.at("chain") == "INPUT" && r.at("num").get<uint64_t>() == num)
                return {r.at("packets").get<uint64_t>(), r.at("bytes").get<uint64_t>()};
        ADD_FAILURE() << "no INPUT rule " << num << " in " << j.dump();
        return {0, 0};
    }

    // A bucket ("dns_any") or the trap counter ("traps") of INPUT rule `num`'s policy.
    static Pair policy(const nlohmann::json& j, uint64_t num, const std::string& which) {
        for (const auto& p : j.at("policy_counters")) {
            if (p.at("chain") != "INPUT" || p.at("num").get<uint64_t>() != num) continue;
            const bool trap = p.at("counter") == "traps";
            if ((which == "traps" && trap) || (!trap && p.at("bucket") == which))
                return {p.at("packets").get<uint64_t>(), p.at("bytes").get<uint64_t>()};
        }
        ADD_FAILURE() << "no policy counter " << which << " for INPUT rule " << num << " in " << j.dump();
        return {0, 0};
    }

    std::string examples_;
};

TEST_F(WasmExamplesVeth, DnsFilterDropsExactlyTheAmplifiedAnswers) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--sport", "53", "-m", "wasm", "--policy",
                        example("dns_amplification.wasm"), "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;

    struct Sent {
        Frame frame;
        bool dropped;
        const char* bucket;  // nullptr: the policy does not run (the rule's -p/--sport fail first)
    };
    auto answer = [&](uint16_t dport, uint16_t qtype, size_t extra, bool v6 = false) {
        return lab().to_host(v6).udp(53, dport).payload(dns_message(kDnsResponse, "example.com", qtype, extra)).build();
    };
    const std::vector<Sent> sent = {
        {answer(33000, kQtypeA, 40), false, "dns_ok"},
        {answer(33001, kQtypeAny, 120), true, "dns_any"},
        {answer(33002, kQtypeA, 900), true, "dns_large"},
        {answer(33003, kQtypeAny, 60, true), true, "dns_any"},
        {answer(33004, kQtypeA, 30, true), false, "dns_ok"},
        {lab().to_host().udp(33005, 53).payload(dns_message(kDnsQuery, "example.com", kQtypeAny)).build(), false, nullptr},
        {lab().to_host().udp(5353, 5353).payload_len(700).build(), false, nullptr},
        {answer(33006, kQtypeAny, 10), true, "dns_any"},
    };
    std::vector<Frame> frames;
    for (const Sent& s : sent) frames.push_back(s.frame);
    send(frames);
    if (HasFatalFailure()) return;

    // Every frame the policy lets through arrives once; none it selects arrives at all.
    const std::vector<Frame> seen = capture->collect(100, 700ms);
    uint64_t dropped = 0, dropped_bytes = 0;
    std::map<std::string, Pair> buckets = {{"dns_ok", {0, 0}}, {"dns_any", {0, 0}}, {"dns_large", {0, 0}}};
    for (size_t i = 0; i < sent.size(); ++i) {
        const size_t arrived = static_cast<size_t>(std::count(seen.begin(), seen.end(), sent[i].frame));
        EXPECT_EQ(arrived, sent[i].dropped ? 0u : 1u) << "frame " << i << "\n" << hex_dump(sent[i].frame);
        if (sent[i].dropped) {
            ++dropped;
            dropped_bytes += sent[i].frame.size();
        }
        if (sent[i].bucket) {
            buckets[sent[i].bucket].first += 1;
            buckets[sent[i].bucket].second += sent[i].frame.size();
        }
    }

    const nlohmann::json j = counters();
    EXPECT_EQ(rule(j, 1), Pair(dropped, dropped_bytes));
    for (const auto& [name, want] : buckets) EXPECT_EQ(policy(j, 1, name), want) << name;
    EXPECT_EQ(policy(j, 1, "traps").first, 0u);
}

TEST_F(WasmExamplesVeth, VlanMeterCountsEveryFrameAndTheNextRuleDecides) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-j", "WASM", "--policy", example("vlan_meter.wasm")}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "9", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;

    struct Sent {
        Frame frame;
        const char* bucket;
        bool dropped;  // by rule 2 (UDP to port 9)
    };
    auto udp = [&](uint16_t dport) { return lab().to_host().udp(4000, dport); };
    const std::vector<Sent> sent = {
        {udp(7).vlan(100).payload_len(10).build(), "tenant_acme", false},
        {udp(9).vlan(100).payload_len(11).build(), "tenant_acme", true},
        {udp(7).vlan(200).payload_len(12).build(), "tenant_globex", false},
        {udp(7).vlan(300).payload_len(13).build(), "tenant_initech", false},
        {udp(9).vlan(301).payload_len(14).build(), "tenant_initech", true},
        {udp(7).vlan(999).payload_len(15).build(), "other_vlan", false},
        {udp(7).payload_len(16).build(), "untagged", false},
        {udp(9).payload_len(17).build(), "untagged", true},
    };
    std::vector<Frame> frames;
    for (const Sent& s : sent) frames.push_back(s.frame);
    send(frames);
    if (HasFatalFailure()) return;

    const std::vector<Frame> seen = capture->collect(100, 700ms);
    std::map<std::string, Pair> buckets;
    uint64_t dropped = 0, dropped_bytes = 0, all_bytes = 0;
    for (size_t i = 0; i < sent.size(); ++i) {
        const size_t arrived = static_cast<size_t>(std::count(seen.begin(), seen.end(), sent[i].frame));
        EXPECT_EQ(arrived, sent[i].dropped ? 0u : 1u) << "frame " << i << "\n" << hex_dump(sent[i].frame);
        buckets[sent[i].bucket].first += 1;
        buckets[sent[i].bucket].second += sent[i].frame.size();
        all_bytes += sent[i].frame.size();
        if (sent[i].dropped) {
            ++dropped;
            dropped_bytes += sent[i].frame.size();
        }
    }
    const nlohmann::json j = counters();
    EXPECT_EQ(rule(j, 1), Pair(sent.size(), all_bytes)) << "the target rule counts every frame that reached it";
    EXPECT_EQ(rule(j, 2), Pair(dropped, dropped_bytes));
    for (const auto& [name, want] : buckets) EXPECT_EQ(policy(j, 1, name), want) << name;
    EXPECT_EQ(policy(j, 1, "traps").first, 0u);
}

}  // namespace
}  // namespace xfw::test
