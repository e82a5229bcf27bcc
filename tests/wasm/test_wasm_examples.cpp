// The example policies (wasm-policy/examples/) do what their comments say: each runs through
// xfw (compiled to eBPF, BPF_PROG_TEST_RUN) on frames chosen for it, and the verdicts and bucket
// counts are the ones the policy's documentation promises. The same frames go through Node's
// WebAssembly (the oracle) as a check on the expectations themselves, and the examples written
// twice (C and AssemblyScript, C and WAT) must behave identically.
#include "tests/support/packet_builder.hpp"
#include "tests/support/wasm_runner.hpp"
#include "tests/wasm/oracle/oracle_client.hpp"
#include "tests/wasm/policy_corpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

std::vector<uint8_t> read_example(const std::string& file) {
    const char* dir = std::getenv("XFW_WASM_EXAMPLES");
    if (!dir) {
        ADD_FAILURE() << "XFW_WASM_EXAMPLES is not set; run through `meson test`";
        return {};
    }
    std::ifstream in(std::string(dir) + "/" + file, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read " << dir << "/" << file << " (is it built? `ninja` builds it)";
        return {};
    }
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What a policy did with each frame, from xfw and from the oracle, checked to agree.
struct Outcome {
    std::vector<PolicyRun> runs;
    std::vector<xdp::CounterValue> buckets;
};

class ExamplePolicyTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF_PROG_TEST_RUN)";
    }

    // Runs through xfw and through the oracle; fails the test when they disagree.
    std::optional<Outcome> run(const std::string& file, const std::vector<Frame>& frames,
                               std::optional<uint32_t> buckets = std::nullopt) {
        const std::vector<uint8_t> module = read_example(file);
        if (module.empty()) return std::nullopt;
        wasm::PolicyOptions options;
        options.buckets = buckets;
        auto xfw = run_wasm_policy(module, options, frames);
        if (!xfw) {
            ADD_FAILURE() << file << ": xfw: " << xfw.error().message;
            return std::nullopt;
        }
        EXPECT_EQ(xfw->runs.size(), frames.size());
        if (const std::string why = oracle_unavailable_reason(); !why.empty()) {
            ADD_FAILURE() << "the Node oracle cannot run: " << why;
        } else {
            OracleOptions oo;
            oo.buckets = buckets;
            auto node = run_oracle(module, oo, frames);
            if (!node) {
                ADD_FAILURE() << file << ": oracle: " << node.error().message;
            } else {
                EXPECT_EQ(node->runs.size(), xfw->runs.size());
                for (size_t i = 0; i < std::min(node->runs.size(), xfw->runs.size()); ++i) {
                    EXPECT_EQ(xfw->runs[i].trapped, node->runs[i].trapped) << file << " frame " << i;
                    EXPECT_EQ(xfw->runs[i].trap_code, node->runs[i].trap_code) << file << " frame " << i;
                    if (!xfw->runs[i].trapped) {
                        EXPECT_EQ(xfw->runs[i].result, node->runs[i].result) << file << " frame " << i << "\n"
                                                                            << hex_dump(frames[i]);
                    }
                }
                EXPECT_EQ(node->buckets.size(), xfw->buckets.size());
                for (size_t b = 0; b < std::min(node->buckets.size(), xfw->buckets.size()); ++b) {
                    EXPECT_EQ(xfw->buckets[b].packets, node->buckets[b].packets) << file << " bucket " << b;
                    EXPECT_EQ(xfw->buckets[b].bytes, node->buckets[b].bytes) << file << " bucket " << b;
                }
            }
        }
        return Outcome{xfw->runs, xfw->buckets};
    }
};

// ---- DNS amplification filter ---------------------------------------------------------------

struct DnsCase {
    const char* what;
    Frame frame;
    uint32_t match;   // 1 = the rule matches (dropped with -j DROP)
    int bucket;       // 0 dns_large, 1 dns_any, 2 dns_ok, -1 none
};

std::vector<DnsCase> dns_cases() {
    std::vector<DnsCase> c;
    auto resp4 = [](uint16_t qtype, size_t extra, const char* name = "example.com") {
        return udp4("192.0.2.53", "10.0.0.2", 53, 33000).payload(dns_message(kDnsResponse, name, qtype, extra));
    };
    // "x.example" question: 12 header + 11 name + 4 = 27 bytes before the answer data.
    c.push_back({"ordinary A answer", resp4(kQtypeA, 16).build(), 0, 2});
    c.push_back({"ANY answer, small", resp4(kQtypeAny, 40).build(), 1, 1});
    c.push_back({"A answer of 900 extra bytes", resp4(kQtypeA, 900).build(), 1, 0});
    c.push_back({"payload exactly 512 bytes", resp4(kQtypeA, 512 - 27, "x.example").build(), 0, 2});
    c.push_back({"payload 513 bytes", resp4(kQtypeA, 513 - 27, "x.example").build(), 1, 0});
    c.push_back({"ANY query to a resolver (dport 53)",
                 udp4("10.0.0.9", "192.0.2.53", 33005, 53).payload(dns_message(kDnsQuery, "example.com", kQtypeAny)).build(), 0, -1});
    c.push_back({"ANY with QR clear from port 53",
                 udp4("192.0.2.53", "10.0.0.2", 53, 33006).payload(dns_message(kDnsQuery, "example.com", kQtypeAny)).build(), 0, 2});
    c.push_back({"IPv6 ANY answer",
                 udp6("2001:db8::53", "fd00::2", 53, 1).payload(dns_message(kDnsResponse, "v6.example.net", kQtypeAny, 40)).build(), 1, 1});
    c.push_back({"IPv6 A answer",
                 udp6("2001:db8::53", "fd00::2", 53, 1).payload(dns_message(kDnsResponse, "v6.example.net", kQtypeA, 40)).build(), 0, 2});
    c.push_back({"IPv6 ANY answer after a hop-by-hop header",
                 udp6("2001:db8::53", "fd00::2", 53, 1).hop_by_hop().payload(dns_message(kDnsResponse, "e.x", kQtypeAny, 8)).build(), 1, 1});
    c.push_back({"ANY answer on VLAN 200",
                 resp4(kQtypeAny, 20).vlan(200).build(), 1, 1});
    c.push_back({"large answer double-tagged", resp4(kQtypeA, 700).qinq(300, 7).build(), 1, 0});
    c.push_back({"ANY answer cut inside the question",
                 resp4(kQtypeAny, 0, "cut.example.com").truncate_to(14 + 20 + 8 + 16).build(), 0, 2});
    {
        std::vector<uint8_t> ptr = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0x00, 0xff, 0x00, 0x01};
        c.push_back({"ANY answer whose name is a compression pointer",
                     udp4("192.0.2.53", "10.0.0.2", 53, 1).payload(ptr).build(), 1, 1});
    }
    c.push_back({"port 5353 to 53, large", udp4("192.0.2.7", "10.0.0.2", 5353, 53).payload_len(600).build(), 0, -1});
    c.push_back({"TCP from port 53", tcp4("192.0.2.53", "10.0.0.2", 53, 40000, tcpflag::kAck).payload_len(600).build(), 0, -1});
    c.push_back({"first fragment of a large answer",
                 resp4(kQtypeA, 1000).more_fragments().build(), 1, 0});
    c.push_back({"non-first fragment", udp4("192.0.2.53", "10.0.0.2", 53, 1).frag_offset(100).payload_len(600).build(), 0, -1});
    c.push_back({"frame ending inside the UDP header", udp4("192.0.2.53", "10.0.0.2", 53, 1).truncate_to(40).build(), 0, -1});
    c.push_back({"ARP", arp_request("10.0.0.1", "10.0.0.2").build(), 0, -1});
    return c;
}

void check_dns(const std::optional<Outcome>& out, const std::vector<DnsCase>& cases, const std::string& file) {
    ASSERT_TRUE(out);
    ASSERT_EQ(out->runs.size(), cases.size());
    std::vector<xdp::CounterValue> want(3);
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_FALSE(out->runs[i].trapped) << file << ": " << cases[i].what << " trapped with " << out->runs[i].trap_code;
        EXPECT_EQ(out->runs[i].result, cases[i].match) << file << ": " << cases[i].what;
        if (cases[i].bucket >= 0) {
            want[static_cast<size_t>(cases[i].bucket)].packets += 1;
            want[static_cast<size_t>(cases[i].bucket)].bytes += cases[i].frame.size();
        }
    }
    ASSERT_EQ(out->buckets.size(), 3u) << file;
    for (size_t b = 0; b < 3; ++b) {
        EXPECT_EQ(out->buckets[b].packets, want[b].packets) << file << " bucket " << b;
        EXPECT_EQ(out->buckets[b].bytes, want[b].bytes) << file << " bucket " << b;
    }
}

TEST_F(ExamplePolicyTest, DnsFilterDropsLargeAndAnyAnswersAndPassesOrdinaryDns) {
    const auto cases = dns_cases();
    std::vector<Frame> frames;
    for (const auto& c : cases) frames.push_back(c.frame);
    check_dns(run("dns_amplification.wasm", frames), cases, "dns_amplification.wasm (C)");
}

TEST_F(ExamplePolicyTest, DnsFilterInAssemblyScriptBehavesAsTheCVersion) {
    const auto cases = dns_cases();
    std::vector<Frame> frames;
    for (const auto& c : cases) frames.push_back(c.frame);
    check_dns(run("dns_amplification_as.wasm", frames, 3), cases, "dns_amplification_as.wasm (AssemblyScript)");
}

// ---- SYN flood guard -----------------------------------------------------------------------

uint32_t syn_hash_bucket(const std::string& src) {
    const Ipv4Addr a = parse_ipv4(src);
    const uint32_t prefix = static_cast<uint32_t>(a[0]) << 16 | static_cast<uint32_t>(a[1]) << 8 | a[2];
    return ((prefix * 0x9e3779b1u) >> 24) % 8;
}

TEST_F(ExamplePolicyTest, SynGuardLimitsAFloodingSlash24AndCountsSynsPerHashBucket) {
    std::vector<Frame> frames;
    std::vector<std::string> sources;
    // 40 SYNs in a row from one /24 (different hosts in it), then one SYN from another /24,
    // then traffic that is not a bare SYN.
    for (int i = 0; i < 40; ++i) {
        sources.push_back("198.51.100." + std::to_string(1 + i));
        frames.push_back(tcp4(sources.back(), "10.0.0.2", static_cast<uint16_t>(40000 + i), 80).build());
    }
    sources.push_back("203.0.113.5");
    frames.push_back(tcp4(sources.back(), "10.0.0.2", 1234, 443).build());
    const size_t syns = frames.size();
    frames.push_back(tcp4("198.51.100.1", "10.0.0.2", 40000, 80, tcpflag::kSyn | tcpflag::kAck).build());
    frames.push_back(tcp4("198.51.100.1", "10.0.0.2", 40000, 80, tcpflag::kAck).payload_len(20).build());
    frames.push_back(udp4("198.51.100.1", "10.0.0.2", 1, 2).build());
    frames.push_back(tcp6("2001:db8::1", "fd00::2", 1, 2).build());

    auto out = run("syn_flood_guard.wasm", frames);
    ASSERT_TRUE(out);
    ASSERT_EQ(out->runs.size(), frames.size());
    for (const auto& r : out->runs) ASSERT_FALSE(r.trapped) << "trap " << r.trap_code;

    // A fresh /24 has a burst of 8 tokens and earns one per 4 SYNs seen: its first 10 SYNs
    // pass, after that about three in four match.
    size_t matched = 0;
    for (size_t i = 0; i < 40; ++i) {
        if (i < 10) {
            EXPECT_EQ(out->runs[i].result, 0u) << "SYN " << i + 1 << " of a fresh /24";
        }
        matched += out->runs[i].result != 0;
    }
    EXPECT_GE(matched, 20u);
    EXPECT_LE(matched, 30u);
    EXPECT_EQ(out->runs[40].result, 0u) << "another /24 is not limited by the flood";
    for (size_t i = syns; i < frames.size(); ++i) EXPECT_EQ(out->runs[i].result, 0u) << "frame " << i << " is not a bare IPv4 SYN";

    std::vector<xdp::CounterValue> want(8);
    for (size_t i = 0; i < syns; ++i) {
        want[syn_hash_bucket(sources[i])].packets += 1;
        want[syn_hash_bucket(sources[i])].bytes += frames[i].size();
    }
    ASSERT_EQ(out->buckets.size(), 8u);
    for (size_t b = 0; b < 8; ++b) {
        EXPECT_EQ(out->buckets[b].packets, want[b].packets) << "bucket syn_h" << b;
        EXPECT_EQ(out->buckets[b].bytes, want[b].bytes) << "bucket syn_h" << b;
    }
}

TEST_F(ExamplePolicyTest, SynGuardStatePersistsAcrossPacketsAndRefillsFromOthersSyns) {
    // 12 SYNs from one /24 empty its bucket; 40 SYNs from 40 other /24s refill it (one token per
    // 4 SYNs, capped at 8): its next 8 SYNs all pass.
    std::vector<Frame> frames;
    for (int i = 0; i < 12; ++i) frames.push_back(tcp4("198.51.100.7", "10.0.0.2", 1000, 80).build());
    for (int i = 0; i < 40; ++i) frames.push_back(tcp4("10." + std::to_string(i) + ".0.1", "10.0.0.2", 1000, 80).build());
    for (int i = 0; i < 8; ++i) frames.push_back(tcp4("198.51.100.7", "10.0.0.2", 1000, 80).build());
    auto out = run("syn_flood_guard.wasm", frames);
    ASSERT_TRUE(out);
    ASSERT_EQ(out->runs.size(), frames.size());
    EXPECT_NE(out->runs[10].result, 0u) << "the 11th SYN in a row from one /24 is over the limit";
    for (size_t i = 52; i < 60; ++i) EXPECT_EQ(out->runs[i].result, 0u) << "refilled SYN " << i - 51;
}

// ---- VLAN meter (C and WAT) ------------------------------------------------------------------

struct VlanCase {
    Frame frame;
    size_t bucket;  // 0 acme (VLAN 100), 1 globex (200), 2 initech (300, 301), 3 other VLAN, 4 untagged
};

std::vector<VlanCase> vlan_cases() {
    auto u = [] { return udp4("10.1.0.1", "10.1.0.2", 1000, 2000); };
    return {
        {u().vlan(100).build(), 0},
        {u().vlan(100).payload_len(300).build(), 0},
        {u().vlan(200).build(), 1},
        {u().vlan(300).payload_len(7).build(), 2},
        {u().vlan(301).build(), 2},
        {u().vlan(999).build(), 3},
        {u().vlan(4095).build(), 3},
        {u().build(), 4},
        {tcp6("fd00::1", "fd00::2", 1, 2).build(), 4},
        {arp_request("10.0.0.1", "10.0.0.2").build(), 4},
        {u().qinq(100, 200).build(), 0},                                 // the outer tag decides
        {u().vlan(200, 3, ethertype::kQinQ).build(), 1},                // 802.1ad single tag
        {u().vlan(100).truncate_to(17).build(), 4},                     // too short for the tag
        {arp_request("10.0.0.1", "10.0.0.2").vlan(301).build(), 2},
    };
}

void check_vlan(const std::optional<Outcome>& out, const std::vector<VlanCase>& cases, const std::string& file) {
    ASSERT_TRUE(out);
    ASSERT_EQ(out->runs.size(), cases.size());
    std::vector<xdp::CounterValue> want(5);
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_FALSE(out->runs[i].trapped) << file << " frame " << i;
        EXPECT_EQ(out->runs[i].result, 0xffffffffu) << file << " frame " << i << " should continue to the next rule";
        want[cases[i].bucket].packets += 1;
        want[cases[i].bucket].bytes += cases[i].frame.size();
    }
    ASSERT_EQ(out->buckets.size(), 5u) << file;
    for (size_t b = 0; b < 5; ++b) {
        EXPECT_EQ(out->buckets[b].packets, want[b].packets) << file << " bucket " << b;
        EXPECT_EQ(out->buckets[b].bytes, want[b].bytes) << file << " bucket " << b;
    }
}

TEST_F(ExamplePolicyTest, VlanMeterCountsEveryFrameIntoItsTenantsBucket) {
    const auto cases = vlan_cases();
    std::vector<Frame> frames;
    for (const auto& c : cases) frames.push_back(c.frame);
    check_vlan(run("vlan_meter.wasm", frames), cases, "vlan_meter.wasm (C)");
}

TEST_F(ExamplePolicyTest, VlanMeterInWatBehavesAsTheCVersion) {
    const auto cases = vlan_cases();
    std::vector<Frame> frames;
    for (const auto& c : cases) frames.push_back(c.frame);
    check_vlan(run("vlan_meter_wat.wasm", frames, 5), cases, "vlan_meter_wat.wasm (WAT, --buckets 5)");
}

}  // namespace
}  // namespace xfw::test
