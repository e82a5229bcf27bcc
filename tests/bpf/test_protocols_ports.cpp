// -p (names, numbers, all, negated) and the tcp/udp/multiport port matches: single ports,
// ranges, open ranges, lists, negation, and the family/protocol preconditions they carry.
#include "tests/bpf/bpf_fixture.hpp"

namespace xfw::test {
namespace {

class BpfProtocolsPorts : public BpfTest {};

PacketBuilder t4(uint16_t sport, uint16_t dport) { return tcp4("10.0.0.1", "10.0.0.2", sport, dport); }
PacketBuilder u4(uint16_t sport, uint16_t dport) { return udp4("10.0.0.1", "10.0.0.2", sport, dport); }
PacketBuilder t6(uint16_t sport, uint16_t dport) { return tcp6("fd00::1", "fd00::2", sport, dport); }
PacketBuilder u6(uint16_t sport, uint16_t dport) { return udp6("fd00::1", "fd00::2", sport, dport); }
PacketBuilder gre4() { PacketBuilder b; b.ipv4("10.0.0.1", "10.0.0.2").raw_l4(47, {0, 0, 0x08, 0}); return b; }
PacketBuilder gre6() { PacketBuilder b; b.ipv6("fd00::1", "fd00::2").raw_l4(47, {0, 0, 0x86, 0xdd}); return b; }

TEST_F(BpfProtocolsPorts, ProtocolTcp) {
    expect_rule_and_negation("-p tcp", "! -p tcp", {
        pos("tcp4", t4(1, 2)),
        pos("tcp6", t6(1, 2)),
        neg("udp4", u4(1, 2)),
        neg("udp6", u6(1, 2)),
        neg("icmp4", icmp4(8, 0)),
        neg("icmp6", icmp6(128, 0)),
        neg("gre4", gre4()),
        neg("gre6", gre6()),
    });
}

TEST_F(BpfProtocolsPorts, ProtocolUdpByNameAndNumber) {
    for (const char* spec : {"-p udp", "-p 17", "-p UDP"}) {
        expect_rule(spec, {
            hit("udp4", u4(1, 2)),
            hit("udp6", u6(1, 2)),
            miss("tcp4", t4(1, 2)),
            miss("tcp6", t6(1, 2)),
            miss("icmp4", icmp4(8, 0)),
        });
    }
    expect_rule("! -p 17", {
        miss("udp4", u4(1, 2)),
        hit("tcp6", t6(1, 2)),
        hit("icmp4", icmp4(8, 0)),
    });
}

PacketBuilder icmp_in_v6() {  // next header 1 inside IPv6 is not ICMP as iptables sees it
    PacketBuilder b;
    b.ipv6("fd00::1", "fd00::2").raw_l4(1, {8, 0, 0, 0, 0, 0, 0, 0});
    return b;
}
PacketBuilder icmp6_in_v4() {
    PacketBuilder b;
    b.ipv4("10.0.0.1", "10.0.0.2").raw_l4(58, {128, 0, 0, 0, 0, 0, 0, 0});
    return b;
}

TEST_F(BpfProtocolsPorts, ProtocolIcmpIsIpv4Only) {
    expect_rule("-p icmp", {
        hit("echo request", icmp4(8, 0)),
        hit("port unreachable", icmp4(3, 3)),
        miss("icmpv6", icmp6(128, 0)),
        miss("protocol 1 in IPv6", icmp_in_v6()),
        miss("tcp4", t4(1, 2)),
    });
    expect_rule("! -p icmp", {
        miss("echo request", icmp4(8, 0)),
        miss("port unreachable", icmp4(3, 3)),
        hit("icmpv6", icmp6(128, 0)),
        hit("tcp4", t4(1, 2)),
        hit("udp6", u6(1, 2)),
    });
}

TEST_F(BpfProtocolsPorts, ProtocolIcmpv6IsIpv6Only) {
    for (const char* spec : {"-p icmpv6", "-p ipv6-icmp", "-p 58"}) {
        expect_rule(spec, {
            hit("echo request", icmp6(128, 0)),
            hit("neighbour solicitation", icmp6("fe80::1", "ff02::1:ff00:2", 135, 0)),
            miss("icmp4", icmp4(8, 0)),
            miss("protocol 58 in IPv4", icmp6_in_v4()),
            miss("udp6", u6(1, 2)),
        });
    }
    expect_rule("! -p icmpv6", {
        miss("echo request", icmp6(128, 0)),
        hit("icmp4", icmp4(8, 0)),
        hit("tcp6", t6(1, 2)),
    });
}

// An IPv6 packet whose upper-layer protocol number is 1 (or an IPv4 one carrying 58): "-p icmp"
// is IPv4-only in xfw, so it does not match; "! -p icmp" applies to IPv6 as ip6tables would
// apply it, and ip6tables compares the number (checked with ip6tables-legacy: "! -p icmp" does
// not match such a packet, "! -p tcp" does). So neither form matches it.
TEST_F(BpfProtocolsPorts, NegatedIcmpProtocolComparesTheNumberInTheOtherFamily) {
    expect_rule("! -p icmp", {miss("protocol 1 in IPv6", icmp_in_v6()), hit("udp6", u6(1, 2))});
    expect_rule("! -p icmpv6", {miss("protocol 58 in IPv4", icmp6_in_v4()), hit("udp4", u4(1, 2))});
    expect_rule("! -p tcp", {hit("protocol 1 in IPv6", icmp_in_v6()), hit("protocol 58 in IPv4", icmp6_in_v4())});
}

TEST_F(BpfProtocolsPorts, ProtocolAllMatchesEveryIpPacket) {
    expect_rule("-p all", {
        hit("tcp4", t4(1, 2)),
        hit("udp6", u6(1, 2)),
        hit("icmp4", icmp4(8, 0)),
        hit("icmp6", icmp6(128, 0)),
        hit("gre4", gre4()),
        hit("no next header", PacketBuilder().ipv6("fd00::1", "fd00::2")),
    });
    // A non-IP frame never reaches the rules.
    auto t = XdpTester::from_rules({"-p all -j DROP"}, "DROP");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(arp_request("10.0.0.1", "10.0.0.2").build()), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.non_ip_packets(), 1u);
}

TEST_F(BpfProtocolsPorts, ProtocolNumber) {
    expect_rule_and_negation("-p 47", "! -p 47", {
        pos("gre4", gre4()),
        pos("gre6", gre6()),
        neg("tcp4", t4(1, 2)),
        neg("udp6", u6(1, 2)),
        neg("protocol 46", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(46)),
        neg("protocol 48", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(48)),
    });
    expect_rule_and_negation("-p 255", "! -p 255", {
        pos("protocol 255", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(255)),
        neg("protocol 254", PacketBuilder().ipv6("fd00::1", "fd00::2").raw_l4(254)),
    });
    expect_rule("-p esp", {
        hit("ESP over IPv4", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(50, {0, 0, 1, 0, 0, 0, 0, 1})),
        hit("ESP over IPv6", PacketBuilder().ipv6("fd00::1", "fd00::2").raw_l4(50, {0, 0, 1, 0, 0, 0, 0, 1})),
        miss("AH then TCP", PacketBuilder().ipv6("fd00::1", "fd00::2").ah(1, 1).tcp(1, 2)),
    });
}

TEST_F(BpfProtocolsPorts, SingleDestinationPort) {
    expect_rule_and_negation("-p tcp --dport 22", "-p tcp ! --dport 22", {
        pos("22", t4(40000, 22)),
        pos("22 over IPv6", t6(40000, 22)),
        neg("23", t4(40000, 23)),
        neg("21", t4(40000, 21)),
        neg("22 as source port", t4(22, 80)),
        neg("0", t4(40000, 0)),
        neg("65535", t4(40000, 65535)),
        neg("22 << 8 (byte order)", t4(40000, 22 << 8)),
        neither("udp 22", u4(40000, 22)),
        neither("icmp", icmp4(8, 0)),
    });
    expect_rule("-p tcp --dport ssh", {hit("22", t4(1, 22)), miss("23", t4(1, 23))});
}

TEST_F(BpfProtocolsPorts, SingleSourcePortUdp) {
    expect_rule_and_negation("-p udp --sport 53", "-p udp ! --sport 53", {
        pos("53", u4(53, 40000)),
        pos("53 over IPv6", u6(53, 40000)),
        neg("54", u4(54, 40000)),
        neg("53 as destination port", u4(40000, 53)),
        neither("tcp 53", t4(53, 40000)),
    });
}

TEST_F(BpfProtocolsPorts, SourceAndDestinationPortTogether) {
    expect_rule("-p tcp --sport 1000 --dport 2000", {
        hit("both", t4(1000, 2000)),
        miss("source only", t4(1000, 2001)),
        miss("destination only", t4(1001, 2000)),
        miss("swapped", t4(2000, 1000)),
    });
    expect_rule("-p udp --sport 1000 ! --dport 2000", {
        hit("source, other destination", u4(1000, 3000)),
        miss("source, excluded destination", u4(1000, 2000)),
        miss("other source", u4(1001, 3000)),
    });
}

TEST_F(BpfProtocolsPorts, PortRange) {
    expect_rule_and_negation("-p tcp --dport 1000:2000", "-p tcp ! --dport 1000:2000", {
        pos("first", t4(1, 1000)),
        pos("middle", t4(1, 1500)),
        pos("last", t4(1, 2000)),
        neg("below", t4(1, 999)),
        neg("above", t4(1, 2001)),
        neg("0", t4(1, 0)),
        neg("65535", t4(1, 65535)),
        neither("udp in range", u4(1, 1500)),
    });
    expect_rule_and_negation("-p udp --sport 5:5", "-p udp ! --sport 5:5", {
        pos("5", u6(5, 1)),
        neg("4", u6(4, 1)),
        neg("6", u6(6, 1)),
    });
}

TEST_F(BpfProtocolsPorts, OpenEndedRanges) {
    expect_rule_and_negation("-p tcp --dport :1023", "-p tcp ! --dport :1023", {
        pos("0", t4(1, 0)),
        pos("1023", t4(1, 1023)),
        pos("80", t6(1, 80)),
        neg("1024", t4(1, 1024)),
        neg("65535", t4(1, 65535)),
    });
    expect_rule_and_negation("-p udp --sport 1024:", "-p udp ! --sport 1024:", {
        pos("1024", u4(1024, 1)),
        pos("65535", u4(65535, 1)),
        neg("1023", u4(1023, 1)),
        neg("0", u4(0, 1)),
    });
    // :65535 and 0: are "any port": the rule still needs the protocol.
    expect_rule("-p udp --dport 0:", {hit("udp 7", u4(1, 7)), miss("tcp", t4(1, 7))});
}

TEST_F(BpfProtocolsPorts, MultiportDestinationList) {
    expect_rule_and_negation("-p tcp -m multiport --dports 22,80,8000:8080",
                             "-p tcp -m multiport ! --dports 22,80,8000:8080", {
        pos("22", t4(1, 22)),
        pos("80", t4(1, 80)),
        pos("8000", t4(1, 8000)),
        pos("8040", t4(1, 8040)),
        pos("8080", t6(1, 8080)),
        neg("21", t4(1, 21)),
        neg("23", t4(1, 23)),
        neg("79", t4(1, 79)),
        neg("81", t4(1, 81)),
        neg("7999", t4(1, 7999)),
        neg("8081", t4(1, 8081)),
        neg("80 as source port only", t4(80, 1)),
        neither("udp 80", u4(1, 80)),
    });
}

TEST_F(BpfProtocolsPorts, MultiportSourceList) {
    expect_rule_and_negation("-p udp -m multiport --sports 53,123,5000:5001",
                             "-p udp -m multiport ! --sports 53,123,5000:5001", {
        pos("53", u4(53, 9)),
        pos("123", u6(123, 9)),
        pos("5001", u4(5001, 9)),
        neg("124", u4(124, 9)),
        neg("5002", u4(5002, 9)),
        neg("53 as destination only", u4(9, 53)),
        neither("tcp 53", t4(53, 9)),
    });
}

TEST_F(BpfProtocolsPorts, MultiportEitherDirection) {
    expect_rule_and_negation("-p tcp -m multiport --ports 53,1000:1100",
                             "-p tcp -m multiport ! --ports 53,1000:1100", {
        pos("source 53", t4(53, 9)),
        pos("destination 53", t4(9, 53)),
        pos("destination in range", t4(9, 1050)),
        pos("source in range", t4(1100, 9)),
        pos("both", t4(53, 1000)),
        neg("neither", t4(9, 9)),
        neg("just outside", t4(999, 1101)),
        neither("udp 53", u4(53, 53)),
    });
}

TEST_F(BpfProtocolsPorts, TwoMultiportListsAreAnded) {
    expect_rule("-p tcp -m multiport --sports 1,2 -m multiport --dports 3,4", {
        hit("1 -> 4", t4(1, 4)),
        hit("2 -> 3", t4(2, 3)),
        miss("1 -> 5", t4(1, 5)),
        miss("5 -> 3", t4(5, 3)),
    });
}

}  // namespace
}  // namespace xfw::test
