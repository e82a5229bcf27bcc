// The data-plane plan: what the code generator turns into eBPF. The control plane's planner
// lowers the policy IR (control/ruleset.hpp) to this: chains flattened into a list of steps,
// each step a conjunction of primitive tests on the parsed packet, a counter slot and where to
// go on match and on miss. Strategies that replace runs of steps with map lookups, Wasm calls
// and target restrictions (offload) extend this file; the IR above it stays the same.
#pragma once

#include "xdp/emitter.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace xfw::xdp {

enum class Direction : uint8_t { Source, Destination };

// The packet is IPv4 (v6 = false) or IPv6 (v6 = true) with a complete IP header.
struct TestFamily { bool v6 = false; };

// Address prefix test. Bytes in network order; IPv4 uses the first 4 bytes. The family test
// is implied (an IPv4 prefix never matches an IPv6 packet, inverted or not).
struct TestPrefix {
    Direction dir = Direction::Source;
    bool v6 = false;
    std::array<uint8_t, 16> net{};
    uint8_t prefix_len = 0;
    bool invert = false;
};

// Upper-layer protocol (IPv6: after extension headers). Needs an IP packet whose protocol is
// known, whatever `invert` says.
struct TestProtocol { uint8_t proto = 0; bool invert = false; };

// Port in one of several ranges. Needs the full TCP/UDP header of a first fragment with
// protocol `proto`; if absent the test fails, inverted or not (as iptables' tcp/udp match).
struct TestPorts {
    uint8_t proto = 0;  // tcp or udp
    enum class Which : uint8_t { Source, Destination, Either } which = Which::Destination;
    std::vector<std::array<uint16_t, 2>> ranges;
    bool invert = false;
};

struct TestTcpFlags { uint8_t mask = 0; uint8_t comp = 0; bool invert = false; };

struct TestIcmp {
    bool v6 = false;
    bool any = false;
    uint8_t type = 0, code_min = 0, code_max = 0xff;
    bool invert = false;
};

// Non-first fragment (fragment offset != 0), IPv4 or IPv6.
struct TestFragment { bool invert = false; };

// Ingress interface index among a set (resolved from names when the program is built).
struct TestIfindex { std::vector<uint32_t> ifindexes; bool invert = false; };

// Runs policy `policy` (Plan::policies) and passes when it returns nonzero. A run that traps
// counts in the policy's trap slot and drops the packet, whatever the step would do.
struct TestPolicy { uint32_t policy = 0; };

// How a TestLookup builds its map key from the packet metadata. Port keys need the full
// TCP/UDP header of a first fragment; a packet without one has no key (not found).
struct LookupKey {
    enum class Layout : uint8_t {
        Address,                 // address (4 or 16 bytes)                            HASH
        AddressPrefix,           // u32 prefix length | address                        LPM_TRIE
        ProtoPortAddress,        // proto | 0 | port (network order) | address         HASH
        ProtoPortAddressPrefix,  // u32 prefix length | proto | 0 | port | address     LPM_TRIE
        Port,                    // u32 port (host order); `port_proto` is required    HASH
    };
    Layout layout = Layout::Address;
    bool v6 = false;
    Direction address = Direction::Source;
    Direction port = Direction::Destination;
    uint8_t port_proto = 0;  // Port layout: the packet's protocol must be this (tcp or udp)
    bool operator==(const LookupKey&) const = default;
};

// Looks the packet's key up in plan map `map` (Plan::maps); passes when found (not found with
// `invert`). The family of an address key is a precondition, inverted or not (as for
// TestPrefix). Sets (-m set) and map-backed rule groups lower to this.
struct TestLookup {
    uint32_t map = 0;
    LookupKey key;
    bool invert = false;
    // Map-backed rule groups: the key starts with the packet's group generation (u32, after
    // the LPM prefix length), read once per packet from Plan::generation_map, so that a
    // change to several groups is switched for every packet at once (control/group_maps.hpp).
    bool versioned = false;
};

using Test = std::variant<TestFamily, TestPrefix, TestProtocol, TestPorts, TestTcpFlags,
                          TestIcmp, TestFragment, TestIfindex, TestPolicy, TestLookup>;

// What a step does when all its tests pass. Policy: the verdict is what policy `target`
// returns (kPolicyVerdict*); "continue" goes on with the step's on_miss.
struct Action {
    enum class Kind : uint8_t { Pass, Drop, Goto, Policy };
    Kind kind = Kind::Goto;
    uint32_t target = 0;  // step index for Goto, policy index for Policy
};

inline constexpr uint32_t kNoCounter = UINT32_MAX;
inline constexpr uint32_t kNoMap = UINT32_MAX;
// Step::counter of a map-backed rule group: the step's last test is a TestLookup whose map
// value (u32) is the counter slot of the rule that matched.
inline constexpr uint32_t kCounterFromLookup = UINT32_MAX - 1;

// ---- Policies: code from another front end (WebAssembly) called as a bpf-to-bpf subprogram ----

// The subprogram of a policy is called with R1 = the xdp_md context. It returns in R0 the
// policy function's i32 result zero-extended to 64 bits, or kPolicyTrapped | trap code when
// the run trapped (codes in the policy ABI, docs/policy-abi.md).
inline constexpr uint64_t kPolicyTrapped = 1ull << 32;
// Trap code the caller reports when a policy used as a target returns no known verdict.
inline constexpr uint32_t kPolicyTrapVerdict = 8;
// What a policy used as a target returns.
inline constexpr uint32_t kPolicyVerdictAborted = 0;
inline constexpr uint32_t kPolicyVerdictDrop = 1;
inline constexpr uint32_t kPolicyVerdictPass = 2;
inline constexpr uint32_t kPolicyVerdictContinue = 0xffffffff;

// What the program around a policy provides to its subprogram.
struct PolicyEmitContext {
    uint32_t first_map_index = 0;       // the policy's own maps (PolicyCode::maps) start here
    CounterMode counters = CounterMode::PerCpu;
    bpf::Label count_subprogram;        // R1 = counter slot, R2 = bytes; clobbers R0-R5
    uint32_t bucket_base_slot = 0;      // bucket b counts in slot bucket_base_slot + b
    uint32_t bucket_count = 0;
};

// A policy's code generator, implemented by its front end (wasm-policy/), so that xdp/ does
// not depend on the front ends.
class PolicyCode {
public:
    virtual ~PolicyCode() = default;
    // The maps the subprogram references, in order from PolicyEmitContext::first_map_index.
    virtual std::vector<MapSpec> maps() const = 0;
    // Emits the whole subprogram; `entry` is to be bound to its first instruction.
    virtual Status emit(bpf::Emitter& e, bpf::Label entry, const PolicyEmitContext& context) const = 0;
};

struct PlanPolicy {
    std::shared_ptr<const PolicyCode> code;
    uint32_t trap_slot = kNoCounter;         // counts the runs that trapped
    uint32_t bucket_base_slot = kNoCounter;  // first of bucket_count consecutive slots
    uint32_t bucket_count = 0;
    std::string origin;                      // "INPUT:3 policy dns.wasm:filter"
};

struct Step {
    std::vector<Test> tests;   // all must pass
    uint32_t counter = kNoCounter;  // counter slot bumped on match
    Action on_match;
    uint32_t on_miss = 0;      // step index to continue with when a test fails
    std::string origin;        // "INPUT:3" — for diagnostics (checker, verifier log)
};

// Fixed counter slots; rule slots are allocated from kFirstRuleSlot on by the control plane.
inline constexpr uint32_t kSlotError = 0;     // malformed/truncated headers
inline constexpr uint32_t kSlotNonIp = 1;     // non-IP frames (ARP, LLDP...): passed, never filtered
inline constexpr uint32_t kSlotPolicyInput = 2;
inline constexpr uint32_t kFirstRuleSlot = 8;

// ---- Classification trees: a run of steps reached through a compiled decision tree ----

// A tree node branches on one key (xdp/classifier_keys.hpp): keys below `threshold` go to
// `below`, the others to `at_or_above`. A child is a node index, or ~leaf index when negative.
struct TreeNode {
    uint8_t key = 0;  // TreeKey
    uint32_t threshold = 0;
    int32_t below = 0, at_or_above = 0;
};

// Steps [first_step, end_step) are not emitted one after another: the tree narrows, from the
// packet's keys, which of them can match, and each leaf holds those steps in plan order (a
// step may sit in several leaves). A leaf tries its steps as the linear code would — the first
// whose tests pass decides, counts its own slot — and goes on at end_step when none does. Only
// first_step may be the target of a jump, every step's on_miss is the next step and a Goto
// goes to the next step (the planner picks runs like that).
struct ClassifierTree {
    uint32_t first_step = 0, end_step = 0;
    std::vector<TreeNode> nodes;              // nodes[0] is the root (no nodes: leaf 0 alone)
    std::vector<std::vector<uint32_t>> leaves;  // step indices, ascending
};

struct Plan {
    std::vector<Step> steps;      // execution starts at step 0
    std::vector<ClassifierTree> trees;  // disjoint step ranges, ascending
    std::vector<PlanPolicy> policies;
    // Maps of TestLookup: a set's existing map, or a rule group's map created with its entries
    // for each program. Program map index 1 + i; policy maps come after them.
    std::vector<MapSpec> maps;
    // Plan map holding the group generation (ARRAY, u32 key, u64 value; entry 0) that
    // versioned lookups read; kNoMap when no lookup is versioned.
    uint32_t generation_map = kNoMap;
    uint32_t counter_slots = 0;   // size of the counter map
};

}  // namespace xfw::xdp
