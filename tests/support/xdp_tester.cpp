// XdpTester: the firewall's compile path with a private counter map, for BPF_PROG_TEST_RUN tests.
#include "tests/support/xdp_tester.hpp"

#include "control/compile.hpp"
#include "control/loader.hpp"
#include "control/counter_map.hpp"
#include "control/restore_file.hpp"
#include "xdp/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace xfw::test {

XdpTester XdpTester::from_restore(const std::string& text, const CompileOptions& options) {
    XdpTester t;
    auto rs = parse_restore(text, Ruleset::empty());
    if (!rs) {
        t.error_ = rs.error().message;
        ADD_FAILURE() << "ruleset refused: " << t.error_;
        return t;
    }
    t.state_.ruleset = std::move(rs).value();
    assign_identities(t.state_);
    auto prog = compile_private(t.state_, "xfw_test", options);
    if (!prog) {
        t.error_ = prog.error().message;
        ADD_FAILURE() << t.error_;
        return t;
    }
    t.slots_ = prog->counter_slots;
    t.map_ = std::move(prog->counters);
    t.prog_ = std::move(prog->compiled.program);
    t.insn_count_ = prog->compiled.instruction_count;
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
