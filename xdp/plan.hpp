// The data-plane plan: what the code generator turns into eBPF. The control plane's planner
// lowers the policy IR (control/ruleset.hpp) to this: chains flattened into a list of steps,
// each step a conjunction of primitive tests on the parsed packet, a counter slot and where to
// go on match and on miss. Strategies that replace runs of steps with map lookups, Wasm calls
// and target restrictions (offload) extend this file; the IR above it stays the same.
#pragma once

#include <array>
#include <cstdint>
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

using Test = std::variant<TestFamily, TestPrefix, TestProtocol, TestPorts, TestTcpFlags,
                          TestIcmp, TestFragment, TestIfindex>;

// What a step does when all its tests pass.
struct Action {
    enum class Kind : uint8_t { Pass, Drop, Goto };
    Kind kind = Kind::Goto;
    uint32_t target = 0;  // step index for Goto
};

inline constexpr uint32_t kNoCounter = UINT32_MAX;

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

struct Plan {
    std::vector<Step> steps;      // execution starts at step 0
    uint32_t counter_slots = 0;   // size of the counter map
};

}  // namespace xfw::xdp
