// -s / -d: IPv4 and IPv6 prefixes of every awkward length, netmask notation, negation, and the
// rule that an address of one family never matches a packet of the other.
#include "tests/bpf/bpf_fixture.hpp"

namespace xfw::test {
namespace {

class BpfAddresses : public BpfTest {};

PacketBuilder from4(const char* src) { return tcp4(src, "198.51.100.7", 40000, 80); }
PacketBuilder to4(const char* dst) { return udp4("198.51.100.7", dst, 40000, 53); }
PacketBuilder from6(const char* src) { return tcp6(src, "2001:db8:ffff::7", 40000, 80); }
PacketBuilder to6(const char* dst) { return udp6("2001:db8:ffff::7", dst, 40000, 53); }

TEST_F(BpfAddresses, Ipv4Host) {
    expect_rule_and_negation("-s 192.0.2.10", "! -s 192.0.2.10", {
        pos("exact address", from4("192.0.2.10")),
        neg("last bit differs", from4("192.0.2.11")),
        neg("top bit of last octet differs", from4("192.0.2.138")),
        neg("first octet differs", from4("193.0.2.10")),
        neg("address only as destination", tcp4("198.51.100.7", "192.0.2.10", 1, 2)),
        neither("IPv6 packet", from6("2001:db8::1")),
        neither("IPv6 with v4-mapped source", from6("::ffff:192.0.2.10")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash32Explicit) {
    expect_rule_and_negation("-d 203.0.113.255/32", "! -d 203.0.113.255/32", {
        pos("exact", to4("203.0.113.255")),
        neg("one below", to4("203.0.113.254")),
        neg("same address as source", udp4("203.0.113.255", "198.51.100.7", 1, 2)),
        neither("IPv6", to6("2001:db8::1")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash24) {
    expect_rule_and_negation("-s 192.0.2.0/24", "! -s 192.0.2.0/24", {
        pos("network address", from4("192.0.2.0")),
        pos("broadcast address", from4("192.0.2.255")),
        pos("inside", from4("192.0.2.77")),
        neg("next /24", from4("192.0.3.0")),
        neg("previous /24", from4("192.0.1.255")),
        neg("different first octet", from4("64.0.2.1")),
        neither("IPv6", from6("2001:db8::1")),
    });
}

TEST_F(BpfAddresses, Ipv4HostBitsInRuleAreMaskedOff) {
    // iptables stores address & mask: 10.1.2.3/8 is 10.0.0.0/8.
    expect_rule_and_negation("-d 10.1.2.3/8", "! -d 10.1.2.3/8", {
        pos("10.200.1.1", to4("10.200.1.1")),
        pos("10.0.0.0", to4("10.0.0.0")),
        pos("the written address", to4("10.1.2.3")),
        neg("11.1.2.3", to4("11.1.2.3")),
        neg("9.255.255.255", to4("9.255.255.255")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash0MatchesEveryIpv4PacketOnly) {
    // "! -s 0.0.0.0/0" is refused by the parser (it could never match).
    expect_rule("-s 0.0.0.0/0", {
        hit("0.0.0.0", from4("0.0.0.0")),
        hit("255.255.255.255", from4("255.255.255.255")),
        hit("udp", to4("10.0.0.1")),
        hit("icmp", icmp4("1.2.3.4", "5.6.7.8")),
        miss("IPv6 tcp", from6("2001:db8::1")),
        miss("IPv6 icmp", icmp6("fe80::1", "ff02::1")),
    });
    expect_rule("-d 0.0.0.0/0", {
        hit("tcp", from4("192.0.2.1")),
        miss("IPv6", to6("::")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash1) {
    expect_rule_and_negation("-s 128.0.0.0/1", "! -s 128.0.0.0/1", {
        pos("128.0.0.0", from4("128.0.0.0")),
        pos("255.255.255.255", from4("255.255.255.255")),
        pos("200.1.1.1", from4("200.1.1.1")),
        neg("127.255.255.255", from4("127.255.255.255")),
        neg("0.0.0.0", from4("0.0.0.0")),
        neither("IPv6 with high bit set", from6("ff02::1")),
    });
    expect_rule_and_negation("-d 0.0.0.0/1", "! -d 0.0.0.0/1", {
        pos("127.255.255.255", to4("127.255.255.255")),
        pos("0.0.0.1", to4("0.0.0.1")),
        neg("128.0.0.0", to4("128.0.0.0")),
        neither("IPv6", to6("::1")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash7) {
    // 10.0.0.0/7 = 10.0.0.0 - 11.255.255.255
    expect_rule_and_negation("-s 10.0.0.0/7", "! -s 10.0.0.0/7", {
        pos("10.0.0.0", from4("10.0.0.0")),
        pos("11.255.255.255", from4("11.255.255.255")),
        pos("11.0.0.1", from4("11.0.0.1")),
        neg("9.255.255.255", from4("9.255.255.255")),
        neg("12.0.0.0", from4("12.0.0.0")),
        neg("138.0.0.0 (top bit differs)", from4("138.0.0.0")),
    });
}

TEST_F(BpfAddresses, Ipv4Slash31) {
    expect_rule_and_negation("-d 192.0.2.4/31", "! -d 192.0.2.4/31", {
        pos(".4", to4("192.0.2.4")),
        pos(".5", to4("192.0.2.5")),
        neg(".3", to4("192.0.2.3")),
        neg(".6", to4("192.0.2.6")),
        neg(".132", to4("192.0.2.132")),
        neither("IPv6", to6("2001:db8::4")),
    });
}

TEST_F(BpfAddresses, Ipv4NetmaskNotation) {
    // 255.240.0.0 = /12: 172.16.0.0 - 172.31.255.255
    expect_rule_and_negation("-s 172.16.0.0/255.240.0.0", "! -s 172.16.0.0/255.240.0.0", {
        pos("172.16.0.0", from4("172.16.0.0")),
        pos("172.31.255.255", from4("172.31.255.255")),
        neg("172.32.0.0", from4("172.32.0.0")),
        neg("172.15.255.255", from4("172.15.255.255")),
        neither("IPv6", from6("2001:db8::1")),
    });
    expect_rule_and_negation("-d 198.51.100.128/255.255.255.128", "! -d 198.51.100.128/255.255.255.128", {
        pos(".128", to4("198.51.100.128")),
        pos(".255", to4("198.51.100.255")),
        neg(".127", to4("198.51.100.127")),
        neg(".0", to4("198.51.100.0")),
    });
}

TEST_F(BpfAddresses, SourceAndDestinationTogether) {
    expect_rule("-s 10.1.0.0/16 -d 10.2.0.0/16", {
        hit("both match", tcp4("10.1.9.9", "10.2.8.8", 1, 2)),
        miss("source only", tcp4("10.1.9.9", "10.3.8.8", 1, 2)),
        miss("destination only", tcp4("10.4.9.9", "10.2.8.8", 1, 2)),
        miss("swapped", tcp4("10.2.8.8", "10.1.9.9", 1, 2)),
    });
    expect_rule("-s 10.1.0.0/16 ! -d 10.2.0.0/16", {
        hit("source, other destination", tcp4("10.1.9.9", "10.3.8.8", 1, 2)),
        miss("source, excluded destination", tcp4("10.1.9.9", "10.2.8.8", 1, 2)),
        miss("other source", tcp4("10.9.9.9", "10.3.8.8", 1, 2)),
        miss("IPv6", tcp6("2001:db8::1", "2001:db8::2", 1, 2)),
    });
}

TEST_F(BpfAddresses, Ipv6Slash128DiffersInEveryWord) {
    expect_rule_and_negation("-s 2001:db8::1", "! -s 2001:db8::1", {
        pos("exact", from6("2001:db8::1")),
        neg("word 0 differs", from6("3001:db8::1")),
        neg("word 1 differs", from6("2001:db8:1::1")),
        neg("word 2 differs", from6("2001:db8::1:0:0:1")),
        neg("word 3 differs (high half)", from6("2001:db8::1:1")),
        neg("last bit differs", from6("2001:db8::")),
        neg("address only as destination", tcp6("2001:db8::2", "2001:db8::1", 1, 2)),
        neither("IPv4", from4("32.1.13.184")),
    });
    expect_rule_and_negation("-d fd00::2/128", "! -d fd00::2/128", {
        pos("exact", to6("fd00::2")),
        neg("::3", to6("fd00::3")),
        neither("IPv4", to4("10.0.0.2")),
    });
}

TEST_F(BpfAddresses, Ipv6Slash64) {
    expect_rule_and_negation("-d 2001:db8:aa:bb::/64", "! -d 2001:db8:aa:bb::/64", {
        pos("first", to6("2001:db8:aa:bb::")),
        pos("last", to6("2001:db8:aa:bb:ffff:ffff:ffff:ffff")),
        neg("next /64", to6("2001:db8:aa:bc::1")),
        neg("previous /64", to6("2001:db8:aa:ba:ffff:ffff:ffff:ffff")),
        neg("other /32", to6("2001:db9:aa:bb::1")),
        neither("IPv4", to4("10.0.0.1")),
    });
}

TEST_F(BpfAddresses, Ipv6Slash33) {
    // 2001:db8:8000::/33 = 2001:db8:8000:: - 2001:db8:ffff:ffff:...
    expect_rule_and_negation("-s 2001:db8:8000::/33", "! -s 2001:db8:8000::/33", {
        pos("first", from6("2001:db8:8000::")),
        pos("inside", from6("2001:db8:8000::1")),
        pos("last", from6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")),
        neg("just below", from6("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff")),
        neg("lower half of the /32", from6("2001:db8::1")),
        neg("next /32", from6("2001:db9::")),
        neither("IPv4", from4("32.1.13.184")),
    });
}

TEST_F(BpfAddresses, Ipv6OddPrefixes) {
    expect_rule_and_negation("-s 8000::/1", "! -s 8000::/1", {
        pos("ff02::1", from6("ff02::1")),
        pos("8000::", from6("8000::")),
        neg("7fff:...", from6("7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
        neg("::1", from6("::1")),
        neither("IPv4 with top bit set", from4("200.0.0.1")),
    });
    expect_rule_and_negation("-d 2001:db8::/127", "! -d 2001:db8::/127", {
        pos("::0", to6("2001:db8::")),
        pos("::1", to6("2001:db8::1")),
        neg("::2", to6("2001:db8::2")),
        neg("::8000:0", to6("2001:db8::8000:0")),
    });
    expect_rule_and_negation("-s fe80::/10", "! -s fe80::/10", {
        pos("fe80::1", from6("fe80::1")),
        pos("febf:ffff::1", from6("febf:ffff::1")),
        neg("fec0::1", from6("fec0::1")),
        neg("fe7f::1", from6("fe7f::1")),
    });
}

TEST_F(BpfAddresses, Ipv6NetmaskNotation) {
    expect_rule_and_negation("-s 2001:db8::/ffff:ffff::", "! -s 2001:db8::/ffff:ffff::", {
        pos("inside", from6("2001:db8:1234::1")),
        neg("outside", from6("2001:db9::1")),
        neither("IPv4", from4("10.0.0.1")),
    });
}

TEST_F(BpfAddresses, Ipv6Slash0MatchesEveryIpv6PacketOnly) {
    expect_rule("-s ::/0", {
        hit("tcp6", from6("2001:db8::1")),
        hit("unspecified", from6("::")),
        hit("icmp6", icmp6("fe80::1", "ff02::1", 135, 0)),
        miss("IPv4 tcp", from4("10.0.0.1")),
        miss("IPv4 icmp", icmp4("0.0.0.0", "0.0.0.0")),
    });
}

TEST_F(BpfAddresses, ExplicitFamilyRestrictsPortOnlyRule) {
    expect_rule("-4 -p tcp --dport 22", {
        hit("IPv4", tcp4("10.0.0.1", "10.0.0.2", 1000, 22)),
        miss("IPv6", tcp6("fd00::1", "fd00::2", 1000, 22)),
    });
    expect_rule("-6 -p tcp --dport 22", {
        hit("IPv6", tcp6("fd00::1", "fd00::2", 1000, 22)),
        miss("IPv4", tcp4("10.0.0.1", "10.0.0.2", 1000, 22)),
    });
    expect_rule("-6 -p udp", {
        hit("IPv6 udp", udp6("fd00::1", "fd00::2", 1, 2)),
        miss("IPv4 udp", udp4("10.0.0.1", "10.0.0.2", 1, 2)),
        miss("IPv6 tcp", tcp6("fd00::1", "fd00::2", 1, 2)),
    });
}

TEST_F(BpfAddresses, PortOnlyRulesMatchBothFamilies) {
    expect_rule_and_negation("-p tcp --dport 22", "-p tcp ! --dport 22", {
        pos("IPv4 ssh", tcp4("10.0.0.1", "10.0.0.2", 1000, 22)),
        pos("IPv6 ssh", tcp6("fd00::1", "fd00::2", 1000, 22)),
        neg("IPv4 other port", tcp4("10.0.0.1", "10.0.0.2", 1000, 23)),
        neg("IPv6 other port", tcp6("fd00::1", "fd00::2", 1000, 23)),
        neither("IPv4 udp 22", udp4("10.0.0.1", "10.0.0.2", 1000, 22)),
        neither("IPv6 udp 22", udp6("fd00::1", "fd00::2", 1000, 22)),
    });
    expect_rule("-p udp --sport 53", {
        hit("IPv4", udp4("10.0.0.1", "10.0.0.2", 53, 40000)),
        hit("IPv6", udp6("fd00::1", "fd00::2", 53, 40000)),
        miss("IPv6 port as destination", udp6("fd00::1", "fd00::2", 40000, 53)),
    });
}

TEST_F(BpfAddresses, AddressRulesOfBothFamiliesInOneChain) {
    auto t = XdpTester::from_rules({"-s 10.0.0.0/8 -j DROP", "-s fd00::/8 -j DROP",
                                    "! -s 10.0.0.0/8 -j ACCEPT", "! -s fd00::/8 -j ACCEPT"},
                                   "DROP");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.run(tcp4("10.1.1.1", "10.0.0.2", 1, 2).build()), XDP_DROP);
    EXPECT_EQ(t.run(tcp6("fd12::1", "fd00::2", 1, 2).build()), XDP_DROP);
    EXPECT_EQ(t.run(tcp4("11.1.1.1", "10.0.0.2", 1, 2).build()), XDP_PASS);
    EXPECT_EQ(t.run(tcp6("2001:db8::1", "fd00::2", 1, 2).build()), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 1u);  // the IPv6 packet skips the IPv4 rule
    EXPECT_EQ(t.rule_packets("INPUT", 4), 1u);
    EXPECT_EQ(t.policy_packets(), 0u);
}

}  // namespace
}  // namespace xfw::test
