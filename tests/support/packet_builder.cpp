#include "tests/support/packet_builder.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace xfw::test {

namespace {

void put8(Frame& f, uint8_t v) { f.push_back(v); }

void put16(Frame& f, uint16_t v) {
    f.push_back(static_cast<uint8_t>(v >> 8));
    f.push_back(static_cast<uint8_t>(v));
}

void put32(Frame& f, uint32_t v) {
    put16(f, static_cast<uint16_t>(v >> 16));
    put16(f, static_cast<uint16_t>(v));
}

void put_bytes(Frame& f, std::span<const uint8_t> bytes) {
    f.insert(f.end(), bytes.begin(), bytes.end());
}

void store16(Frame& f, size_t at, uint16_t v) {
    f.at(at) = static_cast<uint8_t>(v >> 8);
    f.at(at + 1) = static_cast<uint8_t>(v);
}

// Unfolded sum of big-endian 16-bit words (odd trailing byte padded with zero).
uint32_t sum_words(std::span<const uint8_t> data, uint32_t sum = 0) {
    size_t i = 0;
    for (; i + 1 < data.size(); i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
    if (i < data.size()) sum += uint32_t{data[i]} << 8;
    // Fold early so that long buffers cannot overflow 32 bits.
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

// A checksum that the receiver will reject (and that is never 0, which for UDP over IPv4
// would mean "no checksum").
uint16_t corrupt(uint16_t good) {
    uint16_t bad = good ^ 0x0001;
    if (bad == 0) bad = good ^ 0x0002;
    return bad;
}

std::vector<uint8_t> pad_options_tlv(std::vector<uint8_t> options) {
    // Hop-by-hop / destination options header: 2 bytes (next header, length) + TLVs, padded
    // to a multiple of 8 with Pad1 (0x00) or PadN (0x01, len, zeros).
    size_t total = 2 + options.size();
    size_t need = (8 - total % 8) % 8;
    if (need == 1) {
        options.push_back(0x00);
    } else if (need >= 2) {
        options.push_back(0x01);
        options.push_back(static_cast<uint8_t>(need - 2));
        options.insert(options.end(), need - 2, 0x00);
    }
    return options;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Helpers

Mac parse_mac(std::string_view text) {
    Mac mac{};
    size_t pos = 0;
    for (size_t i = 0; i < 6; ++i) {
        if (i > 0) {
            if (pos >= text.size() || (text[pos] != ':' && text[pos] != '-'))
                throw std::invalid_argument("bad MAC address: " + std::string(text));
            ++pos;
        }
        unsigned value = 0;
        size_t digits = 0;
        while (pos < text.size() && digits < 2) {
            char c = text[pos];
            unsigned d;
            if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
            else break;
            value = value * 16 + d;
            ++pos;
            ++digits;
        }
        if (digits == 0) throw std::invalid_argument("bad MAC address: " + std::string(text));
        mac[i] = static_cast<uint8_t>(value);
    }
    if (pos != text.size()) throw std::invalid_argument("bad MAC address: " + std::string(text));
    return mac;
}

std::string format_mac(const Mac& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                  mac[3], mac[4], mac[5]);
    return buf;
}

Ipv4Addr parse_ipv4(std::string_view text) {
    Ipv4Addr a{};
    if (inet_pton(AF_INET, std::string(text).c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv4 address: " + std::string(text));
    return a;
}

Ipv6Addr parse_ipv6(std::string_view text) {
    Ipv6Addr a{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv6 address: " + std::string(text));
    return a;
}

uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial) {
    uint32_t sum = initial;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    sum = sum_words(data, sum);
    return static_cast<uint16_t>(~sum & 0xffff);
}

std::string hex_dump(std::span<const uint8_t> data) {
    std::string out;
    char buf[24];
    for (size_t i = 0; i < data.size(); ++i) {
        if (i % 16 == 0) {
            if (i != 0) out += '\n';
            std::snprintf(buf, sizeof buf, "%04zx ", i);
            out += buf;
        }
        std::snprintf(buf, sizeof buf, " %02x", data[i]);
        out += buf;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Ethernet

PacketBuilder& PacketBuilder::eth_src(const Mac& mac) { eth_src_ = mac; return *this; }
PacketBuilder& PacketBuilder::eth_src(std::string_view mac) { return eth_src(parse_mac(mac)); }
PacketBuilder& PacketBuilder::eth_dst(const Mac& mac) { eth_dst_ = mac; return *this; }
PacketBuilder& PacketBuilder::eth_dst(std::string_view mac) { return eth_dst(parse_mac(mac)); }

PacketBuilder& PacketBuilder::vlan(uint16_t vid, uint8_t pcp, uint16_t tpid) {
    if (vid > 0xfff) throw std::invalid_argument("VLAN id > 4095");
    if (pcp > 7) throw std::invalid_argument("VLAN priority > 7");
    tags_.push_back(Tag{tpid, static_cast<uint16_t>((pcp << 13) | vid)});
    return *this;
}

PacketBuilder& PacketBuilder::qinq(uint16_t outer_vid, uint16_t inner_vid) {
    vlan(outer_vid, 0, ethertype::kQinQ);
    return vlan(inner_vid, 0, ethertype::kVlan);
}

PacketBuilder& PacketBuilder::ethertype(uint16_t type) { ethertype_override_ = type; return *this; }

PacketBuilder& PacketBuilder::raw_l3(uint16_t type, std::vector<uint8_t> body) {
    l3_ = L3::Raw;
    raw_l3_type_ = type;
    raw_l3_body_ = std::move(body);
    return *this;
}

PacketBuilder& PacketBuilder::arp(uint16_t op, std::string_view sender_ip,
                                  std::string_view target_ip) {
    l3_ = L3::Arp;
    arp_op_ = op;
    arp_sender_ = parse_ipv4(sender_ip);
    arp_target_ = parse_ipv4(target_ip);
    return *this;
}

// ---------------------------------------------------------------------------------------------
// IP

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst) {
    v4_src_ = parse_ipv4(src);
    v4_dst_ = parse_ipv4(dst);
    l3_ = L3::Ipv4;
    return *this;
}

PacketBuilder& PacketBuilder::ttl(uint8_t value) { ttl_ = value; return *this; }
PacketBuilder& PacketBuilder::tos(uint8_t value) { tos_ = value; return *this; }
PacketBuilder& PacketBuilder::ip_id(uint16_t id) { ip_id_ = id; return *this; }
PacketBuilder& PacketBuilder::dont_fragment(bool df) { df_ = df; return *this; }
PacketBuilder& PacketBuilder::more_fragments(bool mf) { mf_ = mf; return *this; }

PacketBuilder& PacketBuilder::frag_offset(uint16_t units) {
    if (units > 0x1fff) throw std::invalid_argument("IPv4 fragment offset > 8191 units");
    frag_offset_ = units;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_options(std::vector<uint8_t> options) {
    while (options.size() % 4 != 0) options.push_back(0x00);  // EOL
    if (options.size() > 40) throw std::invalid_argument("IPv4 options longer than 40 bytes");
    ipv4_options_ = std::move(options);
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_protocol(uint8_t proto) { ipv4_protocol_ = proto; return *this; }

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst) {
    v6_src_ = parse_ipv6(src);
    v6_dst_ = parse_ipv6(dst);
    l3_ = L3::Ipv6;
    return *this;
}

PacketBuilder& PacketBuilder::flow_label(uint32_t label) {
    if (label > 0xfffff) throw std::invalid_argument("IPv6 flow label > 20 bits");
    flow_label_ = label;
    return *this;
}

PacketBuilder& PacketBuilder::hop_by_hop(std::vector<uint8_t> options) {
    ExtHeader h;
    h.type = ipproto::kHopByHop;
    std::vector<uint8_t> body = pad_options_tlv(std::move(options));
    h.bytes = {0, static_cast<uint8_t>((2 + body.size()) / 8 - 1)};
    h.bytes.insert(h.bytes.end(), body.begin(), body.end());
    ext_.push_back(std::move(h));
    return *this;
}

PacketBuilder& PacketBuilder::dest_opts(std::vector<uint8_t> options) {
    hop_by_hop(std::move(options));
    ext_.back().type = ipproto::kDestOpts;
    return *this;
}

PacketBuilder& PacketBuilder::routing(uint8_t type, uint8_t segments_left,
                                      const std::vector<std::string>& addresses) {
    if (addresses.size() > 127) throw std::invalid_argument("too many routing addresses");
    ExtHeader h;
    h.type = ipproto::kRouting;
    h.bytes = {0, static_cast<uint8_t>(2 * addresses.size()), type, segments_left};
    if (type == 4) {
        // Segment Routing Header: Last Entry, Flags, Tag.
        h.bytes.push_back(static_cast<uint8_t>(addresses.empty() ? 0 : addresses.size() - 1));
        h.bytes.push_back(0);
        h.bytes.push_back(0);
        h.bytes.push_back(0);
    } else {
        h.bytes.insert(h.bytes.end(), 4, 0);  // reserved
    }
    std::vector<Ipv6Addr> parsed;
    for (const auto& a : addresses) {
        parsed.push_back(parse_ipv6(a));
        h.bytes.insert(h.bytes.end(), parsed.back().begin(), parsed.back().end());
    }
    if (segments_left > 0 && !parsed.empty())
        h.final_dst = type == 4 ? parsed.front() : parsed.back();
    ext_.push_back(std::move(h));
    return *this;
}

PacketBuilder& PacketBuilder::fragment(uint16_t offset_units, bool more, uint32_t id) {
    if (offset_units > 0x1fff) throw std::invalid_argument("IPv6 fragment offset > 8191 units");
    ExtHeader h;
    h.type = ipproto::kFragment;
    Frame b;
    put8(b, 0);
    put8(b, 0);  // reserved
    put16(b, static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0)));
    put32(b, id);
    h.bytes = std::move(b);
    ext_.push_back(std::move(h));
    return *this;
}

PacketBuilder& PacketBuilder::ah(uint32_t spi, uint32_t seq, size_t icv_len) {
    size_t total = 12 + icv_len;
    if (total % 4 != 0 || total / 4 - 2 > 255)
        throw std::invalid_argument("AH ICV length must keep the header a multiple of 4 bytes");
    ExtHeader h;
    h.type = ipproto::kAh;
    Frame b;
    put8(b, 0);
    put8(b, static_cast<uint8_t>(total / 4 - 2));  // Payload Len: 32-bit words minus 2
    put16(b, 0);                                   // reserved
    put32(b, spi);
    put32(b, seq);
    b.insert(b.end(), icv_len, 0xa5);
    h.bytes = std::move(b);
    ext_.push_back(std::move(h));
    return *this;
}

PacketBuilder& PacketBuilder::ext_header(uint8_t type, std::vector<uint8_t> body) {
    ExtHeader h;
    h.type = type;
    while ((2 + body.size()) % 8 != 0) body.push_back(0);
    if ((2 + body.size()) / 8 - 1 > 255) throw std::invalid_argument("extension header too long");
    h.bytes = {0, static_cast<uint8_t>((2 + body.size()) / 8 - 1)};
    h.bytes.insert(h.bytes.end(), body.begin(), body.end());
    ext_.push_back(std::move(h));
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_next_header(uint8_t nh) { ipv6_nh_override_ = nh; return *this; }
PacketBuilder& PacketBuilder::ipv6_payload_length(uint16_t len) {
    ipv6_plen_override_ = len;
    return *this;
}

// ---------------------------------------------------------------------------------------------
// Upper layer

void PacketBuilder::ensure_ip() {
    if (l3_ != L3::Ipv4 && l3_ != L3::Ipv6) ipv4(kDefaultSrcV4, kDefaultDstV4);
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
    ensure_ip();
    l4_ = L4::Tcp;
    sport_ = sport;
    dport_ = dport;
    tcp_flags_ = flags;
    return *this;
}

PacketBuilder& PacketBuilder::seq(uint32_t value) { seq_ = value; return *this; }
PacketBuilder& PacketBuilder::ack_seq(uint32_t ack) { ack_ = ack; return *this; }
PacketBuilder& PacketBuilder::window(uint16_t value) { window_ = value; return *this; }

PacketBuilder& PacketBuilder::tcp_options(std::vector<uint8_t> options) {
    // Stored unpadded so that tcp_mss() can append; build() pads with EOL.
    if ((options.size() + 3) / 4 * 4 > 40)
        throw std::invalid_argument("TCP options longer than 40 bytes");
    tcp_options_ = std::move(options);
    return *this;
}

PacketBuilder& PacketBuilder::tcp_mss(uint16_t mss) {
    std::vector<uint8_t> opts = tcp_options_;
    opts.insert(opts.end(), {0x02, 0x04, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)});
    return tcp_options(std::move(opts));
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
    ensure_ip();
    l4_ = L4::Udp;
    sport_ = sport;
    dport_ = dport;
    return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq) {
    ensure_ip();
    l4_ = L4::Icmp;
    icmp_type_ = type;
    icmp_code_ = code;
    icmp_id_ = id;
    icmp_seq_ = seq;
    return *this;
}

PacketBuilder& PacketBuilder::icmp6(uint8_t type, uint8_t code, uint16_t id, uint16_t seq) {
    if (l3_ != L3::Ipv6) ipv6(kDefaultSrcV6, kDefaultDstV6);
    l4_ = L4::Icmp6;
    icmp_type_ = type;
    icmp_code_ = code;
    icmp_id_ = id;
    icmp_seq_ = seq;
    return *this;
}

PacketBuilder& PacketBuilder::raw_l4(uint8_t proto, std::vector<uint8_t> header) {
    ensure_ip();
    l4_ = L4::Raw;
    raw_l4_proto_ = proto;
    raw_l4_header_ = std::move(header);
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::vector<uint8_t> bytes) {
    payload_ = std::move(bytes);
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::string_view text) {
    payload_.assign(text.begin(), text.end());
    return *this;
}

PacketBuilder& PacketBuilder::payload_len(size_t len) {
    payload_.resize(len);
    for (size_t i = 0; i < len; ++i) payload_[i] = static_cast<uint8_t>(i);
    return *this;
}

// ---------------------------------------------------------------------------------------------
// Malformations

PacketBuilder& PacketBuilder::ipv4_ihl(uint8_t ihl) {
    if (ihl > 15) throw std::invalid_argument("IHL is a 4-bit field");
    ihl_override_ = ihl;
    return *this;
}
PacketBuilder& PacketBuilder::ipv4_total_length(uint16_t len) { total_length_override_ = len; return *this; }
PacketBuilder& PacketBuilder::tcp_data_offset(uint8_t doff) {
    if (doff > 15) throw std::invalid_argument("TCP data offset is a 4-bit field");
    tcp_doff_override_ = doff;
    return *this;
}
PacketBuilder& PacketBuilder::udp_length(uint16_t len) { udp_length_override_ = len; return *this; }
PacketBuilder& PacketBuilder::corrupt_ip_checksum() { corrupt_ip_csum_ = true; return *this; }
PacketBuilder& PacketBuilder::corrupt_l4_checksum() { corrupt_l4_csum_ = true; return *this; }
PacketBuilder& PacketBuilder::truncate_to(size_t len) { truncate_to_ = len; return *this; }
PacketBuilder& PacketBuilder::pad_to(size_t len) { pad_to_ = len; return *this; }

// ---------------------------------------------------------------------------------------------
// Build

uint8_t PacketBuilder::upper_proto() const {
    switch (l4_) {
    case L4::Tcp: return ipproto::kTcp;
    case L4::Udp: return ipproto::kUdp;
    case L4::Icmp: return ipproto::kIcmp;
    case L4::Icmp6: return ipproto::kIcmpV6;
    case L4::Raw: return raw_l4_proto_;
    case L4::None: break;
    }
    return ipproto::kNoNext;
}

Frame PacketBuilder::build() const { return build_impl(nullptr); }

FrameLayout PacketBuilder::layout() const {
    FrameLayout layout;
    (void)build_impl(&layout);
    return layout;
}

Frame PacketBuilder::build_impl(FrameLayout* layout) const {
    FrameLayout lay;
    Frame f;
    f.reserve(128 + payload_.size());

    // Ethernet + tags.
    put_bytes(f, eth_dst_);
    put_bytes(f, eth_src_);
    for (const Tag& t : tags_) {
        put16(f, t.tpid);
        put16(f, t.tci);
    }
    uint16_t type = 0x88b5;  // IEEE local experimental, for frames without an L3 layer
    switch (l3_) {
    case L3::Ipv4: type = ethertype::kIpv4; break;
    case L3::Ipv6: type = ethertype::kIpv6; break;
    case L3::Arp: type = ethertype::kArp; break;
    case L3::Raw: type = raw_l3_type_; break;
    case L3::None: break;
    }
    put16(f, ethertype_override_.value_or(type));
    lay.l3_offset = f.size();

    if (l3_ != L3::Ipv4 && l3_ != L3::Ipv6) {
        if (l3_ == L3::Arp) {
            put16(f, 1);                   // hardware type: Ethernet
            put16(f, ethertype::kIpv4);    // protocol type
            put8(f, 6);
            put8(f, 4);
            put16(f, arp_op_);
            put_bytes(f, eth_src_);
            put_bytes(f, arp_sender_);
            if (arp_op_ == 2) put_bytes(f, eth_dst_);
            else f.insert(f.end(), 6, 0);
            put_bytes(f, arp_target_);
        } else if (l3_ == L3::Raw) {
            put_bytes(f, raw_l3_body_);
        }
        lay.l4_offset = lay.payload_offset = f.size();
        put_bytes(f, payload_);
    } else {
        const bool v6 = l3_ == L3::Ipv6;
        if (!v6 && !ext_.empty())
            throw std::logic_error("IPv6 extension headers on an IPv4 packet");
        if (v6 && !ipv4_options_.empty())
            throw std::logic_error("IPv4 options on an IPv6 packet");
        if (l4_ == L4::Icmp6 && !v6) throw std::logic_error("ICMPv6 over IPv4");

        // Upper layer first: its length goes into the IP header.
        Frame l4;
        size_t l4_header_len = 0;
        size_t csum_at = SIZE_MAX;  // checksum field offset within l4
        bool pseudo = true;         // checksum covers the pseudo-header
        bool udp_zero_is_ffff = false;
        switch (l4_) {
        case L4::Tcp: {
            put16(l4, sport_);
            put16(l4, dport_);
            put32(l4, seq_);
            put32(l4, ack_);
            std::vector<uint8_t> options = tcp_options_;
            while (options.size() % 4 != 0) options.push_back(0x00);  // EOL
            uint8_t doff = static_cast<uint8_t>(5 + options.size() / 4);
            put8(l4, static_cast<uint8_t>(tcp_doff_override_.value_or(doff) << 4));
            put8(l4, tcp_flags_);
            put16(l4, window_);
            csum_at = l4.size();
            put16(l4, 0);
            put16(l4, 0);  // urgent pointer
            put_bytes(l4, options);
            break;
        }
        case L4::Udp:
            put16(l4, sport_);
            put16(l4, dport_);
            put16(l4, udp_length_override_.value_or(static_cast<uint16_t>(8 + payload_.size())));
            csum_at = l4.size();
            put16(l4, 0);
            udp_zero_is_ffff = true;
            break;
        case L4::Icmp:
        case L4::Icmp6:
            put8(l4, icmp_type_);
            put8(l4, icmp_code_);
            csum_at = l4.size();
            put16(l4, 0);
            put16(l4, icmp_id_);
            put16(l4, icmp_seq_);
            pseudo = l4_ == L4::Icmp6;
            break;
        case L4::Raw:
            put_bytes(l4, raw_l4_header_);
            break;
        case L4::None:
            break;
        }
        l4_header_len = l4.size();
        put_bytes(l4, payload_);

        // Pseudo-header sum.
        uint32_t psum = 0;
        if (v6) {
            Ipv6Addr dst = v6_dst_;
            for (const ExtHeader& h : ext_)
                if (h.final_dst) dst = *h.final_dst;
            psum = sum_words(v6_src_);
            psum = sum_words(dst, psum);
            Frame tail;
            put32(tail, static_cast<uint32_t>(l4.size()));
            put32(tail, upper_proto());
            psum = sum_words(tail, psum);
        } else {
            psum = sum_words(v4_src_);
            psum = sum_words(v4_dst_, psum);
            Frame tail;
            put16(tail, upper_proto());
            put16(tail, static_cast<uint16_t>(l4.size()));
            psum = sum_words(tail, psum);
        }
        if (csum_at != SIZE_MAX) {
            uint16_t c = internet_checksum(l4, pseudo ? psum : 0);
            if (udp_zero_is_ffff && c == 0) c = 0xffff;
            if (corrupt_l4_csum_) c = corrupt(c);
            store16(l4, csum_at, c);
        }

        if (!v6) {
            size_t hdr_len = 20 + ipv4_options_.size();
            uint8_t ihl = static_cast<uint8_t>(hdr_len / 4);
            size_t start = f.size();
            put8(f, static_cast<uint8_t>(0x40 | ihl_override_.value_or(ihl)));
            put8(f, tos_);
            put16(f, total_length_override_.value_or(static_cast<uint16_t>(hdr_len + l4.size())));
            put16(f, ip_id_);
            put16(f, static_cast<uint16_t>((df_ ? 0x4000 : 0) | (mf_ ? 0x2000 : 0) | frag_offset_));
            put8(f, ttl_);
            put8(f, ipv4_protocol_.value_or(upper_proto()));
            put16(f, 0);
            put_bytes(f, v4_src_);
            put_bytes(f, v4_dst_);
            put_bytes(f, ipv4_options_);
            uint16_t c = internet_checksum(std::span(f).subspan(start, hdr_len));
            if (corrupt_ip_csum_) c = corrupt(c);
            store16(f, start + 10, c);
        } else {
            size_t ext_len = 0;
            for (const ExtHeader& h : ext_) ext_len += h.bytes.size();
            put32(f, (6u << 28) | (uint32_t{tos_} << 20) | flow_label_);
            put16(f, ipv6_plen_override_.value_or(static_cast<uint16_t>(ext_len + l4.size())));
            uint8_t first = ext_.empty() ? upper_proto() : ext_.front().type;
            put8(f, ipv6_nh_override_.value_or(first));
            put8(f, ttl_);
            put_bytes(f, v6_src_);
            put_bytes(f, v6_dst_);
            for (size_t i = 0; i < ext_.size(); ++i) {
                lay.ext_offsets.push_back(f.size());
                Frame h = ext_[i].bytes;
                h[0] = i + 1 < ext_.size() ? ext_[i + 1].type : upper_proto();
                put_bytes(f, h);
            }
        }
        lay.l4_offset = f.size();
        lay.payload_offset = lay.l4_offset + l4_header_len;
        put_bytes(f, l4);
    }

    lay.size = f.size();
    if (truncate_to_ && *truncate_to_ < f.size()) f.resize(*truncate_to_);
    if (f.size() < pad_to_) f.resize(pad_to_, 0);
    if (layout) *layout = std::move(lay);
    return f;
}

// ---------------------------------------------------------------------------------------------
// Convenience constructors

PacketBuilder tcp4(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport,
                   uint8_t flags) {
    PacketBuilder b;
    b.ipv4(src, dst).tcp(sport, dport, flags);
    return b;
}

PacketBuilder udp4(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport) {
    PacketBuilder b;
    b.ipv4(src, dst).udp(sport, dport);
    return b;
}

PacketBuilder icmp4(std::string_view src, std::string_view dst, uint8_t type, uint8_t code) {
    PacketBuilder b;
    b.ipv4(src, dst).icmp(type, code);
    return b;
}

PacketBuilder icmp4(uint8_t type, uint8_t code) { return icmp4(kDefaultSrcV4, kDefaultDstV4, type, code); }

PacketBuilder tcp6(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport,
                   uint8_t flags) {
    PacketBuilder b;
    b.ipv6(src, dst).tcp(sport, dport, flags);
    return b;
}

PacketBuilder udp6(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport) {
    PacketBuilder b;
    b.ipv6(src, dst).udp(sport, dport);
    return b;
}

PacketBuilder icmp6(std::string_view src, std::string_view dst, uint8_t type, uint8_t code) {
    PacketBuilder b;
    b.ipv6(src, dst).icmp6(type, code);
    return b;
}

PacketBuilder icmp6(uint8_t type, uint8_t code) { return icmp6(kDefaultSrcV6, kDefaultDstV6, type, code); }

PacketBuilder arp_request(std::string_view sender_ip, std::string_view target_ip) {
    PacketBuilder b;
    b.eth_dst(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).arp(1, sender_ip, target_ip);
    return b;
}

}  // namespace xfw::test
