// Live changes of map-backed rule groups: a ruleset change that only moves rules into, out of or
// within groups rewrites the running program's group maps instead of loading a new program.
//
// Every group key carries a generation (0 or 1, control/rule_groups.hpp) and the program reads
// the generation once per packet from the generation map, before the first rule. Both
// generations hold the same entries between changes. A change
//   1. rewrites the generation no packet uses (deletes, then inserts and value changes),
//   2. switches the generation with one 8-byte array update: every packet that starts after
//      it uses the new entries of every group, every packet before it the old ones,
//   3. waits for an RCU grace period (every XDP run that could hold the old generation has
//      ended), then rewrites the old generation the same way.
// A packet is thus judged by the old ruleset or the new one, never by a mix, however many
// groups and entries one transaction changes.
//
// Why not an array of maps with a fresh inner map per change (RCU freeing the old one): filling
// a fresh copy costs the whole group (10 000 entries for a 10 000-rule blocklist) where this
// costs the changed entries, and a change to several groups still needs a generation read
// once per packet.
//
// The generation map's entry 1 holds the fingerprint of the program layout the maps belong to
// (everything but the groups' contents and sizes); 0 while a change is half applied, so that a
// change interrupted by a crash is never continued from maps in an unknown state: the next
// change then loads a new program with fresh maps.
#pragma once

#include "control/fd.hpp"
#include "xdp/codegen.hpp"
#include "xdp/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xfw {

// Indexes in GeneratedProgram::maps of the generation map and of each created group map, in
// plan order (none when the program has no group).
struct GroupMapIndexes {
    std::optional<size_t> generation;
    std::vector<size_t> groups;
};
GroupMapIndexes group_map_indexes(const xdp::GeneratedProgram& generated);

// A hash of the program's instructions, map relocations and map layouts, leaving out what a
// live change may alter: the entries and max_entries of group maps, and the generation map's
// entries. Two programs with the same fingerprint differ only in what their groups hold.
uint64_t group_layout_fingerprint(const xdp::GeneratedProgram& generated);

// Puts the fingerprint in the generation map's initial entries (entry 1), when there is one.
void stamp_group_fingerprint(xdp::GeneratedProgram& generated);

// <bpffs>/groups: "generation" and one pin per group map ("0", "1", ...).
std::string group_pin_dir(const std::string& bpffs);
// Pins a program's group maps (`maps[0]` the generation map, then the groups in plan order),
// replacing the previous program's pins; with no maps, removes them.
Status pin_group_maps(const std::string& bpffs, const std::vector<Fd>& maps);

// One transaction's change to the pinned group maps of the running program.
class LiveGroupChange {
public:
    // The change from `running` (the generated program the pinned maps were filled for) to
    // `next`, when it can be made live: both have groups and the same fingerprint, the pinned
    // maps belong to `running_prog_fd`, are marked consistent with that fingerprint, and have
    // room for the new entries. Otherwise nullopt: the caller loads a new program.
    static std::optional<LiveGroupChange> prepare(const std::string& bpffs, int running_prog_fd,
                                                  const xdp::GeneratedProgram& running,
                                                  const xdp::GeneratedProgram& next);

    // Step 1: rewrites the generation packets do not use (and marks the maps as being changed).
    Status write_next();
    // Step 2: every packet from now on uses the new entries.
    Status switch_generation();
    // Step 3: waits out the packets that may still use the old generation, rewrites it, and
    // marks the maps consistent again.
    Status catch_up();

    // Map entries the change writes or deletes per generation.
    size_t changed_entries() const { return ops_[0].size(); }

    struct Op {
        size_t group = 0;
        std::vector<uint8_t> key;    // with the generation word
        std::vector<uint8_t> value;  // empty: delete
    };

private:
    LiveGroupChange() = default;
    Status apply(uint32_t generation);

    Fd generation_map_;
    std::vector<Fd> groups_;
    std::vector<bool> lpm_;
    uint64_t fingerprint_ = 0;
    uint32_t active_ = 0;
    std::vector<Op> ops_[2];  // per generation
};

// Returns once every BPF program run that started before the call has ended (an RCU grace
// period: the kernel waits for one on every update of a map-in-map, which is how its own
// selftests trigger synchronize_rcu()).
Status wait_for_running_programs();

}  // namespace xfw
