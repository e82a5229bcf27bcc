#include "bench/workload/traces.hpp"

#include <algorithm>

namespace xfw::bench {

const char* trace_kind_name(TraceKind k) {
    switch (k) {
        case TraceKind::First: return "first";
        case TraceKind::Middle: return "middle";
        case TraceKind::Last: return "last";
        case TraceKind::None: return "none";
    }
    return "?";
}

const char* size_mix_name(SizeMix m) { return m == SizeMix::Min64 ? "64" : "mixed"; }

test::Frame build_frame(const FiveTuple& t, bool v6, size_t frame_size) {
    const std::string src = format_address(t.src, v6), dst = format_address(t.dst, v6);
    test::PacketBuilder b;
    if (v6)
        b.ipv6(src, dst);
    else
        b.ipv4(src, dst);
    if (t.proto == 6)
        b.tcp(t.sport, t.dport, test::tcpflag::kAck);
    else
        b.udp(t.sport, t.dport);
    const size_t headers = b.layout().size;
    if (frame_size > headers) b.payload_len(frame_size - headers);
    return b.build();
}

namespace {

// The rule a trace of `kind` aims at, then the nearest reachable one if that is shadowed.
std::vector<size_t> candidates(size_t n, TraceKind kind) {
    std::vector<size_t> order;
    const size_t want = kind == TraceKind::First ? 0 : kind == TraceKind::Middle ? (n - 1) / 2 : n - 1;
    order.push_back(want);
    for (size_t d = 1; d < n; ++d) {
        // Last looks further up only; first further down only; middle both ways.
        if (kind != TraceKind::First && want >= d) order.push_back(want - d);
        if (kind != TraceKind::Last && want + d < n) order.push_back(want + d);
    }
    return order;
}

}  // namespace

Trace generate_trace(const BenchRuleset& rs, TraceKind kind, SizeMix sizes, size_t packets, uint64_t seed) {
    std::seed_seq seq{seed, static_cast<uint64_t>(kind), static_cast<uint64_t>(sizes), static_cast<uint64_t>(rs.v6),
                      static_cast<uint64_t>(rs.rules.size()), static_cast<uint64_t>(rs.shape)};
    std::mt19937_64 rng(seq);
    Trace tr;
    tr.kind = kind;
    tr.sizes = sizes;
    tr.rule_packets.assign(rs.rules.size(), 0);
    tr.rule_bytes.assign(rs.rules.size(), 0);

    if (kind != TraceKind::None) {
        for (size_t idx : candidates(rs.rules.size(), kind)) {
            if (packet_for_rule(rs, idx, rng)) {
                tr.target_rule = static_cast<int>(idx);
                break;
            }
        }
        if (tr.target_rule < 0) return tr;
    }

    std::vector<size_t> frame_sizes;
    for (size_t i = 0; i < packets; ++i) {
        if (sizes == SizeMix::Min64) {
            frame_sizes.push_back(64);
            continue;
        }
        const size_t slot = i % 12;
        frame_sizes.push_back(slot < 7 ? 64 : slot < 11 ? 576 : 1514);
    }
    std::shuffle(frame_sizes.begin(), frame_sizes.end(), rng);

    for (size_t i = 0; i < packets; ++i) {
        std::optional<FiveTuple> t = tr.target_rule >= 0 ? packet_for_rule(rs, static_cast<size_t>(tr.target_rule), rng)
                                                         : packet_for_no_rule(rs, rng);
        if (!t) continue;  // a sample fell into an earlier rule every time: leave it out
        test::Frame f = build_frame(*t, rs.v6, frame_sizes[i]);
        const int hit = first_match(rs, *t);
        if (hit >= 0) {
            tr.rule_packets[static_cast<size_t>(hit)]++;
            tr.rule_bytes[static_cast<size_t>(hit)] += f.size();
            (rs.rules[static_cast<size_t>(hit)].drop ? tr.dropped : tr.passed)++;
        } else {
            tr.policy_packets++;
            tr.policy_bytes += f.size();
            tr.passed++;
        }
        tr.frames.push_back(std::move(f));
    }
    return tr;
}

}  // namespace xfw::bench
