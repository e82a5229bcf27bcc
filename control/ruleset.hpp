// The policy IR: chains of rules exactly as an operator writes them in iptables syntax.
// Everything the parser accepts and the printer prints lives here; the planner lowers it to
// the data-plane plan in xdp/plan.hpp. No BPF knowledge in this file.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace xfw {

enum class Family : uint8_t { Any, V4, V6 };

// An address prefix. IPv4 addresses use the first 4 bytes of `bytes`, in network order.
struct Cidr {
    Family family = Family::V4;
    std::array<uint8_t, 16> bytes{};
    uint8_t prefix_len = 0;
    bool operator==(const Cidr&) const = default;
};

struct PortRange {
    uint16_t first = 0;
    uint16_t last = 0;
    bool operator==(const PortRange&) const = default;
};

// Each optional match carries its own `!`.
template <class T>
struct Negatable {
    T value{};
    bool invert = false;
    bool operator==(const Negatable&) const = default;
};

// `-m tcp` / implicit with `-p tcp`.
struct TcpMatch {
    std::optional<Negatable<PortRange>> sport;
    std::optional<Negatable<PortRange>> dport;
    struct Flags {
        uint8_t mask = 0;  // TCP flag bits (FIN=0x01 ... CWR=0x80)
        uint8_t comp = 0;
        bool operator==(const Flags&) const = default;
    };
    std::optional<Negatable<Flags>> flags;
    bool operator==(const TcpMatch&) const = default;
};

// `-m udp` / implicit with `-p udp`.
struct UdpMatch {
    std::optional<Negatable<PortRange>> sport;
    std::optional<Negatable<PortRange>> dport;
    bool operator==(const UdpMatch&) const = default;
};

// `-m icmp --icmp-type` (v6 = false) or `-m icmp6 --icmpv6-type` (v6 = true).
struct IcmpMatch {
    bool v6 = false;
    bool any = false;  // "--icmp-type any"
    uint8_t type = 0;
    uint8_t code_min = 0;
    uint8_t code_max = 0xff;
    bool invert = false;
    bool operator==(const IcmpMatch&) const = default;
};

// `-m multiport --sports|--dports|--ports a,b,c:d` (at most 15 ports, a range counts as two).
struct MultiportMatch {
    enum class Direction : uint8_t { Source, Destination, Either };
    Direction direction = Direction::Destination;
    std::vector<PortRange> ports;
    bool invert = false;
    bool operator==(const MultiportMatch&) const = default;
};

// `-m comment --comment TEXT`.
struct CommentMatch {
    std::string text;
    bool operator==(const CommentMatch&) const = default;
};

// A WebAssembly policy function: `--policy FILE [--func NAME] [--buckets N] [--fuel N]`, after
// `-m wasm` (a match: the function returning nonzero) or `-j WASM` (a target: its return value
// is the verdict). See docs/policy-abi.md.
struct PolicyRef {
    std::string path;                   // absolute, as printed back
    std::optional<std::string> function;  // export name; absent: "filter"
    std::optional<uint32_t> buckets;    // declares N unnamed buckets (modules without xfw.buckets)
    std::optional<uint32_t> fuel;       // per-packet budget of loop iterations and calls
    // SHA-256 of the module the rule was committed with; the control plane keeps a copy under
    // the state directory so reloads run that module even if FILE changes or goes away. Not
    // part of the rule's meaning (like Rule::id): `-D` with the same options finds the rule.
    std::string digest;
    // The module's bytes (the stored copy, or the file for commands that only read rules).
    std::shared_ptr<const std::vector<uint8_t>> module;

    std::string function_name() const { return function.value_or("filter"); }
    bool operator==(const PolicyRef& o) const {
        return path == o.path && function == o.function && buckets == o.buckets && fuel == o.fuel;
    }
};

inline constexpr uint32_t kMaxPolicyBuckets = 64;
inline constexpr uint32_t kMaxPolicyFuel = 1u << 24;

// `-m wasm --policy ...`.
struct WasmMatch {
    PolicyRef policy;
    bool operator==(const WasmMatch&) const = default;
};

// `-m set [!] --match-set NAME src|dst[,src|dst]...` (ipset's xt_set): one direction per
// dimension of the set (address, then port), up to 6 as in the kernel.
struct SetMatch {
    std::string name;
    std::vector<bool> source;  // per flag: true "src", false "dst"
    bool invert = false;
    bool operator==(const SetMatch&) const = default;
};
inline constexpr size_t kMaxSetMatchFlags = 6;

// Match modules keep the order the operator wrote them in, as iptables-save does.
using MatchModule = std::variant<TcpMatch, UdpMatch, IcmpMatch, MultiportMatch, CommentMatch, WasmMatch, SetMatch>;

struct Target {
    enum class Kind : uint8_t {
        None,    // no -j: count and continue with the next rule
        Accept,  // XDP_PASS
        Drop,    // XDP_DROP
        Return,  // back to the calling chain (policy when in a built-in chain)
        Jump,    // -j USERCHAIN
        Wasm,    // -j WASM --policy FILE: the policy's return value decides
    };
    Kind kind = Kind::None;
    std::string chain;  // for Jump
    PolicyRef policy;   // for Wasm
    bool operator==(const Target&) const = default;
};

struct Rule {
    // Set explicitly with -4/-6; otherwise implied by addresses or icmp flavour (see family()).
    Family explicit_family = Family::Any;
    std::optional<Negatable<Cidr>> source;
    std::optional<Negatable<Cidr>> destination;
    std::optional<Negatable<std::string>> in_interface;  // may end in '+' (prefix wildcard)
    // Protocol number; 0 means "all". Absent means "all" too but prints nothing.
    std::optional<Negatable<uint8_t>> protocol;
    // -f / ! -f: non-first fragments only / first fragments and unfragmented only.
    std::optional<bool> fragment_invert;
    std::vector<MatchModule> matches;
    Target target;

    // Stable identity assigned by the state store (counters follow it across edits). Not part
    // of the rule's meaning: operator== ignores it, so `-D spec` finds a rule whatever its id.
    uint64_t id = 0;

    // Which IP family the rule applies to: addresses and -4/-6 restrict it; a rule with only
    // ports or protocols applies to both.
    Family family() const;
    // The family implied by the rule's content alone (addresses, icmp flavour), ignoring -4/-6.
    Family implied_family() const;
    // Compares everything except `id`.
    bool operator==(const Rule& other) const;

    // The rule's policies in evaluation order: -m wasm matches as written, then -j WASM. A
    // policy's position in this list is its index for counter slots and stored digests.
    std::vector<const PolicyRef*> policies() const;
    std::vector<PolicyRef*> policies();
};

struct Chain {
    std::string name;
    bool builtin = false;
    Target::Kind policy = Target::Kind::Accept;  // Accept or Drop, built-in chains only
    std::vector<Rule> rules;
    bool operator==(const Chain&) const = default;
};

// The filter table. INPUT is the XDP ingress hook. FORWARD and OUTPUT exist so that real
// iptables-save files round-trip; they cannot hold rules (XDP sees ingress only).
struct Ruleset {
    std::vector<Chain> chains;  // built-ins first (INPUT, FORWARD, OUTPUT), then user chains

    static Ruleset empty();
    Chain* find(const std::string& name);
    const Chain* find(const std::string& name) const;
    bool operator==(const Ruleset&) const = default;
};

inline constexpr const char* kInputChain = "INPUT";

// Well-known protocol numbers used across the code.
namespace proto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIcmpV6 = 58;
}  // namespace proto

}  // namespace xfw
