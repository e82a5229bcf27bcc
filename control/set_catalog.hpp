// The operations behind `xfw set ...`: sets defined, stored and held in pinned BPF maps, kept in
// step. An element change updates the pinned map in place — the program that uses it sees the
// change at its next packet, without a reload — and is journaled under the state directory.
// Every operation checks everything first: bad input changes nothing.
//
// The caller holds the state lock (an open Firewall) for the whole operation.
#pragma once

#include "control/fd.hpp"
#include "control/firewall.hpp"
#include "control/set_save_format.hpp"
#include "control/set_types.hpp"
#include "xdp/error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace xfw {

// The stored definitions as bindings to their pins (what State::sets holds).
Expected<SetBindings> load_set_bindings(const Paths& paths);

// Creates the pinned map of every set that has none (after a reboot emptied the bpffs) from its
// stored elements. Returns the names of the sets whose maps were made afresh.
Expected<std::vector<std::string>> ensure_set_maps(const Paths& paths, const SetBindings& sets);

// Rules (as "CHAIN rule N") that name set `name`.
std::vector<std::string> rules_using_set(const Ruleset& ruleset, const std::string& name);

class SetCatalog {
public:
    // `ruleset` is the committed ruleset (for references); the state lock must be held.
    static Expected<SetCatalog> open(const Paths& paths, const Ruleset& ruleset);

    const std::vector<SetDefinition>& definitions() const { return definitions_; }
    const SetDefinition* find(const std::string& name) const;

    // `exist`: creating a set that exists with the same definition is not an error (ipset -exist).
    Status create(const SetDefinition& definition, bool exist);
    // Refused while a rule uses the set (as ipset refuses to destroy a set in use). No name:
    // every set.
    Status destroy(const std::optional<std::string>& name);
    Status flush(const std::optional<std::string>& name);
    // `exist`: adding an element already present (deleting one absent) is not an error.
    Status add(const std::string& name, const std::string& element, bool exist);
    Status del(const std::string& name, const std::string& element, bool exist);
    // In the set? For hash:net types an address without "/len" is looked up as a packet would
    // be (any prefix containing it); with "/len" the exact prefix is looked for.
    Expected<bool> test(const std::string& name, const std::string& element);

    Expected<std::vector<SetElement>> elements(const SetDefinition& set) const;
    // `ipset list` text for one set (`terse`: header only).
    Expected<std::string> list(const SetDefinition& set, bool terse) const;
    Expected<std::string> save(const std::optional<std::string>& name) const;
    // Applies a whole restore file, or nothing when any line is bad.
    Status restore(std::string_view text, bool exist);

    // Sets whose map this catalog had to create afresh (a rule using them needs a reload).
    const std::vector<std::string>& recreated() const { return recreated_; }

private:
    SetCatalog(Paths paths, const Ruleset& ruleset) : paths_(std::move(paths)), ruleset_(&ruleset) {}

    Expected<const SetDefinition*> existing(const std::string& name) const;
    // The set's pinned map, created from the stored elements when it is missing.
    Expected<Fd> map_of(const SetDefinition& set);
    Status destroy_one(const SetDefinition& set);
    Status flush_one(const SetDefinition& set);
    Status check_bpffs() const;

    Paths paths_;
    const Ruleset* ruleset_;
    std::vector<SetDefinition> definitions_;
    std::vector<std::string> recreated_;
};

}  // namespace xfw
