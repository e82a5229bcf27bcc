// -i (names, wildcards, negation, missing interfaces) and -f (IPv4 and IPv6 fragments), and the
// rule that non-first fragments never match port, flag or ICMP-type tests.
//
// BPF_PROG_TEST_RUN without a context (how XdpTester runs frames) hands the program the receive
// queue of the calling network namespace's loopback device: ctx->ingress_ifindex is the
// loopback's ifindex (1). The tests below check that empirically, in the test's own namespace
// and in a scratch namespace that also has non-loopback interfaces to name.
#include "tests/bpf/bpf_fixture.hpp"

#include <net/if.h>
#include <unistd.h>

namespace xfw::test {
namespace {

class BpfInterfaces : public BpfTest {
protected:
    void SetUp() override {
        BpfTest::SetUp();
        if (IsSkipped()) return;
        ns_ = "xfwbpf" + std::to_string(::getpid());
        (void)run_command({"ip", "netns", "del", ns_});
        auto add = run_command({"ip", "netns", "add", ns_});
        ASSERT_TRUE(add.ok()) << add.describe();
        // Two existing, non-loopback interfaces in the namespace: xfwa0 and xfwb0.
        auto veth = run_command({"ip", "-n", ns_, "link", "add", "xfwa0", "type", "veth", "peer",
                                 "name", "xfwb0"});
        ASSERT_TRUE(veth.ok()) << veth.describe();
    }
    void TearDown() override {
        if (!ns_.empty()) (void)run_command({"ip", "netns", "del", ns_});
    }
    // Runs `fn` inside the scratch namespace (interface names resolve there, and test runs use
    // its loopback).
    void in_ns(const std::function<void()>& fn) {
        Status st = run_in_netns(ns_, fn);
        ASSERT_TRUE(st) << st.error().message;
    }
    std::string ns_;
};

PacketBuilder any4() { return tcp4("10.0.0.1", "10.0.0.2", 1000, 22); }
PacketBuilder any6() { return udp6("fd00::1", "fd00::2", 1000, 53); }

TEST_F(BpfInterfaces, TestRunIngressIsTheLoopbackOfTheCallingNamespace) {
    ASSERT_EQ(if_nametoindex("lo"), 1u);
    expect_rule("-i lo", {hit("IPv4", any4()), hit("IPv6", any6())});
    expect_rule("! -i lo", {miss("IPv4", any4()), miss("IPv6", any6())});
    in_ns([&] {
        EXPECT_EQ(if_nametoindex("lo"), 1u);
        EXPECT_NE(if_nametoindex("xfwa0"), 0u);
        expect_rule("-i lo", {hit("IPv4", any4()), hit("IPv6", any6())});
    });
}

TEST_F(BpfInterfaces, ExactName) {
    in_ns([&] {
        expect_rule("-i lo", {hit("IPv4", any4()), hit("IPv6", any6()), hit("icmp", icmp4(8, 0))});
        expect_rule("! -i lo", {miss("IPv4", any4()), miss("IPv6", any6())});
        expect_rule("-i xfwa0", {miss("IPv4", any4()), miss("IPv6", any6())});
        expect_rule("! -i xfwa0", {hit("IPv4", any4()), hit("IPv6", any6())});
    });
}

TEST_F(BpfInterfaces, Wildcard) {
    in_ns([&] {
        expect_rule("-i lo+", {hit("IPv4", any4()), hit("IPv6", any6())});
        expect_rule("-i l+", {hit("IPv4", any4())});
        expect_rule("! -i lo+", {miss("IPv4", any4()), miss("IPv6", any6())});
        expect_rule("-i xfw+", {miss("IPv4", any4()), miss("IPv6", any6())});  // xfwa0, xfwb0
        expect_rule("! -i xfw+", {hit("IPv4", any4()), hit("IPv6", any6())});
        expect_rule("-i +", {hit("every interface", any4())});
        expect_rule("-i lo0+", {miss("lo is not lo0...", any4())});
    });
}

TEST_F(BpfInterfaces, MissingInterfaceNeverMatches) {
    in_ns([&] {
        expect_rule("-i nosuch0", {miss("IPv4", any4()), miss("IPv6", any6())});
        expect_rule("-i nosuch+", {miss("IPv4", any4())});
        // The negation of "never" is "always", as in iptables.
        expect_rule("! -i nosuch0", {hit("IPv4", any4()), hit("IPv6", any6())});
        // "lo" is not a wildcard: "l" names no interface.
        expect_rule("-i l", {miss("IPv4", any4())});
    });
}

TEST_F(BpfInterfaces, InterfaceCombinedWithOtherTests) {
    in_ns([&] {
        expect_rule("-i lo -p tcp --dport 22", {
            hit("tcp 22", any4()),
            miss("tcp 23", tcp4("10.0.0.1", "10.0.0.2", 1000, 23)),
            miss("udp", any6()),
        });
        expect_rule("-i xfwa0 -p tcp --dport 22", {miss("tcp 22", any4())});
    });
}

class BpfFragments : public BpfTest {};

// Body bytes of a TCP header with sport 40000, dport 22, SYN: what a non-first fragment would
// carry if the data plane (wrongly) looked at it as an L4 header.
const std::vector<uint8_t> kTcpLookingBytes = {0x9c, 0x40, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0,
                                               0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0};
const std::vector<uint8_t> kUdpLookingBytes = {0x9c, 0x40, 0x00, 0x35, 0x00, 0x10, 0, 0};

PacketBuilder v4_nonfirst(uint8_t proto = 6, bool more = true, uint16_t offset = 185) {
    PacketBuilder b;
    b.ipv4("10.0.0.1", "10.0.0.2").ip_id(77).more_fragments(more).frag_offset(offset).raw_l4(
        proto, proto == 17 ? kUdpLookingBytes : kTcpLookingBytes);
    return b;
}
PacketBuilder v4_first_tcp() {
    PacketBuilder b;
    b.ipv4("10.0.0.1", "10.0.0.2").ip_id(77).more_fragments().tcp(40000, 22).payload_len(24);
    return b;
}
PacketBuilder v6_nonfirst(uint8_t proto = 6, bool more = true, uint16_t offset = 10) {
    PacketBuilder b;
    b.ipv6("fd00::1", "fd00::2").fragment(offset, more, 0x1234).raw_l4(
        proto, proto == 17 ? kUdpLookingBytes : kTcpLookingBytes);
    return b;
}
PacketBuilder v6_first_tcp(bool more = true) {
    PacketBuilder b;
    b.ipv6("fd00::1", "fd00::2").fragment(0, more, 0x1234).tcp(40000, 22).payload_len(24);
    return b;
}

TEST_F(BpfFragments, FragmentFlag) {
    expect_rule_and_negation("-f", "! -f", {
        pos("IPv4 non-first fragment", v4_nonfirst()),
        pos("IPv4 last fragment (MF clear)", v4_nonfirst(6, false)),
        pos("IPv4 offset 1", v4_nonfirst(6, true, 1)),
        pos("IPv4 largest offset", v4_nonfirst(17, false, 8191)),
        pos("IPv6 non-first fragment", v6_nonfirst()),
        pos("IPv6 last fragment", v6_nonfirst(17, false)),
        pos("IPv6 non-first fragment after hop-by-hop",
            PacketBuilder().ipv6("fd00::1", "fd00::2").hop_by_hop().fragment(3, true, 1).raw_l4(6, kTcpLookingBytes)),
        neg("IPv4 first fragment (MF set, offset 0)", v4_first_tcp()),
        neg("IPv4 unfragmented", tcp4("10.0.0.1", "10.0.0.2", 1, 22)),
        neg("IPv4 unfragmented, DF", tcp4("10.0.0.1", "10.0.0.2", 1, 22).dont_fragment()),
        neg("IPv6 first fragment", v6_first_tcp()),
        neg("IPv6 atomic fragment (offset 0, M clear)", v6_first_tcp(false)),
        neg("IPv6 unfragmented", tcp6("fd00::1", "fd00::2", 1, 22)),
    });
}

TEST_F(BpfFragments, FragmentFlagWithOtherTests) {
    expect_rule("-f -p tcp", {
        hit("tcp non-first fragment", v4_nonfirst(6)),
        hit("tcp IPv6 non-first fragment", v6_nonfirst(6)),
        miss("udp non-first fragment", v4_nonfirst(17)),
        miss("tcp first fragment", v4_first_tcp()),
    });
    expect_rule("-f -s 10.0.0.0/8", {
        hit("IPv4 non-first fragment", v4_nonfirst()),
        miss("IPv6 non-first fragment", v6_nonfirst()),
        miss("unfragmented", tcp4("10.0.0.1", "10.0.0.2", 1, 22)),
    });
    expect_rule("! -f -p tcp --dport 22", {
        hit("first fragment", v4_first_tcp()),
        hit("unfragmented", tcp4("10.0.0.1", "10.0.0.2", 1, 22)),
        miss("non-first fragment", v4_nonfirst()),
    });
}

TEST_F(BpfFragments, NonFirstFragmentsNeverMatchPortRules) {
    // Each rule below would match kTcpLookingBytes / kUdpLookingBytes read as a header, or their
    // negation would: none may match a non-first fragment (xt_tcpudp/xt_multiport agree).
    for (const char* spec : {"-p tcp --dport 22", "-p tcp ! --dport 22", "-p tcp --sport 40000",
                             "-p tcp ! --sport 40000", "-p tcp --dport 0:65534", "-p tcp ! --dport 1:65535",
                             "-p tcp -m multiport --dports 22,80", "-p tcp -m multiport ! --dports 22,80",
                             "-p tcp -m multiport --ports 22", "-p tcp -m multiport ! --ports 22",
                             "-p tcp --syn", "-p tcp ! --syn", "-p tcp --tcp-flags ALL NONE",
                             "-p tcp ! --tcp-flags ALL NONE"}) {
        expect_rule(spec, {
            miss("IPv4 non-first fragment", v4_nonfirst(6)),
            miss("IPv4 last fragment", v4_nonfirst(6, false)),
            miss("IPv6 non-first fragment", v6_nonfirst(6)),
            miss("IPv6 last fragment", v6_nonfirst(6, false)),
        });
    }
    for (const char* spec : {"-p udp --dport 53", "-p udp ! --dport 53", "-p udp --sport 40000",
                             "-p udp -m multiport ! --sports 1"}) {
        expect_rule(spec, {
            miss("IPv4 non-first fragment", v4_nonfirst(17)),
            miss("IPv6 non-first fragment", v6_nonfirst(17)),
        });
    }
    // The protocol itself is known for non-first fragments.
    expect_rule("-p tcp", {hit("IPv4", v4_nonfirst(6)), hit("IPv6", v6_nonfirst(6)), miss("udp", v4_nonfirst(17))});
    expect_rule("-p udp", {hit("IPv4", v4_nonfirst(17)), hit("IPv6", v6_nonfirst(17))});
}

TEST_F(BpfFragments, FirstFragmentsCarryPorts) {
    expect_rule_and_negation("-p tcp --dport 22", "-p tcp ! --dport 22", {
        pos("IPv4 first fragment to 22", v4_first_tcp()),
        pos("IPv6 first fragment to 22", v6_first_tcp()),
        pos("IPv6 atomic fragment to 22", v6_first_tcp(false)),
        neg("IPv4 first fragment to 23",
            PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").more_fragments().tcp(40000, 23).payload_len(8)),
        neg("IPv6 first fragment to 23",
            PacketBuilder().ipv6("fd00::1", "fd00::2").fragment(0, true, 1).tcp(40000, 23).payload_len(8)),
        neither("IPv4 non-first", v4_nonfirst()),
        neither("IPv6 non-first", v6_nonfirst()),
    });
}

}  // namespace
}  // namespace xfw::test
