// Map-backed rule groups (see rule_groups.hpp for the strategy and why first match holds).
//
// Why the LPM trie is exact after leaving out prefixes contained in an earlier one: the run's
// prefixes that contain an address form a chain, nested by length. Of two of them left in the
// map, the shorter contains the longer; had the shorter come first, the longer would have been
// left out. So among the prefixes left, longer means earlier, and the longest prefix the trie
// returns is the earliest rule left. The earliest rule of the whole chain is never left out
// (nothing before it contains it), so it is that rule.
#include "control/rule_groups.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace xfw {

namespace {

using namespace xdp;

// Structural equality of two tests (the plan's tests are plain data).
bool same_test(const Test& a, const Test& b) {
    if (a.index() != b.index()) return false;
    return std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            const T& y = std::get<T>(b);
            if constexpr (std::is_same_v<T, TestFamily>) return x.v6 == y.v6;
            else if constexpr (std::is_same_v<T, TestPrefix>)
                return std::tie(x.dir, x.v6, x.net, x.prefix_len, x.invert) ==
                       std::tie(y.dir, y.v6, y.net, y.prefix_len, y.invert);
            else if constexpr (std::is_same_v<T, TestProtocol>) return x.proto == y.proto && x.invert == y.invert;
            else if constexpr (std::is_same_v<T, TestPorts>)
                return std::tie(x.proto, x.which, x.ranges, x.invert) == std::tie(y.proto, y.which, y.ranges, y.invert);
            else if constexpr (std::is_same_v<T, TestTcpFlags>)
                return std::tie(x.mask, x.comp, x.invert) == std::tie(y.mask, y.comp, y.invert);
            else if constexpr (std::is_same_v<T, TestIcmp>)
                return std::tie(x.v6, x.any, x.type, x.code_min, x.code_max, x.invert) ==
                       std::tie(y.v6, y.any, y.type, y.code_min, y.code_max, y.invert);
            else if constexpr (std::is_same_v<T, TestFragment>) return x.invert == y.invert;
            else if constexpr (std::is_same_v<T, TestIfindex>) return x.ifindexes == y.ifindexes && x.invert == y.invert;
            else if constexpr (std::is_same_v<T, TestPolicy>) return x.policy == y.policy;
            else if constexpr (std::is_same_v<T, TestLookup>)
                return x.map == y.map && x.key == y.key && x.invert == y.invert;
            else return false;
        },
        a);
}

// What a group looks up: the prefix of one direction and family, or one port.
struct KeyKind {
    enum class Kind : uint8_t { Prefix, Port } kind = Kind::Prefix;
    Direction dir = Direction::Source;
    bool v6 = false;
    uint8_t proto = 0;
    bool operator==(const KeyKind&) const = default;
};

// One way to read a step as "shared tests + one key".
struct Reading {
    KeyKind kind;
    size_t key_test = 0;
};

std::vector<Reading> readings(const Step& s) {
    std::vector<Reading> out;
    for (size_t i = 0; i < s.tests.size(); ++i) {
        if (const auto* p = std::get_if<TestPrefix>(&s.tests[i]); p && !p->invert && p->prefix_len > 0) {
            out.push_back({{KeyKind::Kind::Prefix, p->dir, p->v6, 0}, i});
        } else if (const auto* ports = std::get_if<TestPorts>(&s.tests[i]);
                   ports && !ports->invert && ports->ranges.size() == 1 && ports->ranges[0][0] == ports->ranges[0][1] &&
                   ports->which != TestPorts::Which::Either) {
            const Direction dir = ports->which == TestPorts::Which::Source ? Direction::Source : Direction::Destination;
            out.push_back({{KeyKind::Kind::Port, dir, false, ports->proto}, i});
        }
    }
    return out;
}

// Whether two steps have the same tests besides their key tests.
bool same_rest(const Step& a, size_t a_key, const Step& b, size_t b_key) {
    if (a.tests.size() != b.tests.size()) return false;
    auto rest = [](const Step& s, size_t key) {
        std::vector<const Test*> r;
        for (size_t i = 0; i < s.tests.size(); ++i)
            if (i != key) r.push_back(&s.tests[i]);
        return r;
    };
    const auto ra = rest(a, a_key), rb = rest(b, b_key);
    for (size_t i = 0; i < ra.size(); ++i)
        if (!same_test(*ra[i], *rb[i])) return false;
    return true;
}

bool groupable(const Step& s, size_t index) {
    if (s.on_miss != index + 1) return false;
    if (s.on_match.kind != Action::Kind::Pass && s.on_match.kind != Action::Kind::Drop) return false;
    if (s.counter >= kCounterFromLookup) return false;
    return std::none_of(s.tests.begin(), s.tests.end(),
                        [](const Test& t) { return std::holds_alternative<TestPolicy>(t); });
}

std::vector<uint8_t> u32_bytes(uint32_t v) {
    std::vector<uint8_t> b(4);
    std::memcpy(b.data(), &v, 4);  // host order: what the program loads and compares
    return b;
}

// The map and lookup of a run; `members[k]` is the key test of step first + k.
TestLookup build_group(Plan& plan, const KeyKind& kind, const std::vector<const Test*>& members,
                       const std::vector<uint32_t>& slots, bool offload) {
    MapSpec spec;
    spec.name = kGroupMapName;
    spec.value_size = 4;
    TestLookup lookup;
    if (kind.kind == KeyKind::Kind::Port) {
        spec.type = BPF_MAP_TYPE_HASH;
        spec.key_size = 4;
        lookup.key.layout = LookupKey::Layout::Port;
        lookup.key.port = kind.dir;
        lookup.key.port_proto = kind.proto;
        std::set<uint16_t> seen;
        for (size_t k = 0; k < members.size(); ++k) {
            const uint16_t port = std::get<TestPorts>(*members[k]).ranges[0][0];
            if (seen.insert(port).second) spec.entries.push_back({u32_bytes(port), u32_bytes(slots[k])});
        }
    } else {
        const uint8_t bits = kind.v6 ? 128 : 32;
        const size_t bytes = bits / 8;
        const bool all_full = std::all_of(members.begin(), members.end(),
                                          [&](const Test* t) { return std::get<TestPrefix>(*t).prefix_len == bits; });
        lookup.key.v6 = kind.v6;
        lookup.key.address = kind.dir;
        auto masked = [&](const TestPrefix& p, uint8_t len) {
            std::array<uint8_t, 16> net{};
            for (size_t i = 0; i < bytes; ++i) {
                const int keep = std::clamp(static_cast<int>(len) - 8 * static_cast<int>(i), 0, 8);
                net[i] = p.net[i] & static_cast<uint8_t>(0xff00 >> keep);
            }
            return net;
        };
        std::set<std::pair<uint8_t, std::array<uint8_t, 16>>> kept;
        if (all_full || offload) {
            // Offload runs only hash maps: the planner groups full-length prefixes only there.
            spec.type = BPF_MAP_TYPE_HASH;
            spec.key_size = static_cast<uint32_t>(bytes);
            lookup.key.layout = LookupKey::Layout::Address;
        } else {
            spec.type = BPF_MAP_TYPE_LPM_TRIE;
            spec.flags = BPF_F_NO_PREALLOC;
            spec.key_size = static_cast<uint32_t>(4 + bytes);
            lookup.key.layout = LookupKey::Layout::AddressPrefix;
        }
        for (size_t k = 0; k < members.size(); ++k) {
            const TestPrefix& p = std::get<TestPrefix>(*members[k]);
            bool shadowed = false;
            for (int len = 1; len <= p.prefix_len && !shadowed; ++len)
                shadowed = kept.count({static_cast<uint8_t>(len), masked(p, static_cast<uint8_t>(len))}) > 0;
            if (shadowed) continue;  // an earlier rule of the run matches every address it does
            const auto net = masked(p, p.prefix_len);
            kept.insert({p.prefix_len, net});
            const bool lpm = lookup.key.layout == LookupKey::Layout::AddressPrefix;
            std::vector<uint8_t> key(bytes + (lpm ? 4 : 0));
            const uint32_t len = p.prefix_len;
            if (lpm) std::memcpy(key.data(), &len, 4);  // host order, as the kernel reads it
            std::memcpy(key.data() + (lpm ? 4 : 0), net.data(), bytes);
            spec.entries.push_back({std::move(key), u32_bytes(slots[k])});
        }
    }
    // Both generations hold the run's entries; a live change rewrites one, switches the
    // generation, then catches the other up (control/group_maps.hpp). Room for changes that add
    // rules is left, so that most of them need no new map.
    const bool lpm = spec.type == BPF_MAP_TYPE_LPM_TRIE;
    spec.key_size += 4;
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> versioned;
    for (uint32_t generation = 0; generation < kGroupGenerations; ++generation)
        for (const auto& [key, value] : spec.entries) versioned.push_back({key_with_generation(key, lpm, generation), value});
    spec.entries = std::move(versioned);
    spec.max_entries = group_map_capacity(spec.entries.size() / kGroupGenerations);
    lookup.versioned = true;
    if (plan.generation_map == kNoMap) {
        plan.generation_map = static_cast<uint32_t>(plan.maps.size());
        plan.maps.push_back(group_generation_map_spec());
    }
    lookup.map = static_cast<uint32_t>(plan.maps.size());
    plan.maps.push_back(std::move(spec));
    return lookup;
}

}  // namespace

std::vector<uint8_t> key_with_generation(const std::vector<uint8_t>& key, bool lpm, uint32_t generation) {
    std::vector<uint8_t> out(key.size() + 4);
    const size_t at = lpm ? 4 : 0;  // after the LPM prefix length, which grows by the 32 bits
    std::memcpy(out.data(), key.data(), at);
    std::memcpy(out.data() + at, &generation, 4);
    std::memcpy(out.data() + at + 4, key.data() + at, key.size() - at);
    if (lpm) {
        uint32_t bits = 0;
        std::memcpy(&bits, out.data(), 4);
        bits += 32;
        std::memcpy(out.data(), &bits, 4);
    }
    return out;
}

uint32_t key_generation(const std::vector<uint8_t>& key, bool lpm) {
    uint32_t generation = 0;
    std::memcpy(&generation, key.data() + (lpm ? 4 : 0), 4);
    return generation;
}

uint32_t group_map_capacity(size_t entries) {
    return static_cast<uint32_t>(kGroupGenerations * (entries + std::max<size_t>(64, entries / 2)));
}

MapSpec group_generation_map_spec() {
    MapSpec spec;
    spec.name = kGroupGenerationMapName;
    spec.type = BPF_MAP_TYPE_ARRAY;
    spec.key_size = 4;
    spec.value_size = 8;
    spec.max_entries = 2;  // [0] the generation packets use, [1] the program's layout fingerprint
    return spec;
}

void group_rule_runs(Plan& plan, size_t min_run, bool offload) {
    const size_t n = plan.steps.size();
    if (n < 2 || min_run < 2) return;
    // Steps reached other than by falling through from the step before cannot be inside a run.
    std::vector<uint32_t> incoming(n + 1, 0);
    for (size_t k = 0; k < n; ++k) {
        const Step& s = plan.steps[k];
        if (s.on_miss != k + 1 && s.on_miss < n) ++incoming[s.on_miss];
        if (s.on_match.kind == Action::Kind::Goto && s.on_match.target != k + 1 && s.on_match.target < n)
            ++incoming[s.on_match.target];
    }

    std::vector<Step> out;
    std::vector<uint32_t> new_index(n, 0);
    for (size_t i = 0; i < n;) {
        const Step& first = plan.steps[i];
        size_t best_end = i + 1;
        const Reading* best = nullptr;
        std::vector<size_t> best_keys;
        const std::vector<Reading> first_readings = groupable(first, i) ? readings(first) : std::vector<Reading>{};
        for (const Reading& r : first_readings) {
            if (offload && r.kind.kind == KeyKind::Kind::Prefix &&
                std::get<TestPrefix>(first.tests[r.key_test]).prefix_len != (r.kind.v6 ? 128 : 32))
                continue;
            std::vector<size_t> keys{r.key_test};
            size_t j = i + 1;
            for (; j < n; ++j) {
                const Step& s = plan.steps[j];
                if (incoming[j] || !groupable(s, j) || s.on_match.kind != first.on_match.kind) break;
                std::optional<size_t> key;
                for (const Reading& rj : readings(s)) {
                    if (!(rj.kind == r.kind) || !same_rest(first, r.key_test, s, rj.key_test)) continue;
                    if (offload && r.kind.kind == KeyKind::Kind::Prefix &&
                        std::get<TestPrefix>(s.tests[rj.key_test]).prefix_len != (r.kind.v6 ? 128 : 32))
                        continue;
                    key = rj.key_test;
                    break;
                }
                if (!key) break;
                keys.push_back(*key);
            }
            if (j > best_end) {
                best_end = j;
                best = &r;
                best_keys = std::move(keys);
            }
        }
        if (!best || best_end - i < min_run) {
            new_index[i] = static_cast<uint32_t>(out.size());
            out.push_back(std::move(plan.steps[i]));
            ++i;
            continue;
        }
        std::vector<const Test*> members;
        std::vector<uint32_t> slots;
        for (size_t k = i; k < best_end; ++k) {
            members.push_back(&plan.steps[k].tests[best_keys[k - i]]);
            slots.push_back(plan.steps[k].counter);
        }
        Step group;
        for (size_t t = 0; t < first.tests.size(); ++t)
            if (t != best->key_test) group.tests.push_back(first.tests[t]);
        group.tests.push_back(build_group(plan, best->kind, members, slots, offload));
        group.counter = kCounterFromLookup;
        group.on_match = first.on_match;
        group.on_miss = static_cast<uint32_t>(best_end);  // an old index, renumbered below
        group.origin = first.origin + " to " + plan.steps[best_end - 1].origin + " (map-backed group of " +
                       std::to_string(best_end - i) + " rules)";
        for (size_t k = i; k < best_end; ++k) new_index[k] = static_cast<uint32_t>(out.size());
        out.push_back(std::move(group));
        i = best_end;
    }
    if (out.size() == n) {
        plan.steps = std::move(out);
        return;
    }
    for (Step& s : out) {
        s.on_miss = new_index[s.on_miss];
        if (s.on_match.kind == Action::Kind::Goto) s.on_match.target = new_index[s.on_match.target];
    }
    plan.steps = std::move(out);
}

}  // namespace xfw
