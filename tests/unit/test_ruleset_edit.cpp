// Unit tests for iptables command parsing and application (-A/-I/-D/-R/-L/-S/-F/-Z/-P/-N/-X/-E).
#include <gtest/gtest.h>

#include "control/restore_file.hpp"
#include "control/rule_parser.hpp"
#include "control/rule_printer.hpp"
#include "control/ruleset_edit.hpp"

namespace xfw {
namespace {

using Op = Command::Op;

std::vector<std::string> toks(std::string_view line) { return split_restore_line(line); }

Command cmd_ok(std::string_view line, CommandSource src = CommandSource::CommandLine) {
    auto c = parse_command(toks(line), src);
    EXPECT_TRUE(c.ok()) << line << " -> " << (c.ok() ? "" : c.error().message);
    return c.ok() ? *c : Command{};
}

std::string cmd_error(std::string_view line, CommandSource src = CommandSource::CommandLine) {
    auto c = parse_command(toks(line), src);
    if (c.ok()) return "<parsed>";
    EXPECT_EQ(c.error().exit_code, 2);
    return c.error().message;
}

Rule rule(std::string_view spec) {
    auto r = parse_rule(toks(spec));
    EXPECT_TRUE(r.ok()) << spec;
    return r.ok() ? *r : Rule{};
}

// Parses and applies; returns "" on success, else the message.
std::string run(Ruleset& rs, std::string_view line) {
    auto c = parse_command(toks(line));
    if (!c.ok()) return "parse: " + c.error().message;
    Status st = apply_command(rs, *c);
    return st.ok() ? "" : st.error().message;
}

void run_ok(Ruleset& rs, std::string_view line) { EXPECT_EQ(run(rs, line), "") << line; }

// The ruleset as `iptables -S` lines, to compare whole states readably.
std::string dump(const Ruleset& rs) { return format_rules_S(rs, std::nullopt); }

std::vector<uint64_t> ids(const Ruleset& rs, const std::string& chain) {
    std::vector<uint64_t> out;
    for (const Rule& r : rs.find(chain)->rules) out.push_back(r.id);
    return out;
}

// A ruleset whose INPUT rules carry ids 1..3 (as the state store would have numbered them).
Ruleset numbered() {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-A INPUT -p tcp --dport 22 -j ACCEPT");
    run_ok(rs, "-A INPUT -p udp --dport 53 -j ACCEPT");
    run_ok(rs, "-A INPUT -s 10.0.0.0/8 -j DROP");
    uint64_t id = 0;
    for (Rule& r : rs.find("INPUT")->rules) r.id = ++id;
    return rs;
}

// ---------------------------------------------------------------------------------------------
// parse_command
// ---------------------------------------------------------------------------------------------

TEST(ParseCommand, EveryCommand) {
    Command c = cmd_ok("-A INPUT -p tcp --dport 22 -j ACCEPT");
    EXPECT_EQ(c.op, Op::Append);
    EXPECT_EQ(c.chain, std::optional<std::string>("INPUT"));
    EXPECT_EQ(c.rule, rule("-p tcp --dport 22 -j ACCEPT"));

    c = cmd_ok("-I INPUT -j DROP");
    EXPECT_EQ(c.op, Op::Insert);
    EXPECT_EQ(c.rule_number, 1u) << "-I without a number inserts at the top";
    c = cmd_ok("-I INPUT 3 -j DROP");
    EXPECT_EQ(c.rule_number, 3u);
    EXPECT_EQ(c.rule.target.kind, Target::Kind::Drop);
    c = cmd_ok("-I INPUT ! -s 10.0.0.1");
    EXPECT_EQ(c.rule_number, 1u) << "'!' starts the spec, it is not a rule number";
    EXPECT_TRUE(c.rule.source->invert);

    c = cmd_ok("-D INPUT -p udp -j ACCEPT");
    EXPECT_EQ(c.op, Op::Delete);
    EXPECT_EQ(c.rule, rule("-p udp -j ACCEPT"));
    c = cmd_ok("-D INPUT 2");
    EXPECT_EQ(c.op, Op::DeleteNum);
    EXPECT_EQ(c.rule_number, 2u);
    c = cmd_ok("-D INPUT");
    EXPECT_EQ(c.op, Op::Delete) << "an empty spec matches a rule with no options";
    EXPECT_EQ(c.rule, Rule{});

    c = cmd_ok("-R INPUT 2 -j RETURN");
    EXPECT_EQ(c.op, Op::Replace);
    EXPECT_EQ(c.rule_number, 2u);
    EXPECT_EQ(c.rule.target.kind, Target::Kind::Return);

    c = cmd_ok("-L");
    EXPECT_EQ(c.op, Op::List);
    EXPECT_FALSE(c.chain);
    c = cmd_ok("-L web");
    EXPECT_EQ(c.chain, std::optional<std::string>("web"));
    EXPECT_EQ(cmd_ok("-S").op, Op::ListRules);
    EXPECT_EQ(cmd_ok("-S INPUT").chain, std::optional<std::string>("INPUT"));
    EXPECT_EQ(cmd_ok("-F").op, Op::Flush);
    EXPECT_EQ(cmd_ok("-F web").chain, std::optional<std::string>("web"));
    EXPECT_EQ(cmd_ok("-Z").op, Op::Zero);
    EXPECT_EQ(cmd_ok("-Z INPUT").chain, std::optional<std::string>("INPUT"));
    EXPECT_EQ(cmd_ok("-X").op, Op::DeleteChain);
    EXPECT_FALSE(cmd_ok("-X").chain);
    EXPECT_EQ(cmd_ok("-X web").chain, std::optional<std::string>("web"));

    c = cmd_ok("-P INPUT DROP");
    EXPECT_EQ(c.op, Op::Policy);
    EXPECT_EQ(c.policy, Target::Kind::Drop);
    EXPECT_EQ(cmd_ok("-P FORWARD ACCEPT").policy, Target::Kind::Accept);

    c = cmd_ok("-N web");
    EXPECT_EQ(c.op, Op::NewChain);
    EXPECT_EQ(c.chain, std::optional<std::string>("web"));
    c = cmd_ok("-E web www");
    EXPECT_EQ(c.op, Op::RenameChain);
    EXPECT_EQ(c.chain, std::optional<std::string>("web"));
    EXPECT_EQ(c.new_name, "www");
}

TEST(ParseCommand, LongForms) {
    EXPECT_EQ(cmd_ok("--append INPUT -j ACCEPT").op, Op::Append);
    EXPECT_EQ(cmd_ok("--insert INPUT 1 -j ACCEPT").op, Op::Insert);
    EXPECT_EQ(cmd_ok("--delete INPUT 1").op, Op::DeleteNum);
    EXPECT_EQ(cmd_ok("--replace INPUT 1 -j ACCEPT").op, Op::Replace);
    EXPECT_EQ(cmd_ok("--list").op, Op::List);
    EXPECT_EQ(cmd_ok("--list-rules").op, Op::ListRules);
    EXPECT_EQ(cmd_ok("--flush").op, Op::Flush);
    EXPECT_EQ(cmd_ok("--zero").op, Op::Zero);
    EXPECT_EQ(cmd_ok("--policy INPUT DROP").op, Op::Policy);
    EXPECT_EQ(cmd_ok("--new-chain x").op, Op::NewChain);
    EXPECT_EQ(cmd_ok("--new x").op, Op::NewChain);
    EXPECT_EQ(cmd_ok("--delete-chain x").op, Op::DeleteChain);
    EXPECT_EQ(cmd_ok("--rename-chain x y").op, Op::RenameChain);
}

TEST(ParseCommand, GeneralOptionsAnywhere) {
    Command c = cmd_ok("-v -L INPUT -n -x --line-numbers");
    EXPECT_EQ(c.list, (ListOptions{true, true, true, true}));
    c = cmd_ok("--verbose --numeric --exact -L");
    EXPECT_EQ(c.list, (ListOptions{true, true, true, false}));
    EXPECT_EQ(cmd_ok("-L").list, ListOptions{});
    c = cmd_ok("-nvL INPUT");
    EXPECT_EQ(c.op, Op::List);
    EXPECT_EQ(c.chain, std::optional<std::string>("INPUT"));
    EXPECT_EQ(c.list, (ListOptions{true, true, false, false}));
    c = cmd_ok("-vxnL --line-numbers");
    EXPECT_EQ(c.list, (ListOptions{true, true, true, true}));
    // Rule options may come before the command and around general options.
    c = cmd_ok("-p tcp -A INPUT -v --dport 22 -n -j ACCEPT");
    EXPECT_EQ(c.rule, rule("-p tcp --dport 22 -j ACCEPT"));
    EXPECT_TRUE(c.list.verbose);
    // A comment may look like an option: it is an argument.
    c = cmd_ok("-A INPUT -m comment --comment -v -j ACCEPT");
    EXPECT_FALSE(c.list.verbose);
    EXPECT_EQ(std::get<CommentMatch>(c.rule.matches[0]).text, "-v");
    EXPECT_EQ(cmd_ok("-t filter -A INPUT -j ACCEPT").op, Op::Append);
    EXPECT_EQ(cmd_ok("-A INPUT --table filter -j ACCEPT").op, Op::Append);
    EXPECT_EQ(cmd_ok("-w -A INPUT -j ACCEPT").rule.target.kind, Target::Kind::Accept);
    EXPECT_EQ(cmd_ok("-w 5 -L").op, Op::List);
    EXPECT_EQ(cmd_ok("-vA INPUT -j ACCEPT").op, Op::Append);
}

struct BadCommand {
    const char* line;
    const char* fragment;
};

class ParseCommandRejects : public ::testing::TestWithParam<BadCommand> {};

TEST_P(ParseCommandRejects, WithMessage) {
    const BadCommand& c = GetParam();
    const std::string msg = cmd_error(c.line);
    EXPECT_NE(msg.find(c.fragment), std::string::npos)
        << "command:  " << c.line << "\nmessage:  " << msg << "\nexpected: " << c.fragment;
}

const BadCommand kBadCommands[] = {
    {"", "no command given"},
    {"-v -n", "no command given"},
    {"-p tcp", "no command given"},
    {"-L -A INPUT", R"("-A": only one command per invocation (already have -L))"},
    {"-A INPUT -j ACCEPT -D INPUT 1", "only one command per invocation"},
    {"-A", R"("-A": option requires a chain name)"},
    {"-A -p tcp", R"("-A": option requires a chain name)"},
    {"-N", R"("-N": option requires a chain name)"},
    {"-I INPUT 0 -j ACCEPT", R"("0": invalid rule number (rules are numbered from 1))"},
    {"-I INPUT x -j ACCEPT", R"("x": invalid rule number)"},
    {"-D INPUT 1x", R"("1x": invalid rule number)"},
    {"-R INPUT -j ACCEPT", "-R needs a rule number"},
    {"-R INPUT 0 -j ACCEPT", "invalid rule number"},
    {"-P INPUT", "-P needs a policy: ACCEPT or DROP"},
    {"-P INPUT REJECT", R"("-P INPUT REJECT": bad policy name (a policy is ACCEPT or DROP))"},
    {"-P INPUT RETURN", "bad policy name"},
    {"-E old", "-E needs the new name"},
    {"-t nat -L", R"("-t nat": table "nat" is not supported: xfw implements the filter table)"},
    {"-t mangle -A INPUT -j ACCEPT", R"(table "mangle" is not supported)"},
    {"-t", R"("-t": option requires a table name)"},
    {"-L -p tcp", R"("-p": rule options are not valid with -L)"},
    {"-S INPUT ! -s 1.2.3.4", R"("! -s": rule options are not valid with -S)"},
    {"-F -j ACCEPT", "rule options are not valid with -F"},
    {"-N x -p tcp", "rule options are not valid with -N"},
    {"-D INPUT 2 -p tcp", "rule options are not valid with -D (only with -A, -I, -C, -D spec or -R)"},
    {"-F INPUT extra", R"("extra": unexpected argument)"},
    {"-A INPUT -p tcp --dport 70000 -j ACCEPT", R"(rule: "--dport 70000": port out of range 0-65535)"},
    {"-A INPUT -m conntrack --ctstate NEW -j ACCEPT", R"(rule: "-m conntrack": unsupported match module)"},
    {"-A INPUT -j REJECT", "unsupported target REJECT"},
    {"-A INPUT -o eth0 -j ACCEPT", "xfw filters XDP ingress only"},
    {"-A INPUT -g chain", "goto is not supported"},
};

INSTANTIATE_TEST_SUITE_P(All, ParseCommandRejects, ::testing::ValuesIn(kBadCommands));

TEST(ParseCommand, RestoreFileSource) {
    const auto restore = CommandSource::RestoreFile;
    EXPECT_EQ(cmd_ok("-A INPUT -j ACCEPT", restore).op, Op::Append);
    // Rule errors come without the "rule: " prefix (the restore parser adds "line N: ").
    EXPECT_EQ(cmd_error("-A INPUT -p tcp --dport 70000", restore),
              R"("--dport 70000": port out of range 0-65535)");
    EXPECT_NE(cmd_error("-t filter -A INPUT -j ACCEPT", restore).find("-t cannot be used in a restore file"),
              std::string::npos);
    EXPECT_NE(cmd_error("-L", restore).find("cannot appear in a restore file"), std::string::npos);
    EXPECT_NE(cmd_error("-S", restore).find("cannot appear in a restore file"), std::string::npos);
    EXPECT_NE(cmd_error("-Z", restore).find("cannot appear in a restore file"), std::string::npos);
}

TEST(ParseCommand, OptionNames) {
    EXPECT_STREQ(command_option(Op::Append), "-A");
    EXPECT_STREQ(command_option(Op::DeleteNum), "-D");
    EXPECT_STREQ(command_option(Op::RenameChain), "-E");
    EXPECT_STREQ(command_option(Op::ListRules), "-S");
}

// ---------------------------------------------------------------------------------------------
// apply_command: rules
// ---------------------------------------------------------------------------------------------

TEST(ApplyCommand, AppendGivesIdZeroAndKeepsOthers) {
    Ruleset rs = numbered();
    run_ok(rs, "-A INPUT -p icmp -j ACCEPT");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{1, 2, 3, 0}));
    EXPECT_EQ(rs.find("INPUT")->rules.back(), rule("-p icmp -j ACCEPT"));
}

TEST(ApplyCommand, AppendIgnoresAnIdOnTheCommand) {
    Ruleset rs = Ruleset::empty();
    Command c = cmd_ok("-A INPUT -j ACCEPT");
    c.rule.id = 77;
    ASSERT_TRUE(apply_command(rs, c).ok());
    EXPECT_EQ(rs.find("INPUT")->rules[0].id, 0u);
}

TEST(ApplyCommand, Insert) {
    Ruleset rs = numbered();
    run_ok(rs, "-I INPUT -j DROP");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{0, 1, 2, 3}));
    rs = numbered();
    run_ok(rs, "-I INPUT 2 -j DROP");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{1, 0, 2, 3}));
    rs = numbered();
    run_ok(rs, "-I INPUT 4 -j DROP");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{1, 2, 3, 0})) << "n = length + 1 appends";
    rs = numbered();
    EXPECT_EQ(run(rs, "-I INPUT 5 -j DROP"),
              R"("-I INPUT 5": index of insertion too big: chain INPUT has 3 rules (insert at 1-4))");
    Ruleset empty = Ruleset::empty();
    run_ok(empty, "-I INPUT 1 -j DROP");
    EXPECT_EQ(empty.find("INPUT")->rules.size(), 1u);
}

TEST(ApplyCommand, Replace) {
    Ruleset rs = numbered();
    run_ok(rs, "-R INPUT 2 -p udp --dport 123 -j ACCEPT");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{1, 0, 3}));
    EXPECT_EQ(rs.find("INPUT")->rules[1], rule("-p udp --dport 123 -j ACCEPT"));
    EXPECT_EQ(run(rs, "-R INPUT 4 -j DROP"), R"("-R INPUT 4": index of replacement too big: chain INPUT has 3 rules)");
}

TEST(ApplyCommand, DeleteBySpecFindsTheFirstEqualRule) {
    Ruleset rs = numbered();
    run_ok(rs, "-A INPUT -p tcp --dport 22 -j ACCEPT");  // a duplicate of rule 1, id 0
    // Spelled differently, same meaning: equality is on meaning and ignores ids.
    run_ok(rs, "-D INPUT -p 6 -m tcp --destination-port ssh --jump ACCEPT");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{2, 3, 0}));
    run_ok(rs, "-D INPUT -4 -s 10.0.0.0/255.0.0.0 -j DROP");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{2, 0}));
    EXPECT_EQ(run(rs, "-D INPUT -p tcp --dport 23 -j ACCEPT"),
              R"("-D INPUT -p tcp -m tcp --dport 23 -j ACCEPT": no matching rule in chain INPUT )"
              R"((Bad rule (does a matching rule exist in that chain?)))");
    EXPECT_NE(run(rs, "-D INPUT -p udp --dport 53").find("no matching rule"), std::string::npos)
        << "the target is part of the rule";
}

TEST(ApplyCommand, DeleteByNumber) {
    Ruleset rs = numbered();
    run_ok(rs, "-D INPUT 2");
    EXPECT_EQ(ids(rs, "INPUT"), (std::vector<uint64_t>{1, 3}));
    EXPECT_EQ(run(rs, "-D INPUT 3"), R"("-D INPUT 3": index of deletion too big: chain INPUT has 2 rules)");
    run_ok(rs, "-D INPUT 2");
    run_ok(rs, "-D INPUT 1");
    EXPECT_EQ(run(rs, "-D INPUT 1"), R"("-D INPUT 1": index of deletion too big: chain INPUT has 0 rules)");
}

TEST(ApplyCommand, ForwardAndOutputCannotHoldRules) {
    Ruleset rs = Ruleset::empty();
    EXPECT_EQ(run(rs, "-A OUTPUT -j ACCEPT"),
              R"("-A OUTPUT -j ACCEPT": xfw filters XDP ingress only: chain OUTPUT cannot hold rules)");
    EXPECT_NE(run(rs, "-I FORWARD -p tcp -j DROP").find("xfw filters XDP ingress only: chain FORWARD cannot hold rules"),
              std::string::npos);
    // Their policies, flushes and listings are fine.
    run_ok(rs, "-P FORWARD DROP");
    run_ok(rs, "-F OUTPUT");
    run_ok(rs, "-L FORWARD");
    EXPECT_EQ(rs.find("FORWARD")->policy, Target::Kind::Drop);
}

TEST(ApplyCommand, MissingChainIsNamed) {
    Ruleset rs = numbered();
    const char* commands[] = {"-A nope -j ACCEPT", "-I nope -j ACCEPT", "-D nope 1", "-D nope -j ACCEPT",
                              "-R nope 1 -j ACCEPT", "-F nope", "-Z nope", "-L nope", "-S nope",
                              "-X nope", "-P nope DROP", "-E nope other"};
    for (const char* c : commands) {
        const std::string msg = run(rs, c);
        EXPECT_NE(msg.find("No chain/target/match by that name"), std::string::npos) << c << ": " << msg;
        EXPECT_NE(msg.find("nope"), std::string::npos) << c << ": " << msg;
    }
    EXPECT_EQ(run(rs, "-A nope -j ACCEPT"),
              R"("-A nope": No chain/target/match by that name (chain nope does not exist; create it with -N nope))");
}

TEST(ApplyCommand, Jumps) {
    Ruleset rs = Ruleset::empty();
    EXPECT_EQ(run(rs, "-A INPUT -j web"), R"("-j web": chain web does not exist (create it with -N web first))");
    run_ok(rs, "-N web");
    run_ok(rs, "-A INPUT -p tcp -j web");
    EXPECT_EQ(run(rs, "-A web -j INPUT"), R"("-j INPUT": cannot jump to built-in chain INPUT)");
    EXPECT_EQ(run(rs, "-A web -j OUTPUT"), R"("-j OUTPUT": cannot jump to built-in chain OUTPUT)");
    run_ok(rs, "-A web -j RETURN");
    run_ok(rs, "-A INPUT -j RETURN");  // RETURN in a built-in chain means "apply the policy"
}

TEST(ApplyCommand, JumpLoopsAreRefused) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-N a");
    run_ok(rs, "-N b");
    run_ok(rs, "-N c");
    EXPECT_EQ(run(rs, "-A a -j a"), R"("-j a": jump from a to a would create a loop (a is reachable from a))");
    run_ok(rs, "-A a -j b");
    run_ok(rs, "-A b -p tcp -j c");
    EXPECT_EQ(run(rs, "-A c -j a"), R"("-j a": jump from c to a would create a loop (c is reachable from a))");
    EXPECT_NE(run(rs, "-I c 1 -j b").find("would create a loop"), std::string::npos);
    run_ok(rs, "-A c -j DROP");
    EXPECT_NE(run(rs, "-R c 1 -j a").find("would create a loop"), std::string::npos);
    // Diamonds are not loops.
    run_ok(rs, "-A a -j c");
    run_ok(rs, "-A INPUT -j a");
    run_ok(rs, "-A INPUT -j c");
}

// ---------------------------------------------------------------------------------------------
// apply_command: chains and policies
// ---------------------------------------------------------------------------------------------

TEST(ApplyCommand, NewChain) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-N web");
    ASSERT_TRUE(rs.find("web"));
    EXPECT_FALSE(rs.find("web")->builtin);
    EXPECT_EQ(run(rs, "-N web"), R"("-N web": Chain already exists)");
    EXPECT_EQ(run(rs, "-N INPUT"), R"("-N INPUT": Chain already exists)");
    EXPECT_EQ(run(rs, "-N 01234567890123456789012345678"),
              R"("01234567890123456789012345678": chain name too long (29 characters, at most 28))");
    run_ok(rs, "-N 0123456789012345678901234567");
    EXPECT_EQ(run(rs, "-N ACCEPT"), R"("ACCEPT": chain name may not clash with a target name)");
    EXPECT_NE(run(rs, "-N RETURN").find("may not clash with a target name"), std::string::npos);
    EXPECT_NE(run(rs, "-N REJECT").find("may not clash with a target name"), std::string::npos);
    EXPECT_NE(run(rs, "-N !x").find("may not start with"), std::string::npos);
}

TEST(ApplyCommand, DeleteChain) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-N used");
    run_ok(rs, "-N full");
    run_ok(rs, "-N empty1");
    run_ok(rs, "-N empty2");
    run_ok(rs, "-A INPUT -j used");
    run_ok(rs, "-A full -j DROP");
    EXPECT_EQ(run(rs, "-X INPUT"), R"("-X INPUT": built-in chains cannot be deleted)");
    EXPECT_EQ(run(rs, "-X used"), R"("-X used": chain is still referenced by 1 rule (Too many links): delete the jumps first)");
    EXPECT_EQ(run(rs, "-X full"), R"("-X full": chain is not empty (1 rule): flush it first with -F full)");
    run_ok(rs, "-X empty1");
    EXPECT_FALSE(rs.find("empty1"));
    // Without a name: every empty, unreferenced user chain goes; the others stay.
    run_ok(rs, "-X");
    EXPECT_FALSE(rs.find("empty2"));
    EXPECT_TRUE(rs.find("used"));
    EXPECT_TRUE(rs.find("full"));
    EXPECT_TRUE(rs.find("INPUT") && rs.find("FORWARD") && rs.find("OUTPUT"));
    // The usual teardown: flush everything, then delete everything.
    run_ok(rs, "-F");
    run_ok(rs, "-X");
    EXPECT_EQ(rs, Ruleset::empty());
}

TEST(ApplyCommand, RenameChainUpdatesJumps) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-N web");
    run_ok(rs, "-N other");
    run_ok(rs, "-A INPUT -p tcp -j web");
    run_ok(rs, "-A other -j web");
    run_ok(rs, "-A web -j ACCEPT");
    rs.find("INPUT")->rules[0].id = 9;
    run_ok(rs, "-E web www");
    EXPECT_FALSE(rs.find("web"));
    ASSERT_TRUE(rs.find("www"));
    EXPECT_EQ(rs.find("www")->rules.size(), 1u);
    EXPECT_EQ(rs.find("INPUT")->rules[0].target.chain, "www");
    EXPECT_EQ(rs.find("INPUT")->rules[0].id, 9u) << "renaming keeps rule identities";
    EXPECT_EQ(rs.find("other")->rules[0].target.chain, "www");
    EXPECT_EQ(run(rs, "-E INPUT in"), R"("-E INPUT in": built-in chains cannot be renamed)");
    EXPECT_EQ(run(rs, "-E www other"), R"("-E www other": Chain already exists: other)");
    EXPECT_NE(run(rs, "-E www DROP").find("may not clash with a target name"), std::string::npos);
}

TEST(ApplyCommand, Policy) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-P INPUT DROP");
    EXPECT_EQ(rs.find("INPUT")->policy, Target::Kind::Drop);
    run_ok(rs, "-P INPUT ACCEPT");
    EXPECT_EQ(rs.find("INPUT")->policy, Target::Kind::Accept);
    run_ok(rs, "-P OUTPUT DROP");
    EXPECT_EQ(rs.find("OUTPUT")->policy, Target::Kind::Drop);
    run_ok(rs, "-N web");
    EXPECT_EQ(run(rs, "-P web DROP"),
              R"("-P web": a policy can only be set on a built-in chain (INPUT, FORWARD, OUTPUT))");
    Command c = cmd_ok("-P INPUT DROP");
    c.policy = Target::Kind::Return;
    EXPECT_FALSE(apply_command(rs, c).ok());
}

TEST(ApplyCommand, FlushZeroListLeaveTheRestAlone) {
    Ruleset rs = numbered();
    run_ok(rs, "-N web");
    run_ok(rs, "-A web -j ACCEPT");
    const Ruleset before = rs;
    run_ok(rs, "-Z");
    run_ok(rs, "-Z INPUT");
    run_ok(rs, "-L");
    run_ok(rs, "-L web -v");
    run_ok(rs, "-S INPUT");
    EXPECT_EQ(rs, before);
    run_ok(rs, "-F web");
    EXPECT_TRUE(rs.find("web")->rules.empty());
    EXPECT_EQ(rs.find("INPUT")->rules.size(), 3u);
    run_ok(rs, "-A web -j ACCEPT");
    run_ok(rs, "-F");
    EXPECT_TRUE(rs.find("web")->rules.empty());
    EXPECT_TRUE(rs.find("INPUT")->rules.empty());
    EXPECT_TRUE(rs.find("web")) << "-F keeps chains";
}

TEST(ApplyCommand, FailuresChangeNothing) {
    Ruleset rs = numbered();
    run_ok(rs, "-N a");
    run_ok(rs, "-N b");
    run_ok(rs, "-A a -j b");
    run_ok(rs, "-A INPUT -j a");
    const Ruleset before = rs;
    const char* failing[] = {
        "-A b -j a",        "-I INPUT 9 -j ACCEPT", "-R INPUT 9 -j ACCEPT", "-D INPUT 9",
        "-D INPUT -j QQQ",  "-A OUTPUT -j ACCEPT",  "-A INPUT -j missing",  "-N a",
        "-X a",             "-X b",                 "-X INPUT",             "-E a b",
        "-E INPUT x",       "-P a DROP",            "-F missing",           "-A INPUT -j INPUT",
    };
    for (const char* c : failing) {
        EXPECT_NE(run(rs, c), "") << c;
        EXPECT_EQ(dump(rs), dump(before)) << c;
        EXPECT_EQ(ids(rs, "INPUT"), ids(before, "INPUT")) << c;
    }
}

TEST(ApplyCommand, AWholeSession) {
    Ruleset rs = Ruleset::empty();
    for (const char* c : {"-P INPUT DROP", "-N ssh", "-A INPUT -i lo -j ACCEPT",
                          "-A INPUT -p tcp --dport 22 -j ssh", "-A ssh -s 192.0.2.0/24 -j ACCEPT",
                          "-I ssh -s 198.51.100.1 -j DROP", "-A ssh -j RETURN",
                          "-R INPUT 1 -i lo -m comment --comment loopback -j ACCEPT", "-D ssh 3",
                          "-E ssh admin"})
        run_ok(rs, c);
    EXPECT_EQ(dump(rs),
              "-P INPUT DROP\n"
              "-P FORWARD ACCEPT\n"
              "-P OUTPUT ACCEPT\n"
              "-N admin\n"
              "-A INPUT -i lo -m comment --comment loopback -j ACCEPT\n"
              "-A INPUT -p tcp -m tcp --dport 22 -j admin\n"
              "-A admin -s 198.51.100.1/32 -j DROP\n"
              "-A admin -s 192.0.2.0/24 -j ACCEPT\n");
}

}  // namespace
}  // namespace xfw

namespace xfw {
namespace {

// -C: what scripts use as `xfw -C ... || xfw -A ...`.
TEST(CheckCommand, FindsEqualRulesAndExitsOneOtherwise) {
    Ruleset rs = Ruleset::empty();
    run_ok(rs, "-A INPUT -p tcp --dport 22 -j ACCEPT");
    const std::string before = dump(rs);

    auto found = parse_command(toks("-C INPUT -p tcp -m tcp --dport 22 -j ACCEPT"));
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->op, Command::Op::Check);
    EXPECT_TRUE(apply_command(rs, *found).ok());

    auto absent = parse_command(toks("--check INPUT -p tcp --dport 23 -j ACCEPT"));
    ASSERT_TRUE(absent.ok());
    Status st = apply_command(rs, *absent);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().exit_code, 1);
    EXPECT_NE(st.error().message.find("Bad rule (does a matching rule exist in that chain?)"), std::string::npos);
    EXPECT_EQ(dump(rs), before);  // checking never changes the ruleset

    EXPECT_NE(run(rs, "-C NOSUCH -j DROP").find("No chain/target/match by that name"), std::string::npos);
    EXPECT_NE(cmd_error("-C").find("option requires a chain name"), std::string::npos);
    EXPECT_NE(cmd_error("-C INPUT -j DROP", CommandSource::RestoreFile).find("cannot appear in a restore file"),
              std::string::npos);
}

}  // namespace
}  // namespace xfw
