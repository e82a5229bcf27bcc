// Parses one rule specification in iptables syntax (tokens after shell splitting) into the IR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/ruleset.hpp"
#include "xdp/error.hpp"

namespace xfw {

// Parses a complete rule spec such as {"-p", "tcp", "--dport", "22", "-j", "ACCEPT"} (no
// "-A CHAIN"). Errors read `rule: "<option> <value>": <why>`. The result is normalised so that
// two specs with the same meaning compare equal (e.g. "-p all" and no -p, "-4" next to an
// IPv4 address, "--dport 0:65535" and no --dport), which is what `-D spec` relies on.
Expected<Rule> parse_rule(const std::vector<std::string>& tokens);

// The incremental form behind parse_rule. The command parser owns -A/-v/-n/... and hands every
// other option to consume(), so rule and command options may be interleaved as in iptables.
class RuleParser {
public:
    RuleParser();
    ~RuleParser();
    RuleParser(const RuleParser&) = delete;
    RuleParser& operator=(const RuleParser&) = delete;

    // Consumes the option at tokens[i] together with a leading "!" and its arguments, and
    // advances i past them. Errors carry no "rule: " prefix: `"<option> <value>": <why>`.
    Status consume(std::vector<std::string>& tokens, std::size_t& i);
    // Cross-option checks (protocol requirements, family conflicts) and normalisation.
    Expected<Rule> finish();
    // Whether any rule option has been consumed.
    bool empty() const;

private:
    struct State;
    std::unique_ptr<State> st_;
};

// iptables users bundle short flags ("-nvL", "-vA INPUT"). Splits such a bundle at tokens[i]
// in place into separate tokens (only the last letter may take an argument, from the next
// word); leaves anything else untouched.
void expand_short_option_bundle(std::vector<std::string>& tokens, std::size_t i);

// Chain names as iptables accepts them: 1..28 characters, no leading '-' or '!', no
// whitespace, and not a target name. Error: `"<name>": <why>`.
Status check_chain_name(std::string_view name);
// ACCEPT, DROP, RETURN and the iptables targets xfw refuses (REJECT, LOG, ...).
bool is_target_name(std::string_view name);

// Name tables shared by the parser and the printers, as iptables/netbase spell them.
namespace names {
// /etc/protocols primary name for a protocol number (what iptables-save prints), or nullptr.
const char* protocol_name(uint8_t number);
// Protocol by name, case-insensitive: netbase names and aliases plus iptables' own
// ("all", "icmpv6", "mh").
std::optional<uint8_t> protocol_number(std::string_view name);
// The small built-in service table (ssh, http, https, domain, ...).
std::optional<uint16_t> service_port(std::string_view name);
const char* service_name(uint16_t port);
// iptables' ICMP/ICMPv6 type names, looked up by exact type and code range.
const char* icmp_type_name(bool v6, uint8_t type, uint8_t code_min, uint8_t code_max);
// TCP flag bits as iptables spells them: "FIN,SYN", "NONE".
std::string tcp_flags(uint8_t bits);
}  // namespace names

}  // namespace xfw
