// The iptables-style commands: parse, apply to a copy of the ruleset, commit or list.
#include "control/cli/commands.hpp"

#include "control/rule_printer.hpp"
#include "control/ruleset_edit.hpp"
#include "xdp/plan.hpp"

#include <cstdio>

namespace xfw::cli {

int report(const Error& error) {
    std::string msg = error.message;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    std::fprintf(stderr, "xfw: %s\n", msg.c_str());
    return error.exit_code == 2 ? kExitBadInput : kExitRuntime;
}

namespace {

CounterLookup rule_lookup(const Firewall& fw) {
    return [&fw](const Rule& r) -> std::pair<uint64_t, uint64_t> {
        auto c = fw.rule_counters(r);
        if (!c) return {0, 0};
        return {c->shown.packets, c->shown.bytes};
    };
}

PolicyCounterLookup policy_lookup(const Firewall& fw) {
    return [&fw](const std::string& chain) -> std::pair<uint64_t, uint64_t> {
        if (chain != kInputChain) return {0, 0};
        auto c = fw.slot_counters(xdp::kSlotPolicyInput);
        return {c.shown.packets, c.shown.bytes};
    };
}

// Under a rule with Wasm policies: each policy's trap count and buckets.
RuleNoteLookup note_lookup(const Firewall& fw) {
    return [&fw](const Rule& r) {
        std::vector<RuleNote> notes;
        const auto slots = fw.state().policy_slots.find(r.id);
        if (slots == fw.state().policy_slots.end()) return notes;
        for (size_t k = 0; k < slots->second.size(); ++k) {
            const PolicySlots& ps = slots->second[k];
            const std::string policy = "policy " + std::to_string(k + 1);
            auto traps = fw.slot_counters(ps.trap);
            notes.push_back({traps.shown.packets, traps.shown.bytes, policy + " traps"});
            for (uint32_t b = 0; b < ps.bucket_count; ++b) {
                auto c = fw.slot_counters(ps.bucket_base + b);
                notes.push_back({c.shown.packets, c.shown.bytes, policy + " bucket " + ps.bucket_name(b)});
            }
        }
        return notes;
    };
}

}  // namespace

int run_rule_command(const Paths& paths, const std::vector<std::string>& args) {
    auto cmd = parse_command(args);
    if (!cmd) return report(cmd.error());
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());

    Ruleset next = fw->state().ruleset;
    if (Status s = apply_command(next, *cmd); !s) return report(s.error());

    switch (cmd->op) {
        case Command::Op::List:
        case Command::Op::ListRules: {
            if (cmd->list.verbose)
                if (Status s = fw->refresh_counters(); !s) return report(s.error());
            const std::string text =
                cmd->op == Command::Op::List
                    ? format_listing(fw->state().ruleset, cmd->chain, cmd->list, rule_lookup(*fw), policy_lookup(*fw),
                                     note_lookup(*fw))
                    : format_rules_S(fw->state().ruleset, cmd->chain, cmd->list, rule_lookup(*fw), policy_lookup(*fw));
            std::fputs(text.c_str(), stdout);
            return kExitOk;
        }
        case Command::Op::Check:
            return kExitOk;  // apply_command found the rule
        case Command::Op::Zero:
            if (Status s = fw->zero(cmd->chain); !s) return report(s.error());
            return kExitOk;
        default:
            if (Status s = fw->commit(std::move(next)); !s) return report(s.error());
            return kExitOk;
    }
}

}  // namespace xfw::cli
