// The control plane library: one object per xfw invocation that holds the state lock, the
// persisted ruleset and the pinned data-plane objects, and turns ruleset changes into a new
// program swapped atomically into every attached interface. The CLI is a thin layer on this.
#pragma once

#include "control/fd.hpp"
#include "control/state_store.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xfw {

struct Paths {
    std::string bpffs = "/sys/fs/bpf/xfw";
    std::string state_dir = "/var/lib/xfw";
};

struct RuleCounters {
    xdp::CounterValue shown;  // since the last -Z
    xdp::CounterValue raw;    // since the rule was created (never reset)
};

struct AttachmentStatus {
    Attachment attachment;
    bool live = false;        // the pinned link still exists and the interface is there
    uint32_t ifindex = 0;
    uint32_t prog_id = 0;
    std::string problem;      // why it is not live
};

struct PreparedOffload;  // control/offload_deploy.hpp

class Firewall {
public:
    // Takes the state lock (waits for other xfw invocations) and reads the state. With
    // RuleForm::Text the rules stay unparsed (State::stored_rules): counters can be read and
    // retired rules saved, but commit, reload, attach and -Z refuse.
    static Expected<Firewall> open(const Paths& paths, RuleForm rules = RuleForm::Parsed);

    const State& state() const { return state_; }
    const Paths& paths() const { return paths_; }

    // Makes `next` the ruleset: compiles and verifies it first (nothing changes if that fails),
    // keeps the ids and counters of rules it still contains, then swaps the program into every
    // attached interface.
    Status commit(Ruleset next);

    // Recompiles the stored ruleset and re-attaches every interface (after a reboot, or when
    // interfaces named by -i appeared).
    Status reload();

    Status attach(const std::string& ifname, AttachMode mode);
    Status detach(const std::string& ifname);
    std::vector<AttachmentStatus> attachment_status() const;

    // Counters per rule id, and the fixed slots (policy, errors, non-IP).
    Expected<RuleCounters> rule_counters(const Rule& rule) const;
    RuleCounters slot_counters(uint32_t slot) const;
    Status refresh_counters();
    // Generation of the counter map the last refresh_counters() read ("" when there is none).
    const std::string& live_generation() const { return live_generation_; }
    // Saves the retired rules' counts as the last refresh_counters() read them, dropping those
    // that no longer own a slot (their counts are final) and that `forget` says are billed.
    Status save_retired(const std::function<bool(const RetiredRule&)>& forget);
    // -Z: what is shown starts again from zero; the raw counts are kept.
    Status zero(const std::optional<std::string>& chain);

private:
    Firewall(Paths paths, StateLock lock, State state)
        : paths_(std::move(paths)), lock_(std::move(lock)), state_(std::move(state)) {}

    Status ensure_bpffs() const;
    Status need_parsed_rules() const;
    Expected<Fd> open_counter_map(bool create);
    // The pinned counter map (created, not yet pinned, on first use) and `state` compiled and
    // verified against it.
    struct PreparedProgram {
        Fd counters;
        bool map_is_new = false;
        Fd program;
        std::vector<Fd> group_maps;              // pinned with the program (group_maps.hpp)
        std::vector<PreparedOffload> offloaded;  // one per existing offloaded interface
    };
    Expected<PreparedProgram> prepare(const State& state);
    Status pin_new_counter_map(const PreparedProgram& prepared);
    // Offload attachments run their interface's program from `offloaded`, the others `host_prog_fd`.
    Status swap_links(int host_prog_fd, const std::vector<Attachment>& attachments,
                      const std::vector<PreparedOffload>& offloaded);
    // Pins the program and its group maps once every interface runs it.
    Status pin_program(const PreparedProgram& prepared);
    // A change of `candidate` (identities assigned) that only alters what the running
    // program's rule groups hold, made in their maps: false when it cannot be made live
    // (nothing changed; the caller loads a new program).
    Expected<bool> commit_live(State& candidate, std::vector<RetiredRule>& gone, const std::vector<uint32_t>& fresh);
    Expected<std::vector<xdp::CounterValue>> read_map(int map_fd, const State& state) const;
    bool bases_apply() const;

    Paths paths_;
    StateLock lock_;
    State state_;
    std::vector<xdp::CounterValue> raw_;  // last read of the counter map
    std::string live_generation_;         // ... and that map's generation
    bool retired_refreshed_ = false;      // state_.retired changed since it was saved
};

}  // namespace xfw
