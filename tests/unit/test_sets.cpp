// Unit tests for sets: element syntax as ipset writes it, the save/restore text, the map keys,
// and -m set in the rule parser and printers against real iptables 1.8.9 (nf_tables) output.
#include <gtest/gtest.h>

#include "control/restore_file.hpp"
#include "control/rule_parser.hpp"
#include "control/rule_printer.hpp"
#include "control/set_save_format.hpp"
#include "control/set_types.hpp"

namespace xfw {
namespace {

SetDefinition def(SetType type, Family family = Family::V4, const std::string& name = "s") {
    SetDefinition d;
    d.name = name;
    d.type = type;
    d.family = family;
    return d;
}

std::string round_trip(const SetDefinition& d, const std::string& text) {
    auto e = parse_set_element(d, text);
    EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().message);
    return e.ok() ? format_set_element(d, *e) : "";
}

std::string refusal(const SetDefinition& d, const std::string& text) {
    auto e = parse_set_element(d, text);
    EXPECT_FALSE(e.ok()) << text << " was accepted";
    return e.ok() ? "" : e.error().message;
}

TEST(SetElements, AsIpsetPrintsThem) {
    EXPECT_EQ(round_trip(def(SetType::HashIp), "192.0.2.1"), "192.0.2.1");
    EXPECT_EQ(round_trip(def(SetType::HashIp, Family::V6), "2001:DB8:0::1"), "2001:db8::1");
    EXPECT_EQ(round_trip(def(SetType::HashNet), "10.1.2.3/8"), "10.0.0.0/8");  // host bits cleared
    EXPECT_EQ(round_trip(def(SetType::HashNet), "10.1.2.3/32"), "10.1.2.3");   // full length: no "/32"
    EXPECT_EQ(round_trip(def(SetType::HashNet), "10.1.2.3"), "10.1.2.3");
    EXPECT_EQ(round_trip(def(SetType::HashNet, Family::V6), "2001:db8:abcd::/33"), "2001:db8:8000::/33");
    EXPECT_EQ(round_trip(def(SetType::HashIpPort), "10.0.0.1,80"), "10.0.0.1,tcp:80");  // tcp by default
    EXPECT_EQ(round_trip(def(SetType::HashIpPort), "10.0.0.1,UDP:53"), "10.0.0.1,udp:53");
    EXPECT_EQ(round_trip(def(SetType::HashIpPort), "10.0.0.1,tcp:https"), "10.0.0.1,tcp:443");
    EXPECT_EQ(round_trip(def(SetType::HashNetPort, Family::V6), "2001:db8::/64,udp:53"), "2001:db8::/64,udp:53");
}

TEST(SetElements, RefusedWithTheReason) {
    EXPECT_NE(refusal(def(SetType::HashIp), "192.0.2.256").find("not an IPv4 address"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIp), "2001:db8::1").find("is IPv6 but set s is family inet"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIp), "10.0.0.0/24").find("use a hash:net set"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIp), "10.0.0.1-10.0.0.9").find("ranges"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashNet), "10.0.0.0/0").find("ipset refuses /0"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashNet), "10.0.0.0/33").find("out of range 1-32"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIp), "10.0.0.1,80").find("without"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIpPort), "10.0.0.1").find("ADDRESS,PROTO:PORT"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIpPort), "10.0.0.1,icmp:ping").find("tcp and udp"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIpPort), "10.0.0.1,tcp:80-90").find("port ranges"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIpPort), "10.0.0.1,tcp:65536").find("not a port"), std::string::npos);
    EXPECT_NE(refusal(def(SetType::HashIp), "").find("empty"), std::string::npos);
}

TEST(SetMaps, KeysFollowTheDocumentedLayouts) {
    auto key = [](const SetDefinition& d, const std::string& text) {
        auto e = parse_set_element(d, text);
        EXPECT_TRUE(e.ok());
        return set_map_key(d, *e);
    };
    using Bytes = std::vector<uint8_t>;
    EXPECT_EQ(key(def(SetType::HashIp), "192.0.2.1"), (Bytes{192, 0, 2, 1}));
    EXPECT_EQ(key(def(SetType::HashNet), "10.0.0.0/8"), (Bytes{8, 0, 0, 0, 10, 0, 0, 0}));
    EXPECT_EQ(key(def(SetType::HashIpPort), "10.0.0.1,udp:53"), (Bytes{17, 0, 0, 53, 10, 0, 0, 1}));
    EXPECT_EQ(key(def(SetType::HashNetPort), "10.0.0.0/24,tcp:443"), (Bytes{56, 0, 0, 0, 6, 0, 1, 187, 10, 0, 0, 0}));
    const auto spec = set_map_spec(def(SetType::HashNetPort, Family::V6));
    EXPECT_EQ(spec.type, BPF_MAP_TYPE_LPM_TRIE);
    EXPECT_EQ(spec.key_size, 24u);
    EXPECT_EQ(set_map_spec(def(SetType::HashIpPort, Family::V6)).key_size, 20u);
    EXPECT_EQ(set_map_spec(def(SetType::HashIp)).type, BPF_MAP_TYPE_HASH);
}

TEST(SetSaveFormat, CreateLineAndElements) {
    SetDefinition d = def(SetType::HashNet, Family::V6, "nets");
    d.maxelem = 100;
    auto a = parse_set_element(d, "2001:db8::/32"), b = parse_set_element(d, "2001:db8:1::1");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(format_set_save(d, {*a, *b}),
              "create nets hash:net family inet6 hashsize 1024 maxelem 100\n"
              "add nets 2001:db8::/32\n"
              "add nets 2001:db8:1::1\n");
}

TEST(SetSaveFormat, CreateOptions) {
    auto d = parse_set_create("x", "hash:ip,port", {"family", "inet", "hashsize", "300", "maxelem", "10", "bucketsize",
                                                    "12", "initval", "0x6866f17a"});
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(format_set_create(*d), "create x hash:ip,port family inet hashsize 512 maxelem 10");
    auto refused = [](const std::vector<std::string>& opts, const std::string& says) {
        auto r = parse_set_create("x", "hash:ip", opts);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
    };
    refused({"timeout", "30"}, "\"timeout\" is not supported");
    refused({"counters"}, "\"counters\" is not supported");
    refused({"family", "inet4"}, "inet or inet6");
    refused({"maxelem", "0"}, "maxelem is 1-");
    refused({"maxelem"}, "needs a value");
    refused({"colour", "blue"}, "unknown option");
    auto bad_type = parse_set_create("x", "bitmap:port", {});
    ASSERT_FALSE(bad_type.ok());
    EXPECT_NE(bad_type.error().message.find("not supported"), std::string::npos);
    EXPECT_FALSE(parse_set_create("a.b", "hash:ip", {}).ok());
    EXPECT_FALSE(parse_set_create(std::string(32, 'a'), "hash:ip", {}).ok());
    EXPECT_TRUE(parse_set_create(std::string(31, 'a'), "hash:ip", {}).ok());
}

TEST(SetSaveFormat, RestoreCommandsAndLineNumbers) {
    auto cmds = parse_set_restore("# comment\ncreate a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 "
                                  "initval 0x1\nadd a 10.0.0.1\n\ndel -exist a 10.0.0.2\nflush a\ndestroy\n");
    ASSERT_TRUE(cmds.ok()) << cmds.error().message;
    ASSERT_EQ(cmds->size(), 5u);
    EXPECT_EQ((*cmds)[0].kind, SetRestoreCommand::Kind::Create);
    EXPECT_EQ((*cmds)[1].line, 3u);
    EXPECT_EQ((*cmds)[1].element, "10.0.0.1");
    EXPECT_EQ((*cmds)[2].kind, SetRestoreCommand::Kind::Del);
    EXPECT_TRUE((*cmds)[2].exist);
    EXPECT_EQ((*cmds)[4].kind, SetRestoreCommand::Kind::Destroy);
    EXPECT_TRUE((*cmds)[4].set.empty());
    auto refused = [](const std::string& text, const std::string& says) {
        auto r = parse_set_restore(text);
        ASSERT_FALSE(r.ok()) << text;
        EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
    };
    refused("create a hash:ip\nadd a 10.0.0.1 timeout 30\n", "line 2 \"add a 10.0.0.1 timeout 30\": element options");
    refused("create a hash:ip timeout 5\n", "line 1");
    refused("swap a b\n", "unknown command \"swap\"");
    refused("add a\n", "needs a set name and an element");
}

// ---- -m set in rules: the parser, and the printers against iptables 1.8.9 ----

Rule parse_ok(const std::string& spec) {
    auto r = parse_rule(split_restore_line(spec));
    EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Rule{};
}

TEST(SetMatchRules, ParsedAndSavedAsIptablesDoes) {
    // Spec given to iptables -A, then what iptables-save printed after "-A PREROUTING ".
    const std::pair<const char*, const char*> cases[] = {
        {"-m set --match-set bl src -j DROP", "-m set --match-set bl src -j DROP"},
        {"-m set ! --match-set pp src,dst -j ACCEPT", "-m set ! --match-set pp src,dst -j ACCEPT"},
        {"-p tcp -m set --match-set bl dst,src,src --dport 22 -j DROP",
         "-p tcp -m set --match-set bl dst,src,src -m tcp --dport 22 -j DROP"},
    };
    for (const auto& [in, saved] : cases) EXPECT_EQ(format_rule_spec(parse_ok(in)), saved) << in;
    const Rule r = parse_ok("-m set ! --match-set pp src,dst -j ACCEPT");
    ASSERT_EQ(r.matches.size(), 1u);
    const auto& m = std::get<SetMatch>(r.matches[0]);
    EXPECT_EQ(m.name, "pp");
    EXPECT_EQ(m.source, (std::vector<bool>{true, false}));
    EXPECT_TRUE(m.invert);
}

TEST(SetMatchRules, ListedAsIptablesDoes) {
    auto rs = parse_restore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set bl src -j DROP\n"
                            "-A INPUT -m set ! --match-set pp src,dst -j ACCEPT\n"
                            "-A INPUT -p tcp -m set --match-set bl dst,src,src -m tcp --dport 22 -j DROP\nCOMMIT\n",
                            Ruleset::empty());
    ASSERT_TRUE(rs.ok()) << rs.error().message;
    const std::string listing = format_listing(*rs, std::string("INPUT"), ListOptions{false, true, false, false});
    // `iptables -t raw -L -n` on the same rules (chain PREROUTING there).
    EXPECT_NE(listing.find("DROP       0    --  0.0.0.0/0            0.0.0.0/0            match-set bl src\n"),
              std::string::npos) << listing;
    EXPECT_NE(listing.find("ACCEPT     0    --  0.0.0.0/0            0.0.0.0/0            ! match-set pp src,dst\n"),
              std::string::npos) << listing;
    EXPECT_NE(listing.find("DROP       6    --  0.0.0.0/0            0.0.0.0/0            match-set bl dst,src,src tcp dpt:22\n"),
              std::string::npos) << listing;
}

TEST(SetMatchRules, Refused) {
    auto refused = [](const std::string& spec, const std::string& says) {
        auto r = parse_rule(split_restore_line(spec));
        ASSERT_FALSE(r.ok()) << spec;
        EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
    };
    refused("--match-set bl src -j DROP", "needs -m set before it");
    refused("-m set -j DROP", "--match-set NAME src|dst must be specified");
    refused("-m set --match-set bl sideways -j DROP", "\"sideways\" is not a direction");
    refused("-m set --match-set bl src,dst,src,dst,src,dst,src -j DROP", "at most 6 directions");
    refused("-m set --match-set bl", "needs a set name and directions");
    refused("-m set --match-set b.l src", "letters, digits");
    refused("-m set --match-set a src --match-set b src", "only one --match-set per -m set");
    refused("-m set --match-set bl src --return-nomatch", "not supported");
    refused("-m set --match-set bl src ! --update-counters", "not supported");
    refused("-m sets --match-set bl src", "unsupported match module \"sets\"");
}

}  // namespace
}  // namespace xfw
