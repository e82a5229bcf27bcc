// Prints the policy IR as iptables does: iptables-save specs, `-L` tables and `-S` listings.
#include "control/rule_printer.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "control/rule_parser.hpp"

namespace xfw {

namespace {

// iptables defines the -L layout by printf widths; reusing its formats keeps columns identical.
std::string printf_string(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
    std::string big(static_cast<size_t>(n) + 1, '\0');
    va_start(ap, fmt);
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    va_end(ap);
    big.resize(static_cast<size_t>(n));
    return big;
}

std::string address_only(const Cidr& c) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (c.family == Family::V6) inet_ntop(AF_INET6, c.bytes.data(), buf, sizeof buf);
    else inet_ntop(AF_INET, c.bytes.data(), buf, sizeof buf);
    return buf;
}

// "src", "src,dst": as iptables prints xt_set's direction flags.
std::string set_directions(const SetMatch& m) {
    std::string s;
    for (size_t i = 0; i < m.source.size(); ++i) s += std::string(i ? "," : "") + (m.source[i] ? "src" : "dst");
    return s;
}

std::string port_range_save(const PortRange& r) {
    if (r.first == r.last) return std::to_string(r.first);
    return std::to_string(r.first) + ":" + std::to_string(r.last);
}

std::string icmp_type_save(const IcmpMatch& m) {
    if (m.any) return "any";
    std::string s = std::to_string(m.type);
    if (m.code_min != 0 || m.code_max != 0xFF) s += "/" + std::to_string(m.code_min);
    return s;
}

// "--policy FILE [--func NAME] [--buckets N] [--fuel N]"; the path is printed bare (the parser
// refuses whitespace and quotes in it).
std::string policy_options(const PolicyRef& p) {
    std::string s = "--policy " + p.path;
    if (p.function) s += " --func " + *p.function;
    if (p.buckets) s += " --buckets " + std::to_string(*p.buckets);
    if (p.fuel) s += " --fuel " + std::to_string(*p.fuel);
    return s;
}

// The same for `-L`, iptables-style words: "policy FILE func NAME buckets N fuel N".
std::string policy_listing(const PolicyRef& p) {
    std::string s = "policy " + p.path;
    if (p.function) s += " func " + *p.function;
    if (p.buckets) s += " buckets " + std::to_string(*p.buckets);
    if (p.fuel) s += " fuel " + std::to_string(*p.fuel);
    return s;
}

// The target as the -j argument: its name, then its options (iptables-save puts target
// options after the name).
std::string target_argument(const Target& t) {
    switch (t.kind) {
        case Target::Kind::Accept: return "ACCEPT";
        case Target::Kind::Drop: return "DROP";
        case Target::Kind::Return: return "RETURN";
        case Target::Kind::Jump: return t.chain;
        case Target::Kind::Wasm: return "WASM " + policy_options(t.policy);
        case Target::Kind::None: break;
    }
    return "";
}

// The target column of -L.
std::string target_name(const Target& t) {
    return t.kind == Target::Kind::Wasm ? "WASM" : target_argument(t);
}

std::string policy_name(Target::Kind k) { return k == Target::Kind::Drop ? "DROP" : "ACCEPT"; }

// Everything iptables-save prints for the rule except "-j", which -S -v needs apart.
std::vector<std::string> spec_parts(const Rule& r) {
    std::vector<std::string> out;
    auto neg = [](bool invert) { return invert ? std::string("! ") : std::string(); };
    if (r.explicit_family != Family::Any && r.implied_family() != r.explicit_family)
        out.push_back(r.explicit_family == Family::V4 ? "-4" : "-6");
    if (r.source) out.push_back(neg(r.source->invert) + "-s " + format_cidr(r.source->value));
    if (r.destination)
        out.push_back(neg(r.destination->invert) + "-d " + format_cidr(r.destination->value));
    if (r.in_interface)
        out.push_back(neg(r.in_interface->invert) + "-i " + r.in_interface->value);
    if (r.protocol && (r.protocol->value != 0 || r.protocol->invert)) {
        const char* name = r.protocol->value ? names::protocol_name(r.protocol->value) : nullptr;
        out.push_back(neg(r.protocol->invert) + "-p " +
                      (name ? std::string(name) : std::to_string(r.protocol->value)));
    }
    if (r.fragment_invert) out.push_back(neg(*r.fragment_invert) + "-f");

    auto ports = [&](std::string& s, const std::optional<Negatable<PortRange>>& p, const char* opt) {
        if (!p) return;
        if (p->value.first == 0 && p->value.last == 65535 && !p->invert) return;
        s += " " + neg(p->invert) + opt + " " + port_range_save(p->value);
    };
    for (const MatchModule& m : r.matches) {
        std::string s;
        if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
            s = "-m tcp";
            ports(s, tcp->sport, "--sport");
            ports(s, tcp->dport, "--dport");
            if (tcp->flags && (tcp->flags->value.mask || tcp->flags->invert))
                s += " " + neg(tcp->flags->invert) + "--tcp-flags " +
                     names::tcp_flags(tcp->flags->value.mask) + " " +
                     names::tcp_flags(tcp->flags->value.comp);
        } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
            s = "-m udp";
            ports(s, udp->sport, "--sport");
            ports(s, udp->dport, "--dport");
        } else if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
            s = icmp->v6 ? "-m icmp6 " + neg(icmp->invert) + "--icmpv6-type "
                         : "-m icmp " + neg(icmp->invert) + "--icmp-type ";
            s += icmp_type_save(*icmp);
        } else if (const auto* mp = std::get_if<MultiportMatch>(&m)) {
            s = "-m multiport " + neg(mp->invert);
            s += mp->direction == MultiportMatch::Direction::Source        ? "--sports "
                 : mp->direction == MultiportMatch::Direction::Destination ? "--dports "
                                                                           : "--ports ";
            for (size_t i = 0; i < mp->ports.size(); ++i)
                s += (i ? "," : "") + port_range_save(mp->ports[i]);
        } else if (const auto* c = std::get_if<CommentMatch>(&m)) {
            s = "-m comment --comment " + quote_argument(c->text);
        } else if (const auto* w = std::get_if<WasmMatch>(&m)) {
            s = "-m wasm " + policy_options(w->policy);
        } else if (const auto* set = std::get_if<SetMatch>(&m)) {
            s = "-m set " + neg(set->invert) + "--match-set " + set->name + " " + set_directions(*set);
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::string join(const std::vector<std::string>& parts) {
    std::string s;
    for (const std::string& p : parts) {
        if (!s.empty()) s += ' ';
        s += p;
    }
    return s;
}

// xtables_print_num(): fixed-width columns in tables, K/M/G/T unless -x.
std::string format_count(uint64_t n, bool exact, bool notable) {
    const auto v = static_cast<unsigned long long>(n);
    if (exact) return printf_string(notable ? "%llu " : "%8llu ", v);
    if (v <= 99999) return printf_string(notable ? "%llu " : "%5llu ", v);
    unsigned long long x = (v + 500) / 1000;
    static const char kUnits[] = "KMG";
    for (char unit : std::string_view(kUnits, 3)) {
        if (x <= 9999) return printf_string(notable ? "%llu%c " : "%4llu%c ", x, unit);
        x = (x + 500) / 1000;
    }
    return printf_string(notable ? "%lluT " : "%4lluT ", x);
}

std::string list_port(uint16_t port, bool numeric) {
    if (!numeric)
        if (const char* name = names::service_name(port)) return name;
    return std::to_string(port);
}

// The trailing match descriptions of `iptables -L` (each starts with a space).
std::string describe_matches(const Rule& r, bool numeric) {
    std::string s;
    auto ports = [&](const std::optional<Negatable<PortRange>>& p, const char* name) {
        if (!p) return;
        const PortRange& v = p->value;
        const char* inv = p->invert ? "!" : "";
        if (v.first == 0 && v.last == 0xFFFF && !p->invert) return;
        if (v.first == v.last) s += std::string(" ") + name + ":" + inv + list_port(v.first, numeric);
        else
            s += std::string(" ") + name + "s:" + inv + list_port(v.first, numeric) + ":" +
                 list_port(v.last, numeric);
    };
    for (const MatchModule& m : r.matches) {
        if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
            s += " tcp";
            ports(tcp->sport, "spt");
            ports(tcp->dport, "dpt");
            if (tcp->flags && (tcp->flags->value.mask || tcp->flags->invert)) {
                s += std::string(" flags:") + (tcp->flags->invert ? "!" : "");
                if (numeric)
                    s += printf_string("0x%02X/0x%02X", tcp->flags->value.mask, tcp->flags->value.comp);
                else
                    s += names::tcp_flags(tcp->flags->value.mask) + "/" +
                         names::tcp_flags(tcp->flags->value.comp);
            }
        } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
            s += " udp";
            ports(udp->sport, "spt");
            ports(udp->dport, "dpt");
        } else if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
            s += icmp->v6 ? " ipv6-icmp" : " icmp";
            const uint8_t type = icmp->any ? 0xFF : icmp->type;
            const uint8_t cmin = icmp->any ? 0 : icmp->code_min;
            const uint8_t cmax = icmp->any ? 0xFF : icmp->code_max;
            const char* name = numeric ? nullptr : names::icmp_type_name(icmp->v6, type, cmin, cmax);
            if (name) {
                s += std::string(" ") + (icmp->invert ? "!" : "") + name;
            } else {
                if (icmp->invert) s += " !";
                s += "type " + std::to_string(type);
                if (cmin == cmax) s += " code " + std::to_string(cmin);
                else if (cmin != 0 || cmax != 0xFF)
                    s += " codes " + std::to_string(cmin) + "-" + std::to_string(cmax);
            }
        } else if (const auto* mp = std::get_if<MultiportMatch>(&m)) {
            s += " multiport ";
            s += mp->direction == MultiportMatch::Direction::Source        ? "sports "
                 : mp->direction == MultiportMatch::Direction::Destination ? "dports "
                                                                           : "ports ";
            if (mp->invert) s += " !";
            for (size_t i = 0; i < mp->ports.size(); ++i) {
                if (i) s += ",";
                s += list_port(mp->ports[i].first, numeric);
                if (mp->ports[i].last != mp->ports[i].first)
                    s += ":" + list_port(mp->ports[i].last, numeric);
            }
        } else if (const auto* c = std::get_if<CommentMatch>(&m)) {
            s += " /* " + c->text + " */";
        } else if (const auto* w = std::get_if<WasmMatch>(&m)) {
            s += " wasm " + policy_listing(w->policy);
        } else if (const auto* set = std::get_if<SetMatch>(&m)) {
            s += std::string(set->invert ? " ! " : " ") + "match-set " + set->name + " " + set_directions(*set);
        }
    }
    // Target options come last, as iptables lists them (e.g. "reject-with ...").
    if (r.target.kind == Target::Kind::Wasm) s += " " + policy_listing(r.target.policy);
    return s;
}

std::string list_address(const std::optional<Negatable<Cidr>>& a, Family family, bool numeric) {
    if (!a || a->value.prefix_len == 0) {
        if (!numeric) return "anywhere";
        if (a) return address_only(a->value) + "/0";
        return family == Family::V6 ? "::/0" : "0.0.0.0/0";
    }
    const int full = a->value.family == Family::V6 ? 128 : 32;
    std::string s = address_only(a->value);
    if (a->value.prefix_len != full) s += "/" + std::to_string(a->value.prefix_len);
    return s;
}

void list_header(std::string& out, const Ruleset& rs, const Chain& c, const ListOptions& o,
                 const PolicyCounterLookup& policy_counters) {
    out += "Chain " + c.name;
    if (c.builtin) {
        out += " (policy " + policy_name(c.policy);
        if (o.verbose) {
            auto [p, b] = policy_counters ? policy_counters(c.name) : std::pair<uint64_t, uint64_t>{0, 0};
            out += " " + format_count(p, o.exact, true) + "packets, " +
                   format_count(b, o.exact, true) + "bytes";
        }
        out += ")\n";
    } else {
        out += " (" + std::to_string(chain_references(rs, c.name)) + " references)\n";
    }
    if (o.line_numbers) out += printf_string("%-4s ", "num");
    if (o.verbose) {
        // iptables 1.8.9 pads the -x "bytes" heading to 10 although the numbers use 8.
        out += printf_string(o.exact ? "%8s " : "%5s ", "pkts");
        out += printf_string(o.exact ? "%10s " : "%5s ", "bytes");
    }
    out += printf_string("%-9s ", "target");
    out += " prot ";
    out += "opt";
    if (o.verbose) {
        out += printf_string(" %-6s ", "in");
        out += printf_string("%-6s ", "out");
    }
    out += printf_string(" %-19s ", "source");
    out += printf_string(" %-19s ", "destination");
    out += "\n";
}

void list_rule(std::string& out, const Rule& r, size_t num, const ListOptions& o,
               const CounterLookup& rule_counters) {
    if (o.line_numbers) out += printf_string("%-4zu ", num);
    if (o.verbose) {
        auto [p, b] = rule_counters ? rule_counters(r) : std::pair<uint64_t, uint64_t>{0, 0};
        out += format_count(p, o.exact, false);
        out += format_count(b, o.exact, false);
    }
    out += printf_string("%-9s ", target_name(r.target).c_str());
    out += r.protocol && r.protocol->invert ? '!' : ' ';
    const uint8_t proto = r.protocol ? r.protocol->value : 0;
    const char* pname = o.numeric ? nullptr : names::protocol_name(proto);
    out += printf_string("%-4s ", pname ? pname : std::to_string(proto).c_str());
    out += r.fragment_invert && *r.fragment_invert ? '!' : '-';
    out += r.fragment_invert ? 'f' : '-';
    out += ' ';
    if (o.verbose) {
        const char* anyname = o.numeric ? "*" : "any";
        std::string in = anyname;
        if (r.in_interface) in = (r.in_interface->invert ? "!" : "") + r.in_interface->value;
        out += printf_string(" %-6s ", in.c_str());
        out += printf_string("%-6s ", anyname);
    }
    const Family fam = r.family();
    out += r.source && r.source->invert ? '!' : ' ';
    out += printf_string("%-19s ", list_address(r.source, fam, o.numeric).c_str());
    out += r.destination && r.destination->invert ? '!' : ' ';
    out += printf_string("%-19s ", list_address(r.destination, fam, o.numeric).c_str());
    out += describe_matches(r, o.numeric);
    out += "\n";
}

}  // namespace

std::string format_cidr(const Cidr& cidr) {
    return address_only(cidr) + "/" + std::to_string(cidr.prefix_len);
}

std::string quote_argument(const std::string& text) {
    // xtables_save_string(): bare when made of [A-Za-z0-9_-] only, else double-quoted with
    // '"', '\'' and '\\' backslash-escaped.
    const bool bare = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
    if (bare) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string format_rule_spec(const Rule& rule) {
    std::vector<std::string> parts = spec_parts(rule);
    if (rule.target.kind != Target::Kind::None) parts.push_back("-j " + target_argument(rule.target));
    return join(parts);
}

std::vector<const Chain*> chains_in_listing_order(const Ruleset& rs) {
    std::vector<const Chain*> builtins, user;
    for (const char* name : {"INPUT", "FORWARD", "OUTPUT"})
        if (const Chain* c = rs.find(name); c && c->builtin) builtins.push_back(c);
    for (const Chain& c : rs.chains)
        if (!c.builtin) user.push_back(&c);
    // iptables sorts user chains by byte value (strcmp), so "Z" comes before "a".
    std::sort(user.begin(), user.end(), [](const Chain* a, const Chain* b) { return a->name < b->name; });
    builtins.insert(builtins.end(), user.begin(), user.end());
    return builtins;
}

std::size_t chain_references(const Ruleset& rs, const std::string& chain) {
    std::size_t n = 0;
    for (const Chain& c : rs.chains)
        for (const Rule& r : c.rules)
            if (r.target.kind == Target::Kind::Jump && r.target.chain == chain) ++n;
    return n;
}

std::string format_listing(const Ruleset& rs, const std::optional<std::string>& chain,
                           const ListOptions& options, const CounterLookup& rule_counters,
                           const PolicyCounterLookup& policy_counters, const RuleNoteLookup& rule_notes) {
    std::string out;
    bool first = true;
    for (const Chain* c : chains_in_listing_order(rs)) {
        if (chain && c->name != *chain) continue;
        if (!first) out += "\n";
        first = false;
        list_header(out, rs, *c, options, policy_counters);
        for (size_t i = 0; i < c->rules.size(); ++i) {
            list_rule(out, c->rules[i], i + 1, options, rule_counters);
            if (!options.verbose || !rule_notes) continue;
            for (const RuleNote& note : rule_notes(c->rules[i])) {
                if (options.line_numbers) out += printf_string("%-4s ", "");
                out += format_count(note.packets, options.exact, false);
                out += format_count(note.bytes, options.exact, false);
                out += "  " + note.label + "\n";
            }
        }
    }
    return out;
}

std::string format_rules_S(const Ruleset& rs, const std::optional<std::string>& chain,
                           const ListOptions& options, const CounterLookup& rule_counters,
                           const PolicyCounterLookup& policy_counters) {
    std::string out;
    const auto order = chains_in_listing_order(rs);
    auto counters = [&](std::pair<uint64_t, uint64_t> pb) {
        return " -c " + std::to_string(pb.first) + " " + std::to_string(pb.second);
    };
    for (const Chain* c : order) {
        if (chain && c->name != *chain) continue;
        if (c->builtin) {
            out += "-P " + c->name + " " + policy_name(c->policy);
            if (options.verbose)
                out += counters(policy_counters ? policy_counters(c->name)
                                                : std::pair<uint64_t, uint64_t>{0, 0});
            out += "\n";
        } else {
            out += "-N " + c->name + "\n";
        }
    }
    for (const Chain* c : order) {
        if (chain && c->name != *chain) continue;
        for (const Rule& r : c->rules) {
            std::vector<std::string> parts = spec_parts(r);
            out += "-A " + c->name;
            for (const std::string& p : parts) out += " " + p;
            // iptables -S -v puts the counters between the matches and the target.
            if (options.verbose)
                out += counters(rule_counters ? rule_counters(r) : std::pair<uint64_t, uint64_t>{0, 0});
            if (r.target.kind != Target::Kind::None) out += " -j " + target_argument(r.target);
            out += "\n";
        }
    }
    return out;
}

}  // namespace xfw
