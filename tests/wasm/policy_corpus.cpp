#include "tests/wasm/policy_corpus.hpp"

namespace xfw::test {

std::vector<uint8_t> dns_message(uint16_t flags, const std::string& name, uint16_t qtype, size_t extra) {
    std::vector<uint8_t> m = {0x12, 0x34, static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags),
                              0x00, 0x01, 0x00, static_cast<uint8_t>(extra ? 1 : 0), 0x00, 0x00, 0x00, 0x00};
    size_t start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (i > start) {
                m.push_back(static_cast<uint8_t>(i - start));
                m.insert(m.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(i));
            }
            start = i + 1;
        }
    }
    m.push_back(0);
    m.push_back(static_cast<uint8_t>(qtype >> 8));
    m.push_back(static_cast<uint8_t>(qtype));
    m.push_back(0x00);
    m.push_back(0x01);  // class IN
    m.insert(m.end(), extra, 0xab);
    return m;
}

std::vector<Frame> policy_corpus() {
    std::vector<Frame> f;
    // TCP SYNs from a few /24s (one of them many times, to run a SYN guard out of tokens),
    // SYN-ACKs and plain ACKs.
    for (int i = 0; i < 14; ++i)
        f.push_back(tcp4("198.51.100." + std::to_string(1 + i), "10.0.0.2", static_cast<uint16_t>(40000 + i), 80).build());
    for (int n = 0; n < 6; ++n)
        f.push_back(tcp4("203.0." + std::to_string(n) + ".7", "10.0.0.2", 1234, 443).build());
    f.push_back(tcp4("198.51.100.9", "10.0.0.2", 40000, 80, tcpflag::kSyn | tcpflag::kAck).build());
    f.push_back(tcp4("198.51.100.9", "10.0.0.2", 40000, 80, tcpflag::kAck).payload_len(100).build());
    f.push_back(tcp6("2001:db8::1", "fd00::2", 5555, 22).build());
    f.push_back(tcp4("192.0.2.1", "10.0.0.2", 1, 22).vlan(100).build());
    f.push_back(tcp4("192.0.2.1", "10.0.0.2", 1, 22).tcp_mss(1460).build());

    // DNS: ordinary answers, ANY answers, large answers, queries, over v4/v6/VLAN.
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33000).payload(dns_message(kDnsResponse, "example.com", kQtypeA, 16)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33001).payload(dns_message(kDnsResponse, "example.com", kQtypeAny, 200)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33002).payload(dns_message(kDnsResponse, "big.example.org", kQtypeA, 900)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33003).payload(dns_message(kDnsResponse, "x.example", kQtypeA, 512 - 27)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33004).payload(dns_message(kDnsResponse, "x.example", kQtypeA, 512 - 26)).build());
    f.push_back(udp4("10.0.0.9", "192.0.2.53", 33005, 53).payload(dns_message(kDnsQuery, "example.com", kQtypeAny)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33006).payload(dns_message(kDnsQuery, "example.com", kQtypeAny)).build());
    f.push_back(udp6("2001:db8::53", "fd00::2", 53, 33007).payload(dns_message(kDnsResponse, "v6.example.net", kQtypeAny, 40)).build());
    f.push_back(udp6("2001:db8::53", "fd00::2", 53, 33008).payload(dns_message(kDnsResponse, "v6.example.net", kQtypeA, 30)).build());
    f.push_back(udp6("2001:db8::53", "fd00::2", 53, 33009).hop_by_hop().payload(dns_message(kDnsResponse, "ext.example", kQtypeAny, 10)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33010).vlan(200).payload(dns_message(kDnsResponse, "tagged.example", kQtypeAny, 20)).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33011).qinq(300, 7).payload(dns_message(kDnsResponse, "qinq.example", kQtypeA, 700)).build());
    // A response cut inside the question, and one whose name is all compression pointer.
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33012).payload(dns_message(kDnsResponse, "cut.example.com", kQtypeAny)).truncate_to(14 + 20 + 8 + 16).build());
    {
        std::vector<uint8_t> ptr = {0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0x00, 0xff, 0x00, 0x01};
        f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33013).payload(ptr).build());
    }
    f.push_back(udp4("192.0.2.7", "10.0.0.2", 5353, 53).payload_len(600).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33014).more_fragments().payload_len(1000).build());
    f.push_back(udp4("192.0.2.53", "10.0.0.2", 53, 33015).frag_offset(100).payload_len(600).build());

    // VLAN tenants, double tags, other frames.
    for (uint16_t vid : {100, 200, 300, 301, 999, 4095})
        f.push_back(udp4("10.1.0.1", "10.1.0.2", 1000, 2000).vlan(vid).payload_len(vid % 97).build());
    f.push_back(udp4("10.1.0.1", "10.1.0.2", 1000, 2000).qinq(100, 200).payload_len(10).build());
    f.push_back(udp4("10.1.0.1", "10.1.0.2", 1000, 2000).vlan(200, 0, ethertype::kQinQ).build());
    f.push_back(arp_request("10.0.0.1", "10.0.0.2").build());
    f.push_back(arp_request("10.0.0.1", "10.0.0.2").vlan(100).build());
    f.push_back(icmp4("10.0.0.1", "10.0.0.2").payload_len(56).build());
    f.push_back(icmp6("fd00::1", "fd00::2").payload_len(56).build());
    f.push_back(tcp6("fd00::1", "fd00::2", 1, 2).routing(0, 1, {"fd00::9"}).dest_opts().build());
    f.push_back(tcp6("fd00::1", "fd00::2", 1, 2).fragment(0, true, 77).payload_len(64).build());
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).ipv4_options({0x01, 0x01, 0x01, 0x00}).build());

    // Frames that end inside a header: loads at the usual offsets run off their end.
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(14).build());
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(20).build());
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(33).build());
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).truncate_to(41).build());
    f.push_back(udp4("10.0.0.1", "10.0.0.2", 53, 2).truncate_to(40).build());
    f.push_back(tcp4("10.0.0.1", "10.0.0.2", 1, 2).vlan(100).truncate_to(17).build());
    f.push_back(tcp6("fd00::1", "fd00::2", 1, 2).truncate_to(60).build());

    // Larger frames with patterned payloads.
    for (size_t len : {60u, 128u, 257u, 1000u, 1500u})
        f.push_back(udp4("172.16.0.1", "172.16.0.2", 7, 9).payload_len(len).build());
    return f;
}

}  // namespace xfw::test
