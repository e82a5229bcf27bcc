// Classification trees through BPF_PROG_TEST_RUN: the tree program against the plain linear
// program on seeded random rulesets that mix every match the tree reads (addresses of both
// families, protocols, ports, ranges, multiport, negations) with those it only carries to the
// leaves (TCP flags, ICMP, fragments, counting rules, user chains); and, for the sizes linear
// code cannot load (1000 and 10 000 ClassBench-style rules), against the benchmark workload's
// first-match reference classifier. Verdicts and every counter slot must be equal.
#include "bench/workload/rules.hpp"
#include "control/classifier_tree.hpp"
#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "control/planner.hpp"
#include "control/restore_file.hpp"
#include "tests/bpf/bpf_fixture.hpp"
#include "tests/bpf/compiled_ruleset.hpp"
#include "xdp/classifier_keys.hpp"

#include <random>

namespace xfw::test {
namespace {

using Compiled = CompiledRuleset;

constexpr CompileOptions kLinear{.group_rules = false, .classifier_trees = false};
constexpr CompileOptions kTreesOnly{.group_rules = false, .classifier_trees = true};

Compiled compile_text(const std::string& restore_text, CompileOptions options) {
    Compiled c;
    auto rs = parse_restore(restore_text, Ruleset::empty());
    if (!rs) {
        c.error = rs.error().message;
        return c;
    }
    c.state.ruleset = std::move(rs).value();
    assign_identities(c.state);
    c.compile(options, "xfw_tree_test");
    return c;
}

Compiled compile(const std::vector<std::string>& rules, CompileOptions options, const std::string& chains = "") {
    std::string text = "*filter\n:INPUT ACCEPT [0:0]\n" + chains;
    for (const std::string& r : rules) text += "-A INPUT " + r + "\n";
    return compile_text(text + "COMMIT\n", options);
}

// The plan the firewall would run: how many trees, how many steps they cover.
std::pair<size_t, size_t> planned_trees(const Compiled& c) {
    PlanInputs inputs;
    inputs.slot_of = [&](const Rule& r) { return c.state.slot_of_rule.at(r.id); };
    inputs.resolve_interface = [](const std::string&) { return std::vector<uint32_t>{}; };
    inputs.counter_slots = c.slots;
    inputs.sets = &c.state.sets;
    inputs.group_rules = false;
    auto plan = plan_ruleset(c.state.ruleset, inputs);
    EXPECT_TRUE(plan.ok());
    size_t covered = 0;
    if (plan)
        for (const auto& t : plan->trees) covered += t.end_step - t.first_step;
    return {plan ? plan->trees.size() : 0, covered};
}

void expect_same_counters(Compiled& a, Compiled& b) {
    const auto x = a.read(), y = b.read();
    ASSERT_EQ(x.size(), y.size());
    for (size_t slot = 0; slot < x.size(); ++slot) {
        EXPECT_EQ(x[slot].packets, y[slot].packets) << "slot " << slot;
        EXPECT_EQ(x[slot].bytes, y[slot].bytes) << "slot " << slot;
    }
}

std::string v4(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) +
           "." + std::to_string(a & 0xff);
}

// Random rules over a small address and port space, so that packets drawn from the same space
// land in many rules and walk deep.
struct RandomAcl {
    std::vector<std::string> rules;
    std::mt19937 rng;
    explicit RandomAcl(uint32_t seed) : rng(seed) {}

    uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng); }

    std::string prefix4() {
        const uint32_t len = 16 + pick(17);
        const uint32_t a = (0x0a000000u | pick(1u << 14) << 2) & (len == 32 ? ~0u : ~((1u << (32 - len)) - 1));
        return v4(a) + "/" + std::to_string(len);
    }
    std::string prefix6() {
        const uint32_t len = pick(3) == 0 ? 128 : 112 + pick(17);
        return "fd00::" + std::to_string(pick(8)) + ":" + std::to_string(pick(64)) + "/" + std::to_string(len);
    }
    std::string port_range() {
        const uint32_t lo = pick(200);
        return pick(2) ? std::to_string(lo) : std::to_string(lo) + ":" + std::to_string(lo + pick(60));
    }

    std::string rule() {
        std::string r;
        const bool v6 = pick(5) == 0;
        auto address = [&](const char* opt) {
            if (pick(3) == 0) return;
            r += pick(8) == 0 ? std::string(" ! ") + opt + " " : std::string(" ") + opt + " ";
            r += v6 ? prefix6() : prefix4();
        };
        address("-s");
        address("-d");
        if (v6 && r.empty()) r += " -6";
        switch (pick(10)) {
            case 0: case 1: case 2: case 3:
                r += " -p tcp";
                if (pick(2)) r += " --sport " + port_range();
                if (pick(3)) r += std::string(pick(6) == 0 ? " ! --dport " : " --dport ") + port_range();
                if (pick(8) == 0) r += " --syn";
                break;
            case 4: case 5:
                r += " -p udp";
                if (pick(3)) r += " --dport " + port_range();
                break;
            case 6:
                r += " -p tcp -m multiport --dports " + std::to_string(pick(100)) + "," + std::to_string(100 + pick(100)) +
                     ":" + std::to_string(200 + pick(50));
                break;
            case 7:
                r += v6 ? " -p icmpv6 --icmpv6-type echo-request" : " -p icmp --icmp-type echo-request";
                break;
            case 8:
                r += pick(2) ? " ! -p tcp" : " -f";
                break;
            default: break;
        }
        if (pick(40) == 0) return r + " -j sub";  // a jump ends a run
        switch (pick(12)) {
            case 0: return r;  // counts and goes on
            case 1: case 2: case 3: case 4: case 5: case 6: return r + " -j DROP";
            default: return r + " -j ACCEPT";
        }
    }

    Frame packet() {
        const bool v6 = pick(5) == 0;
        auto addr = [&] {
            if (v6) return "fd00::" + std::to_string(pick(8)) + ":" + std::to_string(pick(64));
            return v4(0x0a000000u | pick(1u << 16));
        };
        auto port = [&] { return static_cast<uint16_t>(pick(260)); };
        const std::string s = addr(), d = addr();
        PacketBuilder b;
        switch (pick(10)) {
            case 0: b = v6 ? udp6(s, d, port(), port()) : udp4(s, d, port(), port()); break;
            case 1: b = v6 ? icmp6(s, d) : icmp4(s, d); break;
            case 2: b = v6 ? tcp6(s, d, port(), port(), tcpflag::kAck) : tcp4(s, d, port(), port(), tcpflag::kAck); break;
            case 3:
                if (!v6) {
                    b = tcp4(s, d, port(), port());
                    b.frag_offset(static_cast<uint16_t>(1 + pick(100)));
                    break;
                }
                [[fallthrough]];
            default: b = v6 ? tcp6(s, d, port(), port()) : tcp4(s, d, port(), port()); break;
        }
        if (pick(20) == 0) b.truncate_to(14 + (v6 ? 40 : 20) + 3);  // L4 header cut short
        return b.build();
    }
};

class BpfTrees : public BpfTest {};

TEST_F(BpfTrees, RandomRulesetsAgreeWithLinearProgram) {
    const std::string chains =
        ":sub - [0:0]\n-A sub -s 10.0.0.0/18 -p tcp --dport 0:99 -j RETURN\n-A sub -p udp -j DROP\n-A sub -d 10.0.128.0/17\n";
    size_t tree_steps = 0;
    for (uint32_t seed = 1; seed <= 24; ++seed) {
        RandomAcl acl(seed);
        // 24..~400 rules: as many as linear code with user chains verifies.
        const size_t size = 24 + (seed - 1) * 16;
        for (size_t i = 0; i < size; ++i) acl.rules.push_back(acl.rule());
        SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(size) + " rules");
        Compiled tree = compile(acl.rules, kTreesOnly, chains);
        Compiled linear = compile(acl.rules, kLinear, chains);
        ASSERT_TRUE(tree.ok()) << tree.error;
        ASSERT_TRUE(linear.ok()) << linear.error;
        tree_steps += planned_trees(tree).second;
        for (int i = 0; i < 600; ++i) {
            const Frame f = acl.packet();
            ASSERT_EQ(tree.run(f), linear.run(f)) << "packet " << i << "\n" << hex_dump(f);
        }
        expect_same_counters(tree, linear);
    }
    // Most rules did sit in trees (runs are cut only at jumps to and back from the user chain).
    EXPECT_GT(tree_steps, 2500u);
}

TEST_F(BpfTrees, RulesOnlyInTheirOwnRegionAndShadowedOnes) {
    // A broad rule in the middle shadows the narrower rules after it inside its region; rules
    // outside the region still match there.
    std::vector<std::string> rules;
    for (uint32_t i = 0; i < 40; ++i) rules.push_back("-s " + v4(0x0a000100u + i) + " -p tcp --dport 80 -j DROP");
    rules.push_back("-s 10.0.1.0/24 -j ACCEPT");
    for (uint32_t i = 0; i < 40; ++i) rules.push_back("-s " + v4(0x0a000100u + i) + " -p udp -j DROP");
    for (uint32_t i = 0; i < 40; ++i) rules.push_back("-s " + v4(0x0a000200u + i) + " -p udp -j DROP");
    Compiled tree = compile(rules, kTreesOnly);
    Compiled linear = compile(rules, kLinear);
    ASSERT_TRUE(tree.ok() && linear.ok()) << tree.error << linear.error;
    EXPECT_EQ(planned_trees(tree), std::make_pair(size_t{1}, size_t{121}));
    EXPECT_EQ(tree.run(tcp4("10.0.1.5", "192.0.2.1", 1, 80).build()), XDP_DROP);
    EXPECT_EQ(tree.run(udp4("10.0.1.5", "192.0.2.1", 1, 80).build()), XDP_PASS);  // the /24 first
    EXPECT_EQ(tree.run(udp4("10.0.2.5", "192.0.2.1", 1, 80).build()), XDP_DROP);
    EXPECT_EQ(tree.run(udp4("10.0.3.5", "192.0.2.1", 1, 80).build()), XDP_PASS);  // no rule
    const auto c = tree.read();
    EXPECT_EQ(c.at(tree.slot_of(6)).packets, 1u);   // 10.0.1.5 tcp/80
    EXPECT_EQ(c.at(tree.slot_of(41)).packets, 1u);  // the /24
    EXPECT_EQ(c.at(tree.slot_of(47)).packets, 0u);  // 10.0.1.5 udp: shadowed by the /24
    EXPECT_EQ(c.at(tree.slot_of(87)).packets, 1u);  // 10.0.2.5 udp
    EXPECT_EQ(c.at(xdp::kSlotPolicyInput).packets, 1u);
    for (const Frame& f : {tcp4("10.0.1.5", "192.0.2.1", 1, 80).build(), udp4("10.0.1.5", "192.0.2.1", 1, 80).build(),
                           udp4("10.0.2.5", "192.0.2.1", 1, 80).build(), udp4("10.0.3.5", "192.0.2.1", 1, 80).build()})
        linear.run(f);
    expect_same_counters(tree, linear);
}

TEST_F(BpfTrees, ShortRunsStayLinear) {
    std::vector<std::string> rules;
    for (uint32_t i = 0; i < 10; ++i) rules.push_back("-s " + v4(0x0a000000u + i) + " -p tcp --dport 22 -j DROP");
    Compiled c = compile(rules, kTreesOnly);
    ASSERT_TRUE(c.ok()) << c.error;
    EXPECT_EQ(planned_trees(c).first, 0u);
}

// Sizes linear code cannot load: the workload's reference classifier is the oracle. Packets
// whose first match is a chosen rule (first, middle, last and random ones) and packets matching
// none; per-rule counters must equal the packets sent for each rule.
void expect_workload_agrees(bench::Shape shape, size_t count, bool v6, size_t packets) {
    const bench::BenchRuleset rs = bench::generate_ruleset(shape, count, v6, 7);
    Compiled c = compile_text(bench::to_iptables_restore(rs), CompileOptions{});
    ASSERT_TRUE(c.ok()) << c.error;
    EXPECT_GE(planned_trees(c).second, count - 1);
    std::mt19937_64 rng(count);
    std::vector<uint64_t> expected(count, 0);
    uint64_t expected_policy = 0;
    for (size_t i = 0; i < packets; ++i) {
        const size_t target = i % 4 == 0 ? 0 : i % 4 == 1 ? count - 1 : static_cast<size_t>(rng() % count);
        auto tuple = i % 5 == 4 ? bench::packet_for_no_rule(rs, rng) : bench::packet_for_rule(rs, target, rng);
        if (!tuple) continue;
        const std::string s = bench::format_address(tuple->src, v6), d = bench::format_address(tuple->dst, v6);
        const Frame f = tuple->proto == 17 ? (v6 ? udp6(s, d, tuple->sport, tuple->dport) : udp4(s, d, tuple->sport, tuple->dport)).build()
                                           : (v6 ? tcp6(s, d, tuple->sport, tuple->dport) : tcp4(s, d, tuple->sport, tuple->dport)).build();
        const int match = bench::first_match(rs, *tuple);
        const uint32_t want = match < 0 ? XDP_PASS : rs.rules[static_cast<size_t>(match)].drop ? XDP_DROP : XDP_PASS;
        ASSERT_EQ(c.run(f), want) << "packet " << i << " first match " << match << "\n" << hex_dump(f);
        if (match < 0) ++expected_policy;
        else ++expected[static_cast<size_t>(match)];
    }
    const auto counters = c.read();
    for (size_t r = 0; r < count; ++r) ASSERT_EQ(counters.at(c.slot_of(r + 1)).packets, expected[r]) << "rule " << r + 1;
    EXPECT_EQ(counters.at(xdp::kSlotPolicyInput).packets, expected_policy);
}

TEST_F(BpfTrees, ThousandClassBenchRulesMatchTheReferenceClassifier) {
    expect_workload_agrees(bench::Shape::ClassBench, 1000, false, 3000);
    expect_workload_agrees(bench::Shape::ClassBench, 1000, true, 1500);
}

TEST_F(BpfTrees, TenThousandClassBenchRulesMatchTheReferenceClassifier) {
    expect_workload_agrees(bench::Shape::ClassBench, 10000, false, 4000);
}

// Key semantics the planner and the code generator share.
TEST(TreeKeys, BoxesOfTests) {
    using namespace xdp;
    TestPrefix p;
    p.net = {10, 1, 0, 0};
    p.prefix_len = 16;
    TestBoxes b = boxes_of(p);
    ASSERT_EQ(b.boxes.size(), 1u);
    EXPECT_TRUE(b.exact);
    EXPECT_EQ(b.boxes[0][TreeKey::Source0], (KeyRange{0x0a010000u, 0x0a01ffffu}));
    EXPECT_EQ(b.boxes[0][TreeKey::Family], (KeyRange{1, 1}));
    p.invert = true;
    b = boxes_of(p);
    ASSERT_EQ(b.boxes.size(), 2u);
    EXPECT_EQ(b.boxes[0][TreeKey::Source0], (KeyRange{0, 0x0a00ffffu}));
    EXPECT_EQ(b.boxes[1][TreeKey::Source0], (KeyRange{0x0a020000u, UINT32_MAX}));

    TestPorts ports{6, TestPorts::Which::Destination, {{80, 80}, {81, 90}, {1000, 2000}}, false};
    b = boxes_of(ports);
    ASSERT_EQ(b.boxes.size(), 2u);  // 80-90 merged
    EXPECT_EQ(b.boxes[0][TreeKey::DestinationPort], (KeyRange{80, 90}));
    EXPECT_EQ(b.boxes[0][TreeKey::Protocol], (KeyRange{6, 6}));
    EXPECT_EQ(b.boxes[0][TreeKey::SourcePort], (KeyRange{0, 2 * kPortAbsent - 1}));  // not read

    KeyBox region = universe_box();
    region[TreeKey::Protocol] = {6, 6};
    region[TreeKey::DestinationPort] = {85, 88};
    EXPECT_TRUE(implied_by(ports, region));
    region[TreeKey::DestinationPort] = {85, 95};
    EXPECT_FALSE(implied_by(ports, region));
    // An absent port (key 65536 and above) never passes a port test.
    region[TreeKey::DestinationPort] = {kPortAbsent, kPortAbsent};
    EXPECT_TRUE(boxes_of_step({ports}).size() == 2 && !intersects(boxes_of_step({ports})[0], region));
    EXPECT_FALSE(boxes_of(TestTcpFlags{0x12, 0x02, false}).exact);
}

}  // namespace
}  // namespace xfw::test
