// Chain traversal: user chains, RETURN, nesting, a chain reached from several places, rules
// without a target, first match wins, and when the policy (and its counter) applies.
#include "tests/bpf/bpf_fixture.hpp"

namespace xfw::test {
namespace {

class BpfChains : public BpfTest {};

Frame tcp_from(const char* src, uint16_t dport) { return tcp4(src, "10.0.0.2", 40000, dport).build(); }
Frame tcp_to(uint16_t dport) { return tcp_from("10.0.0.1", dport); }
Frame udp_any() { return udp4("10.0.0.1", "10.0.0.2", 40000, 53).build(); }

TEST_F(BpfChains, JumpAndFallOffTheEndOfAUserChain) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:SSH - [0:0]\n"
        "-A INPUT -p tcp --dport 22 -j SSH\n"
        "-A INPUT -p tcp -j DROP\n"
        "-A SSH -s 10.0.0.0/8 -j ACCEPT\n"
        "-A SSH -s 192.168.0.0/16 -j DROP\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_from("10.1.1.1", 22)), XDP_PASS);     // SSH 1
    EXPECT_EQ(t.run(tcp_from("192.168.1.1", 22)), XDP_DROP);  // SSH 2
    EXPECT_EQ(t.run(tcp_from("172.16.0.1", 22)), XDP_DROP);   // back in INPUT: rule 2
    EXPECT_EQ(t.run(tcp_from("10.1.1.1", 80)), XDP_DROP);     // INPUT 2, SSH not entered
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);                    // policy
    EXPECT_EQ(t.rule_packets("INPUT", 1), 3u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 2u);
    EXPECT_EQ(t.rule_packets("SSH", 1), 1u);
    EXPECT_EQ(t.rule_packets("SSH", 2), 1u);
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(BpfChains, ReturnContinuesAfterTheJump) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT DROP [0:0]\n:CHK - [0:0]\n"
        "-A INPUT -j CHK\n"
        "-A INPUT -p tcp --dport 80 -j ACCEPT\n"
        "-A CHK -s 10.0.0.66 -j DROP\n"
        "-A CHK -p tcp --dport 80 -j RETURN\n"
        "-A CHK -j ACCEPT\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(80)), XDP_PASS);                  // RETURN, then INPUT 2
    EXPECT_EQ(t.run(tcp_from("10.0.0.66", 80)), XDP_DROP);   // CHK 1
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);                   // CHK 3
    EXPECT_EQ(t.run(tcp_to(81)), XDP_PASS);                  // CHK 3
    EXPECT_EQ(t.rule_packets("INPUT", 1), 4u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("CHK", 1), 1u);
    EXPECT_EQ(t.rule_packets("CHK", 2), 1u);
    EXPECT_EQ(t.rule_packets("CHK", 3), 2u);
    EXPECT_EQ(t.policy_packets(), 0u);
}

TEST_F(BpfChains, ReturnInInputMeansPolicy) {
    auto drop = XdpTester::from_restore(
        "*filter\n:INPUT DROP [0:0]\n"
        "-A INPUT -p udp -j RETURN\n"
        "-A INPUT -j ACCEPT\n"
        "COMMIT\n");
    ASSERT_TRUE(drop.ok());
    EXPECT_EQ(drop.run(udp_any()), XDP_DROP);
    EXPECT_EQ(drop.run(tcp_to(1)), XDP_PASS);
    EXPECT_EQ(drop.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(drop.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(drop.policy_packets(), 1u);

    auto accept = XdpTester::from_rules({"-p udp -j RETURN", "-j DROP"}, "ACCEPT");
    ASSERT_TRUE(accept.ok());
    EXPECT_EQ(accept.run(udp_any()), XDP_PASS);
    EXPECT_EQ(accept.run(udp_any()), XDP_PASS);
    EXPECT_EQ(accept.run(tcp_to(1)), XDP_DROP);
    EXPECT_EQ(accept.rule_packets("INPUT", 1), 2u);
    EXPECT_EQ(accept.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(accept.policy_packets(), 2u);
}

TEST_F(BpfChains, ReturnInAUserChainReachedFromInputIsNotThePolicy) {
    // RETURN from a user chain goes back to INPUT, whose next rule decides; only falling off
    // INPUT reaches the policy.
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n"
        "-A INPUT -j U\n"
        "-A INPUT -p udp -j DROP\n"
        "-A U -j RETURN\n"
        "-A U -j ACCEPT\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(udp_any()), XDP_DROP);
    EXPECT_EQ(t.run(tcp_to(1)), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 2u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("U", 1), 2u);
    EXPECT_EQ(t.rule_packets("U", 2), 0u);  // unreachable
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(BpfChains, NestedChainsReturnOneLevel) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n"
        "-A INPUT -p tcp -j A\n"                  // I1
        "-A INPUT -p tcp --dport 1 -j DROP\n"     // I2
        "-A INPUT -p tcp -j ACCEPT\n"             // I3
        "-A A -j B\n"                             // A1
        "-A A -p tcp --dport 2 -j DROP\n"         // A2
        "-A B -p tcp --dport 3 -j RETURN\n"       // B1
        "-A B -j C\n"                             // B2
        "-A B -p tcp --dport 4 -j DROP\n"         // B3
        "-A C -p tcp --dport 4 -j RETURN\n"       // C1
        "-A C -p tcp --dport 5 -j DROP\n"         // C2
        "-A C -p tcp --dport 1 -j RETURN\n"       // C3
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(2)), XDP_DROP);  // C and B fall off, A2 drops
    EXPECT_EQ(t.run(tcp_to(3)), XDP_PASS);  // B1 returns to A, A returns to INPUT, I3
    EXPECT_EQ(t.run(tcp_to(4)), XDP_DROP);  // C1 returns to B (not to INPUT), B3 drops
    EXPECT_EQ(t.run(tcp_to(5)), XDP_DROP);  // C2
    EXPECT_EQ(t.run(tcp_to(1)), XDP_DROP);  // C3 returns to B, falls back to INPUT, I2
    EXPECT_EQ(t.run(tcp_to(6)), XDP_PASS);  // all the way through, I3
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);  // policy
    EXPECT_EQ(t.rule_packets("INPUT", 1), 6u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 2u);
    EXPECT_EQ(t.rule_packets("A", 1), 6u);
    EXPECT_EQ(t.rule_packets("A", 2), 1u);
    EXPECT_EQ(t.rule_packets("B", 1), 1u);
    EXPECT_EQ(t.rule_packets("B", 2), 5u);
    EXPECT_EQ(t.rule_packets("B", 3), 1u);
    EXPECT_EQ(t.rule_packets("C", 1), 1u);
    EXPECT_EQ(t.rule_packets("C", 2), 1u);
    EXPECT_EQ(t.rule_packets("C", 3), 1u);
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(BpfChains, DeepNesting) {
    // INPUT -> L0 -> L1 -> ... -> L19; only the innermost chain decides.
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n";
    for (int i = 0; i < 20; ++i) text += ":L" + std::to_string(i) + " - [0:0]\n";
    text += "-A INPUT -j L0\n";
    for (int i = 0; i < 19; ++i) {
        text += "-A L" + std::to_string(i) + " -p tcp --dport 7 -j RETURN\n";
        text += "-A L" + std::to_string(i) + " -j L" + std::to_string(i + 1) + "\n";
    }
    text += "-A L19 -p tcp --dport 22 -j DROP\nCOMMIT\n";
    auto t = XdpTester::from_restore(text);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(22)), XDP_DROP);
    EXPECT_EQ(t.run(tcp_to(23)), XDP_PASS);
    EXPECT_EQ(t.run(tcp_to(7)), XDP_PASS);  // returns from L0 at once
    EXPECT_EQ(t.rule_packets("INPUT", 1), 3u);
    EXPECT_EQ(t.rule_packets("L0", 1), 1u);
    for (int i = 0; i < 19; ++i) {
        EXPECT_EQ(t.rule_packets("L" + std::to_string(i), 2), 2u) << "L" << i;
        if (i > 0) {
            EXPECT_EQ(t.rule_packets("L" + std::to_string(i), 1), 0u) << "L" << i;
        }
    }
    EXPECT_EQ(t.rule_packets("L19", 1), 1u);
    EXPECT_EQ(t.policy_packets(), 2u);
}

TEST_F(BpfChains, ChainUsedFromTwoPlacesSharesItsCounters) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:COMMON - [0:0]\n"
        "-A INPUT -s 10.0.0.1 -j COMMON\n"
        "-A INPUT -s 10.0.0.2 -j COMMON\n"
        "-A INPUT -j COMMON\n"
        "-A COMMON -p udp\n"
        "-A COMMON -p tcp --dport 22 -j DROP\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    Frame a = tcp_from("10.0.0.1", 22);
    Frame b = udp4("10.0.0.2", "10.0.0.9", 1, 2).build();
    Frame c = tcp_from("10.0.0.3", 22);
    EXPECT_EQ(t.run(a), XDP_DROP);  // via INPUT 1
    EXPECT_EQ(t.run(b), XDP_PASS);  // via INPUT 2 and again via INPUT 3, then policy
    EXPECT_EQ(t.run(c), XDP_DROP);  // via INPUT 3
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 2u);
    // The udp packet went through COMMON twice: its first rule counted it twice.
    EXPECT_EQ(t.rule_packets("COMMON", 1), 2u);
    EXPECT_EQ(t.rule_bytes("COMMON", 1), 2 * b.size());
    EXPECT_EQ(t.rule_packets("COMMON", 2), 2u);
    EXPECT_EQ(t.rule_bytes("COMMON", 2), a.size() + c.size());
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(BpfChains, EmptyUserChainReturnsAtOnce) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT DROP [0:0]\n:EMPTY - [0:0]\n"
        "-A INPUT -j EMPTY\n"
        "-A INPUT -p tcp -j ACCEPT\n"
        "-A INPUT -j EMPTY\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(1)), XDP_PASS);
    EXPECT_EQ(t.run(udp_any()), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 2u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 1u);
    EXPECT_EQ(t.policy_packets(), 1u);
}

TEST_F(BpfChains, JumpRuleThatDoesNotMatchSkipsTheChain) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n"
        "-A INPUT -p udp -j U\n"
        "-A INPUT -p tcp -j DROP\n"
        "-A U -j ACCEPT\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(1)), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.rule_packets("U", 1), 0u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_packets("U", 1), 1u);
    EXPECT_EQ(t.policy_packets(), 0u);
}

TEST_F(BpfChains, RulesWithoutTargetCountAndContinue) {
    auto t = XdpTester::from_rules({
        "-p tcp",                         // 1
        "-s 10.0.0.1",                    // 2
        "-p tcp --dport 22",              // 3
        "-p tcp --dport 22 -j DROP",      // 4
        "-p tcp",                         // 5
        "-m comment --comment last",      // 6
    });
    ASSERT_TRUE(t.ok());
    Frame ssh = tcp_from("10.0.0.1", 22);
    Frame web = tcp_from("10.0.0.9", 80);
    Frame dns = udp_any();
    EXPECT_EQ(t.run(ssh), XDP_DROP);
    EXPECT_EQ(t.run(web), XDP_PASS);
    EXPECT_EQ(t.run(dns), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 2u);
    EXPECT_EQ(t.rule_bytes("INPUT", 1), ssh.size() + web.size());
    EXPECT_EQ(t.rule_packets("INPUT", 2), 2u);
    EXPECT_EQ(t.rule_bytes("INPUT", 2), ssh.size() + dns.size());
    EXPECT_EQ(t.rule_packets("INPUT", 3), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 4), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 5), 1u);
    EXPECT_EQ(t.rule_bytes("INPUT", 5), web.size());
    EXPECT_EQ(t.rule_packets("INPUT", 6), 2u);
    EXPECT_EQ(t.policy_packets(), 2u);
}

TEST_F(BpfChains, FirstMatchWins) {
    auto t = XdpTester::from_rules({
        "-p tcp --dport 22 -j ACCEPT",
        "-p tcp -j DROP",
        "-s 10.0.0.1 -j ACCEPT",
        "-j DROP",
        "-p tcp --dport 22 -j DROP",
    });
    ASSERT_TRUE(t.ok());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(t.run(tcp_to(22)), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 3u);
    for (size_t r = 2; r <= 5; ++r) EXPECT_EQ(t.rule_packets("INPUT", r), 0u) << "rule " << r;
    EXPECT_EQ(t.run(tcp_to(23)), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 0u);
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);  // rule 3
    EXPECT_EQ(t.rule_packets("INPUT", 3), 1u);
    EXPECT_EQ(t.run(udp4("10.9.9.9", "10.0.0.2", 1, 2).build()), XDP_DROP);  // rule 4
    EXPECT_EQ(t.rule_packets("INPUT", 4), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 5), 0u);
    EXPECT_EQ(t.policy_packets(), 0u);
}

TEST_F(BpfChains, PolicyCountsOnlyPacketsThatReachTheEnd) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT DROP [0:0]\n:U - [0:0]\n"
        "-A INPUT -p tcp --dport 22 -j ACCEPT\n"
        "-A INPUT -j U\n"
        "-A U -p udp -j ACCEPT\n"
        "-A U -p tcp --dport 23 -j RETURN\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(22)), XDP_PASS);
    EXPECT_EQ(t.run(udp_any()), XDP_PASS);
    EXPECT_EQ(t.policy_packets(), 0u);
    EXPECT_EQ(t.run(tcp_to(23)), XDP_DROP);  // RETURN to INPUT, end of INPUT
    EXPECT_EQ(t.run(tcp_to(24)), XDP_DROP);  // end of U, end of INPUT
    EXPECT_EQ(t.run(icmp4(8, 0).build()), XDP_DROP);
    EXPECT_EQ(t.policy_packets(), 3u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 4u);
    EXPECT_EQ(t.rule_packets("U", 2), 1u);
}

TEST_F(BpfChains, ByteCountersEqualTheFrameLengthsSent) {
    auto t = XdpTester::from_rules({"-p tcp -j DROP", "-p udp"});
    ASSERT_TRUE(t.ok());
    std::vector<Frame> tcp = {
        tcp_to(1),                                                         // 54
        tcp4("10.0.0.1", "10.0.0.2", 1, 2).payload_len(1000).build(),     // 1054
        tcp4("10.0.0.1", "10.0.0.2", 1, 2).pad_to(60).build(),             // trailer padding counts
        tcp4("10.0.0.1", "10.0.0.2", 1, 2).qinq(5, 6).build(),             // tags count
        tcp6("fd00::1", "fd00::2", 1, 2).hop_by_hop().payload_len(1).build(),
    };
    std::vector<Frame> udp = {
        udp_any(),
        udp4("10.0.0.1", "10.0.0.2", 1, 2).payload_len(1400).build(),
        udp6("fd00::1", "fd00::2", 1, 2).vlan(9).pad_to(128).build(),
    };
    uint64_t tcp_bytes = 0, udp_bytes = 0;
    for (const Frame& f : tcp) {
        EXPECT_EQ(t.run(f), XDP_DROP);
        tcp_bytes += f.size();
    }
    for (const Frame& f : udp) {
        EXPECT_EQ(t.run(f), XDP_PASS);
        udp_bytes += f.size();
    }
    EXPECT_EQ(tcp[0].size(), 54u);
    EXPECT_EQ(tcp[2].size(), 60u);
    EXPECT_EQ(t.rule_packets("INPUT", 1), tcp.size());
    EXPECT_EQ(t.rule_bytes("INPUT", 1), tcp_bytes);
    EXPECT_EQ(t.rule_packets("INPUT", 2), udp.size());
    EXPECT_EQ(t.rule_bytes("INPUT", 2), udp_bytes);
    EXPECT_EQ(t.policy_packets(), udp.size());
}

TEST_F(BpfChains, RulesThatCanNeverMatchKeepZeroCounters) {
    // A rule naming a missing interface compiles to a step that never matches; the rules
    // around it are unaffected.
    auto t = XdpTester::from_rules({"-i nosuch0 -j DROP", "-p tcp -j DROP", "-i nosuch0 -j ACCEPT"}, "DROP");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp_to(1)), XDP_DROP);
    EXPECT_EQ(t.run(udp_any()), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 0u);
    EXPECT_EQ(t.policy_packets(), 1u);
}

}  // namespace
}  // namespace xfw::test
