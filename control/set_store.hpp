// Sets on disk, under --state-dir, so that `xfw reload` after a reboot recreates every set's
// map with its elements:
//
//   sets.json             the definitions (name, type, family, hashsize, maxelem)
//   sets/NAME.elements    a snapshot: one element per line, as ipset prints it
//   sets/NAME.journal     changes since the snapshot: "+ELEMENT" / "-ELEMENT" lines, appended
//                         and synced per command, folded into the snapshot once it outgrows it
//
// Adding one element to a set of a million costs one appended line, not a rewrite.
#pragma once

#include "control/set_types.hpp"
#include "xdp/error.hpp"

#include <string>
#include <vector>

namespace xfw {

Expected<std::vector<SetDefinition>> load_set_definitions(const std::string& state_dir);
Status save_set_definitions(const std::string& state_dir, const std::vector<SetDefinition>& sets);

// The elements of `set`: the snapshot with the journal applied, sorted, without duplicates.
Expected<std::vector<SetElement>> load_set_elements(const std::string& state_dir, const SetDefinition& set);
// Replaces the snapshot with `elements` and empties the journal.
Status write_set_elements(const std::string& state_dir, const SetDefinition& set,
                          const std::vector<SetElement>& elements);
// Records added (`add` true) or deleted elements; folds the journal into the snapshot when it
// has grown larger than the snapshot.
Status journal_set_change(const std::string& state_dir, const SetDefinition& set, bool add,
                          const std::vector<SetElement>& elements);
// Removes the set's element files.
void remove_set_files(const std::string& state_dir, const std::string& name);

}  // namespace xfw
