#include "bench/workload/rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace xfw::bench {

const char* shape_name(Shape s) {
    switch (s) {
        case Shape::Blocklist: return "blocklist";
        case Shape::Ports: return "ports";
        case Shape::ClassBench: return "classbench";
    }
    return "?";
}

std::optional<Shape> parse_shape(const std::string& name) {
    for (Shape s : {Shape::Blocklist, Shape::Ports, Shape::ClassBench})
        if (name == shape_name(s)) return s;
    return std::nullopt;
}

namespace {

size_t addr_bytes(bool v6) { return v6 ? 16 : 4; }

void mask_to(std::array<uint8_t, 16>& a, uint8_t len, bool v6) {
    for (size_t i = 0; i < addr_bytes(v6); ++i) {
        const int bits = std::clamp(static_cast<int>(len) - static_cast<int>(i * 8), 0, 8);
        a[i] &= static_cast<uint8_t>(bits == 8 ? 0xff : (0xff00 >> bits) & 0xff);
    }
    for (size_t i = addr_bytes(v6); i < 16; ++i) a[i] = 0;
}

bool in_prefix(const Prefix& p, const std::array<uint8_t, 16>& a, bool v6) {
    std::array<uint8_t, 16> m = a;
    mask_to(m, p.len, v6);
    return std::equal(m.begin(), m.begin() + static_cast<long>(addr_bytes(v6)), p.addr.begin());
}

// Fills the host bits of `p` from `rng`: a random address inside the prefix.
std::array<uint8_t, 16> inside(const Prefix& p, bool v6, std::mt19937_64& rng) {
    std::array<uint8_t, 16> a{};
    for (size_t i = 0; i < addr_bytes(v6); ++i) {
        const int bits = std::clamp(static_cast<int>(p.len) - static_cast<int>(i * 8), 0, 8);
        const uint8_t keep = static_cast<uint8_t>(bits == 8 ? 0xff : (0xff00 >> bits) & 0xff);
        a[i] = static_cast<uint8_t>((p.addr[i] & keep) | (static_cast<uint8_t>(rng()) & ~keep));
    }
    return a;
}

std::array<uint8_t, 16> random_in(std::initializer_list<uint8_t> fixed, bool v6, std::mt19937_64& rng) {
    std::array<uint8_t, 16> a{};
    size_t i = 0;
    for (uint8_t b : fixed) a[i++] = b;
    for (; i < addr_bytes(v6); ++i) a[i] = static_cast<uint8_t>(rng());
    return a;
}

uint16_t in_range(PortRange r, std::mt19937_64& rng) {
    return static_cast<uint16_t>(r.lo + rng() % (static_cast<uint32_t>(r.hi) - r.lo + 1));
}

// Pick from weighted choices: weights sum to 100.
template <typename T>
T weighted(std::mt19937_64& rng, std::initializer_list<std::pair<int, T>> choices) {
    int x = static_cast<int>(rng() % 100);
    for (const auto& [w, v] : choices) {
        if (x < w) return v;
        x -= w;
    }
    return choices.begin()->second;
}

BenchRuleset blocklist(size_t count, bool v6, std::mt19937_64& rng) {
    BenchRuleset rs{Shape::Blocklist, v6, {}};
    std::set<std::array<uint8_t, 16>> seen;
    while (rs.rules.size() < count) {
        // 198.18.0.0/15 (RFC 2544 benchmarking) and 2001:db8:bb::/48 hold the blocked hosts.
        auto a = v6 ? random_in({0x20, 0x01, 0x0d, 0xb8, 0x00, 0xbb}, true, rng)
                    : random_in({198, static_cast<uint8_t>(18 + rng() % 2)}, false, rng);
        if (!v6 && (a[3] == 0 || a[3] == 255)) continue;
        if (!seen.insert(a).second) continue;
        BenchRule r;
        r.src = Prefix{a, static_cast<uint8_t>(v6 ? 128 : 32)};
        r.drop = true;
        rs.rules.push_back(r);
    }
    return rs;
}

BenchRuleset ports(size_t count, bool v6, std::mt19937_64& rng) {
    BenchRuleset rs{Shape::Ports, v6, {}};
    // Distinct port numbers across both protocols (xdp-filter keeps one counter per port).
    std::set<uint16_t> seen;
    while (rs.rules.size() < count) {
        const auto port = static_cast<uint16_t>(1024 + rng() % (65536 - 1024));
        if (!seen.insert(port).second) continue;
        BenchRule r;
        r.proto = rng() % 4 == 0 ? 17 : 6;
        r.dport = {port, port};
        r.drop = true;
        rs.rules.push_back(r);
    }
    return rs;
}

// ClassBench-style ACL: prefix pairs with mostly long prefixes, tcp/udp/any, port ranges of the
// kinds ClassBench's seeds show (wildcard, well-known exact, ephemeral range, arbitrary range),
// mixed ACCEPT and DROP. Sources lie in 10.0.0.0/8 (fd00::/8), so packets from elsewhere match
// nothing.
BenchRuleset classbench(size_t count, bool v6, std::mt19937_64& rng) {
    BenchRuleset rs{Shape::ClassBench, v6, {}};
    const int scale = v6 ? 4 : 1;
    while (rs.rules.size() < count) {
        BenchRule r;
        const int src_len = weighted<int>(rng, {{40, 32}, {45, 24 + static_cast<int>(rng() % 8)},
                                               {15, 16 + static_cast<int>(rng() % 8)}});
        const int dst_len = weighted<int>(rng, {{30, 32}, {40, 24 + static_cast<int>(rng() % 8)},
                                               {20, 16 + static_cast<int>(rng() % 8)}, {10, 0}});
        Prefix src{v6 ? random_in({0xfd}, true, rng) : random_in({10}, false, rng),
                   static_cast<uint8_t>(src_len * scale)};
        mask_to(src.addr, src.len, v6);
        r.src = src;
        if (dst_len > 0) {
            Prefix dst{v6 ? random_in({0xfd, 0x01}, true, rng) : random_in({10}, false, rng),
                       static_cast<uint8_t>(dst_len * scale)};
            mask_to(dst.addr, dst.len, v6);
            r.dst = dst;
        }
        r.proto = weighted<uint8_t>(rng, {{60, 6}, {30, 17}, {10, 0}});
        if (r.proto != 0) {
            r.sport = weighted<PortRange>(rng, {{70, PortRange{}}, {20, PortRange{1024, 65535}},
                                                {10, [&] { auto p = static_cast<uint16_t>(1024 + rng() % 60000);
                                                           return PortRange{p, p}; }()}});
            static constexpr uint16_t kWellKnown[] = {21, 22, 25, 53, 80, 110, 123, 143, 443, 993, 3306, 5432, 8080};
            const uint16_t wk = kWellKnown[rng() % std::size(kWellKnown)];
            const auto lo = static_cast<uint16_t>(1 + rng() % 60000);
            r.dport = weighted<PortRange>(rng, {{50, PortRange{wk, wk}}, {20, PortRange{lo, static_cast<uint16_t>(lo + rng() % 1000)}},
                                                {30, PortRange{}}});
        }
        r.drop = rng() % 10 < 7;
        rs.rules.push_back(r);
    }
    // The last rule drops, so the "last rule" trace measures the longest walk without the cost
    // of the host stack that accepted packets pay after XDP.
    rs.rules.back().drop = true;
    return rs;
}

std::string prefix_text(const Prefix& p, bool v6) { return format_address(p.addr, v6) + "/" + std::to_string(p.len); }

std::string range_text(PortRange r, const char* sep) {
    if (r.lo == r.hi) return std::to_string(r.lo);
    return std::to_string(r.lo) + sep + std::to_string(r.hi);
}

const char* proto_name(uint8_t p) { return p == 6 ? "tcp" : "udp"; }

std::string iptables_rules(const BenchRuleset& rs, const std::string& chain) {
    std::ostringstream out;
    for (const auto& r : rs.rules) {
        out << "-A " << chain;
        if (r.src) out << " -s " << prefix_text(*r.src, rs.v6);
        if (r.dst) out << " -d " << prefix_text(*r.dst, rs.v6);
        if (r.proto) {
            out << " -p " << proto_name(r.proto) << " -m " << proto_name(r.proto);
            if (!r.sport.any()) out << " --sport " << range_text(r.sport, ":");
            if (!r.dport.any()) out << " --dport " << range_text(r.dport, ":");
        }
        out << " -j " << (r.drop ? "DROP" : "ACCEPT") << "\n";
    }
    return out.str();
}

}  // namespace

BenchRuleset generate_ruleset(Shape shape, size_t count, bool v6, uint64_t seed) {
    // One stream per (shape, size, family), so adding a size does not change the others.
    std::seed_seq seq{seed, static_cast<uint64_t>(shape), static_cast<uint64_t>(count), static_cast<uint64_t>(v6)};
    std::mt19937_64 rng(seq);
    switch (shape) {
        case Shape::Blocklist: return blocklist(count, v6, rng);
        case Shape::Ports: return ports(count, v6, rng);
        case Shape::ClassBench: return classbench(count, v6, rng);
    }
    return {};
}

bool rule_matches(const BenchRule& r, bool v6, const FiveTuple& t) {
    if (r.src && !in_prefix(*r.src, t.src, v6)) return false;
    if (r.dst && !in_prefix(*r.dst, t.dst, v6)) return false;
    if (r.proto != 0) {
        if (t.proto != r.proto) return false;
        if (t.sport < r.sport.lo || t.sport > r.sport.hi) return false;
        if (t.dport < r.dport.lo || t.dport > r.dport.hi) return false;
    }
    return true;
}

int first_match(const BenchRuleset& rs, const FiveTuple& t) {
    for (size_t i = 0; i < rs.rules.size(); ++i)
        if (rule_matches(rs.rules[i], rs.v6, t)) return static_cast<int>(i);
    return -1;
}

std::optional<FiveTuple> packet_for_rule(const BenchRuleset& rs, size_t index, std::mt19937_64& rng) {
    const BenchRule& r = rs.rules.at(index);
    for (int attempt = 0; attempt < 256; ++attempt) {
        FiveTuple t;
        t.src = r.src ? inside(*r.src, rs.v6, rng) : (rs.v6 ? random_in({0xfd}, true, rng) : random_in({10}, false, rng));
        t.dst = r.dst ? inside(*r.dst, rs.v6, rng)
                      : (rs.v6 ? random_in({0xfd, 0x02}, true, rng) : random_in({10, 254}, false, rng));
        t.proto = r.proto ? r.proto : (rng() % 2 ? 6 : 17);
        t.sport = in_range(r.proto ? r.sport : PortRange{1024, 65535}, rng);
        t.dport = in_range(r.proto ? r.dport : PortRange{1, 65535}, rng);
        if (first_match(rs, t) == static_cast<int>(index)) return t;
    }
    return std::nullopt;
}

std::optional<FiveTuple> packet_for_no_rule(const BenchRuleset& rs, std::mt19937_64& rng) {
    for (int attempt = 0; attempt < 256; ++attempt) {
        FiveTuple t;
        // TEST-NET-1 / 2001:db8:1::/48 sources: outside every generated source prefix.
        t.src = rs.v6 ? random_in({0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01}, true, rng) : random_in({192, 0, 2}, false, rng);
        t.dst = rs.v6 ? random_in({0xfd, 0x02}, true, rng) : random_in({10, 254}, false, rng);
        t.proto = rng() % 2 ? 6 : 17;
        t.sport = static_cast<uint16_t>(1024 + rng() % 64000);
        t.dport = static_cast<uint16_t>(1 + rng() % 65535);
        if (first_match(rs, t) < 0) return t;
    }
    return std::nullopt;
}

std::string format_address(const std::array<uint8_t, 16>& a, bool v6) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
    return buf;
}

std::string to_iptables_restore(const BenchRuleset& rs) {
    return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
           iptables_rules(rs, "INPUT") + "COMMIT\n";
}

std::string to_iptables_restore_raw(const BenchRuleset& rs) {
    return "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + iptables_rules(rs, "PREROUTING") + "COMMIT\n";
}

std::string to_nft(const BenchRuleset& rs) {
    const char* fam = rs.v6 ? "ip6" : "ip";
    std::ostringstream out;
    out << "table " << fam << " xfwbench {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n";
    for (size_t i = 0; i < rs.rules.size(); ++i) {
        const auto& r = rs.rules[i];
        out << "\t\t";
        if (r.src) out << fam << " saddr " << prefix_text(*r.src, rs.v6) << " ";
        if (r.dst) out << fam << " daddr " << prefix_text(*r.dst, rs.v6) << " ";
        if (r.proto) {
            if (r.sport.any() && r.dport.any()) out << "meta l4proto " << proto_name(r.proto) << " ";
            if (!r.sport.any()) out << proto_name(r.proto) << " sport " << range_text(r.sport, "-") << " ";
            if (!r.dport.any()) out << proto_name(r.proto) << " dport " << range_text(r.dport, "-") << " ";
        }
        out << "counter " << (r.drop ? "drop" : "accept") << " comment \"r" << i + 1 << "\"\n";
    }
    out << "\t}\n}\n";
    return out.str();
}

std::string to_classbench(const BenchRuleset& rs) {
    std::ostringstream out;
    for (const auto& r : rs.rules) {
        const Prefix any{};
        out << "@" << prefix_text(r.src.value_or(any), rs.v6) << "\t" << prefix_text(r.dst.value_or(any), rs.v6) << "\t";
        const PortRange sp = r.proto ? r.sport : PortRange{}, dp = r.proto ? r.dport : PortRange{};
        out << sp.lo << " : " << sp.hi << "\t" << dp.lo << " : " << dp.hi << "\t";
        char proto[16];
        snprintf(proto, sizeof proto, "0x%02X/0x%02X", r.proto, r.proto ? 0xff : 0);
        out << proto << "\t" << (r.drop ? "DROP" : "ACCEPT") << "\n";
    }
    return out.str();
}

XdpFilterTranslation to_xdp_filter(const BenchRuleset& rs) {
    XdpFilterTranslation t;
    const uint8_t host_len = rs.v6 ? 128 : 32;
    for (const auto& r : rs.rules) {
        if (!r.drop) {
            t.reason = "xdp-filter has no ACCEPT exceptions (every entry denies)";
            return t;
        }
        const bool only_src = r.src && !r.dst && r.proto == 0;
        const bool only_dport = !r.src && !r.dst && r.proto != 0 && r.sport.any() && r.dport.lo == r.dport.hi;
        if (only_src && r.src->len == host_len)
            t.commands.push_back({"ip", format_address(r.src->addr, rs.v6), "--mode", "src"});
        else if (only_dport)
            t.commands.push_back({"port", std::to_string(r.dport.lo), "--mode", "dst", "--proto", proto_name(r.proto)});
        else {
            t.reason = "xdp-filter matches single addresses or single ports, not prefixes, port ranges or "
                       "combinations of fields";
            t.commands.clear();
            return t;
        }
    }
    t.expressible = true;
    const bool ports = std::any_of(rs.rules.begin(), rs.rules.end(), [](const BenchRule& r) { return r.proto != 0; });
    t.load_features = {rs.v6 ? "ipv6" : "ipv4"};
    if (ports) t.load_features.insert(t.load_features.end(), {"tcp", "udp"});
    return t;
}

}  // namespace xfw::bench
