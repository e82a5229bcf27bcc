// ipset's save/restore text, as `ipset save` writes it and `ipset restore` reads it:
//
//   create blocklist hash:ip family inet hashsize 1024 maxelem 65536
//   add blocklist 192.0.2.1
//
// `bucketsize N` and `initval 0x...` (hash tuning that real `ipset save` output carries) are
// accepted and ignored; options xfw cannot honour (timeout, counters, comment, netmask, ...)
// are refused with the line that holds them.
#pragma once

#include "control/set_types.hpp"
#include "xdp/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace xfw {

// The `create` line (no newline) and the whole save text of one set.
std::string format_set_create(const SetDefinition& set);
std::string format_set_save(const SetDefinition& set, const std::vector<SetElement>& elements);

// Parses the options after "create NAME TYPE" (also what `xfw set create` takes). Errors name
// the option.
Expected<SetDefinition> parse_set_create(const std::string& name, const std::string& type,
                                         const std::vector<std::string>& options);

// One command of a restore file, not yet checked against the existing sets.
struct SetRestoreCommand {
    enum class Kind : uint8_t { Create, Add, Del, Flush, Destroy };
    Kind kind = Kind::Add;
    size_t line = 0;
    std::string set;          // empty for Flush/Destroy of every set
    SetDefinition definition; // Create
    std::string element;      // Add/Del: the element text (parsed against the set later)
    bool exist = false;       // "-exist" on the line
};

// Splits restore text into commands; syntax errors name the line. Element syntax is checked
// when the set is known (see SetManager::restore).
Expected<std::vector<SetRestoreCommand>> parse_set_restore(std::string_view text);

}  // namespace xfw
