// The control plane's durable state under --state-dir: the ruleset with each rule's stable id
// and counter slot, the attached interfaces, and the -Z baselines. Written atomically
// (temp file, fsync, rename), read at the start of every command, guarded by a lock file so
// concurrent xfw invocations are serialised.
#pragma once

#include "control/fd.hpp"
#include "control/ruleset.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace xfw {

enum class AttachMode : uint8_t { Native, Generic, Offload };
const char* to_string(AttachMode mode);
std::optional<AttachMode> parse_attach_mode(const std::string& text);

struct Attachment {
    std::string ifname;
    AttachMode mode = AttachMode::Native;
};

struct State {
    Ruleset ruleset = Ruleset::empty();
    std::map<uint64_t, uint32_t> slot_of_rule;   // rule id -> counter slot
    std::vector<uint32_t> free_slots;            // slots of deleted rules, zeroed before reuse
    uint32_t next_slot = 0;                      // first never-used slot
    uint64_t next_rule_id = 1;
    std::vector<Attachment> attachments;
    // What -Z subtracts from the raw counters, per slot (raw counters are never reset).
    std::map<uint32_t, xdp::CounterValue> zero_baseline;
};

// Exclusive lock on the state directory for the lifetime of the object.
class StateLock {
public:
    static Expected<StateLock> acquire(const std::string& state_dir);

private:
    explicit StateLock(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

// Reads the state; a missing file is an empty ruleset.
Expected<State> load_state(const std::string& state_dir);
Status save_state(const std::string& state_dir, const State& state);

// Gives every rule with id 0 a fresh id and counter slot; returns the slots that were newly
// allocated (their counters must be zeroed before a program uses them). Slots of rules that
// are gone are released to the free list for later transactions.
std::vector<uint32_t> assign_identities(State& state);

// Gives each new rule (id 0) of `next` the identity of an equal rule at the same place in
// `current` — same chain, same specification, each old rule used once — so that
// restoring a file that still contains a rule keeps its counters.
void carry_identities(const Ruleset& current, Ruleset& next);

}  // namespace xfw
