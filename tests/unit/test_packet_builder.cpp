// Tests for the packet-level test support code: the frame builder is checked against
// independent oracles (tcpdump's decoder and checksum verification, a checksum written again
// here, and the kernel's own stack in a NetnsLab), then pcap I/O, run_command, NetnsLab and
// BpffsMount themselves.
#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"
#include "tests/support/pcap_io.hpp"

namespace xfw::test {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Independent helpers (deliberately not the builder's own checksum code).

uint16_t rd16(const Frame& f, size_t at) {
    return static_cast<uint16_t>((f.at(at) << 8) | f.at(at + 1));
}

// One's complement sum of `bytes` folded to 16 bits; a region including a correct checksum
// sums to 0xffff.
uint16_t ones_complement_sum(const std::vector<uint8_t>& bytes) {
    uint64_t sum = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
        uint16_t word = static_cast<uint16_t>(bytes[i] << 8);
        if (i + 1 < bytes.size()) word |= bytes[i + 1];
        sum += word;
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

bool ipv4_header_checksum_ok(const Frame& f, size_t l3) {
    size_t len = (f.at(l3) & 0x0f) * 4u;
    return ones_complement_sum(std::vector<uint8_t>(f.begin() + l3, f.begin() + l3 + len)) == 0xffff;
}

// Upper-layer checksum over the pseudo-header (src/dst taken from the frame unless `v6_dst`
// overrides the destination) and everything from the L4 offset to the end of the frame.
bool l4_checksum_ok(const Frame& f, const FrameLayout& lay, uint8_t proto, bool pseudo = true,
                    const Ipv6Addr* v6_dst = nullptr) {
    std::vector<uint8_t> buf;
    size_t l4_len = f.size() - lay.l4_offset;
    if (pseudo) {
        uint16_t type = rd16(f, lay.l3_offset - 2);
        if (type == ethertype::kIpv4) {
            buf.insert(buf.end(), f.begin() + lay.l3_offset + 12, f.begin() + lay.l3_offset + 20);
            buf.insert(buf.end(), {0, proto, static_cast<uint8_t>(l4_len >> 8),
                                   static_cast<uint8_t>(l4_len)});
        } else {
            buf.insert(buf.end(), f.begin() + lay.l3_offset + 8, f.begin() + lay.l3_offset + 24);
            if (v6_dst) buf.insert(buf.end(), v6_dst->begin(), v6_dst->end());
            else buf.insert(buf.end(), f.begin() + lay.l3_offset + 24, f.begin() + lay.l3_offset + 40);
            buf.insert(buf.end(), {static_cast<uint8_t>(l4_len >> 24), static_cast<uint8_t>(l4_len >> 16),
                                   static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len),
                                   0, 0, 0, proto});
        }
    }
    buf.insert(buf.end(), f.begin() + lay.l4_offset, f.end());
    return ones_complement_sum(buf) == 0xffff;
}

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/xfw-test-XXXXXX";
        if (char* p = ::mkdtemp(tmpl)) path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

bool tcpdump_available() {
    static const bool ok = run_command({"tcpdump", "--version"}).ok();
    return ok;
}

// tcpdump's verbose decode (-vv: checksums verified) of a single frame, link-level header
// included (-e). Empty (and a test failure) if tcpdump cannot run.
std::string tcpdump_decode(const Frame& frame) {
    TempDir dir;
    std::string file = dir.file("frame.pcap");
    Status s = write_pcap(file, std::vector<Frame>{frame});
    if (!s.ok()) {
        ADD_FAILURE() << s.error().message;
        return {};
    }
    CommandResult r = run_command({"tcpdump", "-nn", "-vv", "-e", "-r", file}, milliseconds(10000));
    if (!r.ok()) {
        ADD_FAILURE() << r.describe();
        return {};
    }
    return r.out;
}

// Complaints tcpdump makes about checksums and lengths; none may appear for a valid frame.
void expect_clean_decode(const std::string& text) {
    for (const char* bad : {"bad cksum", "incorrect", "bad udp cksum", "bad icmp6 cksum",
                            "wrong icmp cksum", "truncated", "[|", "bad-hlen", "bad hdr length",
                            "invalid"}) {
        EXPECT_EQ(text.find(bad), std::string::npos) << "tcpdump says \"" << bad << "\":\n" << text;
    }
}

#define SKIP_WITHOUT_TCPDUMP() \
    if (!tcpdump_available()) GTEST_SKIP() << "tcpdump is not installed"

#define SKIP_WITHOUT_ROOT()                                 \
    do {                                                    \
        std::string why_;                                   \
        if (!have_root_and_netns(&why_)) GTEST_SKIP() << why_; \
    } while (0)

// ---------------------------------------------------------------------------------------------
// Builder: structure and checksums

TEST(PacketBuilder, InternetChecksumMatchesRfc1071Example) {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2 (folded).
    const std::vector<uint8_t> data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(internet_checksum(data), static_cast<uint16_t>(~0xddf2));
    std::vector<uint8_t> with_sum = data;
    with_sum.push_back(0x22);
    with_sum.push_back(0x0d);
    EXPECT_EQ(internet_checksum(with_sum), 0);
}

TEST(PacketBuilder, EthernetDefaultsAndOverrides) {
    Frame f = PacketBuilder().raw_l3(0x1234, {1, 2, 3}).build();
    ASSERT_EQ(f.size(), 17u);
    EXPECT_EQ((Mac{f[0], f[1], f[2], f[3], f[4], f[5]}), kDefaultDstMac);
    EXPECT_EQ(format_mac({f[6], f[7], f[8], f[9], f[10], f[11]}), "02:00:00:00:00:01");
    EXPECT_EQ(rd16(f, 12), 0x1234);

    Frame g = udp4("10.0.0.1", "10.0.0.2", 1, 2)
                  .eth_src("aa:bb:cc:dd:ee:ff")
                  .eth_dst(parse_mac("11-22-33-44-55-66"))
                  .build();
    EXPECT_EQ(format_mac({g[0], g[1], g[2], g[3], g[4], g[5]}), "11:22:33:44:55:66");
    EXPECT_EQ(format_mac({g[6], g[7], g[8], g[9], g[10], g[11]}), "aa:bb:cc:dd:ee:ff");
    EXPECT_EQ(rd16(g, 12), ethertype::kIpv4);

    Frame h = udp4("10.0.0.1", "10.0.0.2", 1, 2).ethertype(ethertype::kIpv6).build();
    EXPECT_EQ(rd16(h, 12), ethertype::kIpv6);  // raw override, body stays IPv4
    EXPECT_EQ(h[14], 0x45);
}

TEST(PacketBuilder, Ipv4TcpLengthsAndChecksums) {
    PacketBuilder b = tcp4("192.0.2.10", "198.51.100.20", 40000, 8080,
                           tcpflag::kSyn | tcpflag::kAck)
                          .seq(0x01020304)
                          .ack_seq(0x0a0b0c0d)
                          .window(1024)
                          .tcp_mss(1460)
                          .payload_len(33);
    Frame f = b.build();
    FrameLayout lay = b.layout();
    EXPECT_EQ(lay.l3_offset, 14u);
    EXPECT_EQ(lay.l4_offset, 34u);
    EXPECT_EQ(lay.payload_offset, 34u + 24u);
    ASSERT_EQ(f.size(), 14u + 20u + 24u + 33u);
    EXPECT_EQ(lay.size, f.size());
    EXPECT_EQ(f[14], 0x45);                          // version 4, IHL 5
    EXPECT_EQ(rd16(f, 16), 20 + 24 + 33);            // total length
    EXPECT_EQ(f[22], 64);                            // default TTL
    EXPECT_EQ(f[23], ipproto::kTcp);
    EXPECT_TRUE(ipv4_header_checksum_ok(f, 14));
    EXPECT_EQ(rd16(f, 34), 40000);
    EXPECT_EQ(rd16(f, 36), 8080);
    EXPECT_EQ(f[46] >> 4, 6);                        // data offset: 5 + one option word
    EXPECT_EQ(f[47], tcpflag::kSyn | tcpflag::kAck);
    EXPECT_EQ(rd16(f, 48), 1024);
    EXPECT_EQ(f[54], 2);                             // MSS option
    EXPECT_EQ(rd16(f, 56), 1460);
    EXPECT_EQ(f[58], 0);                             // payload starts with 0x00, 0x01, ...
    EXPECT_EQ(f[59], 1);
    EXPECT_TRUE(l4_checksum_ok(f, lay, ipproto::kTcp));
}

TEST(PacketBuilder, UdpIcmpChecksumsBothFamilies) {
    struct Case {
        const char* name;
        PacketBuilder builder;
        uint8_t proto;
        bool pseudo;
    };
    std::vector<Case> cases = {
        {"udp4", udp4("10.1.2.3", "10.3.2.1", 33333, 44444).payload_len(17), ipproto::kUdp, true},
        {"icmp4", icmp4("10.1.2.3", "10.3.2.1").icmp(8, 0, 77, 5).payload_len(56), ipproto::kIcmp, false},
        {"tcp6", tcp6("2001:db8::1", "2001:db8::2", 1, 2).payload_len(9), ipproto::kTcp, true},
        {"udp6", udp6("2001:db8::1", "2001:db8::2", 33333, 44444).payload_len(3), ipproto::kUdp, true},
        {"icmp6", icmp6("2001:db8::1", "2001:db8::2").icmp6(128, 0, 9, 9).payload_len(32), ipproto::kIcmpV6, true},
        {"udp4 odd", udp4("10.1.2.3", "10.3.2.1", 1, 2).payload("abc"), ipproto::kUdp, true},
    };
    for (auto& c : cases) {
        SCOPED_TRACE(c.name);
        Frame f = c.builder.build();
        FrameLayout lay = c.builder.layout();
        EXPECT_TRUE(l4_checksum_ok(f, lay, c.proto, c.pseudo)) << hex_dump(f);
        if (rd16(f, 12) == ethertype::kIpv4) {
            EXPECT_TRUE(ipv4_header_checksum_ok(f, 14));
            EXPECT_EQ(rd16(f, 16), f.size() - 14);
        } else {
            EXPECT_EQ(f[14] >> 4, 6);
            EXPECT_EQ(rd16(f, 18), f.size() - 54);   // payload length
        }
        if (c.proto == ipproto::kUdp) {
            EXPECT_EQ(rd16(f, lay.l4_offset + 4), f.size() - lay.l4_offset);  // UDP length
            EXPECT_NE(rd16(f, lay.l4_offset + 6), 0);
        }
    }
}

TEST(PacketBuilder, Ipv4OptionsArePaddedAndIhlAdjusted) {
    PacketBuilder b = udp4("10.0.0.1", "10.0.0.2", 1, 2).ipv4_options({0x94, 0x04, 0x00, 0x00, 0x01});
    Frame f = b.build();
    EXPECT_EQ(f[14] & 0x0f, 7);  // 20 + 8 bytes of options (5 padded to 8)
    EXPECT_EQ(b.layout().l4_offset, 14u + 28u);
    EXPECT_EQ(f[14 + 20 + 5], 0);  // EOL padding
    EXPECT_EQ(rd16(f, 16), 28 + 8);
    EXPECT_TRUE(ipv4_header_checksum_ok(f, 14));
    EXPECT_TRUE(l4_checksum_ok(f, b.layout(), ipproto::kUdp));
    EXPECT_THROW(PacketBuilder().ipv4_options(std::vector<uint8_t>(41, 1)), std::invalid_argument);
}

TEST(PacketBuilder, Ipv4FragmentFields) {
    Frame first = udp4("10.0.0.1", "10.0.0.2", 1, 2).more_fragments().ip_id(0xbeef).payload_len(64).build();
    EXPECT_EQ(rd16(first, 18), 0xbeef);
    EXPECT_EQ(rd16(first, 20), 0x2000);  // MF, offset 0
    Frame later = PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(ipproto::kUdp)
                      .frag_offset(185).dont_fragment().payload_len(40).build();
    EXPECT_EQ(rd16(later, 20), 0x4000 | 185);
    EXPECT_EQ(later[23], ipproto::kUdp);
    EXPECT_EQ(later.size(), 14u + 20u + 40u);
    EXPECT_TRUE(ipv4_header_checksum_ok(later, 14));
    EXPECT_THROW(PacketBuilder().frag_offset(0x2000), std::invalid_argument);
}

TEST(PacketBuilder, VlanTags) {
    Frame one = udp4("10.0.0.1", "10.0.0.2", 1, 2).vlan(10, 3).build();
    EXPECT_EQ(rd16(one, 12), ethertype::kVlan);
    EXPECT_EQ(rd16(one, 14), (3 << 13) | 10);
    EXPECT_EQ(rd16(one, 16), ethertype::kIpv4);
    EXPECT_EQ(one[18], 0x45);

    PacketBuilder b = udp6("fd00::1", "fd00::2", 1, 2).qinq(100, 200);
    Frame two = b.build();
    EXPECT_EQ(rd16(two, 12), ethertype::kQinQ);
    EXPECT_EQ(rd16(two, 14), 100);
    EXPECT_EQ(rd16(two, 16), ethertype::kVlan);
    EXPECT_EQ(rd16(two, 18), 200);
    EXPECT_EQ(rd16(two, 20), ethertype::kIpv6);
    EXPECT_EQ(b.layout().l3_offset, 22u);
    EXPECT_TRUE(l4_checksum_ok(two, b.layout(), ipproto::kUdp));
}

TEST(PacketBuilder, ArpRequestBody) {
    Frame f = arp_request("10.0.0.1", "10.0.0.2").build();
    ASSERT_EQ(f.size(), 14u + 28u);
    EXPECT_EQ(format_mac({f[0], f[1], f[2], f[3], f[4], f[5]}), "ff:ff:ff:ff:ff:ff");
    EXPECT_EQ(rd16(f, 12), ethertype::kArp);
    EXPECT_EQ(rd16(f, 14), 1);       // Ethernet
    EXPECT_EQ(rd16(f, 16), 0x0800);  // IPv4
    EXPECT_EQ(rd16(f, 20), 1);       // request
    EXPECT_TRUE(std::equal(f.begin() + 22, f.begin() + 28, kDefaultSrcMac.begin()));
    EXPECT_EQ(f[28 + 3], 1);         // sender 10.0.0.1
    EXPECT_EQ(f[38 + 3], 2);         // target 10.0.0.2
}

TEST(PacketBuilder, Ipv6ExtensionHeaderChain) {
    PacketBuilder b = udp6("fd00::1", "fd00::2", 33333, 44444)
                          .hop_by_hop({0x05, 0x02, 0x00, 0x00})  // router alert
                          .dest_opts()
                          .routing(2, 0, {"fd00::99"})
                          .fragment(100, true, 0xdeadbeef)
                          .ah(0x100, 5)
                          .ext_header(135, {1, 2, 3})  // mobility header, generic format
                          .payload_len(11);
    Frame f = b.build();
    FrameLayout lay = b.layout();
    ASSERT_EQ(lay.ext_offsets.size(), 6u);

    const uint8_t expected_types[] = {ipproto::kHopByHop, ipproto::kDestOpts, ipproto::kRouting,
                                      ipproto::kFragment, ipproto::kAh, 135};
    const size_t expected_lengths[] = {8, 8, 24, 8, 24, 8};
    uint8_t nh = f[14 + 6];
    size_t off = 14 + 40;
    for (size_t i = 0; i < 6; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(nh, expected_types[i]);
        EXPECT_EQ(off, lay.ext_offsets[i]);
        size_t len = nh == ipproto::kFragment ? 8
                     : nh == ipproto::kAh     ? (f[off + 1] + 2u) * 4u
                                              : (f[off + 1] + 1u) * 8u;
        EXPECT_EQ(len, expected_lengths[i]);
        nh = f[off];
        off += len;
    }
    EXPECT_EQ(nh, ipproto::kUdp);
    EXPECT_EQ(off, lay.l4_offset);
    EXPECT_EQ(rd16(f, 18), f.size() - 54);  // payload length covers extension headers
    // Hop-by-hop: router alert then a PadN of 0 data bytes.
    const uint8_t hbh[] = {ipproto::kDestOpts, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00};
    EXPECT_TRUE(std::equal(std::begin(hbh), std::end(hbh), f.begin() + 54));
    // Fragment header: offset 100 units, M flag, identification.
    size_t frag = lay.ext_offsets[3];
    EXPECT_EQ(rd16(f, frag + 2), (100 << 3) | 1);
    EXPECT_EQ(rd16(f, frag + 4), 0xdead);
    EXPECT_EQ(rd16(f, frag + 6), 0xbeef);
    // Segments left 0: the destination in the IPv6 header is the final one.
    EXPECT_TRUE(l4_checksum_ok(f, lay, ipproto::kUdp));
}

TEST(PacketBuilder, RoutingHeaderChecksumUsesFinalDestination) {
    for (uint8_t type : {0, 2, 4}) {
        SCOPED_TRACE(static_cast<int>(type));
        std::vector<std::string> segs = type == 4 ? std::vector<std::string>{"fd00::77", "fd00::2"}
                                                  : std::vector<std::string>{"fd00::77"};
        PacketBuilder b = udp6("fd00::1", "fd00::2", 33333, 44444).routing(type, 1, segs).payload_len(8);
        Frame f = b.build();
        Ipv6Addr final_dst = parse_ipv6("fd00::77");
        EXPECT_TRUE(l4_checksum_ok(f, b.layout(), ipproto::kUdp, true, &final_dst));
        EXPECT_FALSE(l4_checksum_ok(f, b.layout(), ipproto::kUdp));  // not the current dst
    }
}

TEST(PacketBuilder, Malformations) {
    Frame t = tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(40).build();
    EXPECT_EQ(t.size(), 40u);
    EXPECT_EQ(rd16(t, 16), 40);  // IP total length still describes the full packet
    EXPECT_EQ(tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(1000).build().size(), 54u);

    Frame ihl = tcp4("10.0.0.1", "10.0.0.2", 1, 2).ipv4_ihl(4).build();
    EXPECT_EQ(ihl[14], 0x44);
    Frame tl = tcp4("10.0.0.1", "10.0.0.2", 1, 2).ipv4_total_length(200).build();
    EXPECT_EQ(rd16(tl, 16), 200);
    EXPECT_TRUE(ipv4_header_checksum_ok(tl, 14));  // only the length lies
    Frame doff = tcp4("10.0.0.1", "10.0.0.2", 1, 2).tcp_data_offset(4).build();
    EXPECT_EQ(doff[46] >> 4, 4);
    Frame nh = udp6("fd00::1", "fd00::2", 1, 2).hop_by_hop().ipv6_next_header(253).build();
    EXPECT_EQ(nh[20], 253);
    EXPECT_EQ(nh[54], ipproto::kUdp);  // the chain after it is unchanged
    Frame padded = udp4("10.0.0.1", "10.0.0.2", 1, 2).pad_to(60).build();
    EXPECT_EQ(padded.size(), 60u);
    EXPECT_EQ(rd16(padded, 16), 28);

    PacketBuilder bad = tcp4("10.0.0.1", "10.0.0.2", 1, 2).corrupt_ip_checksum().corrupt_l4_checksum();
    Frame c = bad.build();
    EXPECT_FALSE(ipv4_header_checksum_ok(c, 14));
    EXPECT_FALSE(l4_checksum_ok(c, bad.layout(), ipproto::kTcp));
}

TEST(PacketBuilder, MisuseThrows) {
    EXPECT_THROW(PacketBuilder().ipv4("10.0.0.256", "10.0.0.1"), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().ipv6("fd00::1", "nope"), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().eth_src("02:00:00:00:00"), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().vlan(4096), std::invalid_argument);
    EXPECT_THROW(udp4("10.0.0.1", "10.0.0.2", 1, 2).fragment(0, false, 1).build(), std::logic_error);
}

TEST(PacketBuilder, ConvenienceDefaults) {
    Frame f = icmp4(3, 3).payload_len(28).build();
    EXPECT_EQ(f[23], ipproto::kIcmp);
    EXPECT_EQ(f[34], 3);
    EXPECT_EQ(f[35], 3);
    EXPECT_EQ(f[26 + 3], 1);  // 10.0.0.1
    EXPECT_EQ(f[30 + 3], 2);  // 10.0.0.2
    Frame g = icmp6(135, 0).build();
    EXPECT_EQ(g[20], ipproto::kIcmpV6);
    EXPECT_EQ(g[54], 135);
    EXPECT_EQ(PacketBuilder().udp(1, 2).build()[23], ipproto::kUdp);  // IPv4 by default
}

// ---------------------------------------------------------------------------------------------
// Builder: tcpdump as the oracle

TEST(PacketBuilderTcpdump, WellFormedFramesDecodeCleanly) {
    SKIP_WITHOUT_TCPDUMP();
    struct Case {
        const char* name;
        Frame frame;
        std::vector<std::string> expect;
    };
    const std::vector<Case> cases = {
        {"tcp4 syn", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).build(),
         {"10.0.0.1.40000 > 10.0.0.2.8080: Flags [S]", "proto TCP (6), length 40", "(correct)"}},
        {"tcp4 syn-ack mss payload",
         tcp4("10.0.0.1", "10.0.0.2", 40000, 8080, tcpflag::kSyn | tcpflag::kAck)
             .seq(1000).ack_seq(2000).tcp_mss(1460).payload_len(10).build(),
         {"Flags [S.]", "seq 1000:1010, ack 2000", "options [mss 1460]", "length 10", "(correct)"}},
        {"tcp4 options", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080)
                             .tcp_options({0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0}).tcp_mss(1400).build(),
         {"options [nop,nop,TS val 1 ecr 0,mss 1400]", "(correct)"}},
        {"tcp4 fin-psh-ack", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080,
                                  tcpflag::kFin | tcpflag::kPsh | tcpflag::kAck).build(),
         {"Flags [FP.]", "(correct)"}},
        {"tcp4 rst", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080, tcpflag::kRst).build(),
         {"Flags [R]", "(correct)"}},
        {"tcp4 xmas", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080, 0xff).build(),
         {"Flags [FSRP.UEW]", "urg 0", "(correct)"}},
        {"udp4", udp4("192.0.2.1", "192.0.2.2", 33333, 44444).payload_len(21).build(),
         {"192.0.2.1.33333 > 192.0.2.2.44444: [udp sum ok] UDP, length 21"}},
        {"icmp4 echo", icmp4("10.0.0.1", "10.0.0.2").icmp(8, 0, 7, 3).payload_len(56).build(),
         {"10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 3, length 64"}},
        {"ipv4 ttl id df", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).ttl(17).ip_id(4242).dont_fragment().tos(0x10).build(),
         {"tos 0x10, ttl 17, id 4242, offset 0, flags [DF]", "[udp sum ok]"}},
        {"ipv4 options", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).ipv4_options({0x94, 0x04, 0, 0}).build(),
         {"options (RA)", "length 32", "[udp sum ok]"}},
        {"ipv4 first fragment", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).more_fragments().ip_id(9).payload_len(100).build(),
         {"id 9, offset 0, flags [+]", "length 128"}},
        {"ipv4 later fragment",
         PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").raw_l4(ipproto::kUdp).frag_offset(185).ip_id(9).payload_len(100).build(),
         {"offset 1480, flags [none], proto UDP (17), length 120"}},
        {"vlan", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).vlan(10, 3).build(),
         {"ethertype 802.1Q (0x8100)", "vlan 10, p 3, ethertype IPv4", "[udp sum ok]"}},
        {"qinq", tcp6("fd00::1", "fd00::2", 33333, 44444).qinq(100, 200).build(),
         {"ethertype 802.1Q-QinQ (0x88a8)", "vlan 100, p 0, ethertype 802.1Q", "vlan 200, p 0, ethertype IPv6",
          "(correct)"}},
        {"arp", arp_request("10.0.0.1", "10.0.0.2").build(),
         {"02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)",
          "Request who-has 10.0.0.2 tell 10.0.0.1, length 28"}},
        {"tcp6", tcp6("2001:db8::1", "2001:db8::2", 40000, 8080, tcpflag::kSyn).hop_limit(3).flow_label(0x12345).build(),
         {"hlim 3", "flowlabel 0x12345", "2001:db8::1.40000 > 2001:db8::2.8080: Flags [S]", "(correct)"}},
        {"udp6", udp6("2001:db8::1", "2001:db8::2", 33333, 44444).payload_len(7).build(),
         {"2001:db8::1.33333 > 2001:db8::2.44444: [udp sum ok] UDP, length 7"}},
        {"icmp6 echo", icmp6("2001:db8::1", "2001:db8::2").icmp6(128, 0, 1, 2).payload_len(8).build(),
         {"[icmp6 sum ok] ICMP6, echo request, id 1, seq 2"}},
        {"ipv6 ext chain",
         udp6("fd00::1", "fd00::2", 33333, 44444).hop_by_hop({0x05, 0x02, 0, 0}).dest_opts()
             .routing(0, 0, {"fd00::99"}).fragment(0, false, 0x1234).ah(0x100, 5).payload_len(7).build(),
         {"next-header Options (0)", "HBH (rtalert: 0x0000) (padn)", "DSTOPT (padn)",
          "RT6 (len=2, type=0", "segleft=0", "frag (0x00001234:0|", "AH(length=4(24-bytes),spi=0x00000100,seq=0x5",
          "33333 > 44444"}},
        {"ipv6 later fragment",
         PacketBuilder().ipv6("fd00::1", "fd00::2").fragment(100, true, 0xdeadbeef).raw_l4(ipproto::kUdp).payload_len(16).build(),
         {"frag (0xdeadbeef:800|16)"}},
        {"srh checksum", udp6("fd00::1", "fd00::2", 33333, 44444).routing(4, 1, {"fd00::77", "fd00::2"}).payload_len(8).build(),
         {"RT6 (len=4, type=4, segleft=1", "[udp sum ok]"}},
        {"rh2 checksum", tcp6("fd00::1", "fd00::2", 33333, 44444).routing(2, 1, {"fd00::55"}).build(),
         {"type=2", "(correct)"}},
        {"padded", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).pad_to(60).build(),
         {"length 60", "[udp sum ok] UDP, length 0"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string text = tcpdump_decode(c.frame);
        for (const auto& e : c.expect)
            EXPECT_NE(text.find(e), std::string::npos) << "missing \"" << e << "\" in:\n" << text;
        expect_clean_decode(text);
    }
}

TEST(PacketBuilderTcpdump, MalformationsAreVisibleToTcpdump) {
    SKIP_WITHOUT_TCPDUMP();
    struct Case {
        const char* name;
        Frame frame;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"truncated", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).truncate_to(40).build(), "truncated-ip - 14 bytes missing"},
        {"truncated l4", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).truncate_to(40).build(), "[|tcp]"},
        {"ihl < 5", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).ipv4_ihl(4).build(), "bad-hlen 16"},
        {"total length > frame", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).ipv4_total_length(200).build(),
         "truncated-ip - 160 bytes missing"},
        {"tcp doff < 5", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).tcp_data_offset(4).build(),
         "bad hdr length 16 - too short"},
        {"ipv6 next header", udp6("fd00::1", "fd00::2", 33333, 44444).ipv6_next_header(253).build(), "ip-proto-253"},
        {"ip checksum", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).corrupt_ip_checksum().build(), "bad cksum"},
        {"tcp checksum", tcp4("10.0.0.1", "10.0.0.2", 40000, 8080).corrupt_l4_checksum().build(), "(incorrect ->"},
        {"udp4 checksum", udp4("10.0.0.1", "10.0.0.2", 33333, 44444).corrupt_l4_checksum().build(), "bad udp cksum"},
        {"udp6 checksum", udp6("fd00::1", "fd00::2", 33333, 44444).corrupt_l4_checksum().build(), "bad udp cksum"},
        {"icmp checksum", icmp4(8, 0).corrupt_l4_checksum().build(), "wrong icmp cksum"},
        {"icmp6 checksum", icmp6(128, 0).corrupt_l4_checksum().build(), "bad icmp6 cksum"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string text = tcpdump_decode(c.frame);
        EXPECT_NE(text.find(c.expect), std::string::npos) << "missing \"" << c.expect << "\" in:\n" << text;
    }
}

// ---------------------------------------------------------------------------------------------
// pcap I/O

TEST(PcapIo, RoundTrip) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    std::vector<Frame> frames = {
        tcp4("10.0.0.1", "10.0.0.2", 1, 2).build(),
        udp6("fd00::1", "fd00::2", 3, 4).vlan(5).payload_len(1000).build(),
        arp_request("10.0.0.1", "10.0.0.9").build(),
        Frame{0x01, 0x02, 0x03},  // runt frames round-trip as well
    };
    std::string file = dir.file("frames.pcap");
    Status w = write_pcap(file, frames);
    ASSERT_TRUE(w.ok()) << w.error().message;
    auto r = read_pcap(file);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, frames);

    ASSERT_TRUE(write_pcap(file, {}).ok());
    auto empty = read_pcap(file);
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_TRUE(empty->empty());
}

TEST(PcapIo, ErrorsAreValues) {
    TempDir dir;
    auto missing = read_pcap(dir.file("does-not-exist.pcap"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("does-not-exist.pcap"), std::string::npos);

    Status unwritable = write_pcap(dir.file("no/such/dir.pcap"), std::vector<Frame>{Frame(60)});
    ASSERT_FALSE(unwritable.ok());
    EXPECT_NE(unwritable.error().message.find("no/such/dir.pcap"), std::string::npos);

    Status too_big = write_pcap(dir.file("big.pcap"), std::vector<Frame>{Frame(70000)});
    ASSERT_FALSE(too_big.ok());
    EXPECT_NE(too_big.error().message.find("70000"), std::string::npos);

    std::string garbage = dir.file("garbage.pcap");
    std::ofstream(garbage) << "this is not a capture file";
    EXPECT_FALSE(read_pcap(garbage).ok());

    // A raw-IP capture is refused rather than misread as Ethernet.
    // (Header written by hand: <pcap/pcap.h> and <linux/bpf.h> cannot share a file.)
    std::string raw = dir.file("raw.pcap");
    const unsigned char header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                      0,    0,    0,    0,    0xff, 0xff, 0, 0,
                                      101,  0,    0,    0};  // LINKTYPE_RAW, little endian
    std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(header), sizeof header);
    auto wrong_link = read_pcap(raw);
    ASSERT_FALSE(wrong_link.ok());
    EXPECT_NE(wrong_link.error().message.find("not Ethernet"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// run_command

TEST(RunCommand, CapturesOutputAndStatus) {
    CommandResult ok = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(ok.exit_status, 3);
    EXPECT_EQ(ok.out, "out\n");
    EXPECT_EQ(ok.err, "err\n");
    EXPECT_FALSE(ok.ok());
    EXPECT_NE(ok.describe().find("exited with 3: err"), std::string::npos) << ok.describe();

    CommandResult t = run_command({"true"});
    EXPECT_TRUE(t.ok());

    // No shell: metacharacters are plain arguments.
    CommandResult echo = run_command({"echo", "$HOME", "a;b", "*"});
    EXPECT_EQ(echo.out, "$HOME a;b *\n");

    // Large output on both pipes does not deadlock.
    CommandResult big = run_command({"sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"});
    EXPECT_EQ(big.out.size(), 300000u);
    EXPECT_EQ(big.err.size(), 300000u);
}

TEST(RunCommand, MissingBinaryAndTimeout) {
    CommandResult missing = run_command({"xfw-no-such-binary-xyz"});
    EXPECT_EQ(missing.exit_status, 127);
    EXPECT_NE(missing.err.find("xfw-no-such-binary-xyz"), std::string::npos);

    auto start = std::chrono::steady_clock::now();
    CommandResult slow = run_command({"sleep", "10"}, milliseconds(200));
    EXPECT_TRUE(slow.timed_out);
    EXPECT_FALSE(slow.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

    EXPECT_EQ(run_command({}).exit_status, 127);
}

// ---------------------------------------------------------------------------------------------
// NetnsLab (root only)

bool netns_listed(const std::string& ns) {
    CommandResult r = run_command({"ip", "netns", "list"});
    return r.out.find(ns) != std::string::npos;
}

bool link_listed(const std::string& ifname) {
    CommandResult r = run_command({"ip", "-o", "link", "show"});
    return r.out.find(" " + ifname + "@") != std::string::npos ||
           r.out.find(" " + ifname + ":") != std::string::npos;
}

uint64_t sys_rx_packets(const std::string& ifname) {
    std::ifstream in("/sys/class/net/" + ifname + "/statistics/rx_packets");
    uint64_t v = 0;
    in >> v;
    return v;
}

TEST(NetnsLab, DeliversFramesFromNsEndToHostEndAndCleansUp) {
    SKIP_WITHOUT_ROOT();
    std::string ns, host_if, ns_if;
    {
        auto lab = NetnsLab::create();
        ASSERT_TRUE(lab.ok()) << lab.error().message;
        ns = lab->ns_name();
        host_if = lab->host_ifname();
        ns_if = lab->ns_ifname();
        EXPECT_EQ(ns.rfind("xfwt-" + std::to_string(::getpid()) + "-", 0), 0u) << ns;
        EXPECT_EQ(host_if.rfind("xfv", 0), 0u);
        EXPECT_LE(host_if.size(), 15u);
        EXPECT_LE(ns_if.size(), 15u);
        EXPECT_NE(host_if, ns_if);
        EXPECT_GT(lab->host_ifindex(), 0);
        EXPECT_GT(lab->ns_ifindex(), 0);
        EXPECT_EQ(lab->host_ifindex(), static_cast<int>(if_nametoindex(host_if.c_str())));
        EXPECT_NE(lab->host_mac(), Mac{});
        EXPECT_NE(lab->host_mac(), lab->ns_mac());
        std::string sn = std::to_string(lab->subnet());
        EXPECT_EQ(lab->host_ipv4(), "10.200." + sn + ".1");
        EXPECT_EQ(lab->ns_ipv4_cidr(), "10.200." + sn + ".2/24");
        EXPECT_EQ(lab->ns_ipv6(), "fd00:200:" + sn + "::2");
        EXPECT_TRUE(netns_listed(ns));
        EXPECT_TRUE(link_listed(host_if));

        // Single queue each way on the host end.
        EXPECT_TRUE(fs::exists("/sys/class/net/" + host_if + "/queues/rx-0"));
        EXPECT_FALSE(fs::exists("/sys/class/net/" + host_if + "/queues/rx-1"));
        EXPECT_FALSE(fs::exists("/sys/class/net/" + host_if + "/queues/tx-1"));

        // Addresses are in place and usable at once (no DAD).
        CommandResult addr = lab->exec_in_ns({"ip", "-o", "addr", "show", "dev", ns_if});
        ASSERT_TRUE(addr.ok()) << addr.describe();
        EXPECT_NE(addr.out.find(lab->ns_ipv4_cidr()), std::string::npos) << addr.out;
        EXPECT_NE(addr.out.find(lab->ns_ipv6_cidr()), std::string::npos) << addr.out;
        EXPECT_EQ(addr.out.find("tentative"), std::string::npos) << addr.out;
        CommandResult host_addr = run_command({"ip", "-o", "addr", "show", "dev", host_if});
        EXPECT_NE(host_addr.out.find(lab->host_ipv6_cidr()), std::string::npos) << host_addr.out;
        EXPECT_EQ(host_addr.out.find("tentative"), std::string::npos) << host_addr.out;

        // Ten UDP frames from the ns end, addressed to the host end's MAC and IP.
        std::vector<Frame> frames;
        for (int i = 0; i < 10; ++i)
            frames.push_back(lab->to_host().udp(static_cast<uint16_t>(41000 + i), 9)
                                 .payload("xfw netns lab frame " + std::to_string(i)).build());
        auto capture = FrameCapture::open(host_if);
        ASSERT_TRUE(capture.ok()) << capture.error().message;
        const uint64_t rx_before = sys_rx_packets(host_if);
        auto stats_before = lab->host_stats();
        ASSERT_TRUE(stats_before.ok()) << stats_before.error().message;

        SendResult sent = lab->send_from_ns(frames);
        ASSERT_TRUE(sent.ok()) << sent.describe();
        EXPECT_EQ(sent.sent, 10u);

        size_t seen = capture->count_matching(
            [&](const Frame& f) { return std::find(frames.begin(), frames.end(), f) != frames.end(); },
            milliseconds(3000), 10);
        EXPECT_EQ(seen, 10u);
        uint64_t rx_after = sys_rx_packets(host_if);
        for (int i = 0; i < 100 && rx_after < rx_before + 10; ++i) {
            std::this_thread::sleep_for(milliseconds(20));
            rx_after = sys_rx_packets(host_if);
        }
        std::this_thread::sleep_for(milliseconds(100));  // nothing else may trickle in
        rx_after = sys_rx_packets(host_if);
        EXPECT_EQ(rx_after - rx_before, 10u);
        auto stats_after = lab->host_stats();
        ASSERT_TRUE(stats_after.ok());
        EXPECT_EQ(stats_after->rx_packets - stats_before->rx_packets, 10u);
        auto ns_stats = lab->ns_stats();
        ASSERT_TRUE(ns_stats.ok()) << ns_stats.error().message;
        EXPECT_GE(ns_stats->tx_packets, 10u);

        // Frames the kernel refuses (oversized, runt) are reported one by one; the others are
        // still sent.
        std::vector<Frame> mixed = {frames[0], udp4("10.0.0.1", "10.0.0.2", 1, 2).payload_len(3000).build(),
                                    frames[1], Frame(10, 0xab)};
        SendResult partial = lab->send_from_ns(mixed);
        EXPECT_EQ(partial.sent, 2u);
        ASSERT_EQ(partial.errors.size(), 2u) << partial.describe();
        EXPECT_NE(partial.errors[0].find("frame 1 (3042 bytes)"), std::string::npos) << partial.errors[0];
        EXPECT_NE(partial.errors[1].find("frame 3 (10 bytes)"), std::string::npos) << partial.errors[1];

        // Tagged frames arrive intact (the capture restores the tag the kernel strips).
        std::vector<Frame> tagged = {lab->to_host().udp(1, 2).vlan(7, 1).build(),
                                     lab->to_host(true).tcp(3, 4).qinq(5, 6).build()};
        auto tag_capture = FrameCapture::open(host_if);
        ASSERT_TRUE(tag_capture.ok()) << tag_capture.error().message;
        ASSERT_EQ(lab->send_from_ns(tagged).sent, 2u);
        EXPECT_EQ(tag_capture->collect(2, milliseconds(3000)), tagged);

        Status c = lab->cleanup();
        EXPECT_TRUE(c.ok()) << c.error().message;
        EXPECT_TRUE(lab->cleanup().ok());  // idempotent
    }
    EXPECT_FALSE(netns_listed(ns));
    EXPECT_FALSE(link_listed(host_if));
    EXPECT_FALSE(fs::exists("/sys/class/net/" + host_if));
}

TEST(NetnsLab, DestructorCleansUpOnEarlyExit) {
    SKIP_WITHOUT_ROOT();
    std::string ns, host_if;
    auto body = [&] {
        auto lab = NetnsLab::create();
        ASSERT_TRUE(lab.ok()) << lab.error().message;
        ns = lab->ns_name();
        host_if = lab->host_ifname();
        // Leaves through the destructor, as a failed ASSERT would.
    };
    body();
    ASSERT_FALSE(ns.empty());
    EXPECT_FALSE(netns_listed(ns));
    EXPECT_FALSE(link_listed(host_if));
}

TEST(NetnsLab, RemovesLabsOfDeadProcesses) {
    SKIP_WITHOUT_ROOT();
    // A child creates a lab and dies without cleaning up, like a crashed test run.
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipefd[0]);
        NetnsLabOptions o;
        o.settle = false;
        auto lab = NetnsLab::create(o);
        std::string names = lab.ok() ? lab->ns_name() + " " + lab->host_ifname() : "";
        (void)!::write(pipefd[1], names.data(), names.size());
        ::_exit(lab.ok() ? 0 : 1);  // no destructors
    }
    ::close(pipefd[1]);
    char buf[128] = {};
    ssize_t n = ::read(pipefd[0], buf, sizeof buf - 1);
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_GT(n, 0);
    std::string names(buf, static_cast<size_t>(n));
    std::string stale_ns = names.substr(0, names.find(' '));
    std::string stale_if = names.substr(names.find(' ') + 1);
    ASSERT_TRUE(netns_listed(stale_ns));
    ASSERT_TRUE(link_listed(stale_if));

    auto lab = NetnsLab::create();
    ASSERT_TRUE(lab.ok()) << lab.error().message;
    EXPECT_FALSE(netns_listed(stale_ns));
    EXPECT_FALSE(link_listed(stale_if));
}

// The kernel as checksum oracle: the host stack answers valid TCP SYNs (RST or SYN-ACK), UDP
// to a closed port (ICMP port unreachable) and echo requests, and silently drops the same
// packets with a corrupted checksum.
TEST(NetnsLab, HostKernelAcceptsBuilderChecksums) {
    SKIP_WITHOUT_ROOT();
    auto lab = NetnsLab::create();
    ASSERT_TRUE(lab.ok()) << lab.error().message;

    struct View {  // plain IPv4/IPv6 without extension headers, as the host stack replies
        uint8_t proto = 0;
        size_t l4 = 0;
        bool ok = false;
    };
    auto view = [](const Frame& f) {
        View v;
        if (f.size() < 14 + 40) return v;
        if (rd16(f, 12) == ethertype::kIpv4) {
            v = {f[23], 14 + (f[14] & 0x0fu) * 4u, true};
        } else if (rd16(f, 12) == ethertype::kIpv6) {
            v = {f[20], 54, true};
        }
        return v;
    };
    struct Probe {
        const char* name;
        PacketBuilder packet;
        std::function<bool(const Frame&)> is_reply;
    };
    const uint16_t sport = 47001, closed_port = 9;
    auto tcp_reply = [&](const Frame& f) {
        View v = view(f);
        return v.ok && v.proto == ipproto::kTcp && f.size() >= v.l4 + 14 && rd16(f, v.l4) == closed_port &&
               rd16(f, v.l4 + 2) == sport && (f[v.l4 + 13] & (tcpflag::kRst | tcpflag::kSyn));
    };
    auto icmp_reply = [&](uint8_t proto, uint8_t type, uint8_t code) {
        return [=](const Frame& f) {
            View v = view(f);
            return v.ok && v.proto == proto && f.size() >= v.l4 + 8 && f[v.l4] == type &&
                   f[v.l4 + 1] == code;
        };
    };
    std::vector<Probe> probes = {
        {"tcp4 syn", lab->to_host().tcp(sport, closed_port, tcpflag::kSyn), tcp_reply},
        {"udp4", lab->to_host().udp(sport, closed_port).payload_len(13),
         icmp_reply(ipproto::kIcmp, 3, 3)},
        {"icmp4 echo", lab->to_host().icmp(8, 0, 0x4242, 1).payload_len(31),
         icmp_reply(ipproto::kIcmp, 0, 0)},
        {"tcp6 syn", lab->to_host(true).tcp(sport, closed_port, tcpflag::kSyn), tcp_reply},
        {"udp6", lab->to_host(true).udp(sport, closed_port).payload_len(13),
         icmp_reply(ipproto::kIcmpV6, 1, 4)},
        {"icmp6 echo", lab->to_host(true).icmp6(128, 0, 0x4242, 1).payload_len(31),
         icmp_reply(ipproto::kIcmpV6, 129, 0)},
        {"tcp4 syn with options", lab->to_host().tcp(sport, closed_port, tcpflag::kSyn).tcp_mss(1400)
                                      .ipv4_options({0x01, 0x01, 0x01, 0x00}), tcp_reply},
    };
    for (auto& p : probes) {
        SCOPED_TRACE(p.name);
        auto capture = FrameCapture::open(lab->ns_ifname(), lab->ns_name());
        ASSERT_TRUE(capture.ok()) << capture.error().message;

        PacketBuilder corrupted = p.packet;
        corrupted.corrupt_l4_checksum();
        std::vector<Frame> bad = {corrupted.build()};
        ASSERT_EQ(lab->send_from_ns(bad).sent, 1u);
        EXPECT_EQ(capture->count_matching(p.is_reply, milliseconds(300)), 0u)
            << "the kernel answered a packet with a corrupted checksum";

        std::vector<Frame> good = {p.packet.build()};
        ASSERT_EQ(lab->send_from_ns(good).sent, 1u);
        EXPECT_EQ(capture->count_matching(p.is_reply, milliseconds(3000), 1), 1u)
            << "no answer from the host stack to\n" << hex_dump(good[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// BpffsMount (root only)

TEST(BpffsMount, MountsPrivateBpffsAndRemovesPins) {
    SKIP_WITHOUT_ROOT();
    std::string path;
    int map_fd = -1;
    {
        auto m = BpffsMount::create();
        ASSERT_TRUE(m.ok()) << m.error().message;
        path = m->path();
        EXPECT_EQ(path.rfind("/run/xfw-test-bpf-" + std::to_string(::getpid()) + "-", 0), 0u);
        struct statfs sfs{};
        ASSERT_EQ(::statfs(path.c_str(), &sfs), 0);
        EXPECT_EQ(static_cast<unsigned long>(sfs.f_type), 0xcafe4a11ul);  // BPF_FS_MAGIC

        // Pin a map in a subdirectory: cleanup must unlink it before unmounting.
        ASSERT_EQ(::mkdir((path + "/sub").c_str(), 0700), 0);
        union bpf_attr attr{};
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 8;
        attr.max_entries = 1;
        map_fd = static_cast<int>(::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
        ASSERT_GE(map_fd, 0) << std::strerror(errno);
        std::string pin = path + "/sub/map";
        union bpf_attr pin_attr{};
        pin_attr.pathname = reinterpret_cast<uint64_t>(pin.c_str());
        pin_attr.bpf_fd = static_cast<uint32_t>(map_fd);
        ASSERT_EQ(::syscall(SYS_bpf, BPF_OBJ_PIN, &pin_attr, sizeof pin_attr), 0) << std::strerror(errno);
        EXPECT_TRUE(fs::exists(pin));

        auto other = BpffsMount::create();
        ASSERT_TRUE(other.ok()) << other.error().message;
        EXPECT_NE(other->path(), path);
        EXPECT_FALSE(fs::exists(other->path() + "/sub"));  // a separate instance
    }
    EXPECT_FALSE(fs::exists(path));
    CommandResult mounts = run_command({"cat", "/proc/self/mounts"});
    EXPECT_EQ(mounts.out.find(path), std::string::npos);
    if (map_fd >= 0) ::close(map_fd);
}

}  // namespace
}  // namespace xfw::test
