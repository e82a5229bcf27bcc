// Unit tests for Wasm policy rules in the iptables syntax: `-m wasm` and `-j WASM` with their
// options, printing (save, -L), equality, and every refusal.
#include <gtest/gtest.h>

#include "control/restore_file.hpp"
#include "control/rule_parser.hpp"
#include "control/rule_printer.hpp"

#include <filesystem>

namespace xfw {
namespace {

std::vector<std::string> toks(std::string_view line) { return split_restore_line(line); }

Rule parse_ok(std::string_view line) {
    auto r = parse_rule(toks(line));
    EXPECT_TRUE(r.ok()) << line << " -> " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Rule{};
}

std::string parse_error(std::string_view line) {
    auto r = parse_rule(toks(line));
    if (r.ok()) return "<parsed: " + format_rule_spec(*r) + ">";
    EXPECT_EQ(r.error().exit_code, 2) << line;
    const std::string prefix = "rule: ";
    const std::string& m = r.error().message;
    return m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
}

TEST(WasmRules, MatchWithAllOptionsRoundTrips) {
    Rule r = parse_ok("-p udp -m wasm --policy /etc/xfw/dns.wasm --func dns --buckets 3 --fuel 1000 -j DROP");
    ASSERT_EQ(r.policies().size(), 1u);
    const PolicyRef& p = *r.policies()[0];
    EXPECT_EQ(p.path, "/etc/xfw/dns.wasm");
    EXPECT_EQ(p.function_name(), "dns");
    EXPECT_EQ(p.buckets, 3u);
    EXPECT_EQ(p.fuel, 1000u);
    const std::string spec = format_rule_spec(r);
    EXPECT_EQ(spec, "-p udp -m wasm --policy /etc/xfw/dns.wasm --func dns --buckets 3 --fuel 1000 -j DROP");
    EXPECT_EQ(parse_ok(spec), r);
}

TEST(WasmRules, TargetTakesTheOptionsAfterIt) {
    Rule r = parse_ok("-s 10.0.0.0/8 -j WASM --policy /p/guard.wasm --func syn");
    EXPECT_EQ(r.target.kind, Target::Kind::Wasm);
    EXPECT_EQ(r.target.policy.path, "/p/guard.wasm");
    EXPECT_EQ(r.target.policy.function_name(), "syn");
    EXPECT_EQ(format_rule_spec(r), "-s 10.0.0.0/8 -j WASM --policy /p/guard.wasm --func syn");
    EXPECT_EQ(r.policies().size(), 1u);
}

TEST(WasmRules, MatchesComeBeforeTheTargetInEvaluationOrder) {
    Rule r = parse_ok("-m wasm --policy /a.wasm -m wasm --policy /b.wasm -j WASM --policy /c.wasm");
    auto p = r.policies();
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0]->path, "/a.wasm");
    EXPECT_EQ(p[1]->path, "/b.wasm");
    EXPECT_EQ(p[2]->path, "/c.wasm");
}

TEST(WasmRules, DefaultFunctionIsFilterAndIsNotPrinted) {
    Rule r = parse_ok("-m wasm --policy /x.wasm");
    EXPECT_EQ(r.policies()[0]->function_name(), "filter");
    EXPECT_EQ(format_rule_spec(r), "-m wasm --policy /x.wasm");
}

TEST(WasmRules, RelativePathsBecomeAbsolute) {
    Rule r = parse_ok("-m wasm --policy policies/../x.wasm -j DROP");
    const auto expected = (std::filesystem::current_path() / "x.wasm").lexically_normal().string();
    EXPECT_EQ(r.policies()[0]->path, expected);
}

TEST(WasmRules, DigestAndModuleAreNotPartOfTheMeaning) {
    Rule a = parse_ok("-m wasm --policy /x.wasm -j DROP");
    Rule b = a;
    b.policies()[0]->digest = std::string(64, 'a');
    EXPECT_EQ(a, b);
    Rule c = parse_ok("-m wasm --policy /x.wasm --func other -j DROP");
    EXPECT_NE(a, c);
}

TEST(WasmRules, ListingShowsPolicyWordsAndTheTargetOptionsLast) {
    Ruleset rs = Ruleset::empty();
    rs.find("INPUT")->rules.push_back(parse_ok("-p tcp -m wasm --policy /x.wasm --buckets 2 -j DROP"));
    rs.find("INPUT")->rules.push_back(parse_ok("-j WASM --policy /y.wasm --fuel 9"));
    const std::string listing = format_listing(rs, std::string("INPUT"), ListOptions{false, true, false, false});
    EXPECT_NE(listing.find("DROP       6    --  0.0.0.0/0            0.0.0.0/0            wasm policy /x.wasm buckets 2"),
              std::string::npos)
        << listing;
    EXPECT_NE(listing.find("WASM       0    --  0.0.0.0/0            0.0.0.0/0            policy /y.wasm fuel 9"),
              std::string::npos)
        << listing;
}

TEST(WasmRules, NotesPrintUnderTheirRuleWithVerbose) {
    Ruleset rs = Ruleset::empty();
    rs.find("INPUT")->rules.push_back(parse_ok("-m wasm --policy /x.wasm -j DROP"));
    auto notes = [](const Rule&) { return std::vector<RuleNote>{{7, 700, "policy 1 bucket tenant_a"}}; };
    const std::string verbose = format_listing(rs, std::string("INPUT"), ListOptions{true, true, true, false}, {}, {}, notes);
    EXPECT_NE(verbose.find("       7      700   policy 1 bucket tenant_a\n"), std::string::npos) << verbose;
    const std::string plain = format_listing(rs, std::string("INPUT"), ListOptions{false, true, false, false}, {}, {}, notes);
    EXPECT_EQ(plain.find("tenant_a"), std::string::npos);
}

TEST(WasmRules, Refusals) {
    EXPECT_EQ(parse_error("--policy /x.wasm -j DROP"),
              "\"--policy /x.wasm\": --policy needs -m wasm or -j WASM before it");
    EXPECT_EQ(parse_error("-m wasm -j DROP"), "\"-m wasm\": option --policy FILE must be specified");
    EXPECT_EQ(parse_error("-j WASM"), "\"-j WASM\": option --policy FILE must be specified");
    EXPECT_EQ(parse_error("-j WASM --policy /a.wasm -m wasm --policy /b.wasm"),
              "\"-m wasm\": -m wasm must come before -j WASM (options after -j WASM belong to the target)");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --policy /b.wasm"),
              "\"--policy /b.wasm\": only one --policy per -m wasm or -j WASM");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --fuel 0"), "\"--fuel 0\": fuel must be 1-16777216");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --fuel 16777217"), "\"--fuel 16777217\": fuel must be 1-16777216");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --buckets 65"), "\"--buckets 65\": bucket count must be 0-64");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --func f --func g"), "\"--func g\": only one --func per policy");
    EXPECT_EQ(parse_error("-m wasm --policy /a.wasm --func a/b"),
              "\"--func a/b\": not a Wasm export name xfw accepts (1-64 characters: letters, digits, _ . - $)");
    EXPECT_EQ(parse_error("-m wasm ! --policy /a.wasm"), "\"! --policy\": --policy cannot be negated");
    EXPECT_EQ(parse_error("-m wasm --policy \"/a b.wasm\""),
              "\"--policy /a b.wasm\": policy file names may not contain whitespace, quotes or control characters");
}

TEST(WasmRules, RestoreFileRoundTrip) {
    const std::string text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p udp -m udp --sport 53 -m wasm --policy /srv/dns.wasm -j DROP\n"
        "-A INPUT -j WASM --policy /srv/meter.wasm --func meter --buckets 4\n"
        "COMMIT\n";
    auto rs = parse_restore(text, Ruleset::empty());
    ASSERT_TRUE(rs.ok()) << rs.error().message;
    const std::string saved = format_save(*rs);
    EXPECT_NE(saved.find("-A INPUT -j WASM --policy /srv/meter.wasm --func meter --buckets 4\n"), std::string::npos)
        << saved;
}

}  // namespace
}  // namespace xfw
