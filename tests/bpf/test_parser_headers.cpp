// The parser prologue: VLAN tags, IPv4 options, IPv6 extension headers, and what happens to
// truncated and malformed packets (error counter, which rules can still match, policy) and to
// non-IP frames.
#include "tests/bpf/bpf_fixture.hpp"

#include <set>

namespace xfw::test {
namespace {

class BpfParser : public BpfTest {};

// ---- VLAN ---------------------------------------------------------------------------------

struct Encap {
    const char* name;
    std::vector<std::pair<uint16_t, uint16_t>> tags;  // tpid, vid; outermost first
};
const Encap kEncaps[] = {
    {"untagged", {}},
    {"802.1Q", {{ethertype::kVlan, 100}}},
    {"802.1ad single tag", {{ethertype::kQinQ, 100}}},
    {"802.1ad outer + 802.1Q inner", {{ethertype::kQinQ, 100}, {ethertype::kVlan, 200}}},
    {"802.1Q + 802.1Q", {{ethertype::kVlan, 100}, {ethertype::kVlan, 4095}}},
};

PacketBuilder tagged(PacketBuilder b, const Encap& e) {
    for (auto [tpid, vid] : e.tags) b.vlan(vid, 3, tpid);
    return b;
}

TEST_F(BpfParser, VlanTaggedPacketsMatchLikeUntaggedOnes) {
    for (const Encap& e : kEncaps) {
        SCOPED_TRACE(e.name);
        expect_rule("-s 10.0.0.1 -p tcp --dport 22", {
            hit("IPv4 tcp 22", tagged(tcp4("10.0.0.1", "10.0.0.2", 1000, 22), e)),
            miss("IPv4 tcp 23", tagged(tcp4("10.0.0.1", "10.0.0.2", 1000, 23), e)),
            miss("IPv4 other source", tagged(tcp4("10.0.0.3", "10.0.0.2", 1000, 22), e)),
            miss("IPv6 tcp 22", tagged(tcp6("fd00::1", "fd00::2", 1000, 22), e)),
        });
        expect_rule("-d fd00::2 -p udp --sport 53", {
            hit("IPv6 udp", tagged(udp6("fd00::1", "fd00::2", 53, 1000), e)),
            miss("IPv6 udp other port", tagged(udp6("fd00::1", "fd00::2", 54, 1000), e)),
            miss("IPv6 other destination", tagged(udp6("fd00::1", "fd00::3", 53, 1000), e)),
        });
        expect_rule("-p icmp --icmp-type 8", {
            hit("echo request", tagged(icmp4(8, 0), e)),
            miss("echo reply", tagged(icmp4(0, 0), e)),
        });
        expect_rule("-p icmpv6 ! --icmpv6-type 128", {
            hit("echo reply", tagged(icmp6(129, 0), e)),
            miss("echo request", tagged(icmp6(128, 0), e)),
        });
        expect_rule("-f", {
            hit("non-first fragment",
                tagged(PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").frag_offset(10).raw_l4(6, {1, 2, 3, 4}), e)),
            miss("unfragmented", tagged(tcp4("10.0.0.1", "10.0.0.2", 1000, 22), e)),
        });
    }
}

TEST_F(BpfParser, ThirdVlanTagIsMalformed) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n"
        "-A INPUT -s 10.0.0.1\n"
        "-A INPUT ! -s 10.0.0.1\n"
        "-A INPUT -p tcp\n"
        "-A INPUT ! -p tcp\n"
        "-A INPUT -p tcp --dport 22 -j DROP\n"
        "-A INPUT -p tcp ! --dport 22 -j DROP\n"
        "-A INPUT ! -f\n"
        "-A INPUT -f\n"
        "-A INPUT -m comment --comment \"needs nothing\"\n"
        "COMMIT\n");
    ASSERT_TRUE(t.ok());
    std::vector<Frame> frames = {
        tcp4("10.0.0.1", "10.0.0.2", 1000, 22).vlan(1).vlan(2).vlan(3).build(),
        tcp4("10.0.0.1", "10.0.0.2", 1000, 22).qinq(1, 2).vlan(3).build(),
        tcp6("fd00::1", "fd00::2", 1000, 22).vlan(1, 0, ethertype::kQinQ).vlan(2, 0, ethertype::kQinQ)
            .vlan(3, 0, ethertype::kQinQ).build(),
        // Not passed unfiltered as "non-IP" either.
        arp_request("10.0.0.1", "10.0.0.2").vlan(1).vlan(2).vlan(3).build(),
    };
    for (size_t i = 0; i < frames.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + "\n" + hex_dump(frames[i]));
        EXPECT_EQ(t.run(frames[i]), XDP_PASS);  // policy ACCEPT
        EXPECT_EQ(t.error_packets(), i + 1);
        EXPECT_EQ(t.policy_packets(), i + 1);
    }
    for (size_t r = 1; r <= 8; ++r) EXPECT_EQ(t.rule_packets("INPUT", r), 0u) << "rule " << r;
    EXPECT_EQ(t.rule_packets("INPUT", 9), frames.size());
    EXPECT_EQ(t.non_ip_packets(), 0u);
    // Two tags are fine.
    EXPECT_EQ(t.run(tcp4("10.0.0.1", "10.0.0.2", 1000, 22).qinq(1, 2).build()), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 5), 1u);
    EXPECT_EQ(t.error_packets(), frames.size());
}

// ---- IPv4 options -------------------------------------------------------------------------

TEST_F(BpfParser, Ipv4OptionsOfEveryLength) {
    std::vector<Probe> tcp_probes, udp_probes, icmp_probes;
    for (uint8_t ihl = 6; ihl <= 15; ++ihl) {
        std::vector<uint8_t> nops(static_cast<size_t>(ihl - 5) * 4, 0x01);  // NOP options
        const std::string tag = "IHL " + std::to_string(ihl);
        auto layout = tcp4("10.0.0.1", "10.0.0.2", 1234, 22).ipv4_options(nops).layout();
        ASSERT_EQ(layout.l4_offset - layout.l3_offset, ihl * 4u);
        tcp_probes.push_back(hit(tag, tcp4("10.0.0.1", "10.0.0.2", 1234, 22).ipv4_options(nops)));
        tcp_probes.push_back(miss(tag + " dport 23", tcp4("10.0.0.1", "10.0.0.2", 1234, 23).ipv4_options(nops)));
        tcp_probes.push_back(miss(tag + " sport 1235", tcp4("10.0.0.1", "10.0.0.2", 1235, 22).ipv4_options(nops)));
        udp_probes.push_back(hit(tag, udp4("10.0.0.1", "10.0.0.2", 5353, 53).ipv4_options(nops)));
        udp_probes.push_back(miss(tag + " dport 54", udp4("10.0.0.1", "10.0.0.2", 5353, 54).ipv4_options(nops)));
        icmp_probes.push_back(hit(tag, icmp4(3, 1).ipv4_options(nops)));
        icmp_probes.push_back(miss(tag + " 3/0", icmp4(3, 0).ipv4_options(nops)));
    }
    expect_rule("-p tcp --sport 1234 --dport 22", tcp_probes);
    expect_rule("-p udp -m multiport --sports 5353 --dport 53", udp_probes);
    expect_rule("-p icmp --icmp-type 3/1", icmp_probes);
    // Real options: router alert; record route with room for 9 addresses (IHL 15).
    std::vector<uint8_t> rr = {7, 39, 4};
    rr.resize(39, 0);
    expect_rule("-p tcp --syn --dport 22", {
        hit("router alert", tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_options({0x94, 0x04, 0, 0})),
        hit("record route", tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_options(rr)),
        miss("record route, ACK", tcp4("10.0.0.1", "10.0.0.2", 1, 22, tcpflag::kAck).ipv4_options(rr)),
    });
}

// ---- IPv6 extension headers ---------------------------------------------------------------

using Ext = std::function<void(PacketBuilder&)>;
struct NamedExt {
    const char* name;
    Ext add;
};
const std::vector<NamedExt>& ext_headers() {
    static const std::vector<NamedExt> list = {
        {"hop-by-hop", [](PacketBuilder& b) { b.hop_by_hop(); }},
        {"hop-by-hop, 32 bytes", [](PacketBuilder& b) {
             std::vector<uint8_t> padn(30, 0);  // one PadN option filling the header
             padn[0] = 0x01;
             padn[1] = 28;
             b.hop_by_hop(padn);
         }},
        {"routing (SRH, 2 segments)", [](PacketBuilder& b) { b.routing(4, 0, {"fd00::2", "fd00::9"}); }},
        {"routing (type 2)", [](PacketBuilder& b) { b.routing(2, 0, {"fd00::2"}); }},
        {"destination options", [](PacketBuilder& b) { b.dest_opts(); }},
        {"AH", [](PacketBuilder& b) { b.ah(0x100, 1); }},
        {"AH, 24-byte ICV", [](PacketBuilder& b) { b.ah(0x100, 1, 24); }},
        {"first fragment", [](PacketBuilder& b) { b.fragment(0, true, 42); }},
    };
    return list;
}

TEST_F(BpfParser, Ipv6ExtensionHeadersBeforeTheUpperLayer) {
    std::vector<Probe> tcp, udp, icmp, proto;
    for (const NamedExt& x : ext_headers()) {
        auto with = [&] {
            PacketBuilder out;
            out.ipv6("fd00::1", "fd00::2");
            x.add(out);
            return out;
        };
        std::string n = x.name;
        tcp.push_back(hit(n, with().tcp(1000, 22)));
        tcp.push_back(miss(n + ", dport 23", with().tcp(1000, 23)));
        tcp.push_back(miss(n + ", udp 22", with().udp(1000, 22)));
        udp.push_back(hit(n, with().udp(53, 1000)));
        udp.push_back(miss(n + ", sport 54", with().udp(54, 1000)));
        icmp.push_back(hit(n, with().icmp6(128, 0)));
        icmp.push_back(miss(n + ", echo reply", with().icmp6(129, 0)));
        proto.push_back(miss(n + ", tcp", with().tcp(1000, 22)));
        proto.push_back(hit(n + ", udp", with().udp(1000, 22)));
        proto.push_back(hit(n + ", no next header", with()));
    }
    expect_rule("-p tcp --dport 22", tcp);
    expect_rule("-p udp --sport 53", udp);
    expect_rule("-p icmpv6 --icmpv6-type echo-request", icmp);
    expect_rule("! -p tcp", proto);
}

TEST_F(BpfParser, Ipv6UpperLayerProtocolIsTheOneAfterTheChain) {
    auto chain = [] {
        PacketBuilder b;
        b.ipv6("fd00::1", "fd00::2").hop_by_hop().dest_opts();
        return b;
    };
    expect_rule("-p esp", {
        hit("ESP", chain().raw_l4(50, {0, 0, 0, 1, 0, 0, 0, 1})),
        miss("tcp", chain().tcp(1, 2)),
    });
    expect_rule("-p 59", {hit("no next header", chain()), miss("udp", chain().udp(1, 2))});
    // The extension headers themselves are not the protocol.
    expect_rule("-p 0", {hit("-p 0 is -p all", chain().tcp(1, 2))});
    expect_rule("-p 60", {miss("tcp after destination options", chain().tcp(1, 2))});
}

PacketBuilder six_headers() {
    PacketBuilder b;
    b.ipv6("fd00::1", "fd00::2").hop_by_hop().dest_opts().routing(4, 0, {"fd00::2"}).fragment(0, true, 1)
        .ah(1, 1).dest_opts();
    return b;
}

TEST_F(BpfParser, SixExtensionHeadersAreFine) {
    ASSERT_EQ(six_headers().layout().ext_offsets.size(), 6u);
    expect_rule("-p tcp --dport 22", {
        hit("6 headers, tcp 22", six_headers().tcp(1000, 22)),
        miss("6 headers, tcp 23", six_headers().tcp(1000, 23)),
    });
    expect_rule("-p udp", {hit("6 headers, udp", six_headers().udp(1, 2))});
}

TEST_F(BpfParser, SevenExtensionHeadersAreAnErrorWithUnknownProtocol) {
    auto seven = [] { return six_headers().dest_opts(); };
    ASSERT_EQ(seven().layout().ext_offsets.size(), 7u);
    // Addresses stay usable...
    expect_rule("-s fd00::1", {hit_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("! -d fd00::3", {hit_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("! -f", {hit_err("7 headers", seven().tcp(1000, 22))});
    // ...the protocol is unknown, so no protocol test matches, negated or not.
    expect_rule("-p tcp", {miss_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("! -p tcp", {miss_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("! -p udp", {miss_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("-p tcp --dport 22", {miss_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("-p tcp ! --dport 22", {miss_err("7 headers", seven().tcp(1000, 22))});
    expect_rule("-p udp ! --dport 22", {miss_err("7 headers, udp", seven().udp(1000, 22))});
    expect_rule("-p icmpv6 --icmpv6-type 128", {miss_err("7 headers, icmpv6", seven().icmp6(128, 0))});
}

// ---- Truncated and malformed packets ------------------------------------------------------

// Policy DROP. Rules 1-9 accept and each needs an L4 header; rules 10-17 have no target and
// count what they see: L3 addresses, protocols, "! -f", and one rule that needs nothing.
constexpr const char* kDropRuleset =
    "*filter\n:INPUT DROP [0:0]\n"
    "-A INPUT -p tcp --dport 22 -j ACCEPT\n"           // 1
    "-A INPUT -p tcp ! --dport 22 -j ACCEPT\n"         // 2
    "-A INPUT -p tcp ! --syn -j ACCEPT\n"              // 3
    "-A INPUT -p tcp --syn -j ACCEPT\n"                // 4
    "-A INPUT -p udp --dport 53 -j ACCEPT\n"           // 5
    "-A INPUT -p udp ! --dport 53 -j ACCEPT\n"         // 6
    "-A INPUT -p icmp --icmp-type any -j ACCEPT\n"     // 7
    "-A INPUT -p icmpv6 ! --icmpv6-type 1 -j ACCEPT\n" // 8
    "-A INPUT -p icmpv6 --icmpv6-type 1 -j ACCEPT\n"   // 9
    "-A INPUT -s 10.0.0.1\n"                           // 10
    "-A INPUT -s fd00::1\n"                            // 11
    "-A INPUT -p tcp\n"                                // 12
    "-A INPUT -p udp\n"                                // 13
    "-A INPUT -p icmp\n"                               // 14
    "-A INPUT -p icmpv6\n"                             // 15
    "-A INPUT ! -f\n"                                  // 16
    "-A INPUT -m comment --comment anything\n"         // 17
    "COMMIT\n";
constexpr size_t kRules = 17;
constexpr size_t kEverything = 17, kNotFragment = 16, kSrc4 = 10, kSrc6 = 11, kTcp = 12, kUdp = 13,
                 kIcmp = 14, kIcmp6 = 15;

struct Snapshot {
    std::vector<uint64_t> rules;
    uint64_t policy, errors, non_ip;
};
Snapshot snapshot(XdpTester& t) {
    Snapshot s;
    for (size_t r = 1; r <= kRules; ++r) s.rules.push_back(t.rule_packets("INPUT", r));
    s.policy = t.policy_packets();
    s.errors = t.error_packets();
    s.non_ip = t.non_ip_packets();
    return s;
}

// A broken packet: dropped by the policy, counted once as an error, and seen exactly by the
// counting rules in `counted`; no accepting rule matches.
void expect_broken(XdpTester& t, const std::string& what, const Frame& frame, std::set<size_t> counted) {
    SCOPED_TRACE("broken frame: " + what + "\n" + hex_dump(frame));
    Snapshot before = snapshot(t);
    EXPECT_EQ(t.run(frame), XDP_DROP);
    Snapshot after = snapshot(t);
    for (size_t r = 1; r <= kRules; ++r)
        EXPECT_EQ(after.rules[r - 1] - before.rules[r - 1], counted.count(r) ? 1u : 0u) << "rule " << r;
    EXPECT_EQ(after.policy - before.policy, 1u) << "policy";
    EXPECT_EQ(after.errors - before.errors, 1u) << "error counter";
    EXPECT_EQ(after.non_ip - before.non_ip, 0u) << "non-IP counter";
}

// The intact counterpart: accepted by rule `accepted`, no error.
void expect_intact(XdpTester& t, const std::string& what, const Frame& frame, size_t accepted) {
    SCOPED_TRACE("intact frame: " + what + "\n" + hex_dump(frame));
    Snapshot before = snapshot(t);
    EXPECT_EQ(t.run(frame), XDP_PASS);
    Snapshot after = snapshot(t);
    for (size_t r = 1; r <= kRules; ++r)
        EXPECT_EQ(after.rules[r - 1] - before.rules[r - 1], r == accepted ? 1u : 0u) << "rule " << r;
    EXPECT_EQ(after.policy, before.policy);
    EXPECT_EQ(after.errors, before.errors);
}

class BpfMalformed : public BpfTest {
protected:
    void SetUp() override {
        BpfTest::SetUp();
        if (IsSkipped()) return;
        t_ = std::make_unique<XdpTester>(XdpTester::from_restore(kDropRuleset));
        ASSERT_TRUE(t_->ok());
    }
    XdpTester& t() { return *t_; }
    std::unique_ptr<XdpTester> t_;
};

constexpr size_t kEth = 14;

TEST_F(BpfMalformed, IntactPacketsAreAcceptedByTheL4Rules) {
    expect_intact(t(), "tcp4 22", tcp4("10.0.0.1", "10.0.0.2", 1, 22).build(), 1);
    expect_intact(t(), "tcp4 23", tcp4("10.0.0.1", "10.0.0.2", 1, 23).build(), 2);
    expect_intact(t(), "tcp6 23", tcp6("fd00::1", "fd00::2", 1, 23).build(), 2);
    expect_intact(t(), "udp4 53", udp4("10.0.0.1", "10.0.0.2", 1, 53).build(), 5);
    expect_intact(t(), "udp6 54", udp6("fd00::1", "fd00::2", 1, 54).build(), 6);
    expect_intact(t(), "icmp4", icmp4(8, 0).build(), 7);
    expect_intact(t(), "icmp6", icmp6(128, 0).build(), 8);
    // Shortest complete headers; trailer padding beyond the IP length does not matter.
    expect_intact(t(), "udp4 padded to 60", udp4("10.0.0.1", "10.0.0.2", 1, 53).pad_to(60).build(), 5);
    expect_intact(t(), "tcp4 padded", tcp4("10.0.0.1", "10.0.0.2", 1, 22).pad_to(100).build(), 1);
    // A TCP data offset beyond the packet is not checked (iptables does not either: only the
    // 20-byte fixed header is needed).
    expect_intact(t(), "tcp4 data offset 15", tcp4("10.0.0.1", "10.0.0.2", 1, 22).tcp_data_offset(15).build(), 1);
    EXPECT_EQ(t().error_packets(), 0u);
    EXPECT_EQ(t().policy_packets(), 0u);
}

TEST_F(BpfMalformed, TcpHeaderCut) {
    // The IP header is intact and says the datagram ends 10 bytes into the TCP header.
    expect_broken(t(), "tcp4, 10 TCP bytes",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(30).truncate_to(kEth + 30).build(),
                  {kSrc4, kTcp, kNotFragment, kEverything});
    expect_broken(t(), "tcp4, 19 TCP bytes",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(39).truncate_to(kEth + 39).build(),
                  {kSrc4, kTcp, kNotFragment, kEverything});
    // Same, but the frame still holds the bytes (IP length rules, not the frame length).
    expect_broken(t(), "tcp4, IP length ends inside the TCP header",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(30).build(),
                  {kSrc4, kTcp, kNotFragment, kEverything});
    expect_broken(t(), "tcp6, 10 TCP bytes",
                  tcp6("fd00::1", "fd00::2", 1, 22).ipv6_payload_length(10).truncate_to(kEth + 50).build(),
                  {kSrc6, kTcp, kNotFragment, kEverything});
    expect_broken(t(), "tcp6 after hop-by-hop, 12 TCP bytes",
                  PacketBuilder().ipv6("fd00::1", "fd00::2").hop_by_hop().tcp(1, 22)
                      .ipv6_payload_length(20).truncate_to(kEth + 60).build(),
                  {kSrc6, kTcp, kNotFragment, kEverything});
    expect_broken(t(), "tcp4 first fragment, 8 TCP bytes",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).more_fragments().ipv4_total_length(28).truncate_to(kEth + 28).build(),
                  {kSrc4, kTcp, kNotFragment, kEverything});
}

TEST_F(BpfMalformed, TcpDataOffsetBelowFive) {
    for (uint8_t doff : {0, 1, 4}) {
        expect_broken(t(), "tcp4 data offset " + std::to_string(doff),
                      tcp4("10.0.0.1", "10.0.0.2", 1, 22).tcp_data_offset(doff).build(),
                      {kSrc4, kTcp, kNotFragment, kEverything});
    }
    expect_broken(t(), "tcp6 data offset 4", tcp6("fd00::1", "fd00::2", 1, 22).tcp_data_offset(4).build(),
                  {kSrc6, kTcp, kNotFragment, kEverything});
}

TEST_F(BpfMalformed, UdpHeaderCut) {
    expect_broken(t(), "udp4, 4 UDP bytes",
                  udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_total_length(24).truncate_to(kEth + 24).build(),
                  {kSrc4, kUdp, kNotFragment, kEverything});
    expect_broken(t(), "udp4, 7 UDP bytes, frame padded",
                  udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_total_length(27).pad_to(60).build(),
                  {kSrc4, kUdp, kNotFragment, kEverything});
    expect_broken(t(), "udp6, 0 UDP bytes",
                  udp6("fd00::1", "fd00::2", 1, 53).ipv6_payload_length(0).truncate_to(kEth + 40).build(),
                  {kSrc6, kUdp, kNotFragment, kEverything});
}

TEST_F(BpfMalformed, IcmpHeaderCut) {
    expect_broken(t(), "icmp4, 4 ICMP bytes",
                  icmp4(8, 0).ipv4_total_length(24).truncate_to(kEth + 24).build(),
                  {kSrc4, kIcmp, kNotFragment, kEverything});
    expect_broken(t(), "icmp6, 7 ICMPv6 bytes",
                  icmp6(128, 0).ipv6_payload_length(7).truncate_to(kEth + 47).build(),
                  {kSrc6, kIcmp6, kNotFragment, kEverything});
}

TEST_F(BpfMalformed, Ipv4HeaderBroken) {
    // Nothing about the packet is usable: only the rule that needs nothing matches.
    const std::set<size_t> only_everything = {kEverything};
    for (uint8_t ihl : {0, 1, 4})
        expect_broken(t(), "IHL " + std::to_string(ihl),
                      tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_ihl(ihl).build(), only_everything);
    expect_broken(t(), "IHL 15, total length 40",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_ihl(15).build(), only_everything);
    expect_broken(t(), "IHL 15 with a 64-byte total length, frame ends at 54",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_ihl(15).ipv4_total_length(64).build(), only_everything);
    expect_broken(t(), "total length one more than the frame",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(41).build(), only_everything);
    expect_broken(t(), "total length 65535",
                  udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_total_length(65535).build(), only_everything);
    expect_broken(t(), "total length below the header length",
                  udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_total_length(19).build(), only_everything);
    expect_broken(t(), "options: total length below IHL*4",
                  udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_options({1, 1, 1, 1}).ipv4_total_length(23).build(),
                  only_everything);
    expect_broken(t(), "IP header cut at 12 bytes",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).truncate_to(kEth + 12).build(), only_everything);
    expect_broken(t(), "IP header cut at 19 bytes",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).truncate_to(kEth + 19).build(), only_everything);
    expect_broken(t(), "IP header with options cut",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_options({1, 1, 1, 1, 1, 1, 1, 1}).truncate_to(kEth + 24).build(),
                  only_everything);
    expect_broken(t(), "TCP cut by the frame (IP length says more)",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).truncate_to(kEth + 30).build(), only_everything);
    expect_broken(t(), "ethertype IPv4, no header at all",
                  PacketBuilder().ethertype(ethertype::kIpv4).build(), only_everything);
    expect_broken(t(), "ethertype IPv4, version 6",
                  tcp6("fd00::1", "fd00::2", 1, 22).ethertype(ethertype::kIpv4).build(), only_everything);
}

TEST_F(BpfMalformed, Ipv6HeaderBroken) {
    const std::set<size_t> only_everything = {kEverything};
    expect_broken(t(), "IPv6 header cut at 30 bytes",
                  tcp6("fd00::1", "fd00::2", 1, 22).truncate_to(kEth + 30).build(), only_everything);
    expect_broken(t(), "IPv6 header cut at 39 bytes",
                  tcp6("fd00::1", "fd00::2", 1, 22).truncate_to(kEth + 39).build(), only_everything);
    expect_broken(t(), "payload length one more than the frame",
                  tcp6("fd00::1", "fd00::2", 1, 22).ipv6_payload_length(21).build(), only_everything);
    expect_broken(t(), "TCP cut by the frame (payload length says more)",
                  tcp6("fd00::1", "fd00::2", 1, 22).truncate_to(kEth + 50).build(), only_everything);
    expect_broken(t(), "ethertype IPv6, version 4",
                  tcp4("10.0.0.1", "10.0.0.2", 1, 22).pad_to(80).ethertype(ethertype::kIpv6).build(),
                  only_everything);
}

TEST_F(BpfMalformed, Ipv6ExtensionHeaderChainBroken) {
    // Addresses stay usable, the protocol is unknown.
    const std::set<size_t> l3_only = {kSrc6, kNotFragment, kEverything};
    expect_broken(t(), "hop-by-hop longer than the payload",
                  PacketBuilder().ipv6("fd00::1", "fd00::2").hop_by_hop().tcp(1, 22).ipv6_payload_length(4)
                      .truncate_to(kEth + 44).build(),
                  l3_only);
    expect_broken(t(), "hop-by-hop claims 16 bytes, 8 present",
                  PacketBuilder().ipv6("fd00::1", "fd00::2").hop_by_hop({0x01, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
                      .ipv6_payload_length(8).truncate_to(kEth + 48).build(),
                  l3_only);
    expect_broken(t(), "AH cut",
                  PacketBuilder().ipv6("fd00::1", "fd00::2").ah(1, 1).udp(1, 53).ipv6_payload_length(6)
                      .truncate_to(kEth + 46).build(),
                  l3_only);
    expect_broken(t(), "7 extension headers", six_headers().dest_opts().tcp(1, 22).build(), l3_only);
    expect_broken(t(), "7 extension headers, udp", six_headers().dest_opts().udp(1, 53).build(), l3_only);
}

TEST_F(BpfMalformed, VlanTagCut) {
    expect_broken(t(), "802.1Q ethertype, no tag", PacketBuilder().ethertype(ethertype::kVlan).build(), {kEverything});
    expect_broken(t(), "802.1ad tag, inner tag cut",
                  PacketBuilder().vlan(1, 0, ethertype::kQinQ).ethertype(ethertype::kVlan).build(), {kEverything});
    expect_broken(t(), "three tags", udp4("10.0.0.1", "10.0.0.2", 1, 53).vlan(1).vlan(2).vlan(3).build(),
                  {kEverything});
}

TEST_F(BpfMalformed, ErrorCountedOncePerPacket) {
    Frame broken = tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(30).build();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(t().run(broken), XDP_DROP);
    EXPECT_EQ(t().error_packets(), 5u);
    EXPECT_EQ(t().policy_packets(), 5u);
    EXPECT_EQ(t().rule_packets("INPUT", kTcp), 5u);
    EXPECT_EQ(t().rule_packets("INPUT", 2), 0u);
    EXPECT_EQ(t().run(tcp4("10.0.0.1", "10.0.0.2", 1, 22).build()), XDP_PASS);
    EXPECT_EQ(t().error_packets(), 5u);
}

TEST_F(BpfParser, BrokenPacketWithPolicyAccept) {
    auto t = XdpTester::from_rules({"-p tcp ! --dport 22 -j DROP", "-p tcp --dport 22 -j DROP", "-s 10.0.0.1"});
    ASSERT_TRUE(t.ok());
    Frame cut = tcp4("10.0.0.1", "10.0.0.2", 1, 80).ipv4_total_length(30).build();
    EXPECT_EQ(t.run(cut), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 0u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 1u);
    EXPECT_EQ(t.rule_bytes("INPUT", 3), cut.size());
    EXPECT_EQ(t.policy_packets(), 1u);
    EXPECT_EQ(t.error_packets(), 1u);
}

// The error counter counts the same frames whatever the rules read: a ruleset that tests only
// addresses (whose parser stores no TCP/UDP/ICMP field) or nothing at all still counts a
// transport header cut short, exactly once.
TEST_F(BpfParser, ErrorCounterDoesNotDependOnTheRuleset) {
    const std::vector<std::pair<std::string, Frame>> broken = {
        {"tcp4, IP length ends inside the TCP header", tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_total_length(30).build()},
        {"tcp4 data offset 4", tcp4("10.0.0.1", "10.0.0.2", 1, 22).tcp_data_offset(4).build()},
        {"udp4, 4 UDP bytes", udp4("10.0.0.1", "10.0.0.2", 1, 53).ipv4_total_length(24).truncate_to(kEth + 24).build()},
        {"icmp4, 4 ICMP bytes", icmp4(8, 0).ipv4_total_length(24).truncate_to(kEth + 24).build()},
        {"tcp6, 10 TCP bytes", tcp6("fd00::1", "fd00::2", 1, 22).ipv6_payload_length(10).truncate_to(kEth + 50).build()},
        {"IPv4 IHL 4", tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_ihl(4).build()},
        {"7 IPv6 extension headers", six_headers().dest_opts().tcp(1, 22).build()},
    };
    const std::vector<std::vector<std::string>> rulesets = {
        {"-s 10.0.0.1 -j ACCEPT"}, {"-p tcp --dport 22 -j ACCEPT"}, {}, {"-i lo -j ACCEPT"}};
    for (const auto& rules : rulesets) {
        SCOPED_TRACE("rules: " + (rules.empty() ? std::string("none") : rules[0]));
        auto t = XdpTester::from_rules(rules);
        ASSERT_TRUE(t.ok()) << t.error();
        for (size_t i = 0; i < broken.size(); ++i) {
            SCOPED_TRACE(broken[i].first);
            t.run(broken[i].second);
            EXPECT_EQ(t.error_packets(), i + 1);
        }
        EXPECT_EQ(t.run(tcp4("10.0.0.1", "10.0.0.2", 1, 22).build()), XDP_PASS);
        EXPECT_EQ(t.error_packets(), broken.size()) << "an intact frame is no error";
    }
    // The address rule still matches the frames whose addresses are usable.
    auto t = XdpTester::from_rules({"-s 10.0.0.1 -j DROP"});
    ASSERT_TRUE(t.ok()) << t.error();
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(t.run(broken[i].second), XDP_DROP) << broken[i].first;
    EXPECT_EQ(t.run(broken[5].second), XDP_PASS) << "IPv4 header broken: no address";
}

// Untagged IPv4 without options whose header and 20 payload bytes are complete is parsed by a
// fast path; the frames just outside it (shorter IP length or frame, options, a later
// fragment) by the general one. Both give the rules the same fields.
TEST_F(BpfParser, FastPathBoundaries) {
    auto udp_of_ip_length = [](uint16_t len) {
        return udp4("10.0.0.1", "10.0.0.2", 1, 53).payload_len(len - 28u);
    };
    expect_rule("-s 10.0.0.1 -p udp --dport 53", {
        hit("udp, IP length 28 (general path)", udp_of_ip_length(28)),
        hit("udp, IP length 39 (general path)", udp_of_ip_length(39)),
        hit("udp, IP length 40 (fast path)", udp_of_ip_length(40)),
        hit("udp, IP length 40, frame padded", udp_of_ip_length(40).pad_to(80)),
        miss("udp, other port, IP length 40", udp4("10.0.0.1", "10.0.0.2", 1, 54).payload_len(12)),
        hit("udp with a 4-byte option (general path)", udp_of_ip_length(40).ipv4_options({1, 1, 1, 1})),
        hit("udp, first fragment (MF, offset 0)", udp_of_ip_length(40).more_fragments()),
        hit("udp, don't fragment", udp_of_ip_length(40).dont_fragment()),
        miss("udp, later fragment", udp_of_ip_length(40).frag_offset(1)),
        miss("udp from another source", udp4("10.0.0.3", "10.0.0.2", 1, 53).payload_len(12)),
        miss("tcp to 53", tcp4("10.0.0.1", "10.0.0.2", 1, 53)),
    });
    expect_rule("-d 10.0.0.2 -p tcp --sport 7 --tcp-flags SYN,ACK SYN", {
        hit("syn (fast path)", tcp4("10.0.0.1", "10.0.0.2", 7, 80)),
        hit("syn with options (general path)", tcp4("10.0.0.1", "10.0.0.2", 7, 80).ipv4_options({1, 1, 1, 1})),
        miss("syn-ack", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").tcp(7, 80, tcpflag::kSyn | tcpflag::kAck)),
        miss("other source port", tcp4("10.0.0.1", "10.0.0.2", 8, 80)),
        miss("other destination", tcp4("10.0.0.1", "10.0.0.3", 7, 80)),
        miss_err("data offset 4: malformed, no port or flag test matches",
                 tcp4("10.0.0.1", "10.0.0.2", 7, 80).tcp_data_offset(4)),
    });
    expect_rule("-p icmp --icmp-type 8/0", {
        hit("echo request, 8-byte header only (general path)", icmp4(8, 0)),
        hit("echo request with 12 bytes of data (fast path)", icmp4(8, 0).payload_len(12)),
        miss("echo request code 1 (fast path)", icmp4(8, 1).payload_len(12)),
        miss("echo reply (fast path)", icmp4(0, 0).payload_len(12)),
    });
    expect_rule("-p 47", {
        hit("GRE (fast path)", PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(47, std::vector<uint8_t>(20, 0))),
        miss("tcp", tcp4("10.0.0.1", "10.0.0.2", 1, 2)),
    });
    expect_rule("-s fd00::1", {
        miss("IPv4 (fast path) against an IPv6 prefix", tcp4("10.0.0.1", "10.0.0.2", 1, 2)),
        hit("IPv6", tcp6("fd00::1", "fd00::2", 1, 2)),
    });
    expect_rule("! -d fd00::2", {
        miss("IPv4 (fast path) against a negated IPv6 prefix", tcp4("10.0.0.1", "10.0.0.2", 1, 2)),
        hit("IPv6 other destination", tcp6("fd00::1", "fd00::3", 1, 2)),
    });
}

// ---- Non-IP -------------------------------------------------------------------------------

TEST_F(BpfParser, NonIpFramesPassEvenWithPolicyDrop) {
    auto t = XdpTester::from_restore(
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -j DROP\n-A INPUT ! -s 10.0.0.1 -j DROP\nCOMMIT\n");
    ASSERT_TRUE(t.ok());
    std::vector<Frame> frames = {
        arp_request("10.0.0.1", "10.0.0.2").build(),
        PacketBuilder().arp(2, "10.0.0.2", "10.0.0.1").build(),
        arp_request("10.0.0.1", "10.0.0.2").vlan(7).build(),
        arp_request("10.0.0.1", "10.0.0.2").qinq(7, 8).build(),
        PacketBuilder().raw_l3(0x88cc, {0x02, 0x07, 0x04, 1, 2, 3, 4, 5, 6}).build(),  // LLDP
        PacketBuilder().payload_len(46).build(),                                         // 0x88b5
        PacketBuilder().ethertype(0x0801).payload_len(40).build(),
        PacketBuilder().raw_l3(0x0806, {}).build(),  // ARP with an empty body: still not IP
    };
    uint64_t bytes = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + "\n" + hex_dump(frames[i]));
        EXPECT_EQ(t.run(frames[i]), XDP_PASS);
        EXPECT_EQ(t.non_ip_packets(), i + 1);
        bytes += frames[i].size();
    }
    EXPECT_EQ(t.rule_packets("INPUT", 1), 0u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 0u);
    EXPECT_EQ(t.policy_packets(), 0u);
    EXPECT_EQ(t.error_packets(), 0u);
    EXPECT_EQ(t.run(udp4("10.0.0.1", "10.0.0.2", 1, 2).build()), XDP_DROP);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.non_ip_packets(), frames.size());
}

}  // namespace
}  // namespace xfw::test
