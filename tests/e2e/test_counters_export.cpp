// End-to-end tests of `xfw counters`: the real binary (path in $XFW) on a veth pair in a
// private network namespace, with a private bpffs and state directory. Known frames are sent;
// every export format reports exactly them per rule, and -Z resets what --json shows but not
// --raw or --prometheus.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/export_formats.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;

struct Counts {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
    return os << c.packets << " packets, " << c.bytes << " bytes";
}

// One rule as --json reports it.
struct JsonRule {
    std::string chain;
    uint64_t num = 0;
    uint64_t id = 0;
    std::string spec;
    std::string account;
    Counts counts;
};

struct JsonExport {
    std::vector<JsonRule> rules;
    std::string policy_target;
    Counts policy, errors, non_ip;

    const JsonRule* find(const std::string& chain, uint64_t num) const {
        for (const JsonRule& r : rules)
            if (r.chain == chain && r.num == num) return &r;
        return nullptr;
    }
};

Counts counts_of(const nlohmann::json& j) { return {j.at("packets").get<uint64_t>(), j.at("bytes").get<uint64_t>()}; }

std::optional<JsonExport> parse_json_export(const std::string& text, std::string* why) {
    try {
        auto j = nlohmann::json::parse(text);
        JsonExport e;
        for (const auto& r : j.at("rules")) {
            e.rules.push_back({r.at("chain").get<std::string>(), r.at("num").get<uint64_t>(), r.at("id").get<uint64_t>(),
                               r.at("spec").get<std::string>(), r.at("account").get<std::string>(), counts_of(r)});
            if (r.size() != 7) throw std::runtime_error("a rule object with " + std::to_string(r.size()) + " keys");
        }
        e.policy_target = j.at("policy").at("INPUT").at("target").get<std::string>();
        e.policy = counts_of(j.at("policy").at("INPUT"));
        e.errors = counts_of(j.at("errors"));
        e.non_ip = counts_of(j.at("non_ip"));
        return e;
    } catch (const std::exception& ex) {
        if (why) *why = ex.what();
        return std::nullopt;
    }
}

// "CHAIN:N" -> the -S line's spec ("-A CHAIN " cut off), in order.
std::map<std::string, std::string> specs_from_S(const std::string& text) {
    std::map<std::string, std::string> out;
    std::map<std::string, int> num;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.rfind("-A ", 0) != 0) continue;
        const size_t sp = line.find(' ', 3);
        const std::string chain = line.substr(3, sp == std::string::npos ? std::string::npos : sp - 3);
        out[chain + ":" + std::to_string(++num[chain])] = sp == std::string::npos ? "" : line.substr(sp + 1);
    }
    return out;
}

class CountersExport : public XfwLabTest {
protected:
    // Output of a successful `xfw counters ARGS` ("" and a failure otherwise).
    std::string counters(const std::vector<std::string>& args) const {
        std::vector<std::string> a = {"counters"};
        a.insert(a.end(), args.begin(), args.end());
        CommandResult r = xfw(a);
        if (!r.ok()) {
            ADD_FAILURE() << r.describe();
            return "";
        }
        return r.out;
    }
    JsonExport json(const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> a = {"--json"};
        a.insert(a.end(), extra.begin(), extra.end());
        const std::string text = counters(a);
        std::string why;
        auto e = parse_json_export(text, &why);
        if (!e) {
            ADD_FAILURE() << "cannot read `xfw counters --json`: " << why << "\n" << text;
            return {};
        }
        return *e;
    }
    // Once the data path has processed what was sent: two reads 100 ms apart agree.
    void settle() const {
        std::string prev = counters({"--json", "--raw"});
        for (int i = 0; i < 30; ++i) {
            std::this_thread::sleep_for(100ms);
            std::string now = counters({"--json", "--raw"});
            if (now == prev) break;
            prev = now;
        }
    }
};

// A comment with a double quote, a comma and a backslash: escaped differently by each format.
const std::string kOddComment = "team=web, account=beta \"q\" x\\y";

TEST_F(CountersExport, EveryFormatCountsTheFramesSentAndZeroResetsOnlyTheShownCounts) {
    ASSERT_TRUE(xfw_ok({"-N", "USERCH"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7001", "-m", "comment", "--comment", "account=acme",
                        "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7002", "-m", "comment", "--comment", kOddComment,
                        "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "icmp", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-j", "USERCH"}));
    ASSERT_TRUE(xfw_ok({"-A", "USERCH", "-p", "udp", "--dport", "7003", "-m", "comment", "--comment",
                        "account=gamma", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));

    struct Kind {
        std::string what;
        Frame frame;
        uint64_t count;
        std::vector<std::string> path;  // "CHAIN:N", "policy", "errors", "non_ip"
    };
    const std::vector<Kind> kinds = {
        {"udp 7001", lab().to_host().udp(40001, 7001).payload_len(20).build(), 11, {"INPUT:1"}},
        {"udp 7002", lab().to_host().udp(40002, 7002).payload_len(31).build(), 7, {"INPUT:2"}},
        {"icmp echo", lab().to_host().icmp(8, 0, 9, 1).payload_len(40).build(), 5, {"INPUT:3"}},
        {"udp 7003", lab().to_host().udp(40003, 7003).payload_len(50).build(), 3, {"INPUT:4", "USERCH:1"}},
        {"udp 7004", lab().to_host().udp(40004, 7004).payload_len(60).build(), 4, {"INPUT:4", "policy"}},
        {"lldp", PacketBuilder().raw_l3(0x88cc, {2, 7, 4, 0, 0, 0, 0, 0, 1}).payload_len(30).build(), 2, {"non_ip"}},
        // IHL 3: malformed, then judged by the rules; none of them matches without a protocol.
        {"bad IHL", lab().to_host().udp(40005, 7001).ipv4_ihl(3).build(), 6, {"errors", "policy"}},
    };
    auto want_for = [&](uint64_t rounds_scale, const std::set<std::string>& only = {}) {
        std::map<std::string, Counts> want;
        for (const Kind& k : kinds) {
            if (!only.empty() && !only.count(k.what)) continue;
            for (const std::string& where : k.path) {
                want[where].packets += k.count * rounds_scale;
                want[where].bytes += k.count * rounds_scale * k.frame.size();
            }
        }
        return want;
    };
    std::vector<Frame> frames;
    for (const Kind& k : kinds)
        for (uint64_t i = 0; i < k.count; ++i) frames.push_back(k.frame);
    send(frames);
    if (HasFatalFailure()) return;
    settle();

    const std::map<std::string, Counts> want = want_for(1);
    auto want_at = [](const std::map<std::string, Counts>& w, const std::string& key) {
        auto it = w.find(key);
        return it == w.end() ? Counts{} : it->second;
    };
    const std::vector<std::string> rule_keys = {"INPUT:1", "INPUT:2", "INPUT:3", "INPUT:4", "USERCH:1"};
    const std::map<std::string, std::string> accounts = {
        {"INPUT:1", "acme"}, {"INPUT:2", "beta"}, {"INPUT:3", ""}, {"INPUT:4", ""}, {"USERCH:1", "gamma"}};
    CommandResult listed = xfw({"-S"});
    ASSERT_TRUE(listed.ok()) << listed.describe();
    const std::map<std::string, std::string> specs = specs_from_S(listed.out);
    ASSERT_EQ(specs.size(), rule_keys.size()) << listed.out;
    EXPECT_NE(specs.at("INPUT:2").find(R"(--comment "team=web, account=beta \"q\" x\\y")"), std::string::npos)
        << specs.at("INPUT:2");

    // ---- --json: counts, ids, specs, accounts, fixed counters
    const JsonExport j = json();
    ASSERT_EQ(j.rules.size(), rule_keys.size());
    std::map<std::string, uint64_t> ids;  // "CHAIN:N" -> id
    for (const std::string& key : rule_keys) {
        SCOPED_TRACE(key);
        const std::string chain = key.substr(0, key.find(':'));
        const uint64_t num = std::stoull(key.substr(key.find(':') + 1));
        const JsonRule* r = j.find(chain, num);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->counts, want_at(want, key));
        EXPECT_EQ(r->spec, specs.at(key));
        EXPECT_EQ(r->account, accounts.at(key));
        EXPECT_NE(r->id, 0u);
        ids[key] = r->id;
    }
    std::set<uint64_t> distinct;
    for (const auto& [key, id] : ids) distinct.insert(id);
    EXPECT_EQ(distinct.size(), ids.size()) << "rule ids are not distinct";
    // Listing order: INPUT's rules first, then USERCH's.
    EXPECT_EQ(j.rules.front().chain, "INPUT");
    EXPECT_EQ(j.rules.back().chain, "USERCH");
    EXPECT_EQ(j.policy_target, "ACCEPT");
    EXPECT_EQ(j.policy, want_at(want, "policy"));
    EXPECT_EQ(j.errors, want_at(want, "errors"));
    EXPECT_EQ(j.non_ip, want_at(want, "non_ip"));

    // Before any -Z, --raw is the same.
    const JsonExport jr = json({"--raw"});
    ASSERT_EQ(jr.rules.size(), j.rules.size());
    for (size_t i = 0; i < j.rules.size(); ++i) EXPECT_EQ(jr.rules[i].counts, j.rules[i].counts) << i;

    // ---- --csv: RFC 4180, the same rows
    auto check_csv = [&](const std::string& text, const std::map<std::string, Counts>& w) {
        std::string why;
        auto rows = read_csv(text, &why);
        ASSERT_TRUE(rows) << why << "\n" << text;
        ASSERT_EQ(rows->size(), rule_keys.size() + 1) << text;
        EXPECT_EQ((*rows)[0], (std::vector<std::string>{"chain", "num", "id", "account", "packets", "bytes", "spec"}));
        for (size_t i = 1; i < rows->size(); ++i) {
            const auto& row = (*rows)[i];
            ASSERT_EQ(row.size(), 7u) << text;
            const std::string key = row[0] + ":" + row[1];
            SCOPED_TRACE(key);
            ASSERT_TRUE(ids.count(key));
            EXPECT_EQ(row[2], std::to_string(ids[key]));
            EXPECT_EQ(row[3], accounts.at(key));
            EXPECT_EQ(row[4], std::to_string(want_at(w, key).packets));
            EXPECT_EQ(row[5], std::to_string(want_at(w, key).bytes));
            EXPECT_EQ(row[6], specs.at(key));
        }
    };
    check_csv(counters({"--csv"}), want);

    // ---- --prometheus: valid exposition text, raw counts per rule id
    auto check_prometheus = [&](const std::string& text, const std::map<std::string, Counts>& w) {
        std::string why;
        auto p = parse_prometheus_text(text, &why);
        ASSERT_TRUE(p) << why << "\n" << text;
        std::map<std::string, std::string> values;  // "metric/CHAIN:N" -> value
        for (const PromSample& s : p->samples) {
            if (s.name.rfind("xfw_rule_", 0) == 0) {
                const std::string key = s.labels.at("chain") + ":" + s.labels.at("num");
                ASSERT_TRUE(ids.count(key)) << key;
                EXPECT_EQ(s.labels.at("id"), std::to_string(ids[key])) << key;
                EXPECT_EQ(s.labels.at("account"), accounts.at(key)) << key;
                EXPECT_EQ(s.labels.at("rule"), specs.at(key)) << key;
                EXPECT_EQ(s.labels.size(), 5u) << key;
                values[s.name + "/" + key] = s.value;
            } else {
                values[s.name + (s.labels.empty() ? "" : "/" + s.labels.at("chain"))] = s.value;
            }
        }
        EXPECT_EQ(values.size(), 2 * rule_keys.size() + 6) << text;
        for (const std::string& key : rule_keys) {
            EXPECT_EQ(values["xfw_rule_packets_total/" + key], std::to_string(want_at(w, key).packets)) << key;
            EXPECT_EQ(values["xfw_rule_bytes_total/" + key], std::to_string(want_at(w, key).bytes)) << key;
        }
        EXPECT_EQ(values["xfw_policy_packets_total/INPUT"], std::to_string(want_at(w, "policy").packets));
        EXPECT_EQ(values["xfw_policy_bytes_total/INPUT"], std::to_string(want_at(w, "policy").bytes));
        EXPECT_EQ(values["xfw_malformed_packets_total"], std::to_string(want_at(w, "errors").packets));
        EXPECT_EQ(values["xfw_malformed_bytes_total"], std::to_string(want_at(w, "errors").bytes));
        EXPECT_EQ(values["xfw_non_ip_packets_total"], std::to_string(want_at(w, "non_ip").packets));
        EXPECT_EQ(values["xfw_non_ip_bytes_total"], std::to_string(want_at(w, "non_ip").bytes));
        for (const auto& [family, type] : p->type) EXPECT_EQ(type, "counter") << family;

        // Prometheus' own checker too, when it is installed (optional).
        if (run_command({"sh", "-c", "command -v promtool"}).ok()) {
            const std::string file = state_->file("metrics.prom");
            ASSERT_TRUE(write_text_file(file, text));
            CommandResult pt = run_command({"sh", "-c", "promtool check metrics < \"$0\"", file}, 60s);
            EXPECT_TRUE(pt.ok()) << pt.describe() << "\n" << pt.out << "\n" << text;
        }
    };
    check_prometheus(counters({"--prometheus"}), want);

    // ---- The default table names every rule with its counts and account.
    {
        const std::string table = counters({});
        for (const std::string& key : rule_keys) {
            const std::string& spec = specs.at(key);
            const size_t at = table.find(spec.empty() ? std::string("\n") : spec);
            ASSERT_NE(at, std::string::npos) << key << "\n" << table;
            const size_t bol = table.rfind('\n', at) + 1;
            const std::string line = table.substr(bol, at - bol);
            EXPECT_NE(line.find(" " + std::to_string(want_at(want, key).packets) + "  "), std::string::npos)
                << key << ": " << line;
            EXPECT_NE(line.find(" " + std::to_string(want_at(want, key).bytes) + "  "), std::string::npos)
                << key << ": " << line;
            if (!accounts.at(key).empty()) {
                EXPECT_NE(line.find(accounts.at(key)), std::string::npos) << line;
            }
        }
        EXPECT_NE(table.find("INPUT policy ACCEPT: " + std::to_string(want_at(want, "policy").packets) + " packets, " +
                             std::to_string(want_at(want, "policy").bytes) + " bytes"),
                  std::string::npos)
            << table;
    }

    // ---- -Z: --json (what -L shows) starts again from zero; --raw and --prometheus keep counting.
    ASSERT_TRUE(xfw_ok({"-Z"}));
    {
        SCOPED_TRACE("after -Z");
        const JsonExport z = json();
        ASSERT_EQ(z.rules.size(), rule_keys.size());
        for (const JsonRule& r : z.rules) EXPECT_EQ(r.counts, Counts{}) << r.chain << ":" << r.num;
        EXPECT_EQ(z.policy, Counts{});
        EXPECT_EQ(z.errors, Counts{});
        EXPECT_EQ(z.non_ip, Counts{});
        const JsonExport raw = json({"--raw"});
        for (const std::string& key : rule_keys) {
            const JsonRule* r = raw.find(key.substr(0, key.find(':')), std::stoull(key.substr(key.find(':') + 1)));
            ASSERT_NE(r, nullptr) << key;
            EXPECT_EQ(r->counts, want_at(want, key)) << key;
            EXPECT_EQ(r->id, ids[key]) << key;
        }
        EXPECT_EQ(raw.policy, want_at(want, "policy"));
        EXPECT_EQ(raw.errors, want_at(want, "errors"));
        EXPECT_EQ(raw.non_ip, want_at(want, "non_ip"));
        check_csv(counters({"--csv"}), {});
        check_csv(counters({"--csv", "--raw"}), want);
        check_prometheus(counters({"--prometheus"}), want);
        check_prometheus(counters({"--prometheus", "--raw"}), want);
    }

    // ---- Traffic after -Z: the shown counts are the new frames only, the raw ones the total.
    std::vector<Frame> more;
    for (const Kind& k : kinds)
        if (k.what == "udp 7001" || k.what == "lldp" || k.what == "udp 7004")
            for (uint64_t i = 0; i < k.count; ++i) more.push_back(k.frame);
    send(more);
    if (HasFatalFailure()) return;
    settle();
    {
        SCOPED_TRACE("traffic after -Z");
        const std::map<std::string, Counts> since_zero = want_for(1, {"udp 7001", "lldp", "udp 7004"});
        std::map<std::string, Counts> total = want;
        for (const auto& [k, c] : since_zero) {
            total[k].packets += c.packets;
            total[k].bytes += c.bytes;
        }
        const JsonExport z = json();
        for (const std::string& key : rule_keys)
            EXPECT_EQ(z.find(key.substr(0, key.find(':')), std::stoull(key.substr(key.find(':') + 1)))->counts,
                      want_at(since_zero, key))
                << key;
        EXPECT_EQ(z.policy, want_at(since_zero, "policy"));
        EXPECT_EQ(z.non_ip, want_at(since_zero, "non_ip"));
        EXPECT_EQ(z.errors, Counts{});
        check_csv(counters({"--csv"}), since_zero);
        const JsonExport raw = json({"--raw"});
        for (const std::string& key : rule_keys)
            EXPECT_EQ(raw.find(key.substr(0, key.find(':')), std::stoull(key.substr(key.find(':') + 1)))->counts,
                      want_at(total, key))
                << key;
        EXPECT_EQ(raw.policy, want_at(total, "policy"));
        EXPECT_EQ(raw.non_ip, want_at(total, "non_ip"));
        check_prometheus(counters({"--prometheus"}), total);
    }
}

// Bad options: exit 2 with a message, before anything is opened (no root needed).
TEST(CountersExportOptions, BadOptionsExitTwo) {
    if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
    TempDir dir("counters-opts");
    ASSERT_TRUE(dir.ok());
    const XfwCli cli{xfw_binary(), dir.file("bpffs"), dir.file("state")};
    const std::vector<std::vector<std::string>> bad = {
        {"counters", "--json", "--csv"},
        {"counters", "--csv", "--prometheus"},
        {"counters", "--json", "--prometheus", "--raw"},
        {"counters", "--bogus"},
        {"counters", "--pro"},  // no abbreviations
        {"counters", "--json=yes"},
        {"counters", "INPUT"},
        {"counters", "-Z"},
    };
    for (const auto& args : bad) {
        CommandResult r = cli.run(args);
        EXPECT_EQ(r.exit_status, 2) << r.describe();
        EXPECT_TRUE(r.out.empty()) << r.command << ": " << r.out;
        EXPECT_NE(r.err.find("xfw: counters: "), std::string::npos) << r.command << ": " << r.err;
    }
}

}  // namespace
}  // namespace xfw::test
