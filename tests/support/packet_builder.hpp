// Raw Ethernet frames for packet-level tests: BPF_PROG_TEST_RUN fixtures, pcaps and frames sent
// through a veth (tests/support/netns.hpp).
//
// PacketBuilder is declarative: setters record what the frame should contain, build() lays it
// out. Setter order does not matter, except that vlan() tags and IPv6 extension headers appear
// in the order they were added. Every length field and checksum is computed by build() from the
// bytes actually emitted (IPv4 header checksum, TCP/UDP/ICMPv6 checksums over the v4/v6
// pseudo-header, ICMP checksum), so a frame built without the malformation setters is one the
// kernel and tcpdump accept as valid.
//
// Malformations are explicit raw overrides of single fields (ipv4_ihl, ipv4_total_length,
// tcp_data_offset, ipv6_next_header, ...) or truncate_to(); each overrides only that field and
// leaves everything else as computed.
//
// Misuse of the builder itself (an unparsable address, IPv4 options longer than 40 bytes,
// extension headers on an IPv4 packet) throws std::invalid_argument / std::logic_error: that is
// a bug in the test, not a packet under test.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xfw::test {

using Frame = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;

// "02:00:00:00:00:01" (also accepts '-' separators). Throws std::invalid_argument.
Mac parse_mac(std::string_view text);
std::string format_mac(const Mac& mac);
// inet_pton wrappers. Throw std::invalid_argument.
Ipv4Addr parse_ipv4(std::string_view text);
Ipv6Addr parse_ipv6(std::string_view text);

// RFC 1071 one's complement checksum of `data`, continuing from the unfolded 32-bit sum
// `initial` (e.g. a pseudo-header sum). Returns the value to store in the checksum field; a
// buffer that already contains a correct checksum yields 0.
uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial = 0);

// "0000  02 00 00 ..." — for assertion messages.
std::string hex_dump(std::span<const uint8_t> data);

inline constexpr Mac kDefaultDstMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr Mac kDefaultSrcMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
// Addresses used when an IP layer is needed but none was given.
inline constexpr std::string_view kDefaultSrcV4 = "10.0.0.1";
inline constexpr std::string_view kDefaultDstV4 = "10.0.0.2";
inline constexpr std::string_view kDefaultSrcV6 = "fd00::1";
inline constexpr std::string_view kDefaultDstV6 = "fd00::2";

namespace ethertype {
inline constexpr uint16_t kIpv4 = 0x0800;
inline constexpr uint16_t kArp = 0x0806;
inline constexpr uint16_t kVlan = 0x8100;   // 802.1Q C-tag
inline constexpr uint16_t kQinQ = 0x88a8;   // 802.1ad S-tag
inline constexpr uint16_t kIpv6 = 0x86dd;
}  // namespace ethertype

namespace ipproto {
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kEsp = 50;
inline constexpr uint8_t kAh = 51;
inline constexpr uint8_t kIcmpV6 = 58;
inline constexpr uint8_t kNoNext = 59;
inline constexpr uint8_t kDestOpts = 60;
}  // namespace ipproto

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcpflag

// Offsets into the frame build() returns (before truncate_to/pad_to). Fields that do not apply
// (no IP layer, no L4) are equal to the offset of whatever comes next.
struct FrameLayout {
    size_t l3_offset = 0;       // after Ethernet header and VLAN tags
    size_t l4_offset = 0;       // IPv4: after options; IPv6: after all extension headers
    size_t payload_offset = 0;  // after the TCP/UDP/ICMP header
    size_t size = 0;            // untruncated, unpadded frame length
    // IPv6 only: offset of each extension header, in chain order.
    std::vector<size_t> ext_offsets;
};

class PacketBuilder {
public:
    PacketBuilder() = default;

    // ---- Ethernet -----------------------------------------------------------------------
    PacketBuilder& eth_src(const Mac& mac);
    PacketBuilder& eth_src(std::string_view mac);
    PacketBuilder& eth_dst(const Mac& mac);
    PacketBuilder& eth_dst(std::string_view mac);
    // Appends a VLAN tag; the first tag added is the outermost. tpid 0x8100 (802.1Q) or 0x88a8
    // (802.1ad S-tag); any value is emitted as given. More than two tags are allowed (to test
    // that the data plane refuses them).
    PacketBuilder& vlan(uint16_t vid, uint8_t pcp = 0, uint16_t tpid = ethertype::kVlan);
    // 802.1ad outer tag (0x88a8) followed by an 802.1Q inner tag.
    PacketBuilder& qinq(uint16_t outer_vid, uint16_t inner_vid);
    // Raw override of the innermost ethertype (after any tags). Without it, the ethertype
    // follows the L3 layer (IPv4, IPv6, ARP, raw_l3).
    PacketBuilder& ethertype(uint16_t type);
    // Arbitrary L3: `type` as ethertype and `body` verbatim after the Ethernet header / tags.
    PacketBuilder& raw_l3(uint16_t type, std::vector<uint8_t> body);
    // ARP for IPv4 over Ethernet (28-byte body). Sender MAC is eth_src; target MAC is zero for
    // a request (op 1) and eth_dst for a reply (op 2).
    PacketBuilder& arp(uint16_t op, std::string_view sender_ip, std::string_view target_ip);

    // ---- IPv4 ---------------------------------------------------------------------------
    PacketBuilder& ipv4(std::string_view src, std::string_view dst);
    PacketBuilder& ttl(uint8_t value);  // IPv4 TTL or IPv6 hop limit
    PacketBuilder& tos(uint8_t value);  // IPv4 TOS or IPv6 traffic class
    PacketBuilder& ip_id(uint16_t id);
    PacketBuilder& dont_fragment(bool df = true);
    PacketBuilder& more_fragments(bool mf = true);
    // Fragment offset in 8-byte units (13 bits).
    PacketBuilder& frag_offset(uint16_t units);
    // Raw option bytes, zero-padded (EOL) to a multiple of 4; IHL grows accordingly. At most
    // 40 bytes after padding.
    PacketBuilder& ipv4_options(std::vector<uint8_t> options);
    // Raw override of the protocol field (default: from the L4 layer).
    PacketBuilder& ipv4_protocol(uint8_t proto);

    // ---- IPv6 ---------------------------------------------------------------------------
    PacketBuilder& ipv6(std::string_view src, std::string_view dst);
    PacketBuilder& hop_limit(uint8_t hops) { return ttl(hops); }
    PacketBuilder& flow_label(uint32_t label);
    // Extension headers, chained in the order added; each header's Next Header names the one
    // after it, the last names the upper layer.
    // Hop-by-hop / destination options: `options` are raw TLVs, padded with Pad1/PadN to a
    // multiple of 8 bytes (an empty list yields a single PadN).
    PacketBuilder& hop_by_hop(std::vector<uint8_t> options = {});
    PacketBuilder& dest_opts(std::vector<uint8_t> options = {});
    // Routing header of `type` (0, 2, or 4 = SRH) carrying `addresses`. For the upper-layer
    // checksum the final destination is used when segments_left > 0 (last address for types 0
    // and 2, addresses[0] for SRH), as RFC 8200 section 8.1 requires.
    PacketBuilder& routing(uint8_t type, uint8_t segments_left,
                           const std::vector<std::string>& addresses);
    // Fragment header: offset in 8-byte units, M flag, identification.
    PacketBuilder& fragment(uint16_t offset_units, bool more, uint32_t id);
    // Authentication header with an `icv_len`-byte ICV (0xa5 filled); Payload Len computed.
    PacketBuilder& ah(uint32_t spi, uint32_t seq, size_t icv_len = 12);
    // Any other extension header in the generic (next header, hdr ext len) format: `body` is
    // what follows those two bytes, zero-padded to make the header a multiple of 8 bytes.
    PacketBuilder& ext_header(uint8_t type, std::vector<uint8_t> body);
    // Raw override of the Next Header field of the fixed IPv6 header only.
    PacketBuilder& ipv6_next_header(uint8_t nh);
    // Raw override of the Payload Length field.
    PacketBuilder& ipv6_payload_length(uint16_t len);

    // ---- Upper layer --------------------------------------------------------------------
    // Choosing an upper layer without ipv4()/ipv6() means IPv4 with the default addresses.
    PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = tcpflag::kSyn);
    PacketBuilder& seq(uint32_t seq);
    PacketBuilder& ack_seq(uint32_t ack);
    PacketBuilder& window(uint16_t value);
    // Raw TCP option bytes, zero-padded to a multiple of 4; data offset grows accordingly.
    PacketBuilder& tcp_options(std::vector<uint8_t> options);
    PacketBuilder& tcp_mss(uint16_t mss);  // appends kind 2 to the options
    PacketBuilder& udp(uint16_t sport, uint16_t dport);
    // ICMP (IPv4) / ICMPv6: `id` and `seq` fill the 4 bytes after the checksum (meaningful for
    // echo; for other types they are the "rest of header").
    PacketBuilder& icmp(uint8_t type, uint8_t code, uint16_t id = 0, uint16_t seq = 0);
    PacketBuilder& icmp6(uint8_t type, uint8_t code, uint16_t id = 0, uint16_t seq = 0);
    // Arbitrary upper layer: protocol number `proto`, `header` bytes verbatim (then payload).
    // Use for non-first fragments, ESP, SCTP, No Next Header (59), ...
    PacketBuilder& raw_l4(uint8_t proto, std::vector<uint8_t> header = {});

    // Payload after the upper-layer header (or after the IP header for raw_l4; after the
    // ARP / raw_l3 body; or right after the Ethernet header, with ethertype 0x88b5, when there
    // is no L3 layer at all).
    PacketBuilder& payload(std::vector<uint8_t> bytes);
    PacketBuilder& payload(std::string_view text);
    // `len` bytes: 0x00, 0x01, ... 0xff, 0x00, ... (easy to spot in a hex dump).
    PacketBuilder& payload_len(size_t len);

    // ---- Deliberate malformations -------------------------------------------------------
    PacketBuilder& ipv4_ihl(uint8_t ihl);                 // raw IHL nibble, e.g. 4
    PacketBuilder& ipv4_total_length(uint16_t len);       // e.g. larger than the frame
    PacketBuilder& tcp_data_offset(uint8_t doff);         // raw data offset nibble, e.g. 4
    PacketBuilder& udp_length(uint16_t len);              // raw UDP length field
    PacketBuilder& corrupt_ip_checksum();                 // IPv4 header checksum off by one
    PacketBuilder& corrupt_l4_checksum();                 // TCP/UDP/ICMP(v6) checksum off by one
    // Cut the finished frame at `len` bytes (no-op if it is shorter). Checksums and lengths
    // still describe the complete packet.
    PacketBuilder& truncate_to(size_t len);
    // Zero-pad the finished frame to at least `len` bytes (60 = Ethernet minimum without FCS);
    // padding is not covered by the IP length, like real trailer padding.
    PacketBuilder& pad_to(size_t len);

    Frame build() const;
    FrameLayout layout() const;

private:
    enum class L3 : uint8_t { None, Ipv4, Ipv6, Arp, Raw };
    enum class L4 : uint8_t { None, Tcp, Udp, Icmp, Icmp6, Raw };

    struct ExtHeader {
        uint8_t type = 0;
        std::vector<uint8_t> bytes;  // complete header; byte 0 (next header) patched by build()
        // Routing header only: final destination for the pseudo-header, if segments remain.
        std::optional<Ipv6Addr> final_dst;
    };

    Frame build_impl(FrameLayout* layout) const;
    void ensure_ip();
    uint8_t upper_proto() const;

    Mac eth_dst_ = kDefaultDstMac;
    Mac eth_src_ = kDefaultSrcMac;
    struct Tag { uint16_t tpid; uint16_t tci; };
    std::vector<Tag> tags_;
    std::optional<uint16_t> ethertype_override_;

    L3 l3_ = L3::None;
    uint16_t raw_l3_type_ = 0;
    std::vector<uint8_t> raw_l3_body_;
    uint16_t arp_op_ = 1;
    Ipv4Addr arp_sender_{};
    Ipv4Addr arp_target_{};

    Ipv4Addr v4_src_{};
    Ipv4Addr v4_dst_{};
    Ipv6Addr v6_src_{};
    Ipv6Addr v6_dst_{};
    uint8_t ttl_ = 64;
    uint8_t tos_ = 0;
    uint16_t ip_id_ = 0;
    bool df_ = false;
    bool mf_ = false;
    uint16_t frag_offset_ = 0;
    std::vector<uint8_t> ipv4_options_;
    std::optional<uint8_t> ipv4_protocol_;
    uint32_t flow_label_ = 0;
    std::vector<ExtHeader> ext_;
    std::optional<uint8_t> ipv6_nh_override_;
    std::optional<uint16_t> ipv6_plen_override_;

    L4 l4_ = L4::None;
    uint8_t raw_l4_proto_ = 0;
    std::vector<uint8_t> raw_l4_header_;
    uint16_t sport_ = 0;
    uint16_t dport_ = 0;
    uint8_t tcp_flags_ = 0;
    uint32_t seq_ = 1;
    uint32_t ack_ = 0;
    uint16_t window_ = 64240;
    std::vector<uint8_t> tcp_options_;
    uint8_t icmp_type_ = 0;
    uint8_t icmp_code_ = 0;
    uint16_t icmp_id_ = 0;
    uint16_t icmp_seq_ = 0;
    std::vector<uint8_t> payload_;

    std::optional<uint8_t> ihl_override_;
    std::optional<uint16_t> total_length_override_;
    std::optional<uint8_t> tcp_doff_override_;
    std::optional<uint16_t> udp_length_override_;
    bool corrupt_ip_csum_ = false;
    bool corrupt_l4_csum_ = false;
    std::optional<size_t> truncate_to_;
    size_t pad_to_ = 0;
};

// ---- Convenience constructors (return a builder to refine further, then build()) -----------
PacketBuilder tcp4(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport,
                   uint8_t flags = tcpflag::kSyn);
PacketBuilder udp4(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport);
// Echo request by default; id/seq via icmp() on the returned builder if needed.
PacketBuilder icmp4(std::string_view src, std::string_view dst, uint8_t type = 8,
                    uint8_t code = 0);
// Same with the default addresses (10.0.0.1 -> 10.0.0.2).
PacketBuilder icmp4(uint8_t type, uint8_t code);
PacketBuilder tcp6(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport,
                   uint8_t flags = tcpflag::kSyn);
PacketBuilder udp6(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport);
PacketBuilder icmp6(std::string_view src, std::string_view dst, uint8_t type = 128,
                    uint8_t code = 0);
// Same with the default addresses (fd00::1 -> fd00::2).
PacketBuilder icmp6(uint8_t type, uint8_t code);
// ARP request "who has target_ip, tell sender_ip", broadcast.
PacketBuilder arp_request(std::string_view sender_ip, std::string_view target_ip);

}  // namespace xfw::test
