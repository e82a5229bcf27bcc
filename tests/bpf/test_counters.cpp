// Counter bookkeeping over batches of mixed traffic: every packet ends in exactly one of a
// terminal rule, the policy or the non-IP slot; byte counters add up the frame lengths.
#include "tests/bpf/bpf_fixture.hpp"

#include <map>
#include <random>

namespace xfw::test {
namespace {

class BpfCounters : public BpfTest {};

constexpr const char* kRuleset =
    "*filter\n:INPUT DROP [0:0]\n:TCPIN - [0:0]\n"
    "-A INPUT -s 10.66.0.0/16 -j DROP\n"                    // I1 terminal
    "-A INPUT -p tcp -j TCPIN\n"                            // I2 jump
    "-A INPUT -p udp --dport 53 -j ACCEPT\n"                // I3 terminal
    "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT\n" // I4 terminal
    "-A INPUT -p icmpv6 -j ACCEPT\n"                        // I5 terminal
    "-A INPUT -f -j DROP\n"                                 // I6 terminal
    "-A INPUT -m comment --comment seen\n"                  // I7 count only
    "-A TCPIN -p tcp --syn --dport 22 -j ACCEPT\n"          // T1 terminal
    "-A TCPIN -p tcp --dport 80 -j ACCEPT\n"                // T2 terminal
    "-A TCPIN -p tcp --dport 25 -j RETURN\n"                // T3 return
    "-A TCPIN -p tcp --dport 23 -j DROP\n"                  // T4 terminal
    "COMMIT\n";

struct RuleRef {
    const char* chain;
    size_t n;
};
const std::map<std::string, RuleRef> kRuleRefs = {
    {"I1", {"INPUT", 1}}, {"I2", {"INPUT", 2}}, {"I3", {"INPUT", 3}}, {"I4", {"INPUT", 4}},
    {"I5", {"INPUT", 5}}, {"I6", {"INPUT", 6}}, {"I7", {"INPUT", 7}}, {"T1", {"TCPIN", 1}},
    {"T2", {"TCPIN", 2}}, {"T3", {"TCPIN", 3}}, {"T4", {"TCPIN", 4}},
};
const std::vector<std::string> kTerminal = {"I1", "I3", "I4", "I5", "I6", "T1", "T2", "T4"};

struct Sent {
    std::string what;
    Frame frame;
    std::string ends;                  // a terminal rule, "policy" or "non-IP"
    std::vector<std::string> passes;   // non-terminal rules that count it on the way
    bool error = false;
};

std::vector<Sent> mixed_batch() {
    using namespace tcpflag;
    PacketBuilder frag4, frag6;
    frag4.ipv4("10.0.0.1", "10.0.0.2").frag_offset(100).raw_l4(6, {0, 22, 0, 22});
    frag6.ipv6("fd00::1", "fd00::2").fragment(100, true, 3).raw_l4(17, {0, 53, 0, 53});
    return {
        {"arp", arp_request("10.0.0.1", "10.0.0.2").build(), "non-IP", {}},
        {"ssh syn", tcp4("10.0.0.1", "10.0.0.2", 40000, 22).build(), "T1", {"I2"}},
        {"ssh ack v6", tcp6("fd00::1", "fd00::2", 40000, 22, kAck).payload_len(100).build(), "policy", {"I2", "I7"}},
        {"http", tcp4("10.0.0.1", "10.0.0.2", 40000, 80, kAck).payload_len(512).build(), "T2", {"I2"}},
        {"smtp", tcp4("10.0.0.1", "10.0.0.2", 40000, 25).build(), "policy", {"I2", "T3", "I7"}},
        {"telnet, tagged", tcp4("10.0.0.1", "10.0.0.2", 40000, 23).vlan(10).build(), "T4", {"I2"}},
        {"blocked source", tcp4("10.66.1.1", "10.0.0.2", 40000, 22).build(), "I1", {}},
        {"dns", udp4("10.0.0.1", "10.0.0.2", 40000, 53).payload_len(40).build(), "I3", {}},
        {"dns v6 qinq", udp6("fd00::1", "fd00::2", 40000, 53).qinq(1, 2).build(), "I3", {}},
        {"udp 54", udp4("10.0.0.1", "10.0.0.2", 40000, 54).build(), "policy", {"I7"}},
        {"ping", icmp4(8, 0).payload_len(56).build(), "I4", {}},
        {"pong", icmp4(0, 0).build(), "policy", {"I7"}},
        {"icmpv6", icmp6(135, 0).build(), "I5", {}},
        {"tcp non-first fragment", frag4.build(), "I6", {"I2"}},
        {"udp v6 non-first fragment", frag6.build(), "I6", {}},
        {"bad IHL", tcp4("10.66.1.1", "10.0.0.2", 1, 22).ipv4_ihl(3).build(), "policy", {"I7"}, true},
        {"tcp header cut", tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(30).build(), "policy", {"I2", "I7"}, true},
        {"lldp", PacketBuilder().raw_l3(0x88cc, {2, 7, 4, 0, 0, 0, 0, 0, 1}).build(), "non-IP", {}},
        {"gre", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(47, {0, 0, 8, 0}).build(), "policy", {"I7"}},
        {"blocked source, big", udp4("10.66.0.9", "10.0.0.2", 1, 53).payload_len(1200).build(), "I1", {}},
        {"ssh syn again", tcp4("10.0.0.7", "10.0.0.2", 40001, 22).build(), "T1", {"I2"}},
    };
}

uint32_t expected_verdict(const std::string& ends) {
    if (ends == "non-IP" || ends == "I3" || ends == "I4" || ends == "I5" || ends == "T1" || ends == "T2")
        return XDP_PASS;
    return XDP_DROP;  // DROP rules and the DROP policy
}

TEST_F(BpfCounters, MixedBatchAddsUp) {
    auto t = XdpTester::from_restore(kRuleset);
    ASSERT_TRUE(t.ok());
    const std::vector<Sent> batch = mixed_batch();
    std::map<std::string, uint64_t> packets, bytes;
    uint64_t errors = 0;
    for (const Sent& s : batch) {
        SCOPED_TRACE(s.what);
        EXPECT_EQ(t.run(s.frame), expected_verdict(s.ends));
        ++packets[s.ends];
        bytes[s.ends] += s.frame.size();
        for (const std::string& r : s.passes) {
            ++packets[r];
            bytes[r] += s.frame.size();
        }
        if (s.error) ++errors;
    }
    uint64_t terminal_packets = 0;
    for (const auto& [name, ref] : kRuleRefs) {
        EXPECT_EQ(t.rule_packets(ref.chain, ref.n), packets[name]) << name;
        EXPECT_EQ(t.rule_bytes(ref.chain, ref.n), bytes[name]) << name;
    }
    for (const std::string& name : kTerminal) terminal_packets += t.rule_packets(kRuleRefs.at(name).chain, kRuleRefs.at(name).n);
    EXPECT_EQ(t.policy_packets(), packets["policy"]);
    EXPECT_EQ(t.non_ip_packets(), packets["non-IP"]);
    EXPECT_EQ(t.error_packets(), errors);
    EXPECT_EQ(terminal_packets + t.policy_packets() + t.non_ip_packets(), batch.size());
}

TEST_F(BpfCounters, CountersAccumulateOverRepeatedBatches) {
    auto t = XdpTester::from_restore(kRuleset);
    ASSERT_TRUE(t.ok());
    const std::vector<Sent> batch = mixed_batch();
    // A fresh program starts from zero.
    for (const auto& [name, ref] : kRuleRefs) EXPECT_EQ(t.rule_packets(ref.chain, ref.n), 0u) << name;
    EXPECT_EQ(t.policy_packets(), 0u);
    EXPECT_EQ(t.error_packets(), 0u);
    EXPECT_EQ(t.non_ip_packets(), 0u);
    constexpr int kRounds = 3;
    for (int round = 0; round < kRounds; ++round)
        for (const Sent& s : batch) EXPECT_EQ(t.run(s.frame), expected_verdict(s.ends)) << s.what;
    uint64_t terminal = 0, total_bytes_terminal = 0, expected_bytes_terminal = 0;
    for (const std::string& name : kTerminal) {
        terminal += t.rule_packets(kRuleRefs.at(name).chain, kRuleRefs.at(name).n);
        total_bytes_terminal += t.rule_bytes(kRuleRefs.at(name).chain, kRuleRefs.at(name).n);
    }
    for (const Sent& s : batch)
        if (s.ends != "policy" && s.ends != "non-IP") expected_bytes_terminal += kRounds * s.frame.size();
    EXPECT_EQ(terminal + t.policy_packets() + t.non_ip_packets(), kRounds * batch.size());
    EXPECT_EQ(total_bytes_terminal, expected_bytes_terminal);
    EXPECT_EQ(t.rule_packets("INPUT", 2), kRounds * 8u);  // the jump
    EXPECT_EQ(t.error_packets(), kRounds * 2u);
}

// Pseudo-random traffic (fixed seed) against a ruleset whose rules all have a target: with
// policy DROP, every PASS is an ACCEPT rule or a non-IP frame, every DROP a DROP rule or the
// policy, and the byte counters of the rules add up to the frames they ended.
TEST_F(BpfCounters, RandomTrafficIsConserved) {
    const std::vector<std::string> rules = {
        "-s 10.0.0.0/25 -p tcp --dport 1000:1999 -j ACCEPT",  // 1
        "-p udp -m multiport --dports 53,123,500:600 -j ACCEPT",  // 2
        "-d fd00::/120 -p tcp ! --syn -j DROP",                 // 3
        "-p tcp -m multiport --ports 80,443 -j ACCEPT",         // 4
        "-f -j DROP",                                           // 5
        "-p icmp ! --icmp-type 8 -j DROP",                      // 6
        "-p icmpv6 --icmpv6-type 128 -j ACCEPT",                // 7
        "! -s 10.0.0.0/24 -p udp -j DROP",                      // 8
        "-p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT",         // 9
    };
    const std::vector<bool> accepts = {true, true, false, true, false, false, true, false, true};
    auto t = XdpTester::from_rules(rules, "DROP");
    ASSERT_TRUE(t.ok());
    std::mt19937 rng(20240501);
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    uint64_t pass = 0, drop = 0, non_ip = 0, ip_pass_bytes = 0, ip_drop_bytes = 0, sent = 0;
    for (int i = 0; i < 600; ++i) {
        PacketBuilder b;
        const bool v6 = pick(2) == 1;
        const std::string src = v6 ? "fd00::" + std::to_string(pick(300)) : "10.0." + std::to_string(pick(3)) + "." + std::to_string(pick(256));
        const std::string dst = v6 ? "fd00::" + std::to_string(pick(300)) : "10.0.1." + std::to_string(pick(256));
        if (v6) b.ipv6(src, dst); else b.ipv4(src, dst);
        const uint16_t ports[] = {22, 53, 80, 123, 443, 550, 999, 1000, 1500, 1999, 2000, 65535};
        const uint16_t sport = ports[pick(12)], dport = ports[pick(12)];
        bool is_ip = true;
        switch (pick(7)) {
            case 0: case 1: b.tcp(sport, dport, static_cast<uint8_t>(pick(64))); break;
            case 2: b.udp(sport, dport); break;
            case 3: if (v6) b.icmp6(static_cast<uint8_t>(127 + pick(3)), 0); else b.icmp(static_cast<uint8_t>(pick(10)), 0); break;
            case 4:
                if (v6) b.fragment(static_cast<uint16_t>(1 + pick(50)), true, 1).raw_l4(6, {0, 80, 0, 80});
                else b.frag_offset(static_cast<uint16_t>(1 + pick(50))).raw_l4(17, {0, 53, 0, 53});
                break;
            case 5: b.raw_l4(47, {0, 0, 8, 0}); break;
            default: b = arp_request("10.0.0.1", "10.0.0.2"); is_ip = false; break;
        }
        if (pick(4) == 0) b.vlan(static_cast<uint16_t>(pick(4095)));
        b.payload_len(pick(200));
        const Frame f = b.build();
        const uint32_t verdict = t.run(f);
        ++sent;
        ASSERT_TRUE(verdict == XDP_PASS || verdict == XDP_DROP) << verdict;
        if (!is_ip) {
            EXPECT_EQ(verdict, XDP_PASS);
            ++non_ip;
        }
        if (verdict == XDP_PASS) {
            ++pass;
            if (is_ip) ip_pass_bytes += f.size();
        } else {
            ++drop;
            if (is_ip) ip_drop_bytes += f.size();
        }
    }
    uint64_t accepted = 0, accepted_bytes = 0, dropped = 0, dropped_bytes = 0;
    for (size_t r = 1; r <= rules.size(); ++r) {
        (accepts[r - 1] ? accepted : dropped) += t.rule_packets("INPUT", r);
        (accepts[r - 1] ? accepted_bytes : dropped_bytes) += t.rule_bytes("INPUT", r);
        EXPECT_GT(t.rule_packets("INPUT", r), 0u) << "rule " << r << " was never exercised";
    }
    EXPECT_EQ(t.non_ip_packets(), non_ip);
    EXPECT_EQ(accepted + t.non_ip_packets(), pass);
    EXPECT_EQ(dropped + t.policy_packets(), drop);
    EXPECT_EQ(accepted + dropped + t.policy_packets() + t.non_ip_packets(), sent);
    EXPECT_EQ(accepted_bytes, ip_pass_bytes);
    EXPECT_LE(dropped_bytes, ip_drop_bytes);  // the rest is the policy's
    EXPECT_GT(t.policy_packets(), 0u);
    EXPECT_EQ(t.error_packets(), 0u);
}

}  // namespace
}  // namespace xfw::test
