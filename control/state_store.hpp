// The control plane's durable state under --state-dir: the ruleset with each rule's stable id
// and counter slot, the attached interfaces, and the -Z baselines. Written atomically
// (temp file, fsync, rename), read at the start of every command, guarded by a lock file so
// concurrent xfw invocations are serialised.
#pragma once

#include "control/counter_export.hpp"
#include "control/fd.hpp"
#include "control/ruleset.hpp"
#include "control/set_types.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <map>
#include <optional>
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

// A counter of a rule that was removed (-D, -R, -F, -X, restore without it): the rule's own
// counter, or a trap counter or bucket of its Wasm policies. Its final counts are kept until
// `xfw billing snapshot` has billed them. While `slot` is set the counter slot is not yet
// reused and `final` is refreshed from it (packets still in flight in the replaced program
// when it was swapped out); reusing the slot fixes `final` for good.
struct RetiredRule {
    uint64_t id = 0;                    // the rule's identity
    // The counter's billing identity (billing_counters.hpp); "" is the rule's own counter
    // ("rule:<id>"), as in state written before policy counters were retired.
    std::string counter;
    std::string account;
    std::string chain;
    std::string spec;
    int64_t retired_at = 0;             // unix seconds
    std::optional<uint32_t> slot;
    std::string generation;             // counter map generation `final` was read in
    xdp::CounterValue final;            // counts since the rule was created
};

// Counter slots of one policy of a rule (Rule::policies() order): its trap counter and its
// buckets (consecutive). Taken from never-used slots only, so no policy ever inherits counts;
// released with their rule (drop_stale_policy_slots).
struct PolicySlots {
    uint32_t trap = 0;
    uint32_t bucket_base = 0;
    uint32_t bucket_count = 0;
    std::vector<std::string> bucket_names;

    // Bucket b's name (names come from the module, or b0..bN-1 from --buckets).
    std::string bucket_name(uint32_t b) const {
        return b < bucket_names.size() ? bucket_names[b] : "b" + std::to_string(b);
    }
    bool operator==(const PolicySlots&) const = default;
};

// A rule as state.json stores it, unparsed: what commands that only read counters need.
struct StoredRule {
    uint64_t id = 0;
    std::string spec;                  // iptables-save text after "-A CHAIN "
    std::string account;               // rule_account() of the parsed rule
    std::vector<std::string> digests;  // its policies' modules, in Rule::policies() order
};

struct State {
    Ruleset ruleset = Ruleset::empty();
    // Loaded with RuleForm::Text: the rules of ruleset.chains[i] are (*stored_rules)[i] and the
    // chains themselves hold none. Such a state can be read and saved back unchanged, but not
    // compiled or edited.
    std::optional<std::vector<std::vector<StoredRule>>> stored_rules;
    std::map<uint64_t, std::vector<PolicySlots>> policy_slots;  // rule id -> per policy
    std::map<uint64_t, uint32_t> slot_of_rule;   // rule id -> counter slot
    std::vector<uint32_t> free_slots;            // slots of deleted rules, reused by later transactions
    // Raw value of a reused slot when its current rule got it: the rule's counts are the raw
    // value minus this (see Firewall::commit for why slots are not zeroed instead).
    std::map<uint32_t, xdp::CounterValue> slot_base;
    std::vector<RetiredRule> retired;
    // The counter map the bases, -Z baselines and retired slots refer to (see
    // counter_map_generation); "" in state written before generations were recorded.
    std::string counter_generation;
    uint32_t next_slot = 0;                      // first never-used slot
    uint64_t next_rule_id = 1;
    std::vector<Attachment> attachments;
    // What -Z subtracts from the raw counters, per slot (raw counters are never reset).
    std::map<uint32_t, xdp::CounterValue> zero_baseline;
    // Sets rules may reference (-m set) and where their maps are. Not in state.json: the set
    // store keeps them (control/set_store.hpp) and Firewall::open fills this in.
    SetBindings sets;
};

// Exclusive lock on the state directory for the lifetime of the object.
class StateLock {
public:
    static Expected<StateLock> acquire(const std::string& state_dir);

private:
    explicit StateLock(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
};

// How load_state gives the rules: parsed (everything that compiles or edits them), or as the
// stored text (counters and billing: parsing 10 000 rules costs more than all else they do).
enum class RuleForm : uint8_t { Parsed, Text };

// Reads the state; a missing file is an empty ruleset.
Expected<State> load_state(const std::string& state_dir, RuleForm form = RuleForm::Parsed);
Status save_state(const std::string& state_dir, const State& state);

// Every rule in listing order (built-in chains first, then user chains by name) with its chain,
// position, id, specification and account, from either form of the state; counts are zero.
std::vector<CounterRow> listed_rules(const State& state);

// Gives every rule with id 0 a fresh id and counter slot; returns the slots that were newly
// allocated (a reused one still holds its previous rule's counts: see hand_over_slots). Slots
// of rules that are gone are released to the free list for later transactions.
std::vector<uint32_t> assign_identities(State& state);

// Gives policy `index` of rule `rule_id` its slots for `bucket_names.size()` buckets: kept when
// it already has slots for that many buckets, else fresh ones from the never-used range.
const PolicySlots& assign_policy_slots(State& state, uint64_t rule_id, size_t index,
                                       std::vector<std::string> bucket_names);
// Forgets the policy slots of rules that are gone and releases them to the free list, like the
// slots of deleted rules: a later transaction may give them to a new rule, which then counts
// from the slot's base (billing_retire.hpp: hand_over_slots). Never to another policy: policies
// take fresh consecutive slots.
void drop_stale_policy_slots(State& state);

// Gives each new rule (id 0) of `next` the identity of an equal rule at the same place in
// `current` — same chain, same specification, each old rule used once — so that
// restoring a file that still contains a rule keeps its counters.
void carry_identities(const Ruleset& current, Ruleset& next);

}  // namespace xfw
