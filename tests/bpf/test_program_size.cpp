// Large rulesets: the long jumps of a big program (the parser's exit to the non-IP block at the
// very end, a jump rule's miss over a big user chain, RETURN to the policy) must still land,
// and every program the code generator accepts must also be accepted by the kernel.
#include "tests/bpf/bpf_fixture.hpp"

#include "control/planner.hpp"
#include "control/restore_file.hpp"
#include "control/state_store.hpp"
#include "xdp/codegen.hpp"

namespace xfw::test {
namespace {

class BpfProgramSize : public BpfTest {};

// Rule i: "-s 10.<i/250>.<i%250>.0/24 -p tcp --dport <1000+i> -j ACCEPT".
std::string big_rule(int i) {
    return "-s 10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".0/24 -p tcp --dport " +
           std::to_string(1000 + i) + " -j ACCEPT";
}
Frame for_rule(int i) {
    return tcp4(("10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".9").c_str(), "10.0.0.2", 1,
                static_cast<uint16_t>(1000 + i))
        .build();
}
std::string big_ruleset(int n) {
    std::string text = "*filter\n:INPUT DROP [0:0]\n";
    for (int i = 0; i < n; ++i) text += "-A INPUT " + big_rule(i) + "\n";
    return text + "COMMIT\n";
}

// Whether the code generator (without the kernel) accepts the ruleset as plain linear code:
// the limits below are those of one compiled block per rule (rule groups and classification
// trees lift them, tests/bpf/test_classifier_tree.cpp).
bool generator_accepts(const std::string& text) {
    auto rs = parse_restore(text, Ruleset::empty());
    if (!rs) return false;
    State state;
    state.ruleset = std::move(rs).value();
    assign_identities(state);
    uint32_t slots = xdp::kFirstRuleSlot;
    for (const auto& [id, slot] : state.slot_of_rule) slots = std::max(slots, slot + 1);
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = resolve_interface_on_host;
    inputs.counter_slots = slots;
    inputs.group_rules = false;
    inputs.classifier_trees = false;
    auto plan = plan_ruleset(state.ruleset, inputs);
    if (!plan) return false;
    return static_cast<bool>(xdp::generate(*plan, {}));
}

TEST_F(BpfProgramSize, LongJumpsLandInABigProgram) {
    constexpr int kRules = 300;
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n:BIG - [0:0]\n"
                       "-A INPUT -p udp -j BIG\n"     // miss: jumps over the whole of BIG
                       "-A INPUT -p udp -j DROP\n"
                       "-A INPUT -p tcp -j BIG\n"
                       "-A INPUT -p icmp -j RETURN\n";  // RETURN in INPUT: to the policy at the end
    for (int i = 0; i < kRules; ++i) text += "-A BIG " + big_rule(i) + "\n";
    text += "-A BIG -p tcp --dport 1 -j RETURN\n-A BIG -p tcp --dport 2 -j DROP\nCOMMIT\n";
    // Linear code: a classification tree would make BIG far smaller than the jumps to test.
    auto t = XdpTester::from_restore(text, CompileOptions{.group_rules = false, .classifier_trees = false});
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_GT(t.instruction_count(), 2u * kRules * 10u);  // BIG is inlined twice

    EXPECT_EQ(t.run(for_rule(0)), XDP_PASS);
    EXPECT_EQ(t.run(for_rule(kRules - 1)), XDP_PASS);
    EXPECT_EQ(t.run(tcp4("10.0.0.1", "10.0.0.2", 1, 2).build()), XDP_DROP);   // BIG's last rule
    EXPECT_EQ(t.run(tcp4("10.0.0.1", "10.0.0.2", 1, 1).build()), XDP_PASS);   // RETURN, then policy
    EXPECT_EQ(t.run(udp4("10.0.0.1", "10.0.0.2", 1, 1).build()), XDP_DROP);   // through BIG, INPUT 2
    EXPECT_EQ(t.run(icmp4(8, 0).build()), XDP_PASS);                          // INPUT RETURN
    EXPECT_EQ(t.run(arp_request("10.0.0.1", "10.0.0.2").build()), XDP_PASS);  // parser -> end
    EXPECT_EQ(t.run(tcp4("10.0.0.1", "10.0.0.2", 1, 22).ipv4_ihl(2).build()), XDP_PASS);

    EXPECT_EQ(t.rule_packets("BIG", 1), 1u);
    EXPECT_EQ(t.rule_packets("BIG", kRules), 1u);
    EXPECT_EQ(t.rule_packets("BIG", kRules + 1), 1u);
    EXPECT_EQ(t.rule_packets("BIG", kRules + 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 2), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", 3), 4u);
    EXPECT_EQ(t.rule_packets("INPUT", 4), 1u);
    EXPECT_EQ(t.policy_packets(), 3u);  // RETURN from BIG, RETURN in INPUT, the malformed packet
    EXPECT_EQ(t.non_ip_packets(), 1u);
    EXPECT_EQ(t.error_packets(), 1u);
}

// The code generator refuses programs whose jumps exceed the 16-bit offset ("program too
// large"). Below that limit the kernel must take the program: the largest flat ruleset the
// generator accepts has to load and work (or the generator has to refuse it with its own
// explanation instead of the kernel failing).
TEST_F(BpfProgramSize, EveryProgramTheGeneratorAcceptsLoads) {
    int lo = 100, hi = 4000;  // generator accepts lo, refuses hi
    ASSERT_TRUE(generator_accepts(big_ruleset(lo)));
    ASSERT_FALSE(generator_accepts(big_ruleset(hi)));
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        (generator_accepts(big_ruleset(mid)) ? lo : hi) = mid;
    }
    SCOPED_TRACE("largest accepted flat ruleset: " + std::to_string(lo) + " rules");
    auto t = XdpTester::from_restore(big_ruleset(lo), CompileOptions{.group_rules = false, .classifier_trees = false});
    ASSERT_TRUE(t.ok()) << "the generator accepted " << lo << " rules but loading failed: " << t.error();
    EXPECT_EQ(t.run(for_rule(0)), XDP_PASS);
    EXPECT_EQ(t.run(for_rule(lo - 1)), XDP_PASS);
    EXPECT_EQ(t.run(udp4("10.0.0.1", "10.0.0.2", 1, 1000).build()), XDP_DROP);
    EXPECT_EQ(t.run(arp_request("10.0.0.1", "10.0.0.2").build()), XDP_PASS);
    EXPECT_EQ(t.rule_packets("INPUT", 1), 1u);
    EXPECT_EQ(t.rule_packets("INPUT", static_cast<size_t>(lo)), 1u);
    EXPECT_EQ(t.policy_packets(), 1u);
    EXPECT_EQ(t.non_ip_packets(), 1u);
}

}  // namespace
}  // namespace xfw::test
