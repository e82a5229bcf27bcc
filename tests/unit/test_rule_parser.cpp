// Unit tests for the iptables rule-spec parser: every option, its negation and every refusal.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "control/restore_file.hpp"
#include "control/rule_parser.hpp"
#include "control/rule_printer.hpp"

namespace xfw {
namespace {

// Rule specs are written as restore-file lines so quoting reads naturally in the tests.
std::vector<std::string> toks(std::string_view line) { return split_restore_line(line); }

Rule parse_ok(std::string_view line) {
    auto r = parse_rule(toks(line));
    EXPECT_TRUE(r.ok()) << line << " -> " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Rule{};
}

std::string parse_error(std::string_view line) {
    auto r = parse_rule(toks(line));
    if (r.ok()) return "<parsed: " + format_rule_spec(*r) + ">";
    EXPECT_EQ(r.error().exit_code, 2) << line;
    return r.error().message;
}

Cidr v4(const char* addr, uint8_t len) {
    Cidr c;
    c.family = Family::V4;
    inet_pton(AF_INET, addr, c.bytes.data());
    c.prefix_len = len;
    return c;
}

Cidr v6(const char* addr, uint8_t len) {
    Cidr c;
    c.family = Family::V6;
    inet_pton(AF_INET6, addr, c.bytes.data());
    c.prefix_len = len;
    return c;
}

// By value: callers pass temporaries.
template <class T>
T only_match(const Rule& r) {
    EXPECT_EQ(r.matches.size(), 1u);
    if (r.matches.size() != 1 || !std::holds_alternative<T>(r.matches[0])) {
        ADD_FAILURE() << "unexpected match modules";
        return T{};
    }
    return std::get<T>(r.matches[0]);
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

TEST(RuleParser, SourceAndDestinationForms) {
    Rule r = parse_ok("-s 10.0.0.1 -d 192.168.0.0/16");
    ASSERT_TRUE(r.source && r.destination);
    EXPECT_EQ(r.source->value, v4("10.0.0.1", 32));
    EXPECT_FALSE(r.source->invert);
    EXPECT_EQ(r.destination->value, v4("192.168.0.0", 16));

    r = parse_ok("--source 1.2.3.4/24 --destination 5.6.7.8/255.255.0.0");
    EXPECT_EQ(r.source->value, v4("1.2.3.0", 24)) << "host bits are masked off like iptables";
    EXPECT_EQ(r.destination->value, v4("5.6.0.0", 16)) << "contiguous netmask becomes a prefix";

    r = parse_ok("--src 9.9.9.9 --dst 8.8.8.8/1");
    EXPECT_EQ(r.source->value, v4("9.9.9.9", 32));
    EXPECT_EQ(r.destination->value, v4("0.0.0.0", 1));

    r = parse_ok("-s 2001:db8::1 -d 2001:db8:1::/48");
    EXPECT_EQ(r.source->value, v6("2001:db8::1", 128));
    EXPECT_EQ(r.destination->value, v6("2001:db8:1::", 48));

    r = parse_ok("-s fe80::1/ffff:ffff:ffff:ffff::");
    EXPECT_EQ(r.source->value, v6("fe80::", 64));
}

TEST(RuleParser, NegatedAddresses) {
    Rule r = parse_ok("! -s 10.0.0.0/8 ! -d 10.1.0.0/16");
    EXPECT_TRUE(r.source->invert);
    EXPECT_TRUE(r.destination->invert);
    EXPECT_EQ(r.source->value, v4("10.0.0.0", 8));
}

TEST(RuleParser, ZeroPrefixKeepsOnlyTheFamily) {
    Rule r = parse_ok("-s 0.0.0.0/0 -j ACCEPT");
    EXPECT_FALSE(r.source);
    EXPECT_EQ(r.explicit_family, Family::V4);
    EXPECT_EQ(r.family(), Family::V4);
    r = parse_ok("-d ::/0");
    EXPECT_FALSE(r.destination);
    EXPECT_EQ(r.family(), Family::V6);
    // With another IPv4 address the family is implied, so nothing explicit remains.
    r = parse_ok("-s 1.2.3.4/0.0.0.0 -d 9.9.9.9/1");
    EXPECT_FALSE(r.source);
    EXPECT_EQ(r.explicit_family, Family::Any);
    EXPECT_EQ(r.family(), Family::V4);
}

// ---------------------------------------------------------------------------------------------
// Protocol, interface, fragments, family
// ---------------------------------------------------------------------------------------------

TEST(RuleParser, Protocols) {
    struct Case {
        const char* spec;
        uint8_t number;
    } cases[] = {
        {"-p tcp", 6},     {"-p udp", 17},      {"-p icmp", 1},        {"-p icmpv6", 58},
        {"-p ipv6-icmp", 58}, {"-p esp", 50},   {"-p ah", 51},         {"-p gre", 47},
        {"-p sctp", 132},  {"-p udplite", 136}, {"-p 200", 200},       {"-p TCP", 6},
        {"-p 6", 6},       {"--protocol udp", 17}, {"-p IPv6-ICMP", 58}, {"-p mh", 135},
        {"-p ospf", 89},   {"-p vrrp", 112},    {"-p 255", 255},
    };
    for (const Case& c : cases) {
        Rule r = parse_ok(c.spec);
        ASSERT_TRUE(r.protocol) << c.spec;
        EXPECT_EQ(r.protocol->value, c.number) << c.spec;
        EXPECT_FALSE(r.protocol->invert) << c.spec;
    }
    Rule r = parse_ok("! -p tcp");
    EXPECT_TRUE(r.protocol->invert);
    // "all" (and 0, and "ip") means no protocol test: the same rule as no -p at all.
    for (const char* spec : {"-p all", "-p 0", "-p ip", "-p ALL"}) {
        EXPECT_FALSE(parse_ok(spec).protocol) << spec;
        EXPECT_EQ(parse_ok(spec), parse_ok("")) << spec;
    }
}

TEST(RuleParser, InInterface) {
    Rule r = parse_ok("-i eth0");
    ASSERT_TRUE(r.in_interface);
    EXPECT_EQ(r.in_interface->value, "eth0");
    EXPECT_FALSE(r.in_interface->invert);
    r = parse_ok("! --in-interface eth+");
    EXPECT_EQ(r.in_interface->value, "eth+");
    EXPECT_TRUE(r.in_interface->invert);
    EXPECT_EQ(parse_ok("-i 0123456789abcde").in_interface->value, "0123456789abcde");
    EXPECT_FALSE(parse_ok("-i +").in_interface) << "\"+\" matches every interface";
    EXPECT_TRUE(parse_ok("! -i +").in_interface);
}

TEST(RuleParser, Fragments) {
    EXPECT_EQ(parse_ok("-f").fragment_invert, std::optional<bool>(false));
    EXPECT_EQ(parse_ok("--fragment").fragment_invert, std::optional<bool>(false));
    EXPECT_EQ(parse_ok("! -f").fragment_invert, std::optional<bool>(true));
    EXPECT_FALSE(parse_ok("-p tcp").fragment_invert);
}

TEST(RuleParser, ExplicitAndImpliedFamily) {
    EXPECT_EQ(parse_ok("-4 -p tcp").explicit_family, Family::V4);
    EXPECT_EQ(parse_ok("--ipv4").family(), Family::V4);
    EXPECT_EQ(parse_ok("-6 -p tcp").explicit_family, Family::V6);
    EXPECT_EQ(parse_ok("--ipv6").family(), Family::V6);
    EXPECT_EQ(parse_ok("-p tcp --dport 22").family(), Family::Any);
    EXPECT_EQ(parse_ok("-s 10.0.0.1").family(), Family::V4);
    EXPECT_EQ(parse_ok("-d 2001:db8::1").family(), Family::V6);
    EXPECT_EQ(parse_ok("-p icmp").family(), Family::V4);
    EXPECT_EQ(parse_ok("-p icmp --icmp-type 8").family(), Family::V4);
    EXPECT_EQ(parse_ok("-p icmpv6").family(), Family::V6);
    EXPECT_EQ(parse_ok("-p ipv6-icmp --icmpv6-type 128").family(), Family::V6);
    EXPECT_EQ(parse_ok("! -p icmp").family(), Family::Any) << "not-ICMPv4 includes IPv6";
    // -4 next to an IPv4 address says nothing new: normalised away so -D finds the rule.
    Rule r = parse_ok("-4 -s 10.0.0.1");
    EXPECT_EQ(r.explicit_family, Family::Any);
    EXPECT_EQ(r, parse_ok("-s 10.0.0.1"));
    EXPECT_EQ(parse_ok("-6 -p icmpv6").explicit_family, Family::Any);
}

TEST(RuleParser, FamilyMethodOnHandBuiltRules) {
    Rule r;
    EXPECT_EQ(r.family(), Family::Any);
    r.matches.push_back(IcmpMatch{.v6 = true});
    EXPECT_EQ(r.family(), Family::V6);
    r.explicit_family = Family::V4;
    EXPECT_EQ(r.family(), Family::V4) << "explicit -4/-6 wins";
    EXPECT_EQ(r.implied_family(), Family::V6);
}

// ---------------------------------------------------------------------------------------------
// tcp / udp
// ---------------------------------------------------------------------------------------------

TEST(RuleParser, TcpPorts) {
    const TcpMatch& m = only_match<TcpMatch>(parse_ok("-p tcp --sport 1024:65535 --dport 22"));
    ASSERT_TRUE(m.sport && m.dport);
    EXPECT_EQ(m.sport->value, (PortRange{1024, 65535}));
    EXPECT_EQ(m.dport->value, (PortRange{22, 22}));
    EXPECT_FALSE(m.flags);

    const TcpMatch& n = only_match<TcpMatch>(parse_ok("-p tcp ! --source-port :1023 ! --destination-port 8000:"));
    EXPECT_EQ(n.sport->value, (PortRange{0, 1023}));
    EXPECT_TRUE(n.sport->invert);
    EXPECT_EQ(n.dport->value, (PortRange{8000, 65535}));
    EXPECT_TRUE(n.dport->invert);
}

TEST(RuleParser, ServiceNames) {
    struct Case {
        const char* name;
        uint16_t port;
    } cases[] = {{"ssh", 22},      {"http", 80},   {"www", 80},       {"https", 443},
                 {"domain", 53},   {"smtp", 25},   {"ntp", 123},      {"bgp", 179},
                 {"ftp", 21},      {"telnet", 23}, {"imap", 143},     {"pop3", 110},
                 {"snmp", 161},    {"ldap", 389},  {"syslog", 514},   {"mysql", 3306},
                 {"postgresql", 5432}, {"submission", 587}, {"imaps", 993}, {"openvpn", 1194}};
    for (const Case& c : cases) {
        const TcpMatch& m =
            only_match<TcpMatch>(parse_ok(std::string("-p tcp --dport ") + c.name));
        EXPECT_EQ(m.dport->value, (PortRange{c.port, c.port})) << c.name;
    }
    const UdpMatch& u = only_match<UdpMatch>(parse_ok("-p udp --sport domain --dport ntp:ntp"));
    EXPECT_EQ(u.sport->value, (PortRange{53, 53}));
    EXPECT_EQ(u.dport->value, (PortRange{123, 123}));
}

TEST(RuleParser, UdpPorts) {
    const UdpMatch& m = only_match<UdpMatch>(parse_ok("-p udp ! --sport 53 --dport 67:68"));
    EXPECT_EQ(m.sport->value, (PortRange{53, 53}));
    EXPECT_TRUE(m.sport->invert);
    EXPECT_EQ(m.dport->value, (PortRange{67, 68}));
    EXPECT_FALSE(m.dport->invert);
    EXPECT_EQ(parse_ok("-p 17 --dport 53").matches.size(), 1u) << "protocol given by number";
}

TEST(RuleParser, FullPortRangeIsNoTest) {
    EXPECT_EQ(parse_ok("-p tcp --dport 0:65535"), parse_ok("-p tcp -m tcp"));
    EXPECT_EQ(parse_ok("-p tcp --dport :"), parse_ok("-p tcp -m tcp"));
    EXPECT_EQ(parse_ok("-p udp --sport 0:65535"), parse_ok("-p udp -m udp"));
}

TEST(RuleParser, TcpFlags) {
    using F = TcpMatch::Flags;
    const TcpMatch& syn = only_match<TcpMatch>(parse_ok("-p tcp --syn"));
    ASSERT_TRUE(syn.flags);
    EXPECT_EQ(syn.flags->value, (F{0x17, 0x02}));
    EXPECT_FALSE(syn.flags->invert);
    EXPECT_TRUE(only_match<TcpMatch>(parse_ok("-p tcp ! --syn")).flags->invert);
    EXPECT_EQ(parse_ok("-p tcp --syn"), parse_ok("-p tcp --tcp-flags FIN,SYN,RST,ACK SYN"));

    EXPECT_EQ(only_match<TcpMatch>(parse_ok("-p tcp --tcp-flags ALL NONE")).flags->value,
              (F{0x3F, 0x00}))
        << "ALL is iptables' ALL: FIN,SYN,RST,PSH,ACK,URG";
    EXPECT_EQ(only_match<TcpMatch>(parse_ok("-p tcp --tcp-flags syn,ack ack")).flags->value,
              (F{0x12, 0x10}));
    EXPECT_EQ(only_match<TcpMatch>(parse_ok("-p tcp --tcp-flags ECE,CWR,URG,PSH CWR")).flags->value,
              (F{0xE8, 0x80}));
    const TcpMatch& inv = only_match<TcpMatch>(parse_ok("-p tcp ! --tcp-flags ALL ALL"));
    EXPECT_EQ(inv.flags->value, (F{0x3F, 0x3F}));
    EXPECT_TRUE(inv.flags->invert);
    EXPECT_FALSE(only_match<TcpMatch>(parse_ok("-p tcp --tcp-flags NONE NONE")).flags)
        << "an empty mask tests nothing (iptables-save prints just -m tcp)";
}

TEST(RuleParser, ImplicitModulesLoadInOrderOfFirstUse) {
    Rule r = parse_ok("-p tcp -m comment --comment x --dport 1");
    ASSERT_EQ(r.matches.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<CommentMatch>(r.matches[0]));
    EXPECT_TRUE(std::holds_alternative<TcpMatch>(r.matches[1]));

    r = parse_ok("-p tcp --dport 1 -m comment --comment x");
    ASSERT_EQ(r.matches.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<TcpMatch>(r.matches[0]));

    // A later -m tcp joins the tcp match already loaded (iptables-save shows one).
    r = parse_ok("-p tcp --dport 1 -m tcp --sport 2");
    const TcpMatch& m = only_match<TcpMatch>(r);
    EXPECT_EQ(m.sport->value, (PortRange{2, 2}));
    EXPECT_EQ(m.dport->value, (PortRange{1, 1}));

    // -m before -p is fine; the protocol is checked at the end.
    EXPECT_EQ(parse_ok("-m tcp -p tcp --dport 7"), parse_ok("-p tcp --dport 7"));
    EXPECT_EQ(parse_ok("-p tcp -j ACCEPT").matches.size(), 0u) << "-p alone loads nothing";
    EXPECT_EQ(parse_ok("-p tcp -m tcp").matches.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// icmp / icmp6
// ---------------------------------------------------------------------------------------------

TEST(RuleParser, IcmpTypes) {
    struct Case {
        const char* arg;
        bool any;
        uint8_t type, cmin, cmax;
    } cases[] = {
        {"8", false, 8, 0, 255},
        {"echo-request", false, 8, 0, 255},
        {"ping", false, 8, 0, 255},
        {"ECHO-REQ", false, 8, 0, 255},  // case-insensitive unambiguous prefix, like iptables
        {"3/1", false, 3, 1, 1},
        {"3/0", false, 3, 0, 0},
        {"host-unreachable", false, 3, 1, 1},
        {"port-unreachable", false, 3, 3, 3},
        {"destination-unreachable", false, 3, 0, 255},
        {"echo-reply", false, 0, 0, 255},
        {"time-exceeded", false, 11, 0, 255},
        {"fragmentation-needed", false, 3, 4, 4},
        {"any", true, 0, 0, 255},
        {"255", true, 0, 0, 255},
        {"255/3", true, 0, 0, 255},
    };
    for (const Case& c : cases) {
        const IcmpMatch& m = only_match<IcmpMatch>(parse_ok(std::string("-p icmp --icmp-type ") + c.arg));
        EXPECT_FALSE(m.v6) << c.arg;
        EXPECT_EQ(m.any, c.any) << c.arg;
        if (!c.any) {
            EXPECT_EQ(m.type, c.type) << c.arg;
        }
        EXPECT_EQ(m.code_min, c.cmin) << c.arg;
        EXPECT_EQ(m.code_max, c.cmax) << c.arg;
        EXPECT_FALSE(m.invert) << c.arg;
    }
    EXPECT_TRUE(only_match<IcmpMatch>(parse_ok("-p icmp ! --icmp-type any")).invert);
    EXPECT_EQ(parse_ok("-p icmp -m icmp --icmp-type 8"), parse_ok("-p icmp --icmp-type 8"));
    // Two -m icmp are two matches, as in iptables.
    EXPECT_EQ(parse_ok("-p icmp -m icmp --icmp-type 8 -m icmp --icmp-type 0").matches.size(), 2u);
}

TEST(RuleParser, Icmpv6Types) {
    struct Case {
        const char* arg;
        uint8_t type, cmin, cmax;
    } cases[] = {
        {"echo-request", 128, 0, 255},         {"echo-reply", 129, 0, 255},
        {"neighbour-solicitation", 135, 0, 255}, {"neighbor-solicitation", 135, 0, 255},
        {"neighbour-advertisement", 136, 0, 255}, {"router-solicitation", 133, 0, 255},
        {"router-advertisement", 134, 0, 255},  {"destination-unreachable", 1, 0, 255},
        {"packet-too-big", 2, 0, 255},          {"time-exceeded", 3, 0, 255},
        {"parameter-problem", 4, 0, 255},       {"port-unreachable", 1, 4, 4},
        {"128", 128, 0, 255},                   {"1/3", 1, 3, 3},
        {"255", 255, 0, 255},
    };
    for (const Case& c : cases) {
        const IcmpMatch& m =
            only_match<IcmpMatch>(parse_ok(std::string("-p icmpv6 --icmpv6-type ") + c.arg));
        EXPECT_TRUE(m.v6) << c.arg;
        EXPECT_FALSE(m.any) << c.arg << ": ICMPv6 has no 'any' and 255 is a plain type";
        EXPECT_EQ(m.type, c.type) << c.arg;
        EXPECT_EQ(m.code_min, c.cmin) << c.arg;
        EXPECT_EQ(m.code_max, c.cmax) << c.arg;
    }
    const IcmpMatch& inv =
        only_match<IcmpMatch>(parse_ok("-p ipv6-icmp -m icmp6 ! --icmpv6-type 135"));
    EXPECT_TRUE(inv.invert);
    EXPECT_EQ(parse_ok("-p 58 --icmpv6-type 2"), parse_ok("-p icmpv6 -m icmp6 --icmpv6-type packet-too-big"));
}

// ---------------------------------------------------------------------------------------------
// multiport, comment, targets
// ---------------------------------------------------------------------------------------------

TEST(RuleParser, Multiport) {
    using D = MultiportMatch::Direction;
    const MultiportMatch& m =
        only_match<MultiportMatch>(parse_ok("-p tcp -m multiport --dports 22,80,1000:2000"));
    EXPECT_EQ(m.direction, D::Destination);
    EXPECT_EQ(m.ports, (std::vector<PortRange>{{22, 22}, {80, 80}, {1000, 2000}}));
    EXPECT_FALSE(m.invert);

    struct Case {
        const char* spec;
        D dir;
        bool invert;
    } cases[] = {
        {"-p udp -m multiport --sports 53", D::Source, false},
        {"-p udp -m multiport --source-ports 53", D::Source, false},
        {"-p udp -m multiport ! --dports 53", D::Destination, true},
        {"-p udp -m multiport --destination-ports 53", D::Destination, false},
        {"-p tcp -m multiport --ports 53", D::Either, false},
        {"-p tcp -m multiport ! --ports 53", D::Either, true},
    };
    for (const Case& c : cases) {
        const MultiportMatch& mm = only_match<MultiportMatch>(parse_ok(c.spec));
        EXPECT_EQ(mm.direction, c.dir) << c.spec;
        EXPECT_EQ(mm.invert, c.invert) << c.spec;
        EXPECT_EQ(mm.ports, (std::vector<PortRange>{{53, 53}})) << c.spec;
    }
    EXPECT_EQ(only_match<MultiportMatch>(parse_ok("-p tcp -m multiport --dports ssh,https")).ports,
              (std::vector<PortRange>{{22, 22}, {443, 443}}));
    // Exactly 15 slots (a range takes two) is the limit.
    EXPECT_EQ(only_match<MultiportMatch>(
                  parse_ok("-p udp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15"))
                  .ports.size(),
              8u);
    EXPECT_EQ(only_match<MultiportMatch>(
                  parse_ok("-p udp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"))
                  .ports.size(),
              15u);
    // Two lists need two modules.
    EXPECT_EQ(parse_ok("-p tcp -m multiport --dports 1,2 -m multiport --sports 3").matches.size(), 2u);
    EXPECT_EQ(parse_ok("-m multiport -p tcp --dports 5").matches.size(), 1u);
}

TEST(RuleParser, Comment) {
    EXPECT_EQ(only_match<CommentMatch>(parse_ok("-m comment --comment hello")).text, "hello");
    EXPECT_EQ(only_match<CommentMatch>(parse_ok(R"(-m comment --comment "a \"b\" \\c")")).text,
              R"(a "b" \c)");
    EXPECT_EQ(only_match<CommentMatch>(parse_ok(R"(-m comment --comment "")")).text, "");
    const std::string longest(255, 'x');
    EXPECT_EQ(only_match<CommentMatch>(parse_ok("-m comment --comment " + longest)).text, longest);
    EXPECT_EQ(parse_ok("-m comment --comment a -m comment --comment b").matches.size(), 2u);
}

TEST(RuleParser, Targets) {
    EXPECT_EQ(parse_ok("-j ACCEPT").target.kind, Target::Kind::Accept);
    EXPECT_EQ(parse_ok("--jump DROP").target.kind, Target::Kind::Drop);
    EXPECT_EQ(parse_ok("-j RETURN").target.kind, Target::Kind::Return);
    EXPECT_EQ(parse_ok("-p tcp").target.kind, Target::Kind::None);
    Rule r = parse_ok("-j my_chain");
    EXPECT_EQ(r.target.kind, Target::Kind::Jump);
    EXPECT_EQ(r.target.chain, "my_chain");
    EXPECT_EQ(parse_ok("-j accept").target.kind, Target::Kind::Jump) << "targets are case-sensitive";
    EXPECT_EQ(parse_ok("-j 0123456789012345678901234567").target.chain.size(), 28u);
}

TEST(RuleParser, OptionsInAnyOrderGiveTheSameRule) {
    EXPECT_EQ(parse_ok("-j ACCEPT -p udp ! -s 172.16.0.0/12 -m multiport --dports 500,4500 ! -i lo"),
              parse_ok("! -s 172.16.0.0/12 ! -i lo -p udp -m multiport --dports 500,4500 -j ACCEPT"));
    EXPECT_EQ(parse_ok("-p tcp --syn --dport 25 --sport 1025"),
              parse_ok("-p tcp --sport 1025 --dport 25 --syn"));
}

TEST(RuleParser, BundledFlags) {
    EXPECT_EQ(parse_ok("-fj DROP"), parse_ok("-f -j DROP"));
    EXPECT_EQ(parse_ok("-4f"), parse_ok("-4 -f"));
}

TEST(RuleParser, EqualityIgnoresId) {
    Rule a = parse_ok("-p tcp --dport 22 -j ACCEPT");
    Rule b = a;
    b.id = 42;
    EXPECT_EQ(a, b);
    b.target.kind = Target::Kind::Drop;
    EXPECT_NE(a, b);
    b = a;
    b.explicit_family = Family::V6;
    EXPECT_NE(a, b);
    b = a;
    b.fragment_invert = true;
    EXPECT_NE(a, b);
    b = a;
    b.in_interface = Negatable<std::string>{"eth0", false};
    EXPECT_NE(a, b);
    b = a;
    b.protocol->invert = true;
    EXPECT_NE(a, b);
    b = a;
    b.source = Negatable<Cidr>{v4("1.2.3.4", 32), false};
    EXPECT_NE(a, b);
    b = a;
    b.destination = Negatable<Cidr>{v4("1.2.3.4", 32), false};
    EXPECT_NE(a, b);
    b = a;
    b.matches.clear();
    EXPECT_NE(a, b);
    EXPECT_EQ(parse_ok("-p tcp").id, 0u);
}

// ---------------------------------------------------------------------------------------------
// Refusals: each names the token and says why.
// ---------------------------------------------------------------------------------------------

struct BadCase {
    const char* spec;
    const char* fragment;
};

class RuleParserRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RuleParserRejects, WithMessage) {
    const BadCase& c = GetParam();
    const std::string msg = parse_error(c.spec);
    EXPECT_NE(msg.find(c.fragment), std::string::npos)
        << "spec:     " << c.spec << "\nmessage:  " << msg << "\nexpected: " << c.fragment;
    EXPECT_EQ(msg.rfind("rule: ", 0), 0u) << msg;
}

const BadCase kBadCases[] = {
    // addresses
    {"-s", R"("-s": option requires an argument)"},
    {"-s 10.0.0.256", R"("-s 10.0.0.256": invalid IPv4 address)"},
    {"-s 10.0.0.0/33", "prefix length 33 out of range 0-32"},
    {"-d 2001:db8::/129", "prefix length 129 out of range 0-128"},
    {"-s 10.0.0.0/", "missing prefix length"},
    {"-s 10.0.0.0/255.0.255.0", "non-contiguous netmask 255.0.255.0 is not supported"},
    {"-s 10.0.0.0/255.0.0.256", "invalid netmask"},
    {"-s example.com", "host names are not resolved"},
    {"-s 1.2.3.4,5.6.7.8", "address lists are not supported"},
    {"-s 2001:db8::zz", "invalid IPv6 address"},
    {"-s 1.2.3.4 -s 5.6.7.8", R"("-s 5.6.7.8": multiple -s options not allowed)"},
    {"-d 1.2.3.4 --destination 5.6.7.8", "multiple --destination options not allowed"},
    {"-s ! 1.2.3.4", R"(the old "-s ! VALUE" form is not supported: write "! -s VALUE")"},
    {"-s 10.0.0.1 -d 2001:db8::1", R"("-d 2001:db8::1": is IPv6 but "-s 10.0.0.1" is IPv4)"},
    {"-4 -s 2001:db8::1", R"("-s 2001:db8::1": is IPv6 but "-4" is IPv4)"},
    {"-6 -d 10.0.0.1", "cannot mix IPv4 and IPv6"},
    {"-6 -p icmp", R"("-p icmp": is IPv4 but "-6" is IPv6)"},
    {"-p icmpv6 -s 10.0.0.1", R"("-s 10.0.0.1": is IPv4 but "-p icmpv6" is IPv6)"},
    {"-4 -6", R"("-6": conflicts with "-4")"},
    {"-4 --ipv4", "multiple --ipv4 options not allowed"},
    {"! -4", R"("! -4": -4 cannot be negated)"},
    {"! -s 0.0.0.0/0", "rule would never match"},
    // protocol
    {"-p", R"("-p": option requires an argument)"},
    {"-p foo", R"("-p foo": unknown protocol)"},
    {"-p 256", "protocol number out of range 0-255"},
    {"-p tcp -p udp", "multiple -p options not allowed"},
    {"! -p all", "rule would never match protocol"},
    // interfaces
    {"-i 0123456789abcdef", "interface name too long (16 characters, at most 15)"},
    {"-i eth/0", "interface names may not contain"},
    {"-i eth0 -i eth1", "multiple -i options not allowed"},
    {"-o eth0", R"("-o": xfw filters XDP ingress only)"},
    {"--out-interface eth0", "xfw filters XDP ingress only"},
    {"-f -f", "multiple -f options not allowed"},
    // ports
    {"-p tcp --dport 70000", R"(rule: "--dport 70000": port out of range 0-65535)"},
    {"-p udp --sport 65536", R"("--sport 65536": port out of range 0-65535)"},
    {"-p tcp --dport 30:20", "invalid port range: first port 30 is greater than last port 20"},
    {"-p tcp --dport 1:2:3", "a port range has one ':'"},
    {"-p tcp --dport HTTP", R"(unknown port or service name "HTTP")"},
    {"-p tcp --dport", R"("--dport": option requires an argument)"},
    {"--dport 22", R"("--dport 22": --dport needs -p tcp or -p udp before it)"},
    {"--dport 22 -p tcp", "--dport needs -p tcp or -p udp before it"},
    {"-p icmp --sport 22", "--sport needs -p tcp or -p udp before it"},
    {"! -p tcp --dport 22", "--dport needs -p tcp or -p udp before it"},
    {"-p tcp --dport 1 --dport 2", "only one --dport allowed"},
    {"-p tcp --sport 1 --source-port 2", "only one --sport allowed"},
    {"-p tcp --dport ! 22", R"(the old "--dport ! VALUE" form is not supported)"},
    {"-p tcp ! --dport 0:65535", "rule would never match"},
    // tcp flags
    {"-p udp --syn", R"("--syn": --syn needs -p tcp before it)"},
    {"--tcp-flags SYN SYN", "--tcp-flags needs -p tcp before it"},
    {"-p tcp --syn --tcp-flags ALL SYN", "only one of --syn or --tcp-flags allowed"},
    {"-p tcp --syn --syn", "only one of --syn or --tcp-flags allowed"},
    {"-p tcp --tcp-flags SYN", "--tcp-flags requires two arguments: MASK COMP"},
    {"-p tcp --tcp-flags SYN -j ACCEPT", "--tcp-flags requires two arguments: MASK COMP"},
    {"-p tcp --tcp-flags SYN,FOO SYN", R"(unknown TCP flag "FOO")"},
    {"-p tcp --tcp-flags SYN,,ACK SYN", R"(unknown TCP flag "")"},
    {"-p tcp --tcp-flags NONE SYN", "an empty mask makes the test constant"},
    {"-p tcp ! --tcp-flags NONE NONE", "an empty mask makes the test constant"},
    {"-p tcp --tcp-option 2", "TCP option matching is not supported"},
    // icmp
    {"-p icmp --icmp-type foo", R"("--icmp-type foo": unknown ICMP type)"},
    {"-p icmp --icmp-type ttl", R"(ambiguous ICMP type: "ttl-exceeded" or "ttl-zero-during-transit"?)"},
    {"-p icmp --icmp-type 3/300", "ICMP code must be a number 0-255"},
    {"-p icmp --icmp-type 3/", "ICMP code must be a number 0-255"},
    {"-p icmp --icmp-type 256", "ICMP type must be a number 0-255"},
    {"-p icmp --icmp-type 8 --icmp-type 0", "--icmp-type can only be given once per -m icmp"},
    {"--icmp-type 8", "--icmp-type needs -p icmp before it"},
    {"-p icmpv6 --icmp-type 8", "--icmp-type needs -p icmp before it"},
    {"-p icmpv6 --icmpv6-type any", "unknown ICMPv6 type"},
    {"-p icmp --icmpv6-type 128", "--icmpv6-type needs -p icmpv6 before it"},
    {"-p icmp -m icmp", R"("-m icmp": option --icmp-type must be specified)"},
    {"-p icmpv6 -m icmp6", "option --icmpv6-type must be specified"},
    // modules need their protocol
    {"-m tcp --dport 1", R"("-m tcp": the tcp match requires -p tcp)"},
    {"-p udp -m tcp", "the tcp match requires -p tcp"},
    {"! -p tcp -m tcp", "the tcp match requires -p tcp"},
    {"-m udp", "the udp match requires -p udp"},
    {"-p tcp -m icmp --icmp-type 8", "the icmp match requires -p icmp"},
    {"-p icmp -m icmp6 --icmpv6-type 1", "the icmp6 match requires -p icmpv6"},
    // multiport
    {"-m multiport --dports 1", R"("-m multiport": multiport needs -p tcp or -p udp)"},
    {"-p sctp -m multiport --dports 1", "multiport needs -p tcp or -p udp"},
    {"-p tcp -m multiport", "multiport needs one of --sports, --dports or --ports"},
    {"-p tcp -m multiport --sports 1 --dports 2", "only one of --sports, --dports or --ports per -m multiport"},
    {"-p tcp --dports 1", R"("--dports 1": --dports needs -m multiport before it)"},
    {"-p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15,16",
     "too many ports: 16 (at most 15, a range counts as two)"},
    {"-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "too many ports: 16"},
    {"-p tcp -m multiport --dports 1000:", "a range in a port list needs both ends"},
    {"-p tcp -m multiport --dports 1,,2", "empty entry in port list"},
    {"-p tcp -m multiport --dports 5:1", "invalid port range"},
    {"-p tcp -m multiport --dports 70000", "port out of range 0-65535"},
    // comment
    {"-m comment", R"("-m comment": option --comment must be specified)"},
    {"--comment x", "--comment needs -m comment before it"},
    {"-m comment ! --comment x", "--comment cannot be negated"},
    {"-m comment --comment a --comment b", "only one --comment per -m comment"},
    {"-m comment --comment \"a\nb\"", "comment may not contain line breaks"},
    // unsupported modules and targets
    {"-m conntrack --ctstate NEW",
     R"(rule: "-m conntrack": unsupported match module "conntrack" (xfw supports tcp, udp, icmp, icmp6, multiport, comment, set, wasm))"},
    {"-m state --state NEW", R"(unsupported match module "state")"},
    {"-m limit --limit 5/s", R"(unsupported match module "limit")"},
    {"-p tcp -m mac", R"(unsupported match module "mac")"},
    {"-m", R"("-m": option requires an argument)"},
    {"! -m tcp", "-m cannot be negated"},
    {"-j REJECT", R"("-j REJECT": unsupported target REJECT (xfw supports ACCEPT, DROP, RETURN, WASM and jumps to user chains))"},
    {"-j LOG --log-prefix x", "unsupported target LOG"},
    {"-j MARK", "unsupported target MARK"},
    {"-j DNAT", "unsupported target DNAT"},
    {"-j", R"("-j": option requires an argument)"},
    {"-j ACCEPT -j DROP", "multiple -j options not allowed"},
    {"! -j ACCEPT", "-j cannot be negated"},
    {"-j 01234567890123456789012345678", "chain name too long (29 characters, at most 28)"},
    {"-j ACCEPT --reject-with tcp-reset", R"("--reject-with": unknown option)"},
    {"-g FOO", R"("-g FOO": goto is not supported)"},
    {"--goto FOO", "goto is not supported"},
    // syntax
    {"-x", R"("-x": unknown option)"},
    {"--foo", R"("--foo": unknown option)"},
    {"-ptcp", R"("-ptcp": unknown option)"},
    {"-c 1 2", R"("-c": unknown option)"},
    {"foo", R"("foo": unexpected argument)"},
    {"-p tcp 22", R"("22": unexpected argument)"},
    {"!", R"("!": must be followed by the option it negates)"},
    {"! ! -s 1.2.3.4", "multiple consecutive ! not allowed"},
};

INSTANTIATE_TEST_SUITE_P(All, RuleParserRejects, ::testing::ValuesIn(kBadCases));

TEST(RuleParser, CommentLengthLimit) {
    const std::string msg = parse_error("-m comment --comment " + std::string(256, 'x'));
    EXPECT_NE(msg.find("comment too long (256 characters, at most 255)"), std::string::npos) << msg;
}

TEST(RuleParser, IncrementalParserReportsWithoutPrefix) {
    std::vector<std::string> t = {"-p", "tcp", "--dport", "99999"};
    RuleParser p;
    size_t i = 0;
    ASSERT_TRUE(p.consume(t, i).ok());
    EXPECT_EQ(i, 2u);
    EXPECT_FALSE(p.empty());
    Status st = p.consume(t, i);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, R"("--dport 99999": port out of range 0-65535)");
}

TEST(RuleParser, ChainNameRules) {
    EXPECT_TRUE(check_chain_name("my-chain_1").ok());
    EXPECT_TRUE(check_chain_name(std::string(28, 'c')).ok());
    EXPECT_FALSE(check_chain_name(std::string(29, 'c')).ok());
    EXPECT_FALSE(check_chain_name("").ok());
    EXPECT_FALSE(check_chain_name("-x").ok());
    EXPECT_FALSE(check_chain_name("!x").ok());
    EXPECT_FALSE(check_chain_name("a b").ok());
    EXPECT_FALSE(check_chain_name("ACCEPT").ok());
    EXPECT_FALSE(check_chain_name("REJECT").ok());
    EXPECT_NE(check_chain_name("DROP").error().message.find("may not clash with a target name"),
              std::string::npos);
}

TEST(RuleParser, BundleExpansion) {
    std::vector<std::string> t = {"-nvL", "INPUT"};
    expand_short_option_bundle(t, 0);
    EXPECT_EQ(t, (std::vector<std::string>{"-n", "-v", "-L", "INPUT"}));
    t = {"-ptcp"};
    expand_short_option_bundle(t, 0);
    EXPECT_EQ(t, (std::vector<std::string>{"-ptcp"})) << "an argument letter must come last";
    t = {"--dport"};
    expand_short_option_bundle(t, 0);
    EXPECT_EQ(t, (std::vector<std::string>{"--dport"}));
}

}  // namespace
}  // namespace xfw
