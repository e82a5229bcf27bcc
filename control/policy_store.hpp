// Copies of the WebAssembly modules that rules use, kept under <state-dir>/policies/ by content
// (SHA-256), so that a reload, a reboot or a restart runs exactly the module each rule was
// committed with, even after the operator's file changed or went away.
#pragma once

#include "control/ruleset.hpp"
#include "xdp/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw {

// Reads the module at `path`, keeps a copy in the store (written atomically) and returns its
// digest (64 hex digits).
Expected<std::string> store_policy_file(const std::string& state_dir, const std::string& path);

// The stored module with this digest; an error says the state directory lost it.
Expected<std::vector<uint8_t>> read_stored_policy(const std::string& state_dir, const std::string& digest);

// Gives every policy of `ruleset` without a digest (new or edited rules) the digest of its file,
// storing the file, and every policy its module bytes. Errors name the chain and rule.
Status store_new_policies(const std::string& state_dir, Ruleset& ruleset);

// For commands that read rules without committing them (replay, compile): every policy gets
// its file's bytes and digest; nothing is stored.
Status read_policy_files(Ruleset& ruleset);

// Gives every policy of a loaded state its stored module (by digest).
Status load_stored_policies(const std::string& state_dir, Ruleset& ruleset);

// Deletes stored modules no rule of `ruleset` refers to.
void prune_policy_store(const std::string& state_dir, const Ruleset& ruleset);

// Hex SHA-256 of `bytes`.
std::string sha256_hex(const std::vector<uint8_t>& bytes);

}  // namespace xfw
