// Unit tests for `xfw counters` formatting: exact text, JSON, CSV and Prometheus output of a
// snapshot, escaping of odd comments, account parsing, and the Prometheus grammar.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <ostream>

#include "control/counter_export.hpp"
#include "control/restore_file.hpp"
#include "control/rule_parser.hpp"
#include "tests/support/export_formats.hpp"

namespace xfw {

// For readable assertion messages.
inline void PrintTo(const CounterRow& r, std::ostream* os) {
    *os << "{" << r.chain << ", " << r.num << ", " << r.id << ", [" << r.spec << "], [" << r.account << "], "
        << r.packets << ", " << r.bytes << "}";
}

namespace {

using test::parse_prometheus_text;
using test::read_csv;

// The spec of rule 2 is what format_rule_spec prints for the comment
//   a "b", c\d account=x"y
// (see SnapshotFromParsedRuleset).
const char* const kOddSpec = R"(-s 10.0.0.0/8 -m comment --comment "a \"b\", c\\d account=x\"y" -j web)";

CounterSnapshot sample_snapshot() {
    CounterSnapshot s;
    s.rules = {
        {"INPUT", 1, 7, "-p tcp -m tcp --dport 22 -m comment --comment \"account=acme\" -j ACCEPT", "acme", 11, 704},
        {"INPUT", 2, 12, kOddSpec, "x\"y", 3, 180},
        {"web", 1, 9, "", "", 0, 0},
    };
    s.input_policy = "DROP";
    s.input_policy_counts = {5, 300};
    s.errors = {2, 120};
    s.non_ip = {1, 60};
    return s;
}

// ---- account=NAME ---------------------------------------------------------------------------

TEST(CounterExport, ParseAccount) {
    EXPECT_EQ(parse_account("account=acme"), "acme");
    EXPECT_EQ(parse_account("billing account=acme-42 web"), "acme-42");
    EXPECT_EQ(parse_account("team=web,account=beta;x=1"), "beta");
    EXPECT_EQ(parse_account("\taccount=x\"y\\z"), "x\"y\\z");
    EXPECT_EQ(parse_account("account=first account=second"), "first");
    EXPECT_EQ(parse_account("account="), "");
    EXPECT_EQ(parse_account("xaccount=foo"), "");
    EXPECT_EQ(parse_account("Account=foo"), "");
    EXPECT_EQ(parse_account("account"), "");
    EXPECT_EQ(parse_account(""), "");
}

Ruleset restore_ok(const std::string& rules) {
    auto rs = parse_restore("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n" +
                                rules + "COMMIT\n",
                            Ruleset::empty());
    EXPECT_TRUE(rs.ok()) << (rs.ok() ? "" : rs.error().message);
    return rs.ok() ? *rs : Ruleset::empty();
}

TEST(CounterExport, SnapshotFromParsedRuleset) {
    Ruleset rs = restore_ok(
        "-A web -j ACCEPT\n"
        "-A INPUT -p tcp --dport 22 -m comment --comment account=acme -j ACCEPT\n"
        R"(-A INPUT -s 10.0.0.0/8 -m comment --comment "a \"b\", c\\d account=x\"y" -j web)"
        "\n"
        "-A INPUT -p udp -m comment --comment \"no account here\" -m comment --comment \"account=second\"\n");
    uint64_t id = 100;
    for (Chain& c : rs.chains)
        for (Rule& r : c.rules) r.id = ++id;
    CounterSnapshot s = make_counter_snapshot(
        rs, [](const Rule& r) { return CounterPair{r.id * 10, r.id * 1000}; }, {5, 300}, {2, 120}, {1, 60});
    ASSERT_EQ(s.rules.size(), 4u);
    // Listing order: INPUT first, then user chains, whatever order the file had.
    EXPECT_EQ(s.rules[0], (CounterRow{"INPUT", 1, 101,
                                      "-p tcp -m tcp --dport 22 -m comment --comment \"account=acme\" -j ACCEPT", "acme",
                                      1010, 101000}));
    EXPECT_EQ(s.rules[1], (CounterRow{"INPUT", 2, 102, kOddSpec, "x\"y", 1020, 102000}));
    EXPECT_EQ(s.rules[2].spec,
              R"(-p udp -m comment --comment "no account here" -m comment --comment "account=second")");
    EXPECT_EQ(s.rules[2].account, "second");
    EXPECT_EQ(s.rules[2].num, 3u);
    EXPECT_EQ(s.rules[3], (CounterRow{"web", 1, 104, "-j ACCEPT", "", 1040, 104000}));
    EXPECT_EQ(s.input_policy, "DROP");
    EXPECT_EQ(s.input_policy_counts, (CounterPair{5, 300}));
    EXPECT_EQ(s.errors, (CounterPair{2, 120}));
    EXPECT_EQ(s.non_ip, (CounterPair{1, 60}));

    // An empty lookup means zero counts; ACCEPT policy.
    CounterSnapshot z = make_counter_snapshot(Ruleset::empty(), {}, {}, {}, {});
    EXPECT_TRUE(z.rules.empty());
    EXPECT_EQ(z.input_policy, "ACCEPT");
}

// Comments cannot carry line breaks or NUL (the parser refuses them), so a rule spec never
// holds one; the formatters still escape them (account names come from the same text).
TEST(CounterExport, CommentsCannotHoldLineBreaks) {
    EXPECT_FALSE(parse_rule({"-m", "comment", "--comment", "a\nb", "-j", "ACCEPT"}).ok());
    EXPECT_FALSE(parse_rule({"-m", "comment", "--comment", "a\rb", "-j", "ACCEPT"}).ok());
    EXPECT_TRUE(parse_rule({"-m", "comment", "--comment", "a,\"b\"\\c\td", "-j", "ACCEPT"}).ok());
}

// ---- Text table -----------------------------------------------------------------------------

TEST(CounterExport, Table) {
    const std::string want =
        "CHAIN  NUM  ID  ACCOUNT  PACKETS  BYTES  RULE\n"
        "INPUT    1   7  acme          11    704  -p tcp -m tcp --dport 22 -m comment --comment \"account=acme\" -j ACCEPT\n"
        "INPUT    2  12  x\"y            3    180  " + std::string(kOddSpec) + "\n"
        "web      1   9  -              0      0\n"
        "\n"
        "INPUT policy DROP: 5 packets, 300 bytes\n"
        "malformed headers: 2 packets, 120 bytes\n"
        "non-IP frames: 1 packets, 60 bytes\n";
    EXPECT_EQ(format_counters_table(sample_snapshot()), want);

    CounterSnapshot big;
    big.rules = {{"INPUT", 1, 1, "-j DROP", "customer-with-a-long-name", 12345678901234ull, 98765432109876543ull}};
    EXPECT_EQ(format_counters_table(big),
              "CHAIN  NUM  ID  ACCOUNT                           PACKETS              BYTES  RULE\n"
              "INPUT    1   1  customer-with-a-long-name  12345678901234  98765432109876543  -j DROP\n"
              "\n"
              "INPUT policy ACCEPT: 0 packets, 0 bytes\n"
              "malformed headers: 0 packets, 0 bytes\n"
              "non-IP frames: 0 packets, 0 bytes\n");
}

// ---- JSON -----------------------------------------------------------------------------------

TEST(CounterExport, Json) {
    const std::string want = R"({
  "rules": [
    {
      "chain": "INPUT",
      "num": 1,
      "id": 7,
      "spec": "-p tcp -m tcp --dport 22 -m comment --comment \"account=acme\" -j ACCEPT",
      "account": "acme",
      "packets": 11,
      "bytes": 704
    },
    {
      "chain": "INPUT",
      "num": 2,
      "id": 12,
      "spec": "-s 10.0.0.0/8 -m comment --comment \"a \\\"b\\\", c\\\\d account=x\\\"y\" -j web",
      "account": "x\"y",
      "packets": 3,
      "bytes": 180
    },
    {
      "chain": "web",
      "num": 1,
      "id": 9,
      "spec": "",
      "account": "",
      "packets": 0,
      "bytes": 0
    }
  ],
  "policy": {
    "INPUT": {
      "target": "DROP",
      "packets": 5,
      "bytes": 300
    }
  },
  "errors": {
    "packets": 2,
    "bytes": 120
  },
  "non_ip": {
    "packets": 1,
    "bytes": 60
  }
}
)";
    const std::string got = format_counters_json(sample_snapshot());
    EXPECT_EQ(got, want);
    // And it reads back to the same values.
    auto j = nlohmann::json::parse(got);
    EXPECT_EQ(j["rules"][1]["spec"], kOddSpec);
    EXPECT_EQ(j["rules"][1]["account"], "x\"y");
    EXPECT_EQ(j["rules"][0]["bytes"].get<uint64_t>(), 704u);
}

TEST(CounterExport, JsonEmptyAndLargeAndNotUtf8) {
    CounterSnapshot s;
    EXPECT_EQ(format_counters_json(s),
              "{\n  \"rules\": [],\n  \"policy\": {\n    \"INPUT\": {\n      \"target\": \"ACCEPT\",\n"
              "      \"packets\": 0,\n      \"bytes\": 0\n    }\n  },\n  \"errors\": {\n    \"packets\": 0,\n"
              "    \"bytes\": 0\n  },\n  \"non_ip\": {\n    \"packets\": 0,\n    \"bytes\": 0\n  }\n}\n");
    s.rules = {{"INPUT", 1, UINT64_MAX, "-m comment --comment \"caf\xc3\xa9 \xff\"", "\xff", UINT64_MAX, UINT64_MAX}};
    auto j = nlohmann::json::parse(format_counters_json(s));  // does not throw on the 0xff byte
    EXPECT_EQ(j["rules"][0]["id"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(j["rules"][0]["packets"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(j["rules"][0]["spec"], "-m comment --comment \"caf\xc3\xa9 \xef\xbf\xbd\"");
    EXPECT_EQ(j["rules"][0]["account"], "\xef\xbf\xbd");
}

// ---- CSV ------------------------------------------------------------------------------------

TEST(CounterExport, CsvField) {
    EXPECT_EQ(csv_field("plain text"), "plain text");
    EXPECT_EQ(csv_field(""), "");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csv_field("cr\rhere"), "\"cr\rhere\"");
    EXPECT_EQ(csv_field("back\\slash"), "back\\slash");
}

TEST(CounterExport, Csv) {
    const std::string want =
        "chain,num,id,account,packets,bytes,spec\r\n"
        "INPUT,1,7,acme,11,704,\"-p tcp -m tcp --dport 22 -m comment --comment \"\"account=acme\"\" -j ACCEPT\"\r\n"
        R"(INPUT,2,12,"x""y",3,180,"-s 10.0.0.0/8 -m comment --comment ""a \""b\"", c\\d account=x\""y"" -j web")"
        "\r\n"
        "web,1,9,,0,0,\r\n";
    EXPECT_EQ(format_counters_csv(sample_snapshot()), want);

    CounterSnapshot s;
    EXPECT_EQ(format_counters_csv(s), "chain,num,id,account,packets,bytes,spec\r\n");
    s.rules = {{"INPUT", 1, 2, "-j ACCEPT", "a\nb,c", 3, 4}};
    EXPECT_EQ(format_counters_csv(s), "chain,num,id,account,packets,bytes,spec\r\nINPUT,1,2,\"a\nb,c\",3,4,-j ACCEPT\r\n");
}

TEST(CounterExport, CsvReadsBack) {
    CounterSnapshot s = sample_snapshot();
    s.rules.push_back({"INPUT", 3, 4, "-j DROP", "new\nline, \"q\"", 1, 2});
    std::string why;
    auto parsed = read_csv(format_counters_csv(s), &why);
    ASSERT_TRUE(parsed) << why;
    const auto& rows = *parsed;
    ASSERT_EQ(rows.size(), s.rules.size() + 1);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"chain", "num", "id", "account", "packets", "bytes", "spec"}));
    for (const auto& row : rows) EXPECT_EQ(row.size(), 7u);
    for (size_t i = 0; i < s.rules.size(); ++i) {
        const CounterRow& r = s.rules[i];
        EXPECT_EQ(rows[i + 1], (std::vector<std::string>{r.chain, std::to_string(r.num), std::to_string(r.id), r.account,
                                                         std::to_string(r.packets), std::to_string(r.bytes), r.spec}));
    }
}

TEST(CounterExport, CsvReaderIsStrict) {
    EXPECT_TRUE(read_csv("a,\"b\"\"c\"\r\n"));
    EXPECT_FALSE(read_csv("a,b\n"));           // LF line end
    EXPECT_FALSE(read_csv("a,b"));              // no final CRLF
    EXPECT_FALSE(read_csv("a,\"b\r\n"));        // unterminated quote
    EXPECT_FALSE(read_csv("a,\"b\"c\r\n"));      // text after the closing quote
    EXPECT_FALSE(read_csv("a,b\"c\r\n"));       // quote in an unquoted field
}

// ---- Prometheus -----------------------------------------------------------------------------

TEST(CounterExport, PrometheusLabelValue) {
    EXPECT_EQ(prometheus_label_value("plain"), "plain");
    EXPECT_EQ(prometheus_label_value("a\"b"), "a\\\"b");
    EXPECT_EQ(prometheus_label_value("a\\b"), "a\\\\b");
    EXPECT_EQ(prometheus_label_value("a\nb"), "a\\nb");
    EXPECT_EQ(prometheus_label_value("tab\there, {x}=1"), "tab\there, {x}=1");
    EXPECT_EQ(prometheus_label_value("caf\xc3\xa9"), "caf\xc3\xa9");
    EXPECT_EQ(prometheus_label_value("bad\xff\xc0\xaf"), "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(CounterExport, SanitizeUtf8) {
    EXPECT_EQ(sanitize_utf8("ascii"), "ascii");
    EXPECT_EQ(sanitize_utf8("\xe2\x82\xac\xf0\x9f\x98\x80"), "\xe2\x82\xac\xf0\x9f\x98\x80");  // euro, emoji
    EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");          // surrogate
    EXPECT_EQ(sanitize_utf8("\xe0\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");          // overlong
    EXPECT_EQ(sanitize_utf8("\xf4\x90\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // > U+10FFFF
    EXPECT_EQ(sanitize_utf8("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");                        // cut short
}

TEST(CounterExport, Prometheus) {
    const std::string labels1 =
        R"({chain="INPUT",num="1",id="7",account="acme",rule="-p tcp -m tcp --dport 22 -m comment --comment \"account=acme\" -j ACCEPT"})";
    const std::string labels2 =
        R"({chain="INPUT",num="2",id="12",account="x\"y",rule="-s 10.0.0.0/8 -m comment --comment \"a \\\"b\\\", c\\\\d account=x\\\"y\" -j web"})";
    const std::string labels3 = R"({chain="web",num="1",id="9",account="",rule=""})";
    const std::string never = " Raw count: never reset by xfw -Z.\n";
    const std::string want =
        "# HELP xfw_rule_packets_total Packets matched by each rule since the rule was created." + never +
        "# TYPE xfw_rule_packets_total counter\n"
        "xfw_rule_packets_total" + labels1 + " 11\n"
        "xfw_rule_packets_total" + labels2 + " 3\n"
        "xfw_rule_packets_total" + labels3 + " 0\n"
        "# HELP xfw_rule_bytes_total Bytes (whole frames) matched by each rule since the rule was created." + never +
        "# TYPE xfw_rule_bytes_total counter\n"
        "xfw_rule_bytes_total" + labels1 + " 704\n"
        "xfw_rule_bytes_total" + labels2 + " 180\n"
        "xfw_rule_bytes_total" + labels3 + " 0\n"
        "# HELP xfw_policy_packets_total Packets that reached the end of a built-in chain (its policy applied)." + never +
        "# TYPE xfw_policy_packets_total counter\n"
        "xfw_policy_packets_total{chain=\"INPUT\"} 5\n"
        "# HELP xfw_policy_bytes_total Bytes of the packets that got a built-in chain's policy." + never +
        "# TYPE xfw_policy_bytes_total counter\n"
        "xfw_policy_bytes_total{chain=\"INPUT\"} 300\n"
        "# HELP xfw_malformed_packets_total Packets with malformed or truncated headers (counted, then judged by the rules)." + never +
        "# TYPE xfw_malformed_packets_total counter\n"
        "xfw_malformed_packets_total 2\n"
        "# HELP xfw_malformed_bytes_total Bytes of the packets with malformed or truncated headers." + never +
        "# TYPE xfw_malformed_bytes_total counter\n"
        "xfw_malformed_bytes_total 120\n"
        "# HELP xfw_non_ip_packets_total Non-IP frames (ARP, LLDP...), passed without filtering." + never +
        "# TYPE xfw_non_ip_packets_total counter\n"
        "xfw_non_ip_packets_total 1\n"
        "# HELP xfw_non_ip_bytes_total Bytes of the non-IP frames." + never +
        "# TYPE xfw_non_ip_bytes_total counter\n"
        "xfw_non_ip_bytes_total 60\n";
    const std::string got = format_counters_prometheus(sample_snapshot());
    EXPECT_EQ(got, want);

    // Valid per the exposition grammar, and the labels read back unescaped.
    std::string why;
    auto parsed = parse_prometheus_text(got, &why);
    ASSERT_TRUE(parsed) << why << "\n" << got;
    ASSERT_EQ(parsed->samples.size(), 12u);
    EXPECT_EQ(parsed->samples[1].name, "xfw_rule_packets_total");
    EXPECT_EQ(parsed->samples[1].labels.at("rule"), kOddSpec);
    EXPECT_EQ(parsed->samples[1].labels.at("account"), "x\"y");
    EXPECT_EQ(parsed->samples[1].value, "3");
    for (const auto& [family, type] : parsed->type) {
        EXPECT_EQ(type, "counter") << family;
        EXPECT_TRUE(parsed->help.count(family)) << family;
        EXPECT_NE(parsed->help[family].find("never reset"), std::string::npos) << family;
    }
    EXPECT_EQ(parsed->type.size(), 8u);
}

TEST(CounterExport, PrometheusOddLabelsStayValid) {
    CounterSnapshot s;
    s.rules = {{"INPUT", 1, 1, "-m comment --comment \"\\\\\\\"\"", "a\nb\\c\"d", 1, 2},
               {"my-chain", 1, 2, "-m comment --comment \"caf\xc3\xa9\xff\"", "", UINT64_MAX, UINT64_MAX}};
    const std::string got = format_counters_prometheus(s);
    std::string why;
    auto parsed = parse_prometheus_text(got, &why);
    ASSERT_TRUE(parsed) << why << "\n" << got;
    EXPECT_EQ(parsed->samples[0].labels.at("account"), "a\nb\\c\"d");
    EXPECT_EQ(parsed->samples[0].labels.at("rule"), "-m comment --comment \"\\\\\\\"\"");
    EXPECT_EQ(parsed->samples[1].labels.at("rule"), "-m comment --comment \"caf\xc3\xa9\xef\xbf\xbd\"");
    EXPECT_EQ(parsed->samples[1].value, "18446744073709551615");
    EXPECT_NE(got.find(R"(account="a\nb\\c\"d")"), std::string::npos) << got;
}

// The checker itself rejects what the grammar forbids.
TEST(CounterExport, PrometheusCheckerRejectsInvalidText) {
    const std::string head = "# HELP m_total x\n# TYPE m_total counter\n";
    EXPECT_TRUE(parse_prometheus_text(head + "m_total{a=\"1\"} 1\nm_total{a=\"2\"} 2.5e3\n"));
    EXPECT_TRUE(parse_prometheus_text(head + "m_total 1 1700000000000\n"));
    EXPECT_TRUE(parse_prometheus_text(head + "m_total{a=\"x\",} +Inf\n"));
    for (const std::string& bad : std::vector<std::string>{
             head + "m_total{a=\"1\"} 1",                       // no final newline
             head + "m_total{a=\"x\"y\"} 1\n",                  // unescaped quote
             head + "m_total{a=\"x\\ty\"} 1\n",                 // unknown escape
             head + "m_total{a=\"x} 1\n",                       // unterminated
             head + "m_total{1a=\"x\"} 1\n",                    // bad label name
             head + "m_total{__a=\"x\"} 1\n",                   // reserved label name
             head + "m_total{a=\"x\",a=\"y\"} 1\n",             // label twice
             head + "m_total{a=\"x\"} one\n",                   // bad value
             head + "m_total{a=\"x\"}  1\n",                    // two spaces
             head + "m_total 1\nm_total 2\n",                   // duplicate series
             head + "m_total 1\n# TYPE m_total counter\n",      // TYPE after samples
             head + "# TYPE m_total gauge\nm_total 1\n",        // second TYPE
             "# TYPE m_total countr\nm_total 1\n",              // bad type
             "m{a=\"1\"} 1\nn 1\nm{a=\"2\"} 1\n",               // family split
             "9m 1\n",                                          // bad name
             std::string("m{a=\"\xff\"} 1\n"),                  // not UTF-8
         }) {
        std::string why;
        EXPECT_FALSE(parse_prometheus_text(bad, &why)) << bad;
    }
}

}  // namespace
}  // namespace xfw
