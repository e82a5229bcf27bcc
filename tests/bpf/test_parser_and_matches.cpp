// Verdicts and counters of compiled rules through BPF_PROG_TEST_RUN, packet by packet.
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"
#include "tests/support/xdp_tester.hpp"

#include <gtest/gtest.h>

namespace xfw::test {
namespace {

class Bpf : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!have_root_and_netns(&why)) GTEST_SKIP() << "needs root to load BPF programs: " << why;
    }
};

TEST_F(Bpf, SourcePrefixDropsAndCounts) {
    auto t = XdpTester::from_rules({"-s 10.1.0.0/16 -j DROP"});
    ASSERT_TRUE(t.ok());
    auto in = tcp4("10.1.2.3", "10.0.0.2", 1000, 80).build();
    auto out = tcp4("10.2.2.3", "10.0.0.2", 1000, 80).build();
    EXPECT_EQ(t.run(in), XDP_DROP);
    EXPECT_EQ(t.run(out), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_bytes("INPUT", 1), in.size());
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(Bpf, NonIpFramesPassUncountedByRules) {
    auto t = XdpTester::from_rules({"-j DROP"});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(arp_request("10.0.0.1", "10.0.0.2").build()), XDP_PASS);
    EXPECT_EQ(t.non_ip_packets(), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.run(udp4("10.0.0.1", "10.0.0.2", 1, 2).build()), XDP_DROP);
}

}  // namespace
}  // namespace xfw::test
