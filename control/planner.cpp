// Planner: rules to tests, chains to a flat list of steps.
#include "control/planner.hpp"

#include "control/classifier_tree.hpp"
#include "control/rule_groups.hpp"

#include <net/if.h>

#include <algorithm>
#include <map>

namespace xfw {

namespace {

using xdp::Test;

const SetBinding* find_set(const SetBindings& sets, const std::string& name) {
    auto it = sets.find(name);
    return it == sets.end() ? nullptr : &it->second;
}

xdp::MapSpec existing_set_map(const SetBinding& binding) {
    xdp::MapSpec spec = set_map_spec(binding.definition);
    spec.pin = binding.pin;
    if (binding.map) spec.fd = binding.map->get();
    return spec;
}

const char* family_word(Family f) { return f == Family::V6 ? "IPv6" : "IPv4"; }

// The sets a rule names exist, fit the target, have enough directions, and agree on the family
// with each other and with the rule's addresses (a set's family restricts the rule's, as an
// address does).
Status check_rule_sets(const Rule& rule, const PlanInputs& inputs, const std::string& origin) {
    Family family = rule.family();
    std::string family_from = "its addresses or -4/-6";
    for (const MatchModule& m : rule.matches) {
        const auto* set = std::get_if<SetMatch>(&m);
        if (!set) continue;
        const SetBinding* binding = inputs.sets ? find_set(*inputs.sets, set->name) : nullptr;
        if (!binding)
            return bad_input(origin + ": -m set --match-set " + set->name + ": no set named " + set->name +
                             " (create it first: xfw set create " + set->name + " hash:ip)");
        const SetDefinition& def = binding->definition;
        if (set->source.size() < def.dimensions())
            return bad_input(origin + ": --match-set " + set->name + ": set " + set->name + " is " +
                             to_string(def.type) + " and needs " + std::to_string(def.dimensions()) +
                             " directions (e.g. src,dst: the address from the source, the port from the "
                             "destination); with fewer it would never match");
        if (inputs.offload && def.is_net())
            return bad_input(origin + ": set " + set->name + " is " + to_string(def.type) +
                             ", held in an LPM trie, which offload devices (NFP) cannot run; use a hash:ip or "
                             "hash:ip,port set for offloaded rules");
        if (family != Family::Any && family != def.family)
            return bad_input(origin + ": set " + set->name + " is family " +
                             (def.family == Family::V6 ? "inet6" : "inet") + " (" + family_word(def.family) +
                             ") but the rule is " + family_word(family) + " (from " + family_from +
                             "): it could never match");
        family = def.family;
        family_from = "set " + set->name;
    }
    return {};
}

xdp::TestPrefix prefix_test(const Negatable<Cidr>& cidr, xdp::Direction dir) {
    xdp::TestPrefix t;
    t.dir = dir;
    t.v6 = cidr.value.family == Family::V6;
    t.net = cidr.value.bytes;
    t.prefix_len = cidr.value.prefix_len;
    t.invert = cidr.invert;
    return t;
}

xdp::TestPorts port_test(uint8_t proto, xdp::TestPorts::Which which, const Negatable<PortRange>& range) {
    return xdp::TestPorts{proto, which, {{range.value.first, range.value.last}}, range.invert};
}

}  // namespace

std::optional<std::vector<Test>> lower_rule_tests(const Rule& rule, const PlanInputs& inputs) {
    std::vector<Test> tests;
    const Family family = rule.family();
    bool family_implied = false;

    if (rule.in_interface) {
        xdp::TestIfindex t{inputs.resolve_interface(rule.in_interface->value), rule.in_interface->invert};
        tests.push_back(std::move(t));
    }
    uint8_t protocol = 0;
    if (rule.protocol) {
        protocol = rule.protocol->value;
        if (protocol == 0 && rule.protocol->invert) return std::nullopt;  // "! -p all"
        if (protocol != 0) tests.push_back(xdp::TestProtocol{protocol, rule.protocol->invert});
    }
    if (rule.source) {
        tests.push_back(prefix_test(*rule.source, xdp::Direction::Source));
        family_implied = true;
    }
    if (rule.destination) {
        tests.push_back(prefix_test(*rule.destination, xdp::Direction::Destination));
        family_implied = true;
    }
    if (rule.fragment_invert) tests.push_back(xdp::TestFragment{*rule.fragment_invert});

    using Which = xdp::TestPorts::Which;
    uint32_t policy_index = 0;
    uint32_t set_ordinal = 0;
    for (const MatchModule& m : rule.matches) {
        if (const auto* tcp = std::get_if<TcpMatch>(&m)) {
            if (tcp->sport) tests.push_back(port_test(proto::kTcp, Which::Source, *tcp->sport));
            if (tcp->dport) tests.push_back(port_test(proto::kTcp, Which::Destination, *tcp->dport));
            if (tcp->flags)
                tests.push_back(xdp::TestTcpFlags{tcp->flags->value.mask, tcp->flags->value.comp,
                                                  tcp->flags->invert});
        } else if (const auto* udp = std::get_if<UdpMatch>(&m)) {
            if (udp->sport) tests.push_back(port_test(proto::kUdp, Which::Source, *udp->sport));
            if (udp->dport) tests.push_back(port_test(proto::kUdp, Which::Destination, *udp->dport));
        } else if (const auto* icmp = std::get_if<IcmpMatch>(&m)) {
            tests.push_back(xdp::TestIcmp{icmp->v6, icmp->any, icmp->type, icmp->code_min,
                                          icmp->code_max, icmp->invert});
            family_implied = true;
        } else if (const auto* mp = std::get_if<MultiportMatch>(&m)) {
            xdp::TestPorts t;
            t.proto = protocol;
            t.which = mp->direction == MultiportMatch::Direction::Source        ? Which::Source
                      : mp->direction == MultiportMatch::Direction::Destination ? Which::Destination
                                                                                : Which::Either;
            for (const PortRange& r : mp->ports) t.ranges.push_back({r.first, r.last});
            t.invert = mp->invert;
            tests.push_back(std::move(t));
        } else if (std::holds_alternative<WasmMatch>(m)) {
            tests.push_back(xdp::TestPolicy{policy_index++});
        } else if (const auto* set = std::get_if<SetMatch>(&m)) {
            // Checked by the planner first (check_rule_sets); `map` is the set match's ordinal
            // in the rule until plan_ruleset points it at the set's map.
            const SetBinding* binding = inputs.sets ? find_set(*inputs.sets, set->name) : nullptr;
            if (!binding || set->source.size() < binding->definition.dimensions()) return std::nullopt;
            xdp::TestLookup t;
            t.map = set_ordinal++;
            t.key = set_lookup_key(binding->definition);
            t.key.address = set->source[0] ? xdp::Direction::Source : xdp::Direction::Destination;
            if (binding->definition.has_port())
                t.key.port = set->source[1] ? xdp::Direction::Source : xdp::Direction::Destination;
            t.invert = set->invert;
            tests.push_back(t);
            family_implied = true;
        }
        // CommentMatch: no test.
    }
    if (family != Family::Any && !family_implied)
        tests.insert(tests.begin(), xdp::TestFamily{family == Family::V6});

    // A port, flag or ICMP test already requires its protocol; a plain "-p tcp" next to it
    // would test the same thing twice on every packet.
    auto implies_protocol = [&](uint8_t p) {
        return std::any_of(tests.begin(), tests.end(), [&](const Test& t) {
            if (const auto* ports = std::get_if<xdp::TestPorts>(&t)) return ports->proto == p;
            if (std::holds_alternative<xdp::TestTcpFlags>(t)) return p == proto::kTcp;
            if (const auto* icmp = std::get_if<xdp::TestIcmp>(&t))
                return p == (icmp->v6 ? proto::kIcmpV6 : proto::kIcmp);
            return false;
        });
    };
    std::erase_if(tests, [&](const Test& t) {
        const auto* p = std::get_if<xdp::TestProtocol>(&t);
        return p && !p->invert && implies_protocol(p->proto);
    });

    // The tests other than policies are a conjunction without side effects: run the ones most packets fail first,
    // so a packet that misses the rule leaves after one or two instructions.
    auto rank = [](const Test& t) {
        return std::visit(
            [](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, xdp::TestPrefix>) return v.invert ? 5 : 0;
                else if constexpr (std::is_same_v<T, xdp::TestPorts>) return 1;
                else if constexpr (std::is_same_v<T, xdp::TestIcmp>) return 2;
                else if constexpr (std::is_same_v<T, xdp::TestTcpFlags>) return 3;
                else if constexpr (std::is_same_v<T, xdp::TestProtocol>) return 4;
                // A map lookup costs a helper call: after every plain compare.
                else if constexpr (std::is_same_v<T, xdp::TestLookup>) return 9;
                else if constexpr (std::is_same_v<T, xdp::TestIfindex>) return 6;
                else if constexpr (std::is_same_v<T, xdp::TestFragment>) return 7;
                else if constexpr (std::is_same_v<T, xdp::TestFamily>) return 8;
                // A policy has effects (buckets, its memory) and costs most: it runs last, only
                // for packets every other test of the rule selected.
                else return 100;
            },
            t);
    };
    std::stable_sort(tests.begin(), tests.end(), [&](const Test& a, const Test& b) { return rank(a) < rank(b); });
    return tests;
}

namespace {

struct Flattener {
    const Ruleset& ruleset;
    const PlanInputs& inputs;
    xdp::Plan plan;
    // A rule in a user chain jumped to from several places is emitted several times; its
    // policies are emitted once and called from each copy (one instance, one set of buckets).
    std::map<std::pair<const Rule*, size_t>, uint32_t> plan_policy;

    uint32_t next_index() const { return static_cast<uint32_t>(plan.steps.size()); }

    // Each set used by the ruleset is one plan map (its existing map), shared by every rule.
    std::map<std::string, uint32_t> set_map;

    Status resolve_set_maps(const Rule& rule, std::vector<Test>& tests) {
        std::vector<const SetMatch*> sets;
        for (const MatchModule& m : rule.matches)
            if (const auto* set = std::get_if<SetMatch>(&m)) sets.push_back(set);
        for (Test& t : tests) {
            auto* lookup = std::get_if<xdp::TestLookup>(&t);
            if (!lookup) continue;
            const SetBinding& binding = *find_set(*inputs.sets, sets.at(lookup->map)->name);
            auto [it, added] = set_map.try_emplace(binding.definition.name, static_cast<uint32_t>(plan.maps.size()));
            if (added) plan.maps.push_back(existing_set_map(binding));
            lookup->map = it->second;
        }
        return {};
    }

    Expected<uint32_t> policy(const Rule& rule, size_t index, const std::string& origin) {
        auto [it, added] = plan_policy.try_emplace({&rule, index}, static_cast<uint32_t>(plan.policies.size()));
        if (!added) return it->second;
        if (!inputs.policy_of) return runtime_error("internal: " + origin + " has a policy but the planner has no policy source");
        auto p = inputs.policy_of(rule, index);
        if (!p) return Error{origin + ": " + p.error().message, p.error().exit_code};
        p->origin = origin + " policy " + std::to_string(index + 1);
        plan.policies.push_back(std::move(p).value());
        return it->second;
    }

    // Emits `chain`; RETURN steps are appended to `returns` for the caller to patch.
    Status emit_chain(const Chain& chain, std::vector<uint32_t>& returns, int depth) {
        if (depth > 64) return bad_input("user chains nest deeper than 64 levels");
        for (size_t i = 0; i < chain.rules.size(); ++i) {
            const Rule& rule = chain.rules[i];
            const std::string origin = chain.name + " rule " + std::to_string(i + 1);
            XFW_TRY(check_rule_sets(rule, inputs, origin));
            auto tests = lower_rule_tests(rule, inputs);
            if (!tests) continue;  // can never match: no code, its counter stays at zero
            const uint32_t index = next_index();
            xdp::Step step;
            step.tests = std::move(*tests);
            step.counter = inputs.slot_of(rule);
            step.origin = origin;
            XFW_TRY(resolve_set_maps(rule, step.tests));
            step.on_miss = index + 1;
            for (Test& t : step.tests)
                if (auto* tp = std::get_if<xdp::TestPolicy>(&t)) {
                    auto p = policy(rule, tp->policy, step.origin);
                    if (!p) return p.error();
                    tp->policy = *p;
                }
            switch (rule.target.kind) {
                case Target::Kind::Accept: step.on_match = {xdp::Action::Kind::Pass, 0}; break;
                case Target::Kind::Drop: step.on_match = {xdp::Action::Kind::Drop, 0}; break;
                case Target::Kind::None: step.on_match = {xdp::Action::Kind::Goto, index + 1}; break;
                case Target::Kind::Return:
                    step.on_match = {xdp::Action::Kind::Goto, 0};
                    returns.push_back(index);
                    break;
                case Target::Kind::Jump:
                    step.on_match = {xdp::Action::Kind::Goto, index + 1};
                    break;
                case Target::Kind::Wasm: {
                    auto p = policy(rule, rule.policies().size() - 1, step.origin);
                    if (!p) return p.error();
                    step.on_match = {xdp::Action::Kind::Policy, *p};
                    break;
                }
            }
            plan.steps.push_back(std::move(step));
            if (rule.target.kind != Target::Kind::Jump) continue;

            const Chain* callee = ruleset.find(rule.target.chain);
            if (!callee) return bad_input("rule " + std::to_string(i + 1) + " in chain " + chain.name +
                                          " jumps to missing chain " + rule.target.chain);
            std::vector<uint32_t> callee_returns;
            XFW_TRY(emit_chain(*callee, callee_returns, depth + 1));
            const uint32_t after = next_index();
            plan.steps[index].on_miss = after;
            for (uint32_t r : callee_returns) plan.steps[r].on_match.target = after;
        }
        return {};
    }
};

}  // namespace

Expected<xdp::Plan> plan_ruleset(const Ruleset& ruleset, const PlanInputs& inputs) {
    const Chain* input = ruleset.find(kInputChain);
    if (!input) return runtime_error("internal: ruleset has no INPUT chain");
    Flattener f{ruleset, inputs, {}};
    std::vector<uint32_t> returns;
    XFW_TRY(f.emit_chain(*input, returns, 0));
    const uint32_t policy_index = f.next_index();
    for (uint32_t r : returns) f.plan.steps[r].on_match.target = policy_index;

    xdp::Step policy;
    policy.counter = xdp::kSlotPolicyInput;
    policy.origin = "INPUT policy";
    policy.on_match = {input->policy == Target::Kind::Drop ? xdp::Action::Kind::Drop : xdp::Action::Kind::Pass, 0};
    policy.on_miss = policy_index;
    f.plan.steps.push_back(std::move(policy));
    f.plan.counter_slots = inputs.counter_slots;
    if (inputs.group_rules)
        group_rule_runs(f.plan, inputs.min_group_run ? inputs.min_group_run : kDefaultMinGroupRun, inputs.offload);
    if (inputs.classifier_trees && !inputs.offload) {
        TreeOptions tree_options;
        if (inputs.min_tree_run) tree_options.min_run = inputs.min_tree_run;
        build_classifier_trees(f.plan, tree_options);
    }
    return std::move(f.plan);
}

std::vector<uint32_t> resolve_interface_on_host(const std::string& name) {
    std::vector<uint32_t> out;
    const bool wildcard = !name.empty() && name.back() == '+';
    const std::string prefix = wildcard ? name.substr(0, name.size() - 1) : name;
    if (struct if_nameindex* list = if_nameindex()) {
        for (auto* it = list; it->if_index != 0; ++it) {
            std::string n = it->if_name;
            if (wildcard ? n.compare(0, prefix.size(), prefix) == 0 : n == name) out.push_back(it->if_index);
        }
        if_freenameindex(list);
    }
    return out;
}

}  // namespace xfw
