// Map-backed rule groups: the planner's first scalable strategy. A run of consecutive steps
// that differ only in one exact-match key — the source (or destination) prefix, or one TCP/UDP
// port — and share every other test and the verdict becomes one step: the shared tests, then
// one lookup of the packet's key in a map whose value is the counter slot of the rule that
// matches first. The step counts that slot, so every rule keeps its own counters.
//
//   all prefixes full length   BPF HASH      key: address
//   mixed prefix lengths       BPF LPM_TRIE  key: u32 prefix length | address
//   one port per rule          BPF HASH      key: u32 port (protocol checked before)
//
// First match stays exact: in a hash a key repeated later in the run is shadowed (only the
// first rule's slot is stored). In an LPM trie the longest prefix wins, so a prefix contained
// in an earlier prefix of the run (which always matches first) is left out; then, for every
// address, the longest prefix left is also the earliest rule (see rule_groups.cpp).
#pragma once

#include "xdp/plan.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xfw {

// Shortest run worth a map lookup: a hash lookup costs what 16 to 32 compiled host rules cost
// (bench/bench_groups.cpp BM_RunLength; docs/scalable-classification.md).
inline constexpr size_t kDefaultMinGroupRun = 24;

// Group maps are versioned: every key starts with a generation (0 or 1; after the prefix
// length in an LPM trie, whose prefix length then counts its 32 bits), and the program reads the
// generation to use once per packet from the generation map (plan.hpp TestLookup::versioned).
inline constexpr uint32_t kGroupGenerations = 2;
inline constexpr const char* kGroupMapName = "xfw_group";
inline constexpr const char* kGroupGenerationMapName = "xfw_group_gen";
std::vector<uint8_t> key_with_generation(const std::vector<uint8_t>& key, bool lpm, uint32_t generation);
uint32_t key_generation(const std::vector<uint8_t>& key, bool lpm);
// max_entries of a group map holding `entries` rules per generation, with room to add more.
uint32_t group_map_capacity(size_t entries);
// ARRAY of 2 u64: [0] the generation, [1] the fingerprint of the program that reads it.
xdp::MapSpec group_generation_map_spec();

// Rewrites `plan` in place: groups runs of at least `min_run` steps. Steps jumped to from
// anywhere but the previous step start a new run. `offload`: hash maps only (no LPM tries).
void group_rule_runs(xdp::Plan& plan, size_t min_run, bool offload);

}  // namespace xfw
