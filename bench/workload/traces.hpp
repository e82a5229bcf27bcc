// Benchmark traces: seeded pcaps whose packets all end at one chosen rule (the first, one in
// the middle, the last) or at no rule, in 64-byte or mixed sizes, with the verdicts and
// per-rule counts that a correct first-match classifier gives them.
#pragma once

#include "bench/workload/rules.hpp"
#include "tests/support/packet_builder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::bench {

enum class TraceKind : uint8_t { First, Middle, Last, None };
const char* trace_kind_name(TraceKind k);

enum class SizeMix : uint8_t {
    Min64,  // 64-byte frames (without FCS), or the smallest a protocol allows (IPv6 TCP: 74)
    Mixed,  // 7:4:1 of 64, 576 and 1514 bytes, in a seeded order (the classic IMIX shape)
};
const char* size_mix_name(SizeMix m);

struct Trace {
    TraceKind kind = TraceKind::None;
    SizeMix sizes = SizeMix::Min64;
    int target_rule = -1;  // 0-based rule the packets were built to end at; -1 = none
    std::vector<test::Frame> frames;
    // Expected outcome: per rule (0-based) packets and bytes, the policy's, and verdict totals.
    std::vector<uint64_t> rule_packets, rule_bytes;
    uint64_t policy_packets = 0, policy_bytes = 0;
    uint64_t dropped = 0, passed = 0;
};

// `packets` frames for `kind`. The target rule is the first, middle or last rule that a
// packet can reach; a rule shadowed by earlier ones is skipped for the nearest reachable one.
// Fails (empty frames) only if no rule is reachable.
Trace generate_trace(const BenchRuleset& rs, TraceKind kind, SizeMix sizes, size_t packets, uint64_t seed);

// The frame for one five-tuple, `frame_size` bytes long where the headers allow.
test::Frame build_frame(const FiveTuple& t, bool v6, size_t frame_size);

}  // namespace xfw::bench
