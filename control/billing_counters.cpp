// The enumeration of billable counters (see billing_counters.hpp).
#include "control/billing_counters.hpp"

#include "control/counter_export.hpp"
#include "control/rule_printer.hpp"
#include "xdp/plan.hpp"

namespace xfw {

std::string rule_counter_identity(uint64_t rule_id) { return "rule:" + std::to_string(rule_id); }

std::vector<BillableCounter> billable_counters(const Firewall& fw) {
    const State& state = fw.state();
    const std::string& generation = fw.live_generation();
    std::vector<BillableCounter> out;
    // Rules in listing order (make_counter_snapshot's order), so ledger lines read like -L.
    for (const Chain& c : state.ruleset.chains)
        for (const Rule& r : c.rules) {
            auto counts = fw.rule_counters(r);
            BillableCounter b;
            b.identity = rule_counter_identity(r.id);
            b.account = rule_account(r);
            b.chain = c.name;
            b.description = format_rule_spec(r);
            b.generation = generation;
            if (counts) b.value = counts->raw;
            out.push_back(std::move(b));
        }
    auto fixed = [&](const char* identity, const char* chain, const char* description, uint32_t slot) {
        BillableCounter b;
        b.identity = identity;
        b.chain = chain;
        b.description = description;
        b.generation = generation;
        b.value = fw.slot_counters(slot).raw;
        out.push_back(std::move(b));
    };
    fixed("policy:INPUT", "INPUT", "policy", xdp::kSlotPolicyInput);
    fixed("errors", "", "malformed headers", xdp::kSlotError);
    fixed("non_ip", "", "non-IP frames", xdp::kSlotNonIp);
    for (const RetiredRule& r : state.retired) {
        BillableCounter b;
        b.identity = rule_counter_identity(r.id);
        b.account = r.account;
        b.chain = r.chain;
        b.description = r.spec;
        b.generation = r.generation;
        b.value = r.final;
        b.retired = true;
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace xfw
