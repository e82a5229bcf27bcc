// Benchmark rulesets: a small 5-tuple rule model, seeded generators for the three shapes the
// suite measures, a first-match reference classifier (the expected verdicts and per-rule counts
// every system under test must reproduce), and writers for each system's rule language.
//
// The model is deliberately narrower than xfw's IR: every shape is a list of rules in the
// INPUT chain of the filter table, each an AND of an optional source prefix, an optional
// destination prefix, an optional protocol (tcp/udp) and port ranges, with ACCEPT or DROP, and
// policy ACCEPT. That is what iptables, nftables, rte_acl and (partly) xdp-filter can all say.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace xfw::bench {

enum class Shape : uint8_t { Blocklist, Ports, ClassBench };
const char* shape_name(Shape s);
std::optional<Shape> parse_shape(const std::string& name);

struct Prefix {
    std::array<uint8_t, 16> addr{};  // network order; IPv4 uses the first 4 bytes
    uint8_t len = 0;                 // 0 = any
};

struct PortRange {
    uint16_t lo = 0, hi = 65535;
    bool any() const { return lo == 0 && hi == 65535; }
};

struct BenchRule {
    std::optional<Prefix> src, dst;
    uint8_t proto = 0;  // 0 = any, 6 = tcp, 17 = udp
    PortRange sport, dport;  // only with proto tcp/udp
    bool drop = true;
};

struct BenchRuleset {
    Shape shape = Shape::ClassBench;
    bool v6 = false;
    std::vector<BenchRule> rules;
};

// The fields of a packet the rules look at.
struct FiveTuple {
    std::array<uint8_t, 16> src{}, dst{};
    uint8_t proto = 6;
    uint16_t sport = 0, dport = 0;
};

// `count` rules of `shape` for one family, deterministic for a given seed.
BenchRuleset generate_ruleset(Shape shape, size_t count, bool v6, uint64_t seed);

bool rule_matches(const BenchRule& r, bool v6, const FiveTuple& t);
// Index of the first matching rule, or -1 (the policy, ACCEPT).
int first_match(const BenchRuleset& rs, const FiveTuple& t);

// A packet whose first match is rule `index`, varied by `rng` where the rule allows; nullopt
// when every try was matched earlier (the rule is shadowed for the samples drawn).
std::optional<FiveTuple> packet_for_rule(const BenchRuleset& rs, size_t index, std::mt19937_64& rng);
// A packet that matches no rule.
std::optional<FiveTuple> packet_for_no_rule(const BenchRuleset& rs, std::mt19937_64& rng);

std::string format_address(const std::array<uint8_t, 16>& a, bool v6);

// iptables-restore text (*filter, INPUT policy ACCEPT). iptables-restore, ip6tables-restore
// and `xfw restore` read it unchanged.
std::string to_iptables_restore(const BenchRuleset& rs);
// The same rules in the raw table's PREROUTING chain: where the kernel systems are measured,
// before routing, so packets to any address reach them (as every packet reaches XDP).
std::string to_iptables_restore_raw(const BenchRuleset& rs);
// An `nft -f` file: table <family> xfwbench, chain pre at prerouting priority raw, one rule with
// a counter per BenchRule, in order.
std::string to_nft(const BenchRuleset& rs);
// ClassBench filter lines ("@src/len dst/len sport_lo : sport_hi dport_lo : dport_hi
// proto/mask action"), read by the DPDK baseline (bench/dpdk/). The line number is the rule's
// priority: the first line wins.
std::string to_classbench(const BenchRuleset& rs);
// xdp-filter commands (one argv per line, without the leading "xdp-filter"), or the reason
// xdp-filter cannot express the ruleset with iptables' semantics.
struct XdpFilterTranslation {
    bool expressible = false;
    std::string reason;
    std::vector<std::vector<std::string>> commands;  // e.g. {"ip", "198.18.0.1", "--mode", "src"}
    std::vector<std::string> load_features;          // -f argument of `xdp-filter load`
};
XdpFilterTranslation to_xdp_filter(const BenchRuleset& rs);

}  // namespace xfw::bench
