// Parses one rule specification in iptables syntax into the policy IR, with iptables' spelling.
#include "control/rule_parser.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <cctype>
#include <cstring>
#include <iterator>

namespace xfw {

// ---------------------------------------------------------------------------------------------
// Name tables
// ---------------------------------------------------------------------------------------------
namespace {

struct ProtoEntry {
    const char* name;
    uint8_t number;
    const char* alias;  // may be nullptr
};

// Debian netbase /etc/protocols (numbers below 256). iptables-save prints getprotobynumber()'s
// primary name, so embedding the table keeps our output identical without depending on the
// host's files. The first entry for a number is the one getprotobynumber() returns.
constexpr ProtoEntry kProtocols[] = {
    {"ip", 0, "IP"},
    {"hopopt", 0, "HOPOPT"},
    {"icmp", 1, "ICMP"},
    {"igmp", 2, "IGMP"},
    {"ggp", 3, "GGP"},
    {"ipencap", 4, "IP-ENCAP"},
    {"st", 5, "ST"},
    {"tcp", 6, "TCP"},
    {"egp", 8, "EGP"},
    {"igp", 9, "IGP"},
    {"pup", 12, "PUP"},
    {"udp", 17, "UDP"},
    {"hmp", 20, "HMP"},
    {"xns-idp", 22, "XNS-IDP"},
    {"rdp", 27, "RDP"},
    {"iso-tp4", 29, "ISO-TP4"},
    {"dccp", 33, "DCCP"},
    {"xtp", 36, "XTP"},
    {"ddp", 37, "DDP"},
    {"idpr-cmtp", 38, "IDPR-CMTP"},
    {"ipv6", 41, "IPv6"},
    {"ipv6-route", 43, "IPv6-Route"},
    {"ipv6-frag", 44, "IPv6-Frag"},
    {"idrp", 45, "IDRP"},
    {"rsvp", 46, "RSVP"},
    {"gre", 47, "GRE"},
    {"esp", 50, "IPSEC-ESP"},
    {"ah", 51, "IPSEC-AH"},
    {"skip", 57, "SKIP"},
    {"ipv6-icmp", 58, "IPv6-ICMP"},
    {"ipv6-nonxt", 59, "IPv6-NoNxt"},
    {"ipv6-opts", 60, "IPv6-Opts"},
    {"rspf", 73, "RSPF"},
    {"vmtp", 81, "VMTP"},
    {"eigrp", 88, "EIGRP"},
    {"ospf", 89, "OSPFIGP"},
    {"ax.25", 93, "AX.25"},
    {"ipip", 94, "IPIP"},
    {"etherip", 97, "ETHERIP"},
    {"encap", 98, "ENCAP"},
    {"pim", 103, "PIM"},
    {"ipcomp", 108, "IPCOMP"},
    {"vrrp", 112, "VRRP"},
    {"l2tp", 115, "L2TP"},
    {"isis", 124, "ISIS"},
    {"sctp", 132, "SCTP"},
    {"fc", 133, "FC"},
    {"mobility-header", 135, "Mobility-Header"},
    {"udplite", 136, "UDPLite"},
    {"mpls-in-ip", 137, "MPLS-in-IP"},
    {"manet", 138, nullptr},
    {"hip", 139, "HIP"},
    {"shim6", 140, "Shim6"},
    {"wesp", 141, "WESP"},
    {"rohc", 142, "ROHC"},
    {"ethernet", 143, "Ethernet"},
    // iptables' own spellings (xtables_chain_protos), accepted but never printed.
    {"all", 0, nullptr},
    {"icmpv6", 58, nullptr},
    {"mh", 135, nullptr},
    {"ipv6-mh", 135, nullptr},
};

struct ServiceEntry {
    const char* name;
    uint16_t port;
    const char* alias;  // may be nullptr
};

// A small, fixed subset of netbase /etc/services: enough for the ports people actually type,
// without making rule meaning depend on the host's files. iptables-save prints numbers anyway.
constexpr ServiceEntry kServices[] = {
    {"ftp-data", 20, nullptr},   {"ftp", 21, nullptr},          {"ssh", 22, nullptr},
    {"telnet", 23, nullptr},     {"smtp", 25, "mail"},          {"domain", 53, nullptr},
    {"bootps", 67, nullptr},     {"bootpc", 68, nullptr},       {"tftp", 69, nullptr},
    {"http", 80, "www"},         {"kerberos", 88, nullptr},     {"pop3", 110, nullptr},
    {"ntp", 123, nullptr},       {"imap2", 143, "imap"},        {"snmp", 161, nullptr},
    {"bgp", 179, nullptr},       {"ldap", 389, nullptr},        {"https", 443, nullptr},
    {"submissions", 465, "smtps"}, {"isakmp", 500, nullptr},    {"syslog", 514, nullptr},
    {"submission", 587, nullptr}, {"ldaps", 636, nullptr},      {"imaps", 993, nullptr},
    {"pop3s", 995, nullptr},     {"openvpn", 1194, nullptr},    {"mysql", 3306, nullptr},
    {"dhcpv6-client", 546, nullptr}, {"dhcpv6-server", 547, nullptr},
    {"ipsec-nat-t", 4500, nullptr}, {"postgresql", 5432, "postgres"},
    {"http-alt", 8080, "webcache"},
};

struct IcmpEntry {
    const char* name;
    uint8_t type;
    uint8_t code_min;
    uint8_t code_max;
};

// iptables' ICMP type table (libxt_icmp), in its order: the first entry for a type/code range
// is the name `iptables -L` prints; later duplicates are aliases.
constexpr IcmpEntry kIcmpV4[] = {
    {"any", 0xFF, 0, 0xFF},
    {"echo-reply", 0, 0, 0xFF},
    {"pong", 0, 0, 0xFF},
    {"destination-unreachable", 3, 0, 0xFF},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xFF},
    {"redirect", 5, 0, 0xFF},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xFF},
    {"ping", 8, 0, 0xFF},
    {"router-advertisement", 9, 0, 0xFF},
    {"router-solicitation", 10, 0, 0xFF},
    {"time-exceeded", 11, 0, 0xFF},
    {"ttl-exceeded", 11, 0, 0xFF},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xFF},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xFF},
    {"timestamp-reply", 14, 0, 0xFF},
    {"address-mask-request", 17, 0, 0xFF},
    {"address-mask-reply", 18, 0, 0xFF},
};

// ip6tables' ICMPv6 type table (libip6t_icmp6). It has no "any".
constexpr IcmpEntry kIcmpV6[] = {
    {"destination-unreachable", 1, 0, 0xFF},
    {"no-route", 1, 0, 0},
    {"communication-prohibited", 1, 1, 1},
    {"beyond-scope", 1, 2, 2},
    {"address-unreachable", 1, 3, 3},
    {"port-unreachable", 1, 4, 4},
    {"failed-policy", 1, 5, 5},
    {"reject-route", 1, 6, 6},
    {"packet-too-big", 2, 0, 0xFF},
    {"time-exceeded", 3, 0, 0xFF},
    {"ttl-exceeded", 3, 0, 0xFF},
    {"ttl-zero-during-transit", 3, 0, 0},
    {"ttl-zero-during-reassembly", 3, 1, 1},
    {"parameter-problem", 4, 0, 0xFF},
    {"bad-header", 4, 0, 0},
    {"unknown-header-type", 4, 1, 1},
    {"unknown-option", 4, 2, 2},
    {"echo-request", 128, 0, 0xFF},
    {"ping", 128, 0, 0xFF},
    {"echo-reply", 129, 0, 0xFF},
    {"pong", 129, 0, 0xFF},
    {"router-solicitation", 133, 0, 0xFF},
    {"router-advertisement", 134, 0, 0xFF},
    {"neighbour-solicitation", 135, 0, 0xFF},
    {"neighbor-solicitation", 135, 0, 0xFF},
    {"neighbour-advertisement", 136, 0, 0xFF},
    {"neighbor-advertisement", 136, 0, 0xFF},
    {"redirect", 137, 0, 0xFF},
};

struct FlagEntry {
    const char* name;
    uint8_t bits;
};

// ALL is iptables' ALL (the six classic flags), so `--tcp-flags ALL NONE` means what it means
// in iptables even though xfw also knows ECE and CWR.
constexpr FlagEntry kTcpFlags[] = {
    {"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08}, {"ACK", 0x10},
    {"URG", 0x20}, {"ECE", 0x40}, {"CWR", 0x80}, {"ALL", 0x3F}, {"NONE", 0x00},
};

// iptables targets xfw recognises by name only to refuse them with a useful message (and to
// keep them from being mistaken for user chain names).
constexpr const char* kUnsupportedTargets[] = {
    "REJECT",   "LOG",        "NFLOG",      "ULOG",     "MARK",       "CONNMARK", "DNAT",
    "SNAT",     "MASQUERADE", "REDIRECT",   "NETMAP",   "QUEUE",      "NFQUEUE",  "TRACE",
    "CT",       "NOTRACK",    "TCPMSS",     "TOS",      "DSCP",       "TTL",      "HL",
    "CLASSIFY", "CHECKSUM",   "AUDIT",      "SET",      "TEE",        "LED",      "IDLETIMER",
    "SECMARK",  "CONNSECMARK", "HMARK",     "SYNPROXY", "TPROXY",     "CLUSTERIP", "ECN",
    "RATEEST",  "TCPOPTSTRIP", "CONNTRACK", "SAME",     "MIRROR",
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal number with an upper bound; rejects signs, spaces and overflow.
std::optional<unsigned long> parse_uint(std::string_view s, unsigned long max) {
    if (!all_digits(s) || s.size() > 10) return std::nullopt;
    unsigned long v = 0;
    for (char c : s) v = v * 10 + static_cast<unsigned long>(c - '0');
    if (v > max) return std::nullopt;
    return v;
}

}  // namespace

namespace names {

const char* protocol_name(uint8_t number) {
    // iptables -L prints "all" for protocol 0; iptables-save never prints protocol 0.
    if (number == 0) return "all";
    for (const ProtoEntry& p : kProtocols)
        if (p.number == number) return p.name;
    return nullptr;
}

std::optional<uint8_t> protocol_number(std::string_view name) {
    for (const ProtoEntry& p : kProtocols)
        if (iequals(name, p.name) || (p.alias && iequals(name, p.alias))) return p.number;
    return std::nullopt;
}

std::optional<uint16_t> service_port(std::string_view name) {
    // Case-sensitive, like getservbyname(): "HTTP" is not a service.
    for (const ServiceEntry& s : kServices)
        if (name == s.name || (s.alias && name == s.alias)) return s.port;
    return std::nullopt;
}

const char* service_name(uint16_t port) {
    for (const ServiceEntry& s : kServices)
        if (s.port == port) return s.name;
    return nullptr;
}

const char* icmp_type_name(bool v6, uint8_t type, uint8_t code_min, uint8_t code_max) {
    auto search = [&](const auto& table) -> const char* {
        for (const IcmpEntry& e : table)
            if (e.type == type && e.code_min == code_min && e.code_max == code_max) return e.name;
        return nullptr;
    };
    return v6 ? search(kIcmpV6) : search(kIcmpV4);
}

std::string tcp_flags(uint8_t bits) {
    if (bits == 0) return "NONE";
    std::string out;
    for (const FlagEntry& f : kTcpFlags) {
        if (std::strcmp(f.name, "ALL") == 0) break;  // single bits only
        if (bits & f.bits) {
            if (!out.empty()) out += ',';
            out += f.name;
        }
    }
    return out;
}

}  // namespace names

bool is_target_name(std::string_view name) {
    if (name == "ACCEPT" || name == "DROP" || name == "RETURN" || name == "WASM") return true;
    return std::any_of(std::begin(kUnsupportedTargets), std::end(kUnsupportedTargets),
                       [&](const char* t) { return name == t; });
}

Status check_chain_name(std::string_view name) {
    const std::string quoted = "\"" + std::string(name) + "\"";
    if (name.empty()) return bad_input("\"\": chain name is empty");
    if (name.size() > 28)
        return bad_input(quoted + ": chain name too long (" + std::to_string(name.size()) +
                         " characters, at most 28)");
    if (name[0] == '-' || name[0] == '!')
        return bad_input(quoted + ": chain name may not start with '-' or '!'");
    for (char c : name)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            return bad_input(quoted + ": chain name may not contain whitespace or control characters");
    if (is_target_name(name))
        return bad_input(quoted + ": chain name may not clash with a target name");
    return Status::success();
}

void expand_short_option_bundle(std::vector<std::string>& tokens, std::size_t i) {
    // Like iptables, only flags bundle ("-nvL", "-vnxL INPUT"): every letter must be a short
    // option, and only the last may take an argument, from the next word. "-ptcp" stays one
    // (unknown) token, as iptables refuses it too.
    static constexpr std::string_view kNoArg = "LSFZXvnxf46";
    static constexpr std::string_view kWithArg = "ADIRPNEsdpiojgmt";
    if (i >= tokens.size()) return;
    const std::string t = tokens[i];
    if (t.size() <= 2 || t[0] != '-' || t[1] == '-') return;
    for (size_t k = 1; k < t.size(); ++k) {
        const bool last = k + 1 == t.size();
        if (kNoArg.find(t[k]) == std::string_view::npos &&
            !(last && kWithArg.find(t[k]) != std::string_view::npos))
            return;
    }
    std::vector<std::string> split;
    for (size_t k = 1; k < t.size(); ++k) split.push_back(std::string("-") + t[k]);
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i));
    tokens.insert(tokens.begin() + static_cast<std::ptrdiff_t>(i), split.begin(), split.end());
}

// ---------------------------------------------------------------------------------------------
// Value parsers. Each returns its complaint without the token; the caller adds the token.
// ---------------------------------------------------------------------------------------------
namespace {

template <class T>
struct Parsed {
    std::optional<T> value;
    std::string why;
    static Parsed fail(std::string w) { return Parsed{std::nullopt, std::move(w)}; }
    static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
};

// Number of leading one bits if the mask is contiguous, else nullopt.
std::optional<int> contiguous_prefix(const uint8_t* bytes, size_t n) {
    int len = 0;
    size_t i = 0;
    for (; i < n && bytes[i] == 0xFF; ++i) len += 8;
    if (i < n) {
        uint8_t b = bytes[i];
        int ones = 0;
        while (b & 0x80) {
            ++ones;
            b = static_cast<uint8_t>(b << 1);
        }
        if (b != 0) return std::nullopt;
        len += ones;
        for (++i; i < n; ++i)
            if (bytes[i] != 0) return std::nullopt;
    }
    return len;
}

Parsed<Cidr> parse_cidr(const std::string& text) {
    if (text.find(',') != std::string::npos)
        return Parsed<Cidr>::fail("address lists are not supported: write one rule per address");
    const size_t slash = text.find('/');
    const std::string addr = text.substr(0, slash);
    Cidr c;
    int max_len;
    if (addr.find(':') != std::string::npos) {
        c.family = Family::V6;
        max_len = 128;
        if (inet_pton(AF_INET6, addr.c_str(), c.bytes.data()) != 1)
            return Parsed<Cidr>::fail("invalid IPv6 address \"" + addr + "\"");
    } else {
        c.family = Family::V4;
        max_len = 32;
        if (inet_pton(AF_INET, addr.c_str(), c.bytes.data()) != 1) {
            const bool has_letter = std::any_of(addr.begin(), addr.end(), [](char ch) {
                return std::isalpha(static_cast<unsigned char>(ch));
            });
            if (has_letter)
                return Parsed<Cidr>::fail(
                    "host names are not resolved: give a numeric IPv4 or IPv6 address");
            return Parsed<Cidr>::fail("invalid IPv4 address \"" + addr +
                                      "\" (expected a.b.c.d, a.b.c.d/n or a.b.c.d/mask)");
        }
    }
    int prefix = max_len;
    if (slash != std::string::npos) {
        const std::string mask = text.substr(slash + 1);
        if (mask.empty()) return Parsed<Cidr>::fail("missing prefix length after '/'");
        if (all_digits(mask)) {
            auto v = parse_uint(mask, static_cast<unsigned long>(max_len));
            if (!v)
                return Parsed<Cidr>::fail("prefix length " + mask + " out of range 0-" +
                                          std::to_string(max_len));
            prefix = static_cast<int>(*v);
        } else {
            std::array<uint8_t, 16> m{};
            const bool v6 = c.family == Family::V6;
            if (inet_pton(v6 ? AF_INET6 : AF_INET, mask.c_str(), m.data()) != 1)
                return Parsed<Cidr>::fail("invalid netmask \"" + mask + "\"");
            auto len = contiguous_prefix(m.data(), v6 ? 16 : 4);
            if (!len)
                return Parsed<Cidr>::fail("non-contiguous netmask " + mask +
                                          " is not supported (use a prefix length)");
            prefix = *len;
        }
    }
    c.prefix_len = static_cast<uint8_t>(prefix);
    // iptables stores address & mask: "10.1.2.3/8" means 10.0.0.0/8.
    for (int bit = prefix; bit < max_len; ++bit)
        c.bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return Parsed<Cidr>::ok(c);
}

Parsed<uint16_t> parse_port(std::string_view s) {
    if (s.empty()) return Parsed<uint16_t>::fail("missing port number");
    if (all_digits(s)) {
        auto v = parse_uint(s, 65535);
        if (!v) return Parsed<uint16_t>::fail("port out of range 0-65535");
        return Parsed<uint16_t>::ok(static_cast<uint16_t>(*v));
    }
    if (auto p = names::service_port(s)) return Parsed<uint16_t>::ok(*p);
    return Parsed<uint16_t>::fail("unknown port or service name \"" + std::string(s) +
                                  "\" (use a number 0-65535 or a common name such as ssh, http, "
                                  "https, domain)");
}

// "22", "1000:2000", ":1023" (from 0), "1024:" (to 65535).
Parsed<PortRange> parse_port_range(std::string_view s) {
    const size_t colon = s.find(':');
    if (colon == std::string_view::npos) {
        auto p = parse_port(s);
        if (!p.value) return Parsed<PortRange>::fail(p.why);
        return Parsed<PortRange>::ok(PortRange{*p.value, *p.value});
    }
    const std::string_view a = s.substr(0, colon), b = s.substr(colon + 1);
    if (b.find(':') != std::string_view::npos)
        return Parsed<PortRange>::fail("a port range has one ':' (first:last)");
    PortRange r{0, 65535};
    if (!a.empty()) {
        auto p = parse_port(a);
        if (!p.value) return Parsed<PortRange>::fail(p.why);
        r.first = *p.value;
    }
    if (!b.empty()) {
        auto p = parse_port(b);
        if (!p.value) return Parsed<PortRange>::fail(p.why);
        r.last = *p.value;
    }
    if (r.first > r.last)
        return Parsed<PortRange>::fail("invalid port range: first port " + std::to_string(r.first) +
                                       " is greater than last port " + std::to_string(r.last));
    return Parsed<PortRange>::ok(r);
}

// multiport: "22,80,1000:2000"; at most 15 ports, a range taking two slots as in the kernel.
Parsed<std::vector<PortRange>> parse_port_list(std::string_view s) {
    using P = Parsed<std::vector<PortRange>>;
    std::vector<PortRange> out;
    size_t slots = 0;
    size_t pos = 0;
    while (true) {
        const size_t comma = s.find(',', pos);
        const std::string_view item =
            s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        if (item.empty()) return P::fail("empty entry in port list");
        const size_t colon = item.find(':');
        if (colon == std::string_view::npos) {
            auto p = parse_port(item);
            if (!p.value) return P::fail(p.why);
            out.push_back({*p.value, *p.value});
            slots += 1;
        } else {
            if (colon == 0 || colon + 1 == item.size())
                return P::fail("a range in a port list needs both ends, e.g. 1000:2000");
            auto r = parse_port_range(item);
            if (!r.value) return P::fail(r.why);
            out.push_back(*r.value);
            slots += r.value->first == r.value->last ? 1 : 2;
        }
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    if (slots > 15)
        return P::fail("too many ports: " + std::to_string(slots) +
                       " (at most 15, a range counts as two)");
    return P::ok(std::move(out));
}

Parsed<uint8_t> parse_tcp_flag_list(std::string_view s) {
    uint8_t bits = 0;
    size_t pos = 0;
    while (true) {
        const size_t comma = s.find(',', pos);
        const std::string_view item =
            s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        const FlagEntry* found = nullptr;
        for (const FlagEntry& f : kTcpFlags)
            if (iequals(item, f.name)) found = &f;
        if (!found)
            return Parsed<uint8_t>::fail("unknown TCP flag \"" + std::string(item) +
                                         "\" (use FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, ALL "
                                         "or NONE, comma-separated)");
        bits |= found->bits;
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return Parsed<uint8_t>::ok(bits);
}

// "8", "3/1", or a name (case-insensitive; an unambiguous prefix is enough, as in iptables).
Parsed<IcmpMatch> parse_icmp_type(bool v6, std::string_view s) {
    using P = Parsed<IcmpMatch>;
    IcmpMatch m;
    m.v6 = v6;
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') {
        const size_t slash = s.find('/');
        auto type = parse_uint(s.substr(0, slash), 255);
        if (!type) return P::fail("ICMP type must be a number 0-255 or a name");
        m.type = static_cast<uint8_t>(*type);
        if (slash != std::string_view::npos) {
            auto code = parse_uint(s.substr(slash + 1), 255);
            if (!code) return P::fail("ICMP code must be a number 0-255");
            m.code_min = m.code_max = static_cast<uint8_t>(*code);
        }
    } else {
        const auto& begin = v6 ? std::begin(kIcmpV6) : std::begin(kIcmpV4);
        const auto& end = v6 ? std::end(kIcmpV6) : std::end(kIcmpV4);
        const IcmpEntry* hit = nullptr;
        for (auto it = begin; it != end; ++it)
            if (iequals(s, it->name)) hit = &*it;
        if (!hit && !s.empty()) {
            for (auto it = begin; it != end; ++it) {
                if (!istarts_with(it->name, s)) continue;
                if (hit)
                    return P::fail(std::string("ambiguous ICMP") + (v6 ? "v6" : "") + " type: \"" +
                                   hit->name + "\" or \"" + it->name + "\"?");
                hit = &*it;
            }
        }
        if (!hit)
            return P::fail(v6 ? "unknown ICMPv6 type (use a number such as 128 or 1/3, or a name "
                                "such as echo-request, neighbour-solicitation, packet-too-big)"
                              : "unknown ICMP type (use a number such as 8 or 3/1, or a name "
                                "such as echo-request, port-unreachable, any)");
        m.type = hit->type;
        m.code_min = hit->code_min;
        m.code_max = hit->code_max;
    }
    // The kernel treats IPv4 type 255 as "any" whatever the code, and iptables-save prints it
    // so; storing it that way keeps "--icmp-type 255" and "--icmp-type any" the same rule.
    if (!v6 && m.type == 0xFF) {
        m.any = true;
        m.code_min = 0;
        m.code_max = 0xFF;
    }
    return P::ok(m);
}

Parsed<std::string> parse_interface(const std::string& name) {
    if (name.empty()) return Parsed<std::string>::fail("interface name is empty");
    if (name.size() > 15)
        return Parsed<std::string>::fail("interface name too long (" + std::to_string(name.size()) +
                                         " characters, at most 15)");
    if (name == "." || name == "..") return Parsed<std::string>::fail("not a valid interface name");
    for (char c : name)
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c)))
            return Parsed<std::string>::fail(
                "interface names may not contain '/', ':' or whitespace");
    return Parsed<std::string>::ok(name);
}

// A policy module path: made absolute (against the working directory) so that the rule means
// the same file whichever directory later commands run in.
Parsed<std::string> parse_policy_path(const std::string& text) {
    using P = Parsed<std::string>;
    if (text.empty()) return P::fail("policy file name is empty");
    if (text.size() > 4096) return P::fail("policy file name too long");
    for (char c : text)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) ||
            c == '"' || c == '\'')
            return P::fail("policy file names may not contain whitespace, quotes or control characters");
    std::error_code ec;
    auto absolute = std::filesystem::absolute(text, ec);
    if (ec) return P::fail("cannot make the path absolute: " + ec.message());
    return P::ok(absolute.lexically_normal().string());
}

bool valid_export_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '$';
    });
}

// A set name in a rule: what `xfw set create` accepts (see control/set_types.hpp).
Status check_set_match_name(const std::string& name) {
    if (name.empty() || name.size() > 31)
        return bad_input("set names are 1-31 characters");
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
            return bad_input("set names hold letters, digits, '_' and '-' only");
    return {};
}

// "src", "dst,src", ...: at most kMaxSetMatchFlags directions, one per set dimension.
Parsed<std::vector<bool>> parse_set_directions(const std::string& text) {
    using P = Parsed<std::vector<bool>>;
    std::vector<bool> out;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (part == "src") out.push_back(true);
        else if (part == "dst") out.push_back(false);
        else return P::fail("\"" + part + "\" is not a direction: write src or dst, comma-separated (e.g. src,dst)");
        if (out.size() > kMaxSetMatchFlags)
            return P::fail("at most " + std::to_string(kMaxSetMatchFlags) + " directions");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return P::ok(std::move(out));
}

const char* family_label(Family f) {
    return f == Family::V4 ? "IPv4" : f == Family::V6 ? "IPv6" : "any family";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RuleParser
// ---------------------------------------------------------------------------------------------

struct RuleParser::State {
    Rule rule;
    bool any = false;
    // Tokens as written, for error messages and duplicate detection.
    std::optional<std::string> tok_source, tok_destination, tok_protocol, tok_interface,
        tok_fragment, tok_family, tok_target;
    // Parallel to rule.matches: how each module was loaded and whether it got its option.
    struct Module {
        std::string token;  // "-m tcp", or the option that loaded it implicitly
        bool has_option = false;
    };
    std::vector<Module> modules;
    // Which policy --policy/--func/--buckets/--fuel belong to: the last -m wasm (its index in
    // rule.matches), the -j WASM target (kTargetPolicy), or none yet (-1).
    static constexpr int kTargetPolicy = -2;
    int policy_owner = -1;
    PolicyRef* owner_policy() {
        if (policy_owner == kTargetPolicy) return &rule.target.policy;
        if (policy_owner >= 0) return &std::get<WasmMatch>(rule.matches[static_cast<size_t>(policy_owner)]).policy;
        return nullptr;
    }
    // Claims on the IP family in the order they were written, for conflict messages.
    std::vector<std::pair<Family, std::string>> family_claims;

    template <class T>
    int last_index(bool want_v6 = false) const {
        for (int i = static_cast<int>(rule.matches.size()) - 1; i >= 0; --i) {
            const auto* m = std::get_if<T>(&rule.matches[static_cast<size_t>(i)]);
            if (!m) continue;
            if constexpr (std::is_same_v<T, IcmpMatch>) {
                if (m->v6 != want_v6) continue;
            }
            return i;
        }
        return -1;
    }
    int add_module(MatchModule m, std::string token) {
        rule.matches.push_back(std::move(m));
        modules.push_back({std::move(token), false});
        return static_cast<int>(rule.matches.size()) - 1;
    }
    bool protocol_is(uint8_t p) const {
        return rule.protocol && !rule.protocol->invert && rule.protocol->value == p;
    }
};

RuleParser::RuleParser() : st_(std::make_unique<State>()) {}
RuleParser::~RuleParser() = default;

bool RuleParser::empty() const { return !st_->any; }

namespace {

Error err(const std::string& what, const std::string& why) {
    return bad_input("\"" + what + "\": " + why);
}

}  // namespace

Status RuleParser::consume(std::vector<std::string>& tokens, std::size_t& i) {
    State& s = *st_;
    bool invert = false;
    if (tokens[i] == "!") {
        if (i + 1 >= tokens.size()) return err("!", "must be followed by the option it negates");
        if (tokens[i + 1] == "!") return err("! !", "multiple consecutive ! not allowed");
        invert = true;
        ++i;
    }
    expand_short_option_bundle(tokens, i);
    const std::string opt = tokens[i];
    const std::string bang = invert ? "! " : "";
    size_t next = i + 1;

    // Fetches the option's k-th argument; refuses the legacy "-s ! addr" form explicitly.
    std::string what = opt;
    auto arg = [&](std::string& out) -> Status {
        if (next >= tokens.size()) return err(bang + opt, "option requires an argument");
        if (tokens[next] == "!")
            return err(opt + " !", "the old \"" + opt + " ! VALUE\" form is not supported: write \"! " +
                                       opt + " VALUE\"");
        out = tokens[next++];
        what += " " + out;
        return Status::success();
    };
    auto no_invert = [&]() -> Status {
        if (invert) return err("! " + opt, opt + " cannot be negated");
        return Status::success();
    };
    auto dup = [&](const std::optional<std::string>& previous) -> Status {
        if (previous)
            return err(bang + what, "multiple " + opt + " options not allowed (already given as \"" +
                                        *previous + "\")");
        return Status::success();
    };
    auto fail = [&](const std::string& why) -> Status { return err(bang + what, why); };
    auto done = [&]() -> Status {
        s.any = true;
        i = next;
        return Status::success();
    };

    if (opt == "-s" || opt == "--source" || opt == "--src" || opt == "-d" ||
        opt == "--destination" || opt == "--dst") {
        const bool src = opt == "-s" || opt == "--source" || opt == "--src";
        std::string v;
        XFW_TRY(arg(v));
        XFW_TRY(dup(src ? s.tok_source : s.tok_destination));
        auto c = parse_cidr(v);
        if (!c.value) return fail(c.why);
        (src ? s.rule.source : s.rule.destination) = Negatable<Cidr>{*c.value, invert};
        (src ? s.tok_source : s.tok_destination) = bang + what;
        s.family_claims.emplace_back(c.value->family, bang + what);
        return done();
    }
    if (opt == "-p" || opt == "--protocol") {
        std::string v;
        XFW_TRY(arg(v));
        XFW_TRY(dup(s.tok_protocol));
        std::optional<uint8_t> number;
        if (all_digits(v)) {
            if (auto n = parse_uint(v, 255)) number = static_cast<uint8_t>(*n);
            else return fail("protocol number out of range 0-255");
        } else {
            number = names::protocol_number(v);
        }
        if (!number)
            return fail("unknown protocol (use a name such as tcp, udp, icmp, icmpv6, esp, gre, "
                        "sctp, all, or a number 0-255)");
        s.rule.protocol = Negatable<uint8_t>{*number, invert};
        s.tok_protocol = bang + what;
        if (!invert && *number == proto::kIcmp) s.family_claims.emplace_back(Family::V4, bang + what);
        if (!invert && *number == proto::kIcmpV6) s.family_claims.emplace_back(Family::V6, bang + what);
        return done();
    }
    if (opt == "-i" || opt == "--in-interface") {
        std::string v;
        XFW_TRY(arg(v));
        XFW_TRY(dup(s.tok_interface));
        auto n = parse_interface(v);
        if (!n.value) return fail(n.why);
        s.rule.in_interface = Negatable<std::string>{*n.value, invert};
        s.tok_interface = bang + what;
        return done();
    }
    if (opt == "-o" || opt == "--out-interface")
        return err(bang + opt, "xfw filters XDP ingress only: there is no output interface to match");
    if (opt == "-f" || opt == "--fragment") {
        XFW_TRY(dup(s.tok_fragment));
        s.rule.fragment_invert = invert;
        s.tok_fragment = bang + what;
        return done();
    }
    if (opt == "-4" || opt == "--ipv4" || opt == "-6" || opt == "--ipv6") {
        XFW_TRY(no_invert());
        const Family f = (opt == "-4" || opt == "--ipv4") ? Family::V4 : Family::V6;
        if (s.tok_family) {
            if (s.rule.explicit_family != f)
                return fail("conflicts with \"" + *s.tok_family + "\": a rule is IPv4 or IPv6, not both");
            return dup(s.tok_family);
        }
        s.rule.explicit_family = f;
        s.tok_family = what;
        s.family_claims.emplace_back(f, what);
        return done();
    }
    if (opt == "-j" || opt == "--jump") {
        XFW_TRY(no_invert());
        std::string v;
        XFW_TRY(arg(v));
        XFW_TRY(dup(s.tok_target));
        Target t;
        if (v == "ACCEPT") t.kind = Target::Kind::Accept;
        else if (v == "DROP") t.kind = Target::Kind::Drop;
        else if (v == "RETURN") t.kind = Target::Kind::Return;
        else if (v == "WASM") t.kind = Target::Kind::Wasm;
        else if (is_target_name(v))
            return fail("unsupported target " + v +
                        " (xfw supports ACCEPT, DROP, RETURN, WASM and jumps to user chains)");
        else {
            Status ok = check_chain_name(v);
            if (!ok) return fail(ok.error().message.substr(ok.error().message.find(": ") + 2));
            t.kind = Target::Kind::Jump;
            t.chain = v;
        }
        s.rule.target = t;
        s.tok_target = what;
        if (t.kind == Target::Kind::Wasm) s.policy_owner = State::kTargetPolicy;
        return done();
    }
    if (opt == "-g" || opt == "--goto")
        return err(opt + (next < tokens.size() ? " " + tokens[next] : ""),
                   "goto is not supported: use -j CHAIN (the chain returns here when it ends)");
    if (opt == "-m" || opt == "--match") {
        XFW_TRY(no_invert());
        std::string v;
        XFW_TRY(arg(v));
        if (v == "tcp" || v == "udp") {
            // Like iptables-nft, a second -m tcp adds to the first: iptables-save shows one.
            const int existing = v == "tcp" ? s.last_index<TcpMatch>() : s.last_index<UdpMatch>();
            if (existing < 0) {
                if (v == "tcp") s.add_module(TcpMatch{}, what);
                else s.add_module(UdpMatch{}, what);
            }
        } else if (v == "icmp" || v == "icmp6") {
            IcmpMatch m;
            m.v6 = v == "icmp6";
            s.add_module(m, what);
        } else if (v == "multiport") {
            s.add_module(MultiportMatch{}, what);
        } else if (v == "comment") {
            s.add_module(CommentMatch{}, what);
        } else if (v == "set") {
            s.add_module(SetMatch{}, what);
        } else if (v == "wasm") {
            if (s.policy_owner == State::kTargetPolicy)
                return fail("-m wasm must come before -j WASM (options after -j WASM belong to the target)");
            s.policy_owner = s.add_module(WasmMatch{}, what);
        } else {
            return fail("unsupported match module \"" + v +
                        "\" (xfw supports tcp, udp, icmp, icmp6, multiport, comment, set, wasm)");
        }
        return done();
    }
    if (opt == "--sport" || opt == "--source-port" || opt == "--dport" ||
        opt == "--destination-port") {
        const bool src = opt == "--sport" || opt == "--source-port";
        std::string v;
        XFW_TRY(arg(v));
        int idx = s.last_index<TcpMatch>();
        if (idx < 0) idx = s.last_index<UdpMatch>();
        if (idx < 0) {
            if (s.protocol_is(proto::kTcp)) idx = s.add_module(TcpMatch{}, what);
            else if (s.protocol_is(proto::kUdp)) idx = s.add_module(UdpMatch{}, what);
            else return fail(opt + " needs -p tcp or -p udp before it");
        }
        auto r = parse_port_range(v);
        if (!r.value) return fail(r.why);
        auto& mod = s.rule.matches[static_cast<size_t>(idx)];
        auto& slot = std::holds_alternative<TcpMatch>(mod)
                         ? (src ? std::get<TcpMatch>(mod).sport : std::get<TcpMatch>(mod).dport)
                         : (src ? std::get<UdpMatch>(mod).sport : std::get<UdpMatch>(mod).dport);
        if (slot) return fail(std::string("only one ") + (src ? "--sport" : "--dport") + " allowed");
        slot = Negatable<PortRange>{*r.value, invert};
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--tcp-flags" || opt == "--syn") {
        TcpMatch::Flags f;
        if (opt == "--syn") {
            f.mask = 0x01 | 0x02 | 0x04 | 0x10;  // FIN,SYN,RST,ACK
            f.comp = 0x02;                       // SYN
        } else {
            std::string mask, comp;
            // Two lists must follow; an option in their place means one is missing.
            auto is_list = [&](size_t k) { return k < tokens.size() && !tokens[k].empty() && tokens[k][0] != '-'; };
            if (!is_list(next) || !is_list(next + 1)) {
                if (is_list(next)) what += " " + tokens[next];
                return fail("--tcp-flags requires two arguments: MASK COMP, e.g. SYN,ACK SYN");
            }
            XFW_TRY(arg(mask));
            XFW_TRY(arg(comp));
            auto m = parse_tcp_flag_list(mask);
            if (!m.value) return fail(m.why);
            auto c = parse_tcp_flag_list(comp);
            if (!c.value) return fail(c.why);
            f.mask = *m.value;
            f.comp = *c.value;
        }
        int idx = s.last_index<TcpMatch>();
        if (idx < 0) {
            if (s.protocol_is(proto::kTcp)) idx = s.add_module(TcpMatch{}, what);
            else return fail(opt + " needs -p tcp before it");
        }
        auto& tcp = std::get<TcpMatch>(s.rule.matches[static_cast<size_t>(idx)]);
        if (tcp.flags) return fail("only one of --syn or --tcp-flags allowed");
        tcp.flags = Negatable<TcpMatch::Flags>{f, invert};
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--tcp-option" || opt == "--mss")
        return fail("TCP option matching is not supported by xfw");
    if (opt == "--icmp-type" || opt == "--icmpv6-type") {
        const bool v6 = opt == "--icmpv6-type";
        std::string v;
        XFW_TRY(arg(v));
        int idx = s.last_index<IcmpMatch>(v6);
        if (idx >= 0 && s.modules[static_cast<size_t>(idx)].has_option) idx = -1;
        if (idx < 0) {
            if (s.last_index<IcmpMatch>(v6) >= 0)
                return fail(opt + " can only be given once per -m " + (v6 ? "icmp6" : "icmp"));
            if (s.protocol_is(v6 ? proto::kIcmpV6 : proto::kIcmp)) {
                IcmpMatch m;
                m.v6 = v6;
                idx = s.add_module(m, what);
            } else {
                return fail(opt + (v6 ? " needs -p icmpv6 before it" : " needs -p icmp before it"));
            }
        }
        auto t = parse_icmp_type(v6, v);
        if (!t.value) return fail(t.why);
        IcmpMatch m = *t.value;
        m.invert = invert;
        s.rule.matches[static_cast<size_t>(idx)] = m;
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--sports" || opt == "--source-ports" || opt == "--dports" ||
        opt == "--destination-ports" || opt == "--ports") {
        std::string v;
        XFW_TRY(arg(v));
        const int idx = s.last_index<MultiportMatch>();
        if (idx < 0) return fail(opt + " needs -m multiport before it");
        if (s.modules[static_cast<size_t>(idx)].has_option)
            return fail("only one of --sports, --dports or --ports per -m multiport (add another "
                        "-m multiport for a second list)");
        auto list = parse_port_list(v);
        if (!list.value) return fail(list.why);
        auto& mp = std::get<MultiportMatch>(s.rule.matches[static_cast<size_t>(idx)]);
        mp.direction = (opt == "--sports" || opt == "--source-ports")
                           ? MultiportMatch::Direction::Source
                       : opt == "--ports" ? MultiportMatch::Direction::Either
                                          : MultiportMatch::Direction::Destination;
        mp.ports = std::move(*list.value);
        mp.invert = invert;
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--comment") {
        XFW_TRY(no_invert());
        std::string v;
        XFW_TRY(arg(v));
        const int idx = s.last_index<CommentMatch>();
        if (idx < 0) return fail("--comment needs -m comment before it");
        if (s.modules[static_cast<size_t>(idx)].has_option)
            return fail("only one --comment per -m comment");
        if (v.size() > 255)
            return err(opt + " ...", "comment too long (" + std::to_string(v.size()) +
                                         " characters, at most 255)");
        if (v.find_first_of(std::string("\n\r\0", 3)) != std::string::npos)
            return fail("comment may not contain line breaks or NUL characters");
        std::get<CommentMatch>(s.rule.matches[static_cast<size_t>(idx)]).text = v;
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--match-set") {
        std::string name, flags;
        XFW_TRY(arg(name));
        if (next >= tokens.size()) return fail("--match-set needs a set name and directions, e.g. --match-set NAME src");
        XFW_TRY(arg(flags));
        const int idx = s.last_index<SetMatch>();
        if (idx < 0) return fail("--match-set needs -m set before it");
        if (s.modules[static_cast<size_t>(idx)].has_option)
            return fail("only one --match-set per -m set (add another -m set for a second set)");
        Status named = check_set_match_name(name);
        if (!named) return fail(named.error().message);
        auto directions = parse_set_directions(flags);
        if (!directions.value) return fail(directions.why);
        auto& m = std::get<SetMatch>(s.rule.matches[static_cast<size_t>(idx)]);
        m.name = name;
        m.source = std::move(*directions.value);
        m.invert = invert;
        s.modules[static_cast<size_t>(idx)].has_option = true;
        return done();
    }
    if (opt == "--return-nomatch" || opt == "--update-counters" || opt == "--update-subcounters" ||
        opt == "--packets-eq" || opt == "--packets-lt" || opt == "--packets-gt" || opt == "--bytes-eq" ||
        opt == "--bytes-lt" || opt == "--bytes-gt")
        return err(bang + opt, "this -m set option is not supported by xfw (sets keep no per-element counters)");
    if (opt == "--policy" || opt == "--func" || opt == "--buckets" || opt == "--fuel") {
        XFW_TRY(no_invert());
        std::string v;
        XFW_TRY(arg(v));
        PolicyRef* policy = s.owner_policy();
        if (!policy) return fail(opt + " needs -m wasm or -j WASM before it");
        if (opt == "--policy") {
            if (!policy->path.empty()) return fail("only one --policy per -m wasm or -j WASM");
            auto path = parse_policy_path(v);
            if (!path.value) return fail(path.why);
            policy->path = *path.value;
        } else if (opt == "--func") {
            if (policy->function) return fail("only one --func per policy");
            if (!valid_export_name(v))
                return fail("not a Wasm export name xfw accepts (1-64 characters: letters, digits, _ . - $)");
            policy->function = v;
        } else {
            const bool buckets = opt == "--buckets";
            auto& slot = buckets ? policy->buckets : policy->fuel;
            if (slot) return fail("only one " + opt + " per policy");
            const uint64_t max = buckets ? kMaxPolicyBuckets : kMaxPolicyFuel;
            auto n = all_digits(v) ? parse_uint(v, max) : std::nullopt;
            if (!n || (!buckets && *n == 0))
                return fail(buckets ? "bucket count must be 0-" + std::to_string(max)
                                    : "fuel must be 1-" + std::to_string(max));
            slot = static_cast<uint32_t>(*n);
        }
        if (s.policy_owner >= 0) s.modules[static_cast<size_t>(s.policy_owner)].has_option = true;
        return done();
    }
    if (!opt.empty() && opt[0] == '-' && opt.size() > 1) return err(bang + opt, "unknown option");
    return err(bang + opt, "unexpected argument (options start with '-')");
}

Expected<Rule> RuleParser::finish() {
    State& s = *st_;
    Rule& r = s.rule;

    // Match modules need their protocol, as the kernel's checkentry demands.
    for (size_t i = 0; i < r.matches.size(); ++i) {
        const std::string& tok = s.modules[i].token;
        const MatchModule& m = r.matches[i];
        if (std::holds_alternative<TcpMatch>(m) && !s.protocol_is(proto::kTcp))
            return err(tok, "the tcp match requires -p tcp");
        if (std::holds_alternative<UdpMatch>(m) && !s.protocol_is(proto::kUdp))
            return err(tok, "the udp match requires -p udp");
        if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
            if (!icmp->v6 && !s.protocol_is(proto::kIcmp))
                return err(tok, "the icmp match requires -p icmp");
            if (icmp->v6 && !s.protocol_is(proto::kIcmpV6))
                return err(tok, "the icmp6 match requires -p icmpv6");
            if (!s.modules[i].has_option)
                return err(tok, std::string("option ") + (icmp->v6 ? "--icmpv6-type" : "--icmp-type") +
                                    " must be specified");
        }
        if (std::holds_alternative<MultiportMatch>(m)) {
            if (!s.protocol_is(proto::kTcp) && !s.protocol_is(proto::kUdp))
                return err(tok, "multiport needs -p tcp or -p udp");
            if (!s.modules[i].has_option)
                return err(tok, "multiport needs one of --sports, --dports or --ports");
        }
        if (std::holds_alternative<CommentMatch>(m) && !s.modules[i].has_option)
            return err(tok, "option --comment must be specified");
        if (std::holds_alternative<SetMatch>(m) && !s.modules[i].has_option)
            return err(tok, "option --match-set NAME src|dst must be specified");
        if (const auto* w = std::get_if<WasmMatch>(&m); w && w->policy.path.empty())
            return err(tok, "option --policy FILE must be specified");
    }
    if (r.target.kind == Target::Kind::Wasm && r.target.policy.path.empty())
        return err(*s.tok_target, "option --policy FILE must be specified");

    // One family per rule: addresses, -4/-6 and icmp flavour must agree.
    const std::pair<Family, std::string>* first = nullptr;
    for (const auto& claim : s.family_claims) {
        if (!first) {
            first = &claim;
            continue;
        }
        if (claim.first != first->first)
            return err(claim.second, std::string("is ") + family_label(claim.first) +
                                         " but \"" + first->second + "\" is " +
                                         family_label(first->first) +
                                         ": a rule cannot mix IPv4 and IPv6");
    }

    // Normalise so that equal meaning means equal rules (what -D and restore rely on), and so
    // that what we print is what iptables-save prints for the same input.
    if (r.protocol && r.protocol->value == 0) {
        if (r.protocol->invert) return err(*s.tok_protocol, "rule would never match protocol");
        r.protocol.reset();
    }
    // "-s 0.0.0.0/0" tests nothing but the family; iptables-save drops it, xfw keeps the family.
    for (auto* addr : {&r.source, &r.destination}) {
        if (!*addr || (*addr)->value.prefix_len != 0) continue;
        if ((*addr)->invert)
            return err(*(addr == &r.source ? s.tok_source : s.tok_destination),
                       "rule would never match (a /0 prefix matches every address)");
        if (r.explicit_family == Family::Any) r.explicit_family = (*addr)->value.family;
        addr->reset();
    }
    if (r.in_interface && r.in_interface->value == "+" && !r.in_interface->invert)
        r.in_interface.reset();  // "+" matches every interface
    for (size_t i = 0; i < r.matches.size(); ++i) {
        auto normalise_ports = [&](std::optional<Negatable<PortRange>>& p,
                                   const char* name) -> Status {
            if (!p || p->value.first != 0 || p->value.last != 65535) return Status::success();
            if (p->invert) return err(std::string("! ") + name + " 0:65535", "rule would never match");
            p.reset();
            return Status::success();
        };
        if (auto* tcp = std::get_if<TcpMatch>(&r.matches[i])) {
            XFW_TRY(normalise_ports(tcp->sport, "--sport"));
            XFW_TRY(normalise_ports(tcp->dport, "--dport"));
            if (tcp->flags && tcp->flags->value.mask == 0) {
                if (tcp->flags->value.comp != 0 || tcp->flags->invert)
                    return err(std::string(tcp->flags->invert ? "! " : "") + "--tcp-flags NONE " +
                                   names::tcp_flags(tcp->flags->value.comp),
                               "an empty mask makes the test constant; name the flags to examine");
                tcp->flags.reset();
            }
        } else if (auto* udp = std::get_if<UdpMatch>(&r.matches[i])) {
            XFW_TRY(normalise_ports(udp->sport, "--sport"));
            XFW_TRY(normalise_ports(udp->dport, "--dport"));
        }
    }
    if (r.explicit_family != Family::Any && r.implied_family() == r.explicit_family)
        r.explicit_family = Family::Any;  // "-4 -s 10.0.0.1" is "-s 10.0.0.1"
    r.id = 0;
    return r;
}

Expected<Rule> parse_rule(const std::vector<std::string>& tokens) {
    std::vector<std::string> toks = tokens;
    RuleParser parser;
    for (size_t i = 0; i < toks.size();) {
        Status st = parser.consume(toks, i);
        if (!st) return bad_input("rule: " + st.error().message);
    }
    auto rule = parser.finish();
    if (!rule) return bad_input("rule: " + rule.error().message);
    return rule;
}

}  // namespace xfw
