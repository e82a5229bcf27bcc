// The keys a classification tree (Plan::trees) branches on, and what each plan test says about
// them. A packet's key vector is computed once when it enters a tree; every key is a u32 so a
// tree node is one load and one 32-bit compare. A test is described by boxes: the union of the
// boxes contains every packet the test passes (the planner uses this to place rules in the
// tree); when the boxes are `exact`, a packet inside one of them always passes the test (the
// code generator then leaves the test out of a leaf whose region lies inside a box).
#pragma once

#include "xdp/plan.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace xfw::xdp {

enum class TreeKey : uint8_t {
    Family,           // meta::kL3: 0 none, 1 IPv4, 2 IPv6
    Protocol,         // upper-layer protocol; kProtocolUnknown and above when not known
    SourcePort,       // host order; kPortAbsent and above without a full TCP/UDP/ICMP header
    DestinationPort,
    Source0,          // source address word 0..3, host order (IPv4: word 0 only, the rest 0)
    Source1,
    Source2,
    Source3,
    Destination0,
    Destination1,
    Destination2,
    Destination3,
};
inline constexpr size_t kTreeKeyCount = 12;
// The prologue of a tree computes these keys without a branch (a branch would give the
// verifier two states to carry through the whole tree): protocol | !known << 8 and
// port | !l4_ok << 16.
inline constexpr uint32_t kProtocolUnknown = 256;
inline constexpr uint32_t kPortAbsent = 65536;

const char* tree_key_name(TreeKey key);

struct KeyRange {
    uint32_t lo = 0, hi = 0;  // inclusive
    bool operator==(const KeyRange&) const = default;
};

// A box in key space: one inclusive range per key.
struct KeyBox {
    std::array<KeyRange, kTreeKeyCount> range;
    KeyRange& operator[](TreeKey k) { return range[static_cast<size_t>(k)]; }
    const KeyRange& operator[](TreeKey k) const { return range[static_cast<size_t>(k)]; }
    bool operator==(const KeyBox&) const = default;
};

// Every key value a packet can have.
KeyBox universe_box();
// The largest value of `key` (its range in universe_box()).
uint32_t key_max(TreeKey key);

bool intersects(const KeyBox& a, const KeyBox& b);
KeyBox intersection(const KeyBox& a, const KeyBox& b);
bool contains(const KeyBox& outer, const KeyBox& inner);

struct TestBoxes {
    std::vector<KeyBox> boxes;  // union; empty: the test never passes
    bool exact = false;         // a packet in any box passes
};

TestBoxes boxes_of(const Test& test);

// The boxes of a conjunction of tests (a step); at most `max_boxes`, beyond which the union is
// widened to its hull (still containing every packet that passes).
std::vector<KeyBox> boxes_of_step(const std::vector<Test>& tests, size_t max_boxes = 16);

// True when every packet in `region` passes `test` (so code for it can be left out there).
bool implied_by(const Test& test, const KeyBox& region);

}  // namespace xfw::xdp
