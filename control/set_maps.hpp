// The kernel side of sets and lookup maps: creating, filling, pinning and opening the BPF maps
// that hold set elements and rule groups.
#pragma once

#include "control/fd.hpp"
#include "control/set_types.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <string>
#include <vector>

namespace xfw {

// A program's map: the existing one `spec` names (pin or fd; its type and sizes checked), or a
// new one filled with `spec.entries`.
Expected<Fd> open_or_create_map(const xdp::MapSpec& spec);

// Puts key/value pairs in a map: batched where the map type allows it (hash maps), one by one
// otherwise (LPM tries). Errors name the first entry the kernel refused.
Status put_map_entries(int map_fd, const xdp::MapSpec& spec,
                       const std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>& entries);

// <bpffs>/sets and <bpffs>/sets/NAME.
std::string set_pin_dir(const std::string& bpffs);
std::string set_pin(const std::string& bpffs, const std::string& name);

// A new map for `set` holding `elements` (not pinned). An element beyond maxelem is refused.
Expected<Fd> create_set_map(const SetDefinition& set, const std::vector<SetElement>& elements);

// The pinned map of `set`, checked to have the set's layout; an invalid Fd when not pinned.
Expected<Fd> open_set_map(const std::string& bpffs, const SetDefinition& set);

// Pins `map` as the set's map, replacing any previous pin in one step.
Status pin_set_map(const std::string& bpffs, const std::string& name, int map_fd);

// Element operations on a set's map, visible to the next packet.
Status set_map_add(int map_fd, const SetDefinition& set, const SetElement& element);
Status set_map_delete(int map_fd, const SetDefinition& set, const SetElement& element);
// `exact`: the element itself; otherwise, for hash:net types, any prefix containing it (what a
// packet from that address would find).
Expected<bool> set_map_contains(int map_fd, const SetDefinition& set, const SetElement& element, bool exact);
// The value stored with an element: its prefix length (so an exact lookup can be told from a
// containing prefix in an LPM trie).
std::vector<uint8_t> set_map_value(const SetElement& element);

}  // namespace xfw
