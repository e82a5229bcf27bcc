// XdpTester: the firewall's compile path with a private counter map, for BPF_PROG_TEST_RUN tests.
#include "tests/support/xdp_tester.hpp"

#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "control/planner.hpp"
#include "control/restore_file.hpp"
#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace xfw::test {

XdpTester XdpTester::from_restore(const std::string& text) {
    XdpTester t;
    auto rs = parse_restore(text, Ruleset::empty());
    if (!rs) {
        t.error_ = rs.error().message;
        ADD_FAILURE() << "ruleset refused: " << t.error_;
        return t;
    }
    t.state_.ruleset = std::move(rs).value();
    assign_identities(t.state_);
    t.slots_ = xdp::kFirstRuleSlot;
    for (const auto& [id, slot] : t.state_.slot_of_rule) t.slots_ = std::max(t.slots_, slot + 1);

    auto fail = [&](const Error& e) {
        t.error_ = e.message;
        ADD_FAILURE() << t.error_;
        t.prog_.reset();
        return std::move(t);
    };
    auto map = create_map(xdp::counter_map_spec(t.slots_, xdp::CounterMode::PerCpu));
    if (!map) return fail(map.error());
    PlanInputs inputs;
    inputs.slot_of = [&t](const Rule& r) { return t.state_.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = t.slots_;
    auto plan = plan_ruleset(t.state_.ruleset, inputs);
    if (!plan) return fail(plan.error());
    auto generated = xdp::generate(*plan, {});
    if (!generated) return fail(generated.error());
    auto prog = load_xdp_program(generated->program, {map->get()}, {.name = "xfw_test"});
    if (!prog) return fail(prog.error());
    t.map_ = std::move(map).value();
    t.prog_ = std::move(prog).value();
    t.insn_count_ = static_cast<uint32_t>(generated->program.insns.size());
    return t;
}

XdpTester XdpTester::from_rules(const std::vector<std::string>& input_rules, const std::string& policy) {
    std::string text = "*filter\n:INPUT " + policy + " [0:0]\n";
    for (const std::string& r : input_rules) text += "-A INPUT " + r + "\n";
    text += "COMMIT\n";
    return from_restore(text);
}

uint32_t XdpTester::run(const std::vector<uint8_t>& frame) {
    if (!ok()) {
        ADD_FAILURE() << "no program: " << error_;
        return UINT32_MAX;
    }
    auto r = test_run(prog_.get(), frame);
    if (!r) {
        ADD_FAILURE() << r.error().message;
        return UINT32_MAX;
    }
    return *r;
}

xdp::CounterValue XdpTester::slot(uint32_t s) {
    if (!ok()) return {};
    auto values = read_counters(map_.get(), xdp::CounterMode::PerCpu, slots_);
    if (!values) {
        ADD_FAILURE() << values.error().message;
        return {};
    }
    return s < values->size() ? (*values)[s] : xdp::CounterValue{};
}

uint64_t XdpTester::rule_packets(const std::string& chain, size_t n) {
    const Chain* c = state_.ruleset.find(chain);
    if (!c || n == 0 || n > c->rules.size()) {
        ADD_FAILURE() << "no rule " << n << " in chain " << chain;
        return 0;
    }
    return slot(state_.slot_of_rule.at(c->rules[n - 1].id)).packets;
}

uint64_t XdpTester::rule_bytes(const std::string& chain, size_t n) {
    const Chain* c = state_.ruleset.find(chain);
    if (!c || n == 0 || n > c->rules.size()) {
        ADD_FAILURE() << "no rule " << n << " in chain " << chain;
        return 0;
    }
    return slot(state_.slot_of_rule.at(c->rules[n - 1].id)).bytes;
}

uint64_t XdpTester::policy_packets() { return slot(xdp::kSlotPolicyInput).packets; }
uint64_t XdpTester::error_packets() { return slot(xdp::kSlotError).packets; }
uint64_t XdpTester::non_ip_packets() { return slot(xdp::kSlotNonIp).packets; }

}  // namespace xfw::test
