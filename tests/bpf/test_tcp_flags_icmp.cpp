// --tcp-flags, --syn and --icmp-type / --icmpv6-type, plain and negated. A negated match still
// needs the L4 header of a first fragment, as in iptables (checked against the kernel's
// xt_tcpudp / xt_icmp with iptables-legacy in a scratch namespace).
#include "tests/bpf/bpf_fixture.hpp"

namespace xfw::test {
namespace {

using namespace tcpflag;

class BpfTcpFlagsIcmp : public BpfTest {};

PacketBuilder t4(uint8_t flags) { return tcp4("10.0.0.1", "10.0.0.2", 40000, 80, flags); }
PacketBuilder t6(uint8_t flags) { return tcp6("fd00::1", "fd00::2", 40000, 80, flags); }
PacketBuilder u4() { return udp4("10.0.0.1", "10.0.0.2", 40000, 80); }

// A non-first IPv4 fragment of a TCP/ICMP datagram whose bytes happen to look like the header
// that would match: the data plane must not read them as one.
PacketBuilder tcp_fragment4(uint8_t flags) {
    PacketBuilder b;
    b.ipv4("10.0.0.1", "10.0.0.2").ip_id(9).frag_offset(64).raw_l4(
        6, {0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0});
    return b;
}
PacketBuilder icmp_fragment4(uint8_t type, uint8_t code) {
    PacketBuilder b;
    b.ipv4("10.0.0.1", "10.0.0.2").ip_id(9).frag_offset(3).raw_l4(1, {type, code, 0, 0, 0, 0, 0, 0});
    return b;
}

TEST_F(BpfTcpFlagsIcmp, AllNone) {
    expect_rule_and_negation("-p tcp --tcp-flags ALL NONE", "-p tcp ! --tcp-flags ALL NONE", {
        pos("no flags", t4(0)),
        pos("no flags, IPv6", t6(0)),
        // ALL is iptables' ALL: FIN..URG, not ECE/CWR (xt_tcpudp agrees).
        pos("only ECE and CWR", t4(kEce | kCwr)),
        neg("FIN", t4(kFin)),
        neg("URG", t4(kUrg)),
        neg("SYN", t4(kSyn)),
        neither("udp", u4()),
        neither("non-first fragment", tcp_fragment4(0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, SynAckMaskSyn) {
    expect_rule_and_negation("-p tcp --tcp-flags SYN,ACK SYN", "-p tcp ! --tcp-flags SYN,ACK SYN", {
        pos("SYN", t4(kSyn)),
        pos("SYN+PSH", t4(kSyn | kPsh)),
        pos("SYN+FIN (outside the mask)", t4(kSyn | kFin)),
        pos("SYN over IPv6", t6(kSyn)),
        neg("SYN+ACK", t4(kSyn | kAck)),
        neg("ACK", t4(kAck)),
        neg("none", t4(0)),
        neg("SYN+ACK over IPv6", t6(kSyn | kAck)),
        neither("udp", u4()),
        neither("icmp", icmp4(8, 0)),
        neither("non-first fragment with SYN bytes", tcp_fragment4(kSyn)),
    });
}

TEST_F(BpfTcpFlagsIcmp, AllFlagsExactly) {
    expect_rule("-p tcp --tcp-flags ALL FIN,PSH,URG", {
        hit("xmas", t4(kFin | kPsh | kUrg)),
        hit("xmas plus ECE", t4(kFin | kPsh | kUrg | kEce)),
        miss("xmas plus ACK", t4(kFin | kPsh | kUrg | kAck)),
        miss("FIN+PSH", t4(kFin | kPsh)),
    });
    expect_rule("-p tcp --tcp-flags FIN,RST FIN,RST", {
        hit("FIN+RST", t4(kFin | kRst)),
        hit("FIN+RST+ACK", t4(kFin | kRst | kAck)),
        miss("FIN", t4(kFin)),
        miss("RST", t4(kRst)),
    });
}

TEST_F(BpfTcpFlagsIcmp, Syn) {
    expect_rule_and_negation("-p tcp --syn", "-p tcp ! --syn", {
        pos("SYN", t4(kSyn)),
        pos("SYN+PSH", t4(kSyn | kPsh)),
        pos("SYN+ECE+CWR", t4(kSyn | kEce | kCwr)),
        pos("SYN+URG", t6(kSyn | kUrg)),
        neg("SYN+ACK", t4(kSyn | kAck)),
        neg("SYN+RST", t4(kSyn | kRst)),
        neg("SYN+FIN", t4(kSyn | kFin)),
        neg("ACK", t4(kAck)),
        neg("RST", t6(kRst)),
        neg("none", t4(0)),
        neither("udp", u4()),
        neither("non-first fragment with SYN bytes", tcp_fragment4(kSyn)),
        neither("non-first fragment with ACK bytes", tcp_fragment4(kAck)),
    });
}

TEST_F(BpfTcpFlagsIcmp, FlagsAndPortsTogether) {
    expect_rule("-p tcp --dport 22 --syn", {
        hit("SYN to 22", tcp4("10.0.0.1", "10.0.0.2", 1, 22, kSyn)),
        miss("ACK to 22", tcp4("10.0.0.1", "10.0.0.2", 1, 22, kAck)),
        miss("SYN to 23", tcp4("10.0.0.1", "10.0.0.2", 1, 23, kSyn)),
    });
}

TEST_F(BpfTcpFlagsIcmp, IcmpTypeNumber) {
    expect_rule_and_negation("-p icmp --icmp-type 8", "-p icmp ! --icmp-type 8", {
        pos("8/0", icmp4(8, 0)),
        pos("8/5 (any code)", icmp4(8, 5)),
        pos("8/255", icmp4(8, 255)),
        neg("0/0", icmp4(0, 0)),
        neg("3/8 (code equals the type)", icmp4(3, 8)),
        neg("9/0", icmp4(9, 0)),
        neither("icmpv6 echo request", icmp6(128, 0)),
        neither("tcp", t4(kSyn)),
        neither("non-first fragment with type 8 bytes", icmp_fragment4(8, 0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, IcmpTypeName) {
    expect_rule("-p icmp --icmp-type echo-request", {
        hit("8/0", icmp4(8, 0)),
        hit("8/5", icmp4(8, 5)),
        miss("0/0", icmp4(0, 0)),
    });
    expect_rule("-p icmp --icmp-type echo-reply", {hit("0/0", icmp4(0, 0)), miss("8/0", icmp4(8, 0))});
    expect_rule_and_negation("-p icmp --icmp-type port-unreachable", "-p icmp ! --icmp-type port-unreachable", {
        pos("3/3", icmp4(3, 3)),
        neg("3/1", icmp4(3, 1)),
        neg("3/4", icmp4(3, 4)),
        neg("4/3", icmp4(4, 3)),
    });
    expect_rule("-p icmp --icmp-type destination-unreachable", {
        hit("3/0", icmp4(3, 0)),
        hit("3/15", icmp4(3, 15)),
        miss("4/0", icmp4(4, 0)),
        miss("11/0", icmp4(11, 0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, IcmpTypeAndCode) {
    expect_rule_and_negation("-p icmp --icmp-type 3/1", "-p icmp ! --icmp-type 3/1", {
        pos("3/1", icmp4(3, 1)),
        neg("3/0", icmp4(3, 0)),
        neg("3/2", icmp4(3, 2)),
        neg("1/3", icmp4(1, 3)),
        neg("4/1", icmp4(4, 1)),
        neither("icmpv6 1/1", icmp6(1, 1)),
    });
    expect_rule("-p icmp --icmp-type 11/0", {
        hit("11/0", icmp4(11, 0)),
        miss("11/1", icmp4(11, 1)),
    });
}

TEST_F(BpfTcpFlagsIcmp, IcmpTypeAny) {
    expect_rule("-p icmp --icmp-type any", {
        hit("8/0", icmp4(8, 0)),
        hit("3/3", icmp4(3, 3)),
        hit("255/255", icmp4(255, 255)),
        hit("0/0", icmp4(0, 0)),
        miss("icmpv6", icmp6(128, 0)),
        miss("tcp", t4(kSyn)),
        miss("non-first fragment", icmp_fragment4(8, 0)),
    });
    // "! --icmp-type any" can never match (xt_icmp agrees).
    expect_rule("-p icmp ! --icmp-type any", {
        miss("8/0", icmp4(8, 0)),
        miss("3/3", icmp4(3, 3)),
        miss("tcp", t4(kSyn)),
        miss("icmpv6", icmp6(128, 0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, Icmpv6TypeNumberAndName) {
    for (const char* spec : {"-p icmpv6 --icmpv6-type 128", "-p icmpv6 --icmpv6-type echo-request"}) {
        expect_rule(spec, {
            hit("128/0", icmp6(128, 0)),
            hit("128/9", icmp6(128, 9)),
            miss("129/0", icmp6(129, 0)),
            miss("icmp4 type 128", icmp4(128, 0)),
            miss("icmp4 echo request", icmp4(8, 0)),
        });
    }
    expect_rule_and_negation("-p icmpv6 --icmpv6-type 128", "-p icmpv6 ! --icmpv6-type 128", {
        pos("128", icmp6(128, 0)),
        neg("129", icmp6(129, 0)),
        neg("135", icmp6("fe80::1", "ff02::1:ff00:2", 135, 0)),
        neither("icmp4 8", icmp4(8, 0)),
        neither("tcp6", t6(kSyn)),
    });
    expect_rule("-p icmpv6 --icmpv6-type neighbour-solicitation", {
        hit("135", icmp6("fe80::1", "ff02::1:ff00:2", 135, 0)),
        miss("136", icmp6("fe80::1", "ff02::1", 136, 0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, Icmpv6TypeAndCode) {
    expect_rule_and_negation("-p icmpv6 --icmpv6-type 1/4", "-p icmpv6 ! --icmpv6-type 1/4", {
        pos("1/4", icmp6(1, 4)),
        neg("1/3", icmp6(1, 3)),
        neg("1/5", icmp6(1, 5)),
        neg("4/1", icmp6(4, 1)),
        neither("icmp4 1/4", icmp4(1, 4)),
    });
    expect_rule("-p icmpv6 --icmpv6-type port-unreachable", {
        hit("1/4", icmp6(1, 4)),
        miss("1/0", icmp6(1, 0)),
    });
    expect_rule("-p icmpv6 --icmpv6-type destination-unreachable", {
        hit("1/0", icmp6(1, 0)),
        hit("1/6", icmp6(1, 6)),
        miss("2/0", icmp6(2, 0)),
    });
}

TEST_F(BpfTcpFlagsIcmp, Icmpv6NonFirstFragmentHasNoType) {
    PacketBuilder frag;
    frag.ipv6("fd00::1", "fd00::2").fragment(2, false, 5).raw_l4(58, {128, 0, 0, 0, 0, 0, 0, 0});
    PacketBuilder first;
    first.ipv6("fd00::1", "fd00::2").fragment(0, true, 5).icmp6(128, 0).payload_len(16);
    expect_rule_and_negation("-p icmpv6 --icmpv6-type 128", "-p icmpv6 ! --icmpv6-type 128", {
        neither("non-first fragment", frag),
        pos("first fragment", first),
    });
    expect_rule("-p icmpv6", {hit("non-first fragment", frag), hit("first fragment", first)});
}

}  // namespace
}  // namespace xfw::test
