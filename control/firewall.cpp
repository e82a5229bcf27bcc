// Orchestration of a ruleset change: identities, compile, verify, counters, state, swap.
#include "control/firewall.hpp"

#include "control/billing_retire.hpp"
#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/group_maps.hpp"
#include "control/loader.hpp"
#include "control/offload_deploy.hpp"
#include "control/planner.hpp"
#include "control/policy_compile.hpp"
#include "control/policy_store.hpp"
#include "control/set_catalog.hpp"
#include "xdp/codegen.hpp"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace xfw {

namespace fs = std::filesystem;

namespace {

constexpr xdp::CounterMode kHostCounters = xdp::CounterMode::PerCpu;

std::string counter_pin(const Paths& p) { return p.bpffs + "/counters"; }
std::string program_pin(const Paths& p) { return p.bpffs + "/prog"; }
std::string link_dir(const Paths& p) { return p.bpffs + "/links"; }
std::string link_pin(const Paths& p, const std::string& ifname) { return link_dir(p) + "/" + ifname; }

bool is_bpffs(const std::string& path) {
    struct statfs st {};
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

uint32_t xdp_flags(AttachMode mode) {
    switch (mode) {
        case AttachMode::Native: return XDP_FLAGS_DRV_MODE;
        case AttachMode::Generic: return XDP_FLAGS_SKB_MODE;
        case AttachMode::Offload: return XDP_FLAGS_HW_MODE;
    }
    return 0;
}

Expected<Fd> open_pin(const std::string& path) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return runtime_error("cannot open pinned object " + path + ": " + errno_text(errno));
    return Fd(fd);
}

// Pins `fd` at `path`, replacing what is there in one step (pin beside it, then rename).
Status pin_replace(int fd, const std::string& path) {
    const std::string tmp = path + "_new";  // bpffs reserves names with dots
    ::unlink(tmp.c_str());
    if (bpf_obj_pin(fd, tmp.c_str()) != 0)
        return runtime_error("cannot pin " + tmp + ": " + errno_text(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return runtime_error("cannot replace " + path + ": " + std::strerror(err));
    }
    return {};
}

// Attaches `prog_fd` to `ifname` with a new bpf_link, with errors that say what to do.
Expected<Fd> create_link(int prog_fd, const std::string& ifname, uint32_t ifindex, AttachMode mode) {
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = xdp_flags(mode));
    int fd = bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &opts);
    if (fd >= 0) return Fd(fd);
    const int err = errno;
    if (err == EBUSY || err == EEXIST)
        return bad_input(ifname + " already has an XDP program that is not xfw's; remove it first with "
                         "`ip link set dev " + ifname + " xdp off` (`xdpgeneric off` for a generic-mode "
                         "program) or `xdp-loader unload " + ifname + " --all`");
    if (err == EOPNOTSUPP || err == EINVAL)
        return bad_input(ifname + ": the driver cannot run XDP in " + to_string(mode) + " mode (" +
                         errno_text(err) + "); try --mode generic");
    return runtime_error("cannot attach to " + ifname + ": " + errno_text(err));
}

}  // namespace

Expected<Firewall> Firewall::open(const Paths& paths, RuleForm rules) {
    auto lock = StateLock::acquire(paths.state_dir);
    if (!lock) return lock.error();
    auto state = load_state(paths.state_dir, rules);
    if (!state) return state.error();
    XFW_TRY(load_stored_policies(paths.state_dir, state->ruleset));
    auto sets = load_set_bindings(paths);
    if (!sets) return sets.error();
    state->sets = std::move(sets).value();
    Firewall fw(paths, std::move(lock).value(), std::move(state).value());
    return fw;
}

Status Firewall::need_parsed_rules() const {
    if (state_.stored_rules) return runtime_error("internal: the rules were read as text; this needs them parsed");
    return {};
}

Status Firewall::ensure_bpffs() const {
    if (is_bpffs(paths_.bpffs)) return {};
    const std::string parent = fs::path(paths_.bpffs).parent_path().string();
    if (!is_bpffs(parent))
        return runtime_error("no BPF filesystem at " + parent + ": mount one with `mount -t bpf bpf " +
                             parent + "`, or pass --bpffs DIR with DIR inside a mounted bpffs");
    if (::mkdir(paths_.bpffs.c_str(), 0700) != 0 && errno != EEXIST)
        return runtime_error("cannot create " + paths_.bpffs + ": " + std::strerror(errno));
    return {};
}

Expected<Fd> Firewall::open_counter_map(bool create) {
    const std::string pin = counter_pin(paths_);
    int fd = bpf_obj_get(pin.c_str());
    if (fd >= 0) {
        Fd map(fd);
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(map.get(), &info, &len) != 0 || info.type != BPF_MAP_TYPE_PERCPU_ARRAY ||
            info.value_size != sizeof(xdp::CounterValue))
            return runtime_error(pin + " is not an xfw counter map; remove it or use another --bpffs");
        return map;
    }
    if (!create) return Fd();
    return create_map(xdp::counter_map_spec(kCounterMapSlots, kHostCounters));
}

Expected<Firewall::PreparedProgram> Firewall::prepare(const State& state) {
    XFW_TRY(ensure_bpffs());
    // Set maps the bpffs lost (a reboot) come back from the stored elements before the program
    // that opens them is built.
    if (auto made = ensure_set_maps(paths_, state.sets); !made) return made.error();
    PreparedProgram out;
    out.map_is_new = !fs::exists(counter_pin(paths_));
    auto map = open_counter_map(true);
    if (!map) return map.error();
    auto compiled = compile_ruleset(state, map->get(), kCounterMapSlots, kHostCounters, "xfw");
    if (!compiled) return compiled.error();
    out.counters = std::move(map).value();
    out.program = std::move(compiled->program);
    out.group_maps = std::move(compiled->group_maps);
    // Offloaded interfaces run their own device-bound program with a device counter map.
    auto offloaded = prepare_offload(paths_, state);
    if (!offloaded) return offloaded.error();
    out.offloaded = std::move(offloaded).value();
    return out;
}

Status Firewall::pin_new_counter_map(const PreparedProgram& prepared) {
    XFW_TRY(pin_offload_counters(paths_, prepared.offloaded));
    if (!prepared.map_is_new) return {};
    return pin_replace(prepared.counters.get(), counter_pin(paths_));
}

Status Firewall::swap_links(int host_prog_fd, const std::vector<Attachment>& attachments,
                            const std::vector<PreparedOffload>& offloaded) {
    std::vector<std::pair<Fd, std::string>> updated;  // links switched to the new program, and the old one's pin
    std::vector<std::string> created;                 // links made afresh (their pins)
    auto undo = [&] {
        for (auto& [l, old_pin] : updated)
            if (auto old = open_pin(old_pin)) bpf_link_update(l.get(), old->get(), nullptr);
        for (const std::string& pin : created) {
            if (auto l = open_pin(pin)) bpf_link_detach(l->get());
            ::unlink(pin.c_str());
        }
    };
    for (const Attachment& a : attachments) {
        // An offloaded attachment runs its interface's device-bound program.
        const bool hw = a.mode == AttachMode::Offload;
        int new_prog_fd = host_prog_fd;
        if (hw) {
            auto it = std::find_if(offloaded.begin(), offloaded.end(),
                                   [&](const PreparedOffload& p) { return p.ifname == a.ifname; });
            new_prog_fd = it == offloaded.end() ? -1 : it->program.get();
        }
        const std::string pin = hw ? offload_link_pin(paths_, a.ifname) : link_pin(paths_, a.ifname);
        if (int fd = bpf_obj_get(pin.c_str()); fd >= 0) {
            Fd link(fd);
            if (new_prog_fd >= 0 && bpf_link_update(link.get(), new_prog_fd, nullptr) == 0) {
                updated.emplace_back(std::move(link), hw ? offload_program_pin(paths_, a.ifname) : program_pin(paths_));
                continue;
            }
            if (errno != ENOLINK) {
                Status failed = runtime_error("cannot update the XDP program on " + a.ifname + ": " + errno_text(errno));
                undo();
                return failed;
            }
            // Defunct: the interface went away (and may be back under a new ifindex).
            ::unlink(pin.c_str());
        }
        // No link: the bpffs was emptied (a reboot) or the link was defunct. Attach afresh.
        const uint32_t ifindex = if_nametoindex(a.ifname.c_str());
        if (ifindex == 0 || new_prog_fd < 0) {
            std::fprintf(stderr, "xfw: warning: %s does not exist; it stays configured and is attached again "
                                 "by the next change or `xfw reload` once it exists\n", a.ifname.c_str());
            continue;
        }
        auto link = create_link(new_prog_fd, a.ifname, ifindex, a.mode);
        Status result = link ? Status() : Status(link.error());
        if (link) {
            std::error_code ec;
            fs::create_directories(fs::path(pin).parent_path(), ec);
            result = pin_replace(link->get(), pin);
            if (result.ok()) {
                created.push_back(pin);
                continue;
            }
            bpf_link_detach(link->get());
        }
        undo();
        return result;
    }
    return {};
}

Status Firewall::pin_program(const PreparedProgram& prepared) {
    XFW_TRY(pin_offload_programs(paths_, prepared.offloaded));
    XFW_TRY(pin_group_maps(paths_.bpffs, prepared.group_maps));
    return pin_replace(prepared.program.get(), program_pin(paths_));
}

Expected<bool> Firewall::commit_live(State& candidate, std::vector<RetiredRule>& gone,
                                     const std::vector<uint32_t>& fresh) {
    // Offloaded programs count a constant slot per rule: any rule change is a new program there.
    if (std::any_of(candidate.attachments.begin(), candidate.attachments.end(),
                    [](const Attachment& a) { return a.mode == AttachMode::Offload; }))
        return false;
    if (!is_bpffs(paths_.bpffs)) return false;
    auto running_prog = open_pin(program_pin(paths_));
    if (!running_prog) return false;
    bpf_prog_info prog_info{};
    uint32_t info_len = sizeof(prog_info);
    if (bpf_obj_get_info_by_fd(running_prog->get(), &prog_info, &info_len) != 0) return false;
    // Every attached interface must run the pinned program (a crash between a link swap and
    // the pins, or a lost link, needs the full path that attaches afresh).
    for (const Attachment& a : candidate.attachments) {
        auto link = open_pin(link_pin(paths_, a.ifname));
        if (!link) return false;
        bpf_link_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(link->get(), &info, &len) != 0 || info.prog_id != prog_info.id ||
            info.xdp.ifindex == 0)
            return false;
    }
    auto counters = open_counter_map(false);
    if (!counters || !counters->valid()) return false;
    auto running = generate_for_host(state_, kCounterMapSlots, kHostCounters);
    auto next = generate_for_host(candidate, kCounterMapSlots, kHostCounters);
    if (!running || !next) return false;
    auto change = LiveGroupChange::prepare(paths_.bpffs, running_prog->get(), *running, *next);
    if (!change) return false;
    // Invisible to packets; a failure here leaves the maps marked as being changed, and the
    // full path below gives the program fresh ones.
    if (!change->write_next().ok()) return false;

    auto generation = counter_map_generation(counters->get());
    if (!generation) return generation.error();
    adopt_counter_generation(candidate, *generation);
    auto raw = read_map(counters->get(), candidate);
    if (!raw) return raw.error();
    // The same counter hand-over as a new program (see commit): removed rules keep their slot
    // until a later transaction reuses it, new rules count from their slot's value now.
    retire_rules(candidate, std::move(gone), *raw, *generation);
    hand_over_slots(candidate, fresh, *raw, *generation);
    XFW_TRY(save_state(paths_.state_dir, candidate));
    if (Status s = change->switch_generation(); !s) {
        (void)save_state(paths_.state_dir, state_);
        return s.error();
    }
    // The new ruleset is in effect from here on.
    if (Status s = change->catch_up(); !s)
        std::fprintf(stderr, "xfw: warning: %s; the change is in effect, and the next change loads a new program\n",
                     s.error().message.c_str());
    prune_policy_store(paths_.state_dir, candidate.ruleset);
    // No packet uses the old generation any more (catch_up waited): the removed rules' final counts.
    if (auto after = read_map(counters->get(), candidate); after && refresh_retired(candidate, *after, *generation))
        XFW_TRY(save_state(paths_.state_dir, candidate));
    return true;
}

Expected<std::vector<xdp::CounterValue>> Firewall::read_map(int map_fd, const State& state) const {
    auto values = read_counters(map_fd, kHostCounters, std::max(state.next_slot, xdp::kFirstRuleSlot));
    // Offloaded interfaces count on their devices: a slot's count is the host's plus theirs.
    if (values) XFW_TRY(add_offload_counters(paths_, *values));
    return values;
}

Status Firewall::commit(Ruleset next) {
    XFW_TRY(need_parsed_rules());
    State candidate = state_;
    candidate.ruleset = std::move(next);
    // Policies: a copy of each new module goes to the state directory, and every policy gets
    // counter slots for its trap counter and buckets (compiling it tells how many).
    XFW_TRY(store_new_policies(paths_.state_dir, candidate.ruleset));
    renew_rules_with_new_buckets(state_, candidate.ruleset);
    std::vector<RetiredRule> gone = removed_rules(state_, candidate.ruleset, static_cast<int64_t>(std::time(nullptr)));
    std::vector<uint32_t> fresh = assign_identities(candidate);
    XFW_TRY(assign_all_policy_slots(candidate));
    if (candidate.next_slot > kCounterMapSlots)
        return bad_input("too many rules: xfw holds at most " +
                         std::to_string(kCounterMapSlots - xdp::kFirstRuleSlot) + " rules");
    auto live = commit_live(candidate, gone, fresh);
    if (!live) return live.error();
    if (*live) {
        state_ = std::move(candidate);
        return {};
    }
    auto loaded = prepare(candidate);
    if (!loaded) return loaded.error();
    auto generation = counter_map_generation(loaded->counters.get());
    if (!generation) return generation.error();
    adopt_counter_generation(candidate, *generation);
    auto raw = read_map(loaded->counters.get(), candidate);
    if (!raw) return raw.error();
    // Removed rules keep their slot (and their counts) until a later transaction reuses it.
    retire_rules(candidate, std::move(gone), *raw, *generation);
    // A reused slot is not zeroed: its new rule counts from the slot's raw value now (its base).
    // Zeroing would have to happen before the state naming the new owner is saved, and a crash
    // between the two would lose the retired rule's last counts; a base is recorded in the same
    // atomic state write as the new owner and leaves the map untouched, so every crash point
    // leaves either the old owner or the new one with exact counts. No program counts into the
    // slot meanwhile: it was released by an earlier transaction, whose program is gone.
    hand_over_slots(candidate, fresh, *raw, *generation);

    XFW_TRY(pin_new_counter_map(*loaded));
    XFW_TRY(save_state(paths_.state_dir, candidate));
    if (Status s = swap_links(loaded->program.get(), candidate.attachments, loaded->offloaded); !s) {
        (void)save_state(paths_.state_dir, state_);
        return s;
    }
    XFW_TRY(pin_program(*loaded));
    prune_policy_store(paths_.state_dir, candidate.ruleset);
    // Frames the replaced program was still counting while it was swapped out: read the slots
    // of removed rules once more so their final counts are on disk now rather than at the next
    // read (a reboot before that would lose them).
    if (auto after = read_map(loaded->counters.get(), candidate); after && refresh_retired(candidate, *after, *generation))
        XFW_TRY(save_state(paths_.state_dir, candidate));
    state_ = std::move(candidate);
    return {};
}

Status Firewall::reload() {
    XFW_TRY(need_parsed_rules());
    auto loaded = prepare(state_);
    if (!loaded) return loaded.error();
    XFW_TRY(pin_new_counter_map(*loaded));
    auto generation = counter_map_generation(loaded->counters.get());
    if (!generation) return generation.error();
    State candidate = state_;
    // A fresh counter map (after a reboot) starts at zero: old bases and -Z baselines no longer apply.
    if (adopt_counter_generation(candidate, *generation)) {
        XFW_TRY(save_state(paths_.state_dir, candidate));
        state_ = std::move(candidate);
    }
    XFW_TRY(swap_links(loaded->program.get(), state_.attachments, loaded->offloaded));
    return pin_program(*loaded);
}

Status Firewall::attach(const std::string& ifname, AttachMode mode) {
    XFW_TRY(need_parsed_rules());
    const uint32_t ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) return bad_input("interface \"" + ifname + "\" does not exist (see `ip link`)");
    // Offload needs a device that takes offloaded programs; say so before anything changes.
    if (mode == AttachMode::Offload)
        if (auto profile = offload_profile_for(ifname); !profile) return profile.error();
    // One host program (native or generic) and one offloaded program may share an interface
    // (the kernel runs both: xdpmulti).
    for (const Attachment& a : state_.attachments)
        if (a.ifname == ifname && (a.mode == AttachMode::Offload) == (mode == AttachMode::Offload))
            return bad_input(ifname + " is already attached (" + to_string(a.mode) +
                             "); run `xfw detach " + ifname + "` first to change the mode");
    State candidate = state_;
    candidate.attachments.push_back({ifname, mode});
    auto loaded = prepare(candidate);
    if (!loaded) return loaded.error();
    auto generation = counter_map_generation(loaded->counters.get());
    if (!generation) return generation.error();
    adopt_counter_generation(candidate, *generation);  // a fresh map starts at zero

    XFW_TRY(pin_new_counter_map(*loaded));
    // The new interface has no link yet, so swap_links attaches it; every interface then runs
    // the same program generation.
    XFW_TRY(swap_links(loaded->program.get(), candidate.attachments, loaded->offloaded));
    XFW_TRY(save_state(paths_.state_dir, candidate));
    XFW_TRY(pin_program(*loaded));
    state_ = std::move(candidate);
    return {};
}

Status Firewall::detach(const std::string& ifname) {
    auto it = std::find_if(state_.attachments.begin(), state_.attachments.end(),
                           [&](const Attachment& a) { return a.ifname == ifname; });
    if (it == state_.attachments.end()) return bad_input(ifname + " is not attached (see `xfw status`)");
    // Every xfw program on the interface: the host one and the offloaded one. An offloaded
    // interface's device counter maps stay pinned (their counts are still summed).
    for (const std::string& pin : {link_pin(paths_, ifname), offload_link_pin(paths_, ifname)}) {
        if (auto link = open_pin(pin)) bpf_link_detach(link->get());
        ::unlink(pin.c_str());
    }
    ::unlink(offload_program_pin(paths_, ifname).c_str());
    State candidate = state_;
    std::erase_if(candidate.attachments, [&](const Attachment& a) { return a.ifname == ifname; });
    XFW_TRY(save_state(paths_.state_dir, candidate));
    state_ = std::move(candidate);
    return {};
}

std::vector<AttachmentStatus> Firewall::attachment_status() const {
    std::vector<AttachmentStatus> out;
    for (const Attachment& a : state_.attachments) {
        AttachmentStatus s{a};
        s.ifindex = if_nametoindex(a.ifname.c_str());
        auto link = open_pin(a.mode == AttachMode::Offload ? offload_link_pin(paths_, a.ifname)
                                                           : link_pin(paths_, a.ifname));
        if (!link) {
            s.problem = "no pinned link (run `xfw reload`)";
        } else {
            bpf_link_info info{};
            uint32_t len = sizeof(info);
            if (bpf_obj_get_info_by_fd(link->get(), &info, &len) == 0) {
                s.prog_id = info.prog_id;
                s.live = info.xdp.ifindex != 0;
                if (!s.live) s.problem = "interface gone (run `xfw reload` when it is back)";
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

Status Firewall::refresh_counters() {
    raw_.clear();
    live_generation_.clear();
    if (!is_bpffs(paths_.bpffs) || !fs::exists(counter_pin(paths_))) return {};
    auto map = open_counter_map(false);
    if (!map) return map.error();
    if (!map->valid()) return {};
    auto generation = counter_map_generation(map->get());
    if (!generation) return generation.error();
    auto values = read_map(map->get(), state_);
    if (!values) return values.error();
    raw_ = std::move(values).value();
    live_generation_ = *generation;
    // Retired rules still owning a slot: their final counts as of this read (kept in memory;
    // `billing snapshot` saves them before it bills them).
    retired_refreshed_ |= refresh_retired(state_, raw_, live_generation_);
    return {};
}

bool Firewall::bases_apply() const {
    return state_.counter_generation.empty() || state_.counter_generation == live_generation_;
}

RuleCounters Firewall::slot_counters(uint32_t slot) const {
    RuleCounters c;
    if (slot < raw_.size()) c.raw = raw_[slot];
    if (!bases_apply()) {
        // The pinned map is not the one the state describes (recreated since): it has counted
        // from zero for every slot.
        c.shown = c.raw;
        return c;
    }
    const xdp::CounterValue map_value = c.raw;
    c.raw = slot_value(state_, raw_, slot);
    c.shown = c.raw;
    if (auto it = state_.zero_baseline.find(slot); it != state_.zero_baseline.end()) {
        // Baselines are map values; one above the map value means the map was written from outside.
        if (map_value.packets >= it->second.packets && map_value.bytes >= it->second.bytes) {
            c.shown.packets = map_value.packets - it->second.packets;
            c.shown.bytes = map_value.bytes - it->second.bytes;
        }
    }
    return c;
}

Expected<RuleCounters> Firewall::rule_counters(const Rule& rule) const {
    auto it = state_.slot_of_rule.find(rule.id);
    if (it == state_.slot_of_rule.end()) return runtime_error("internal: rule without a counter slot");
    return slot_counters(it->second);
}

Status Firewall::zero(const std::optional<std::string>& chain) {
    XFW_TRY(need_parsed_rules());
    XFW_TRY(refresh_counters());
    State candidate = state_;
    if (!live_generation_.empty()) adopt_counter_generation(candidate, live_generation_);
    auto set_baseline = [&](uint32_t slot) {
        candidate.zero_baseline[slot] = slot < raw_.size() ? raw_[slot] : xdp::CounterValue{};
    };
    for (const Chain& c : state_.ruleset.chains) {
        if (chain && c.name != *chain) continue;
        for (const Rule& r : c.rules) {
            set_baseline(state_.slot_of_rule.at(r.id));
            if (auto p = state_.policy_slots.find(r.id); p != state_.policy_slots.end())
                for (const PolicySlots& ps : p->second)
                    for (uint32_t slot = ps.trap; slot < ps.bucket_base + ps.bucket_count; ++slot) set_baseline(slot);
        }
        if (c.name == kInputChain) set_baseline(xdp::kSlotPolicyInput);
    }
    if (!chain) {
        set_baseline(xdp::kSlotError);
        set_baseline(xdp::kSlotNonIp);
    }
    XFW_TRY(save_state(paths_.state_dir, candidate));
    state_ = std::move(candidate);
    return {};
}

Status Firewall::save_retired(const std::function<bool(const RetiredRule&)>& forget) {
    // A rule that still owns its slot may yet gain counts; it is kept until the slot is reused.
    std::vector<bool> drop(state_.retired.size());
    bool any = false;
    for (size_t i = 0; i < drop.size(); ++i) any |= drop[i] = !state_.retired[i].slot && forget(state_.retired[i]);
    if (!any && !retired_refreshed_) return {};  // nothing to write (and no copy of a large state)
    State candidate = state_;
    candidate.retired.clear();
    for (size_t i = 0; i < drop.size(); ++i)
        if (!drop[i]) candidate.retired.push_back(state_.retired[i]);
    XFW_TRY(save_state(paths_.state_dir, candidate));
    state_ = std::move(candidate);
    retired_refreshed_ = false;
    return {};
}

}  // namespace xfw
