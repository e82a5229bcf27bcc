// An iptables command line (-A/-I/-D/-R/-L/-S/-F/-Z/-P/-N/-X/-E) and its effect on a ruleset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/rule_printer.hpp"
#include "control/ruleset.hpp"
#include "xdp/error.hpp"

namespace xfw {

struct Command {
    enum class Op : uint8_t {
        Append,       // -A CHAIN spec
        Insert,       // -I CHAIN [n] spec
        Delete,       // -D CHAIN spec
        DeleteNum,    // -D CHAIN n
        Replace,      // -R CHAIN n spec
        List,         // -L [CHAIN]
        ListRules,    // -S [CHAIN]
        Flush,        // -F [CHAIN]
        Zero,         // -Z [CHAIN]
        Policy,       // -P CHAIN ACCEPT|DROP
        NewChain,     // -N CHAIN
        DeleteChain,  // -X [CHAIN]
        RenameChain,  // -E OLD NEW
        Check,        // -C CHAIN spec: succeeds when an equal rule exists
    };
    Op op = Op::List;
    // Absent only for -L/-S/-F/-Z/-X without a chain (meaning all chains).
    std::optional<std::string> chain;
    std::string new_name;                           // RenameChain
    uint32_t rule_number = 0;                       // 1-based; Insert (default 1), DeleteNum, Replace
    Rule rule;                                      // Append, Insert, Delete, Replace, Check
    Target::Kind policy = Target::Kind::Accept;     // Policy: Accept or Drop
    ListOptions list;                               // -v -n -x --line-numbers
};

// Where a command line comes from: restore files forbid -t and listing commands, and their
// errors carry no "rule: " prefix (the caller prefixes "line N: ").
enum class CommandSource : uint8_t { CommandLine, RestoreFile };

// Parses one iptables invocation without the program name, e.g. {"-I", "INPUT", "2", "-p",
// "tcp", "--dport", "22", "-j", "ACCEPT"}. Exactly one command; -v -n -x --line-numbers,
// "-t filter" and "-w [secs]" may appear anywhere; short options may be bundled ("-nvL").
Expected<Command> parse_command(const std::vector<std::string>& tokens,
                                CommandSource source = CommandSource::CommandLine);

// Applies the command with iptables' semantics. Validates everything first and changes `rs`
// only on success. New rules get id 0 (the caller assigns ids); other rules keep theirs.
// -L/-S/-Z only check that the chain exists: listing and counters belong to the caller.
Status apply_command(Ruleset& rs, const Command& cmd);

// "-A", "-I", ... for messages.
const char* command_option(Command::Op op);

}  // namespace xfw
