// Rule family inference, rule equality and the empty filter table for the policy IR.
#include "control/ruleset.hpp"

#include <utility>

namespace xfw {

Family Rule::implied_family() const {
    // Addresses are the strongest hint; the parser guarantees source and destination agree.
    if (source) return source->value.family;
    if (destination) return destination->value.family;
    // A positive icmp/icmpv6 protocol only makes sense for one family. "! -p icmp" does not:
    // it means "anything but ICMPv4", which includes every IPv6 packet.
    if (protocol && !protocol->invert) {
        if (protocol->value == proto::kIcmp) return Family::V4;
        if (protocol->value == proto::kIcmpV6) return Family::V6;
    }
    for (const MatchModule& m : matches) {
        if (const auto* icmp = std::get_if<IcmpMatch>(&m)) return icmp->v6 ? Family::V6 : Family::V4;
    }
    return Family::Any;
}

Family Rule::family() const {
    if (explicit_family != Family::Any) return explicit_family;
    return implied_family();
}

// Written out by hand so that `id` stays out of it: two rules with the same meaning are the
// same rule for `-D spec` and for restore diffs, whatever the state store numbered them.
bool Rule::operator==(const Rule& other) const {
    return explicit_family == other.explicit_family && source == other.source &&
           destination == other.destination && in_interface == other.in_interface &&
           protocol == other.protocol && fragment_invert == other.fragment_invert &&
           matches == other.matches && target == other.target;
}

std::vector<const PolicyRef*> Rule::policies() const {
    std::vector<const PolicyRef*> out;
    for (const MatchModule& m : matches)
        if (const auto* w = std::get_if<WasmMatch>(&m)) out.push_back(&w->policy);
    if (target.kind == Target::Kind::Wasm) out.push_back(&target.policy);
    return out;
}

std::vector<PolicyRef*> Rule::policies() {
    std::vector<PolicyRef*> out;
    for (const PolicyRef* p : std::as_const(*this).policies()) out.push_back(const_cast<PolicyRef*>(p));
    return out;
}

Ruleset Ruleset::empty() {
    Ruleset rs;
    for (const char* name : {"INPUT", "FORWARD", "OUTPUT"}) {
        Chain c;
        c.name = name;
        c.builtin = true;
        c.policy = Target::Kind::Accept;
        rs.chains.push_back(std::move(c));
    }
    return rs;
}

Chain* Ruleset::find(const std::string& name) {
    for (Chain& c : chains)
        if (c.name == name) return &c;
    return nullptr;
}

const Chain* Ruleset::find(const std::string& name) const {
    for (const Chain& c : chains)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace xfw
