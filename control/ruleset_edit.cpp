// Parses iptables command lines and applies them to a ruleset, validating before any change.
#include "control/ruleset_edit.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "control/rule_parser.hpp"

namespace xfw {

namespace {

using Op = Command::Op;

struct CommandSpelling {
    const char* short_opt;
    const char* long_opt;
    const char* alt_long_opt;
    Op op;
};

constexpr CommandSpelling kCommands[] = {
    {"-A", "--append", nullptr, Op::Append},
    {"-I", "--insert", nullptr, Op::Insert},
    {"-D", "--delete", nullptr, Op::Delete},
    {"-R", "--replace", nullptr, Op::Replace},
    {"-L", "--list", nullptr, Op::List},
    {"-S", "--list-rules", nullptr, Op::ListRules},
    {"-F", "--flush", nullptr, Op::Flush},
    {"-Z", "--zero", nullptr, Op::Zero},
    {"-P", "--policy", nullptr, Op::Policy},
    {"-N", "--new-chain", "--new", Op::NewChain},
    {"-X", "--delete-chain", nullptr, Op::DeleteChain},
    {"-E", "--rename-chain", nullptr, Op::RenameChain},
    {"-C", "--check", nullptr, Op::Check},
};

std::optional<Op> command_for(const std::string& t) {
    for (const CommandSpelling& c : kCommands)
        if (t == c.short_opt || t == c.long_opt || (c.alt_long_opt && t == c.alt_long_opt)) return c.op;
    return std::nullopt;
}

Error err(const std::string& what, const std::string& why) {
    return bad_input("\"" + what + "\": " + why);
}

// iptables takes an optional argument only when the next word is not an option.
bool is_word(const std::vector<std::string>& t, size_t i) {
    return i < t.size() && !t[i].empty() && t[i][0] != '-' && t[i][0] != '!';
}

Expected<uint32_t> parse_rule_number(const std::string& s) {
    if (s.empty() || s.size() > 9 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(s) == 0)
        return err(s, "invalid rule number (rules are numbered from 1)");
    return static_cast<uint32_t>(std::stoul(s));
}

bool takes_rule(Op op) {
    return op == Op::Append || op == Op::Insert || op == Op::Delete || op == Op::Replace || op == Op::Check;
}

std::string rule_text(const Rule& r) {
    std::string spec = format_rule_spec(r);
    return spec.empty() ? std::string() : " " + spec;
}

// Whether `to` can be reached from `from` by following jumps.
bool reachable(const Ruleset& rs, const std::string& from, const std::string& to) {
    std::set<std::string> seen;
    std::vector<std::string> stack{from};
    while (!stack.empty()) {
        std::string cur = std::move(stack.back());
        stack.pop_back();
        if (cur == to) return true;
        if (!seen.insert(cur).second) continue;
        if (const Chain* c = rs.find(cur))
            for (const Rule& r : c->rules)
                if (r.target.kind == Target::Kind::Jump) stack.push_back(r.target.chain);
    }
    return false;
}

Status check_chain_exists(const Ruleset& rs, const std::string& chain, const std::string& what) {
    if (rs.find(chain)) return Status::success();
    return err(what, "No chain/target/match by that name (chain " + chain +
                         " does not exist; create it with -N " + chain + ")");
}

// Everything a new rule in `chain` must satisfy: the chain can hold rules, its jump target
// exists, is a user chain, and does not lead back to `chain`.
Status check_new_rule(const Ruleset& rs, const Chain& chain, const Rule& rule, const std::string& what) {
    if (chain.builtin && chain.name != kInputChain)
        return err(what, "xfw filters XDP ingress only: chain " + chain.name + " cannot hold rules");
    if (rule.target.kind != Target::Kind::Jump) return Status::success();
    const std::string& target = rule.target.chain;
    const std::string jump = "-j " + target;
    const Chain* t = rs.find(target);
    if (!t) return err(jump, "chain " + target + " does not exist (create it with -N " + target + " first)");
    if (t->builtin) return err(jump, "cannot jump to built-in chain " + target);
    if (target == chain.name || reachable(rs, target, chain.name))
        return err(jump, "jump from " + chain.name + " to " + target + " would create a loop (" +
                             chain.name + " is reachable from " + target + ")");
    return Status::success();
}

std::string rule_count(size_t n) { return std::to_string(n) + (n == 1 ? " rule" : " rules"); }

}  // namespace

const char* command_option(Command::Op op) {
    for (const CommandSpelling& c : kCommands)
        if (c.op == op) return c.short_opt;
    return op == Op::DeleteNum ? "-D" : "?";
}

Expected<Command> parse_command(const std::vector<std::string>& tokens, CommandSource source) {
    const bool restore = source == CommandSource::RestoreFile;
    std::vector<std::string> t = tokens;
    Command cmd;
    std::optional<std::string> op_token;
    std::optional<std::string> first_rule_option;
    RuleParser rule_parser;

    auto rule_error = [&](const Error& e) -> Error {
        return restore ? e : bad_input("rule: " + e.message);
    };

    for (size_t i = 0; i < t.size();) {
        expand_short_option_bundle(t, i);
        const std::string tok = t[i];

        // "--policy" is also -P's long form; once the command is known it can only be the
        // option of -m wasm / -j WASM, as in iptables where module options win after a command.
        const bool policy_option = tok == "--policy" && op_token.has_value();
        if (auto op = command_for(tok); op && !policy_option) {
            if (op_token)
                return err(tok, "only one command per invocation (already have " + *op_token + ")");
            cmd.op = *op;
            op_token = tok;
            ++i;
            switch (*op) {
                case Op::Append:
                case Op::Insert:
                case Op::Delete:
                case Op::Replace:
                case Op::Check:
                case Op::Policy:
                case Op::NewChain:
                case Op::RenameChain:
                    if (i >= t.size() || t[i].empty() || t[i][0] == '-' || t[i] == "!")
                        return err(tok, "option requires a chain name");
                    cmd.chain = t[i++];
                    break;
                default:
                    if (is_word(t, i)) cmd.chain = t[i++];
                    break;
            }
            *op_token += cmd.chain ? " " + *cmd.chain : "";
            if (*op == Op::Insert && is_word(t, i)) {
                auto n = parse_rule_number(t[i++]);
                if (!n) return n.error();
                cmd.rule_number = *n;
            } else if (*op == Op::Insert) {
                cmd.rule_number = 1;
            }
            if (*op == Op::Delete && is_word(t, i)) {
                auto n = parse_rule_number(t[i++]);
                if (!n) return n.error();
                cmd.op = Op::DeleteNum;
                cmd.rule_number = *n;
            }
            if (*op == Op::Replace) {
                if (!is_word(t, i)) return err(*op_token, "-R needs a rule number: -R CHAIN N spec");
                auto n = parse_rule_number(t[i++]);
                if (!n) return n.error();
                cmd.rule_number = *n;
            }
            if (*op == Op::Policy) {
                if (i >= t.size()) return err(*op_token, "-P needs a policy: ACCEPT or DROP");
                const std::string& p = t[i++];
                if (p == "ACCEPT") cmd.policy = Target::Kind::Accept;
                else if (p == "DROP") cmd.policy = Target::Kind::Drop;
                else return err(*op_token + " " + p, "bad policy name (a policy is ACCEPT or DROP)");
            }
            if (*op == Op::RenameChain) {
                if (!is_word(t, i)) return err(*op_token, "-E needs the new name: -E OLD NEW");
                cmd.new_name = t[i++];
            }
            continue;
        }
        if (tok == "-v" || tok == "--verbose") { cmd.list.verbose = true; ++i; continue; }
        if (tok == "-n" || tok == "--numeric") { cmd.list.numeric = true; ++i; continue; }
        if (tok == "-x" || tok == "--exact") { cmd.list.exact = true; ++i; continue; }
        if (tok == "--line-numbers") { cmd.list.line_numbers = true; ++i; continue; }
        if (tok == "-w" || tok == "--wait") {
            // Lock waiting means nothing to xfw; accepted so iptables scripts run unchanged.
            ++i;
            if (i < t.size() && !t[i].empty() &&
                std::all_of(t[i].begin(), t[i].end(), [](char c) { return c >= '0' && c <= '9'; }))
                ++i;
            continue;
        }
        if (tok == "-t" || tok == "--table") {
            if (restore)
                return err(tok, "-t cannot be used in a restore file (tables are chosen by *filter lines)");
            if (i + 1 >= t.size()) return err(tok, "option requires a table name");
            if (t[i + 1] != "filter")
                return err(tok + " " + t[i + 1], "table \"" + t[i + 1] +
                                                     "\" is not supported: xfw implements the filter table");
            i += 2;
            continue;
        }
        if (!first_rule_option) first_rule_option = tok == "!" && i + 1 < t.size() ? "! " + t[i + 1] : tok;
        Status st = rule_parser.consume(t, i);
        if (!st) return rule_error(st.error());
    }

    if (!op_token)
        return bad_input("no command given (expected one of -A, -I, -D, -R, -L, -S, -F, -Z, -P, -N, "
                         "-X, -E)");
    if (!takes_rule(cmd.op) && !rule_parser.empty())
        return err(*first_rule_option, std::string("rule options are not valid with ") +
                                           command_option(cmd.op) + " (only with -A, -I, -C, -D spec or -R)");
    if (restore && (cmd.op == Op::List || cmd.op == Op::ListRules || cmd.op == Op::Zero || cmd.op == Op::Check))
        return err(*op_token, "listing, checking and zeroing commands cannot appear in a restore file");
    if (takes_rule(cmd.op)) {
        auto rule = rule_parser.finish();
        if (!rule) return rule_error(rule.error());
        cmd.rule = std::move(*rule);
    }
    return cmd;
}

Status apply_command(Ruleset& rs, const Command& cmd) {
    const std::string chain_name = cmd.chain.value_or("");
    const std::string what = std::string(command_option(cmd.op)) + (cmd.chain ? " " + chain_name : "");
    Chain* chain = cmd.chain ? rs.find(chain_name) : nullptr;
    if (cmd.chain && !chain && cmd.op != Op::NewChain) XFW_TRY(check_chain_exists(rs, chain_name, what));

    switch (cmd.op) {
        case Op::Append: {
            XFW_TRY(check_new_rule(rs, *chain, cmd.rule, what + rule_text(cmd.rule)));
            chain->rules.push_back(cmd.rule);
            chain->rules.back().id = 0;
            return Status::success();
        }
        case Op::Insert: {
            const std::string w = what + " " + std::to_string(cmd.rule_number);
            if (cmd.rule_number < 1 || cmd.rule_number > chain->rules.size() + 1)
                return err(w, "index of insertion too big: chain " + chain_name + " has " +
                                  rule_count(chain->rules.size()) + " (insert at 1-" +
                                  std::to_string(chain->rules.size() + 1) + ")");
            XFW_TRY(check_new_rule(rs, *chain, cmd.rule, w + rule_text(cmd.rule)));
            auto it = chain->rules.insert(chain->rules.begin() + (cmd.rule_number - 1), cmd.rule);
            it->id = 0;
            return Status::success();
        }
        case Op::Replace: {
            const std::string w = what + " " + std::to_string(cmd.rule_number);
            if (cmd.rule_number < 1 || cmd.rule_number > chain->rules.size())
                return err(w, "index of replacement too big: chain " + chain_name + " has " +
                                  rule_count(chain->rules.size()));
            XFW_TRY(check_new_rule(rs, *chain, cmd.rule, w + rule_text(cmd.rule)));
            Rule& slot = chain->rules[cmd.rule_number - 1];
            slot = cmd.rule;
            slot.id = 0;
            return Status::success();
        }
        case Op::Delete: {
            auto it = std::find(chain->rules.begin(), chain->rules.end(), cmd.rule);
            if (it == chain->rules.end())
                return err(what + rule_text(cmd.rule),
                           "no matching rule in chain " + chain_name +
                               " (Bad rule (does a matching rule exist in that chain?))");
            chain->rules.erase(it);
            return Status::success();
        }
        case Op::Check:
            // iptables -C: status 1 (not 2) when the rule is absent, so `-C || -A` scripts work.
            if (std::find(chain->rules.begin(), chain->rules.end(), cmd.rule) == chain->rules.end())
                return Error{"\"" + what + rule_text(cmd.rule) + "\": Bad rule (does a matching rule exist in that "
                             "chain?)", 1};
            return Status::success();
        case Op::DeleteNum: {
            if (cmd.rule_number < 1 || cmd.rule_number > chain->rules.size())
                return err(what + " " + std::to_string(cmd.rule_number),
                           "index of deletion too big: chain " + chain_name + " has " +
                               rule_count(chain->rules.size()));
            chain->rules.erase(chain->rules.begin() + (cmd.rule_number - 1));
            return Status::success();
        }
        case Op::List:
        case Op::ListRules:
        case Op::Zero:
            return Status::success();  // chain existence checked above; the rest is the caller's
        case Op::Flush:
            if (chain) chain->rules.clear();
            else
                for (Chain& c : rs.chains) c.rules.clear();
            return Status::success();
        case Op::Policy:
            if (!chain->builtin)
                return err(what, "a policy can only be set on a built-in chain (INPUT, FORWARD, OUTPUT)");
            if (cmd.policy != Target::Kind::Accept && cmd.policy != Target::Kind::Drop)
                return err(what, "bad policy name (a policy is ACCEPT or DROP)");
            chain->policy = cmd.policy;
            return Status::success();
        case Op::NewChain: {
            XFW_TRY(check_chain_name(chain_name));
            if (chain) return err(what, "Chain already exists");
            Chain c;
            c.name = chain_name;
            rs.chains.push_back(std::move(c));
            return Status::success();
        }
        case Op::DeleteChain: {
            if (!chain) {
                // Without a name: every user chain that is empty and unreferenced. Decide
                // first, erase after: the reference count must not see a half-erased vector.
                std::set<std::string> doomed;
                for (const Chain& c : rs.chains)
                    if (!c.builtin && c.rules.empty() && chain_references(rs, c.name) == 0)
                        doomed.insert(c.name);
                std::erase_if(rs.chains, [&](const Chain& c) { return doomed.count(c.name) > 0; });
                return Status::success();
            }
            if (chain->builtin) return err(what, "built-in chains cannot be deleted");
            if (size_t refs = chain_references(rs, chain_name))
                return err(what, "chain is still referenced by " + rule_count(refs) +
                                     " (Too many links): delete the jumps first");
            if (!chain->rules.empty())
                return err(what, "chain is not empty (" + rule_count(chain->rules.size()) +
                                     "): flush it first with -F " + chain_name);
            rs.chains.erase(rs.chains.begin() + (chain - rs.chains.data()));
            return Status::success();
        }
        case Op::RenameChain: {
            const std::string w = what + " " + cmd.new_name;
            if (chain->builtin) return err(w, "built-in chains cannot be renamed");
            XFW_TRY(check_chain_name(cmd.new_name));
            if (rs.find(cmd.new_name)) return err(w, "Chain already exists: " + cmd.new_name);
            for (Chain& c : rs.chains)
                for (Rule& r : c.rules)
                    if (r.target.kind == Target::Kind::Jump && r.target.chain == chain_name)
                        r.target.chain = cmd.new_name;
            chain->name = cmd.new_name;
            return Status::success();
        }
    }
    return bad_input("unknown command");
}

}  // namespace xfw
