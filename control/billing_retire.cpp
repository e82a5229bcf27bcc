// Retired rules, slot hand-over and counter map generations (see billing_retire.hpp).
#include "control/billing_retire.hpp"

#include "control/billing_counters.hpp"
#include "control/counter_export.hpp"
#include "control/loader.hpp"
#include "control/policy_compile.hpp"
#include "control/rule_printer.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>

namespace xfw {

namespace {

xdp::CounterValue raw_at(const std::vector<xdp::CounterValue>& raw, uint32_t slot) {
    return slot < raw.size() ? raw[slot] : xdp::CounterValue{};
}

std::string boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id.empty() ? "unknown-boot" : id;
}

}  // namespace

Expected<std::string> counter_map_generation(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
        return runtime_error("cannot identify the counter map: " + errno_text(errno));
    return boot_id() + "/" + std::to_string(info.id);
}

xdp::CounterValue slot_value(const State& state, const std::vector<xdp::CounterValue>& raw, uint32_t slot) {
    xdp::CounterValue v = raw_at(raw, slot);
    auto it = state.slot_base.find(slot);
    if (it == state.slot_base.end()) return v;
    if (v.packets < it->second.packets || v.bytes < it->second.bytes) return v;
    return {v.packets - it->second.packets, v.bytes - it->second.bytes};
}

bool adopt_counter_generation(State& state, const std::string& generation) {
    if (state.counter_generation == generation) return false;
    const bool was_known = !state.counter_generation.empty();
    state.counter_generation = generation;
    if (!was_known) return true;
    // A different map: what the old one held is gone with it.
    state.slot_base.clear();
    state.zero_baseline.clear();
    for (RetiredRule& r : state.retired) r.slot.reset();
    return true;
}

std::vector<RetiredRule> removed_rules(const State& before, const Ruleset& after, int64_t now) {
    std::set<uint64_t> kept;
    for (const Chain& c : after.chains)
        for (const Rule& r : c.rules)
            if (r.id != 0) kept.insert(r.id);
    std::vector<RetiredRule> gone;
    for (const Chain& c : before.ruleset.chains)
        for (const Rule& r : c.rules) {
            if (kept.count(r.id)) continue;
            RetiredRule rr;
            rr.id = r.id;
            rr.account = rule_account(r);
            rr.chain = c.name;
            rr.spec = format_rule_spec(r);
            rr.retired_at = now;
            if (auto it = before.slot_of_rule.find(r.id); it != before.slot_of_rule.end()) rr.slot = it->second;
            std::vector<PolicyCounter> policy = rule_policy_counters(before, r.id, rr.spec);
            gone.push_back(std::move(rr));
            // Its policies' trap counters and buckets go with it, each billed under its own identity.
            for (PolicyCounter& p : policy) {
                RetiredRule pr;
                pr.id = r.id;
                pr.counter = std::move(p.identity);
                pr.account = std::move(p.account);
                pr.chain = c.name;
                pr.spec = std::move(p.description);
                pr.retired_at = now;
                pr.slot = p.slot;
                gone.push_back(std::move(pr));
            }
        }
    return gone;
}

void renew_rules_with_new_buckets(const State& current, Ruleset& next) {
    for (Chain& c : next.chains)
        for (Rule& r : c.rules) {
            if (r.id == 0) continue;
            const auto slots = current.policy_slots.find(r.id);
            if (slots == current.policy_slots.end()) continue;
            const auto policies = r.policies();
            for (size_t k = 0; k < policies.size() && k < slots->second.size(); ++k) {
                auto compiled = compile_rule_policy(*policies[k], wasm::Target::Native);
                if (compiled && compiled->bucket_names != slots->second[k].bucket_names) {
                    r.id = 0;
                    break;
                }
            }
        }
}

void retire_rules(State& state, std::vector<RetiredRule> gone, const std::vector<xdp::CounterValue>& raw,
                  const std::string& generation) {
    for (RetiredRule& r : gone) {
        r.generation = generation;
        if (r.slot) r.final = slot_value(state, raw, *r.slot);
        state.retired.push_back(std::move(r));
    }
}

bool refresh_retired(State& state, const std::vector<xdp::CounterValue>& raw, const std::string& generation) {
    if (generation.empty() || generation != state.counter_generation) return false;
    bool changed = false;
    for (RetiredRule& r : state.retired) {
        if (!r.slot || r.generation != generation) continue;
        const xdp::CounterValue now = slot_value(state, raw, *r.slot);
        // Counts only grow; a lower value would be a map written from outside.
        if (now.packets > r.final.packets || now.bytes > r.final.bytes) {
            r.final.packets = std::max(r.final.packets, now.packets);
            r.final.bytes = std::max(r.final.bytes, now.bytes);
            changed = true;
        }
    }
    return changed;
}

void hand_over_slots(State& state, const std::vector<uint32_t>& fresh, const std::vector<xdp::CounterValue>& raw,
                     const std::string& generation) {
    refresh_retired(state, raw, generation);
    const std::set<uint32_t> handed(fresh.begin(), fresh.end());
    for (RetiredRule& r : state.retired)
        if (r.slot && handed.count(*r.slot)) r.slot.reset();
    for (uint32_t slot : fresh) {
        const xdp::CounterValue base = raw_at(raw, slot);
        if (base.packets == 0 && base.bytes == 0)
            state.slot_base.erase(slot);
        else
            state.slot_base[slot] = base;
    }
}

}  // namespace xfw
