// Bookkeeping that keeps every counted packet billable when rules go away and counter slots
// change hands: removed rules become RetiredRule records with their final counts, a reused slot
// starts its new rule from the slot's raw value at hand-over, and a new counter map (reboot,
// pins removed) is recognised by its generation. Pure functions over State and one read of the
// counter map; Firewall calls them inside its transactions, under the state lock.
#pragma once

#include "control/state_store.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw {

// Identifies one counter map instance: "<boot id>/<kernel map id>". Map ids are unique while
// the kernel runs but start again after a reboot; the boot id tells boots apart. Two reads of
// the same pinned map give the same generation; a recreated map never does.
Expected<std::string> counter_map_generation(int map_fd);

// Counts of `slot` since its current owner got it: the raw value minus the slot's base. A raw
// value below the base cannot come from counting (counters only grow); it means the map was
// written from outside, and the raw value is all that can be vouched for.
xdp::CounterValue slot_value(const State& state, const std::vector<xdp::CounterValue>& raw, uint32_t slot);

// Makes `generation` the map the state's slot bases, -Z baselines and retired slots refer to.
// When it differs from the recorded one (a map created afresh) those start over: bases and
// baselines are dropped, retired rules keep the final counts they had and give up their slot.
// An empty recorded generation (state from before generations) is simply adopted.
// Returns true when the state changed.
bool adopt_counter_generation(State& state, const std::string& generation);

// The counters of the rules of `before` that `after` no longer contains (by identity): each
// rule's own and its policies' trap counters and buckets, as retired records without counts
// yet (`retire_rules` fills them in).
std::vector<RetiredRule> removed_rules(const State& before, const Ruleset& after, int64_t now);

// A rule of `next` that kept its identity from `current` (a restore of the same rule text) but
// whose policy module now declares other buckets (the file changed) gets identity 0: it
// becomes a new rule and the old one is retired with all its counters. Keeping the identity
// would hand bucket slots and names to counters that did not count into them. Policies must
// have their modules loaded; one that does not compile is left for the commit to refuse.
void renew_rules_with_new_buckets(const State& current, Ruleset& next);

// Adds `gone` to the state's retired rules, each still owning its slot, with the counts the
// slot holds now (read in `generation`).
void retire_rules(State& state, std::vector<RetiredRule> gone, const std::vector<xdp::CounterValue>& raw,
                  const std::string& generation);

// Raises the final counts of retired rules that still own a slot to what the slot holds now
// (packets the replaced program counted while it was being swapped out). Returns true when
// a count changed.
bool refresh_retired(State& state, const std::vector<xdp::CounterValue>& raw, const std::string& generation);

// Gives each slot in `fresh` to its new rule: the retired rule that owned it gets its final
// counts for good, and the new rule's base is the slot's raw value now.
void hand_over_slots(State& state, const std::vector<uint32_t>& fresh, const std::vector<xdp::CounterValue>& raw,
                     const std::string& generation);

}  // namespace xfw
