// Shared pieces of the BPF_PROG_TEST_RUN suites: the root-or-skip fixture and a table-driven
// check of one rule against frames that must and must not match it.
#pragma once

#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"
#include "tests/support/xdp_tester.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::test {

// Skips (with the reason) when the process cannot load BPF programs.
class BpfTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!have_root_and_netns(&why)) GTEST_SKIP() << "needs root to load BPF programs: " << why;
    }
};

// One frame and what a rule must do with it.
struct Probe {
    std::string what;  // shown when the expectation fails
    Frame frame;
    bool match = false;
    bool error = false;  // the parser must count it as malformed/truncated (exactly once)
};

inline Probe hit(std::string what, const PacketBuilder& b) { return {std::move(what), b.build(), true, false}; }
inline Probe miss(std::string what, const PacketBuilder& b) { return {std::move(what), b.build(), false, false}; }
inline Probe hit_err(std::string what, const PacketBuilder& b) { return {std::move(what), b.build(), true, true}; }
inline Probe miss_err(std::string what, const PacketBuilder& b) { return {std::move(what), b.build(), false, true}; }

// Compiles INPUT = ["<spec> -j DROP"] with policy ACCEPT and runs each probe on its own: a
// `match` probe must be dropped and add exactly one packet and its frame length in bytes to
// the rule's counter; any other probe must pass and add one packet to the policy counter
// instead. The error counter must grow by one exactly for the probes marked `error`, and no
// probe is non-IP.
inline void expect_rule(const std::string& spec, const std::vector<Probe>& probes) {
    SCOPED_TRACE("rule: " + spec);
    auto t = XdpTester::from_rules({spec + " -j DROP"});
    ASSERT_TRUE(t.ok()) << t.error();
    uint64_t packets = 0, bytes = 0, policy = 0, errors = 0;
    for (const Probe& p : probes) {
        SCOPED_TRACE("frame: " + p.what + "\n" + hex_dump(p.frame));
        EXPECT_EQ(t.run(p.frame), p.match ? XDP_DROP : XDP_PASS)
            << (p.match ? "should match" : "should not match");
        // Each probe is checked on its own: compare what this frame added.
        const uint64_t now_packets = t.rule_packets("INPUT", 1), now_bytes = t.rule_bytes("INPUT", 1),
                       now_policy = t.policy_packets(), now_errors = t.error_packets();
        EXPECT_EQ(now_packets - packets, p.match ? 1u : 0u) << "rule packet counter";
        EXPECT_EQ(now_bytes - bytes, p.match ? p.frame.size() : 0u) << "rule byte counter";
        EXPECT_EQ(now_policy - policy, p.match ? 0u : 1u) << "policy counter";
        EXPECT_EQ(now_errors - errors, p.error ? 1u : 0u) << "error counter";
        EXPECT_EQ(t.non_ip_packets(), 0u);
        packets = now_packets, bytes = now_bytes, policy = now_policy, errors = now_errors;
    }
}

// The same probes against "<spec>" and "! <negated_spec>" (the rule with the `!` in front of the
// option under test): probes marked `both_miss` match neither form (wrong family, missing L4
// header...), the others match exactly one of the two.
struct NegProbe {
    std::string what;
    PacketBuilder packet;
    enum Expect : uint8_t { Positive, Negated, Neither } expect = Positive;
};

inline void expect_rule_and_negation(const std::string& spec, const std::string& negated_spec,
                                     const std::vector<NegProbe>& probes) {
    std::vector<Probe> pos, neg;
    for (const NegProbe& p : probes) {
        pos.push_back({p.what, p.packet.build(), p.expect == NegProbe::Positive, false});
        neg.push_back({p.what, p.packet.build(), p.expect == NegProbe::Negated, false});
    }
    expect_rule(spec, pos);
    expect_rule(negated_spec, neg);
}

inline NegProbe pos(std::string what, PacketBuilder b) { return {std::move(what), std::move(b), NegProbe::Positive}; }
inline NegProbe neg(std::string what, PacketBuilder b) { return {std::move(what), std::move(b), NegProbe::Negated}; }
inline NegProbe neither(std::string what, PacketBuilder b) { return {std::move(what), std::move(b), NegProbe::Neither}; }

}  // namespace xfw::test
