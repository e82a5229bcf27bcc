// Tests as boxes in the key space of classification trees.
#include "xdp/classifier_keys.hpp"

#include <linux/in.h>
#include <linux/in6.h>

#include <algorithm>

namespace xfw::xdp {

namespace {

using Ranges = std::vector<KeyRange>;

constexpr uint32_t kPortMax = 65535;

// Sorted, merged copy of `ranges`.
Ranges normalized(Ranges ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const KeyRange& a, const KeyRange& b) { return a.lo < b.lo; });
    Ranges out;
    for (const KeyRange& r : ranges) {
        if (!out.empty() && static_cast<uint64_t>(r.lo) <= static_cast<uint64_t>(out.back().hi) + 1)
            out.back().hi = std::max(out.back().hi, r.hi);
        else
            out.push_back(r);
    }
    return out;
}

// [0, max] without `ranges`.
Ranges complement(const Ranges& ranges, uint32_t max) {
    Ranges out;
    uint64_t next = 0;
    for (const KeyRange& r : normalized(ranges)) {
        if (r.lo > next) out.push_back({static_cast<uint32_t>(next), r.lo - 1});
        next = static_cast<uint64_t>(r.hi) + 1;
    }
    if (next <= max) out.push_back({static_cast<uint32_t>(next), max});
    return out;
}

TreeKey address_word(Direction dir, int word) {
    const auto first = dir == Direction::Source ? TreeKey::Source0 : TreeKey::Destination0;
    return static_cast<TreeKey>(static_cast<int>(first) + word);
}

TreeKey port_key(bool source) { return source ? TreeKey::SourcePort : TreeKey::DestinationPort; }

// The range of address word `word` that prefix `net/len` allows.
KeyRange prefix_word_range(const std::array<uint8_t, 16>& net, int len, int word) {
    const uint32_t value = static_cast<uint32_t>(net[4 * word]) << 24 | static_cast<uint32_t>(net[4 * word + 1]) << 16 |
                           static_cast<uint32_t>(net[4 * word + 2]) << 8 | net[4 * word + 3];
    const int bits = std::clamp(len - 32 * word, 0, 32);
    const uint32_t mask = bits == 0 ? 0 : ~0u << (32 - bits);
    return {value & mask, (value & mask) | ~mask};
}

KeyBox with(KeyBox box, TreeKey key, KeyRange range) {
    box[key] = range;
    return box;
}

KeyBox family_box(bool v6) { return with(universe_box(), TreeKey::Family, {v6 ? 2u : 1u, v6 ? 2u : 1u}); }

// The protocol of a TCP/UDP test. A port key below kPortAbsent already says the full header
// is there, so the port a test reads carries that precondition; the other stays open (the key
// space does not know that both ports come with one header).
KeyBox l4_box(uint8_t proto) { return with(universe_box(), TreeKey::Protocol, {proto, proto}); }

TestBoxes boxes(const TestFamily& t) { return {{family_box(t.v6)}, true}; }

TestBoxes boxes(const TestPrefix& t) {
    KeyBox base = family_box(t.v6);
    const int words = t.v6 ? 4 : 1;
    if (!t.invert) {
        for (int w = 0; w < words; ++w) base[address_word(t.dir, w)] = prefix_word_range(t.net, t.prefix_len, w);
        return {{base}, true};
    }
    if (t.v6) return {{base}, false};
    TestBoxes out{{}, true};
    for (const KeyRange& r : complement({prefix_word_range(t.net, t.prefix_len, 0)}, UINT32_MAX))
        out.boxes.push_back(with(base, address_word(t.dir, 0), r));
    return out;
}

TestBoxes boxes(const TestProtocol& t) {
    if (!t.invert) return {{with(universe_box(), TreeKey::Protocol, {t.proto, t.proto})}, true};
    TestBoxes out{{}, true};
    for (const KeyRange& r : complement({{t.proto, t.proto}}, 255))
        out.boxes.push_back(with(universe_box(), TreeKey::Protocol, r));
    return out;
}

TestBoxes boxes(const TestPorts& t) {
    Ranges ranges;
    for (const auto& r : t.ranges) ranges.push_back({r[0], r[1]});
    ranges = t.invert ? complement(ranges, kPortMax) : normalized(ranges);
    const KeyBox base = l4_box(t.proto);
    TestBoxes out{{}, true};
    if (t.which != TestPorts::Which::Either) {
        for (const KeyRange& r : ranges)
            out.boxes.push_back(with(base, port_key(t.which == TestPorts::Which::Source), r));
        return out;
    }
    if (!t.invert) {
        // Either port in the ranges.
        for (bool source : {true, false})
            for (const KeyRange& r : ranges) out.boxes.push_back(with(base, port_key(source), r));
        return out;
    }
    // Neither port in the ranges: both in the complement.
    for (const KeyRange& s : ranges)
        for (const KeyRange& d : ranges)
            out.boxes.push_back(with(with(base, TreeKey::SourcePort, s), TreeKey::DestinationPort, d));
    return out;
}

TestBoxes boxes(const TestTcpFlags&) { return {{l4_box(IPPROTO_TCP)}, false}; }

TestBoxes boxes(const TestIcmp& t) {
    const uint32_t proto = t.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    return {{with(family_box(t.v6), TreeKey::Protocol, {proto, proto})}, false};
}

TestBoxes boxes(const TestFragment&) {
    // Either way the packet must have an IP header.
    return {{with(universe_box(), TreeKey::Family, {1, 2})}, false};
}

TestBoxes boxes(const TestLookup& t) {
    if (t.key.layout == LookupKey::Layout::Port) return {{l4_box(t.key.port_proto)}, false};
    return {{family_box(t.key.v6)}, false};
}

TestBoxes boxes(const TestIfindex&) { return {{universe_box()}, false}; }
TestBoxes boxes(const TestPolicy&) { return {{universe_box()}, false}; }

}  // namespace

const char* tree_key_name(TreeKey key) {
    static constexpr const char* kNames[kTreeKeyCount] = {
        "family", "protocol", "sport", "dport", "src[0]", "src[1]", "src[2]", "src[3]",
        "dst[0]", "dst[1]", "dst[2]", "dst[3]"};
    return kNames[static_cast<size_t>(key)];
}

uint32_t key_max(TreeKey key) {
    switch (key) {
        case TreeKey::Family: return 2;
        case TreeKey::Protocol: return 2 * kProtocolUnknown - 1;
        case TreeKey::SourcePort:
        case TreeKey::DestinationPort: return 2 * kPortAbsent - 1;
        default: return UINT32_MAX;
    }
}

KeyBox universe_box() {
    KeyBox b;
    for (size_t k = 0; k < kTreeKeyCount; ++k) b.range[k] = {0, key_max(static_cast<TreeKey>(k))};
    return b;
}

bool intersects(const KeyBox& a, const KeyBox& b) {
    for (size_t k = 0; k < kTreeKeyCount; ++k)
        if (a.range[k].hi < b.range[k].lo || b.range[k].hi < a.range[k].lo) return false;
    return true;
}

KeyBox intersection(const KeyBox& a, const KeyBox& b) {
    KeyBox out;
    for (size_t k = 0; k < kTreeKeyCount; ++k)
        out.range[k] = {std::max(a.range[k].lo, b.range[k].lo), std::min(a.range[k].hi, b.range[k].hi)};
    return out;
}

bool contains(const KeyBox& outer, const KeyBox& inner) {
    for (size_t k = 0; k < kTreeKeyCount; ++k)
        if (inner.range[k].lo < outer.range[k].lo || inner.range[k].hi > outer.range[k].hi) return false;
    return true;
}

TestBoxes boxes_of(const Test& test) {
    return std::visit([](const auto& t) { return boxes(t); }, test);
}

std::vector<KeyBox> boxes_of_step(const std::vector<Test>& tests, size_t max_boxes) {
    std::vector<KeyBox> current{universe_box()};
    for (const Test& t : tests) {
        const TestBoxes tb = boxes_of(t);
        std::vector<KeyBox> next;
        for (const KeyBox& a : current)
            for (const KeyBox& b : tb.boxes)
                if (intersects(a, b)) next.push_back(intersection(a, b));
        if (next.size() > max_boxes) {
            KeyBox hull = next.front();
            for (const KeyBox& b : next)
                for (size_t k = 0; k < kTreeKeyCount; ++k)
                    hull.range[k] = {std::min(hull.range[k].lo, b.range[k].lo), std::max(hull.range[k].hi, b.range[k].hi)};
            next = {hull};
        }
        current = std::move(next);
        if (current.empty()) break;
    }
    return current;
}

bool implied_by(const Test& test, const KeyBox& region) {
    const TestBoxes tb = boxes_of(test);
    if (!tb.exact) return false;
    return std::any_of(tb.boxes.begin(), tb.boxes.end(), [&](const KeyBox& b) { return contains(b, region); });
}

}  // namespace xfw::xdp
