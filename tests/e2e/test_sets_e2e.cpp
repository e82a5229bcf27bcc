// `xfw set` end to end: the real binary on a veth lab. Elements added and deleted while traffic
// flows change what is dropped at once, with the same program (no reload) and exact counters;
// sets come back after the bpffs is emptied (a reboot); `xfw set save` equals what the
// kernel's own `ipset save` prints for the same sets; a million-element set restores and
// matches; bad input changes nothing; rule changes inside map-backed groups under traffic are
// made in the maps, atomically and with exact counters.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;

class SetsE2e : public XfwLabTest {
protected:
    // A UDP frame from `src` to the host end (the source address need not be the namespace's:
    // XDP judges it before any routing).
    Frame from(const std::string& src, uint16_t dport = 9000) const {
        return PacketBuilder()
            .eth_src(lab().ns_mac())
            .eth_dst(lab().host_mac())
            .ipv4(src, lab().host_ipv4())
            .udp(40000, dport)
            .payload_len(32)
            .build();
    }

    Listing settled_listing() const {
        std::string prev = xfw({"-L", "-v", "-x", "-n"}).out;
        for (int i = 0; i < 30; ++i) {
            std::this_thread::sleep_for(100ms);
            std::string now = xfw({"-L", "-v", "-x", "-n"}).out;
            if (now == prev) break;
            prev = now;
        }
        std::string err;
        auto l = parse_listing(prev, &err);
        if (!l) ADD_FAILURE() << err << "\n" << prev;
        return l.value_or(Listing{});
    }

    uint32_t prog_id() const {
        CommandResult r = xfw({"status"});
        EXPECT_TRUE(r.ok()) << r.describe();
        std::smatch m;
        static const std::regex re(R"(prog id (\d+))");
        if (std::regex_search(r.out, m, re)) return static_cast<uint32_t>(std::stoul(m[1]));
        return 0;
    }

    std::string file(const std::string& name, const std::string& text) const {
        const std::string path = state_->file(name);
        EXPECT_TRUE(write_text_file(path, text));
        return path;
    }
};

TEST_F(SetsE2e, ElementChangesUnderTrafficNeedNoReloadAndCountExactly) {
    ASSERT_TRUE(xfw_ok({"set", "create", "bl", "hash:ip"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-m", "set", "--match-set", "bl", "src", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "9000"}));  // counts what passes
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const uint32_t prog = prog_id();
    ASSERT_NE(prog, 0u);

    const std::vector<std::string> sources = {"192.0.2.1", "192.0.2.2", "198.51.100.3"};
    auto burst = [&](size_t each) {
        std::vector<Frame> frames;
        for (size_t i = 0; i < each; ++i)
            for (const std::string& s : sources) frames.push_back(from(s));
        send(frames);
    };
    burst(10);  // nothing listed yet
    ASSERT_TRUE(xfw_ok({"set", "add", "bl", "192.0.2.1"}));
    burst(10);  // 10 dropped
    ASSERT_TRUE(xfw_ok({"set", "add", "bl", "198.51.100.3"}));
    ASSERT_TRUE(xfw_ok({"set", "del", "bl", "192.0.2.1"}));
    burst(10);  // 10 dropped (198.51.100.3)
    EXPECT_EQ(xfw({"set", "test", "bl", "198.51.100.3"}).exit_status, 0);
    EXPECT_EQ(xfw({"set", "test", "bl", "192.0.2.1"}).exit_status, 1);
    Listing l = settled_listing();
    ASSERT_EQ(l["INPUT"].rules.size(), 2u);
    EXPECT_EQ(l["INPUT"].rules[0].packets, 20u);
    EXPECT_EQ(l["INPUT"].rules[1].packets, 70u);
    EXPECT_EQ(prog_id(), prog) << "a set change must not replace the program";

    // Under traffic: one sender thread, elements toggled meanwhile. Every frame is counted
    // once, by the set rule or by the rule after it.
    constexpr size_t kFrames = 3000;
    std::vector<Frame> frames(kFrames, from("203.0.113.50"));
    auto sender = std::async(std::launch::async, [&] {
        std::vector<Frame> chunk;
        SendResult total;
        for (size_t i = 0; i < kFrames; i += 100) {
            std::vector<Frame> part(frames.begin() + static_cast<long>(i),
                                    frames.begin() + static_cast<long>(std::min(kFrames, i + 100)));
            SendResult r = lab().send_from_ns(part);
            if (!r.ok()) return r;
            total.sent += r.sent;
            std::this_thread::sleep_for(2ms);
        }
        return total;
    });
    for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(xfw_ok({"set", "add", "bl", "203.0.113.50"}));
        EXPECT_TRUE(xfw_ok({"set", "del", "bl", "203.0.113.50"}));
    }
    SendResult sent = sender.get();
    ASSERT_TRUE(sent.ok()) << sent.describe();
    ASSERT_EQ(sent.sent, kFrames);
    l = settled_listing();
    EXPECT_EQ(l["INPUT"].rules[0].packets + l["INPUT"].rules[1].packets, 90u + kFrames);
    EXPECT_EQ(prog_id(), prog);
}

// Two map-backed groups, each changed in every transaction, so that a frame judged half by
// the old ruleset and half by the new one lands in a rule no whole ruleset lets it reach:
//   destination group (ACCEPT): 30 hosts, plus 10.3.0.1 in version A only
//   source group (DROP):        30 hosts, plus 10.5.0.1 in version B only
//   then a counting rule for 10.5.0.1 (account "mixed")
// A frame 10.5.0.1 -> 10.3.0.1 is accepted by the destination group in A and dropped by the
// source group in B; only the new destination group with the old source group (or the reverse)
// lets it fall through to the "mixed" rule. 500 restores alternate A and B (1000 rule changes)
// while frames flow; the program is never replaced, and the ledger bills account "flow" (both
// changed rules, whichever version counted) exactly the frames sent and "mixed" nothing.
TEST_F(SetsE2e, RuleChangesInsideGroupsUnderTrafficAreLiveAtomicAndExact) {
    auto ruleset = [](bool version_a) {
        std::string text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
        for (int k = 1; k <= 30; ++k) text += "-A INPUT -d 10.2.0." + std::to_string(k) + "/32 -j ACCEPT\n";
        if (version_a) text += "-A INPUT -d 10.3.0.1/32 -m comment --comment account=flow -j ACCEPT\n";
        for (int k = 1; k <= 30; ++k) text += "-A INPUT -s 10.4.0." + std::to_string(k) + "/32 -j DROP\n";
        if (!version_a) text += "-A INPUT -s 10.5.0.1/32 -m comment --comment account=flow -j DROP\n";
        return text + "-A INPUT -s 10.5.0.1/32 -m comment --comment account=mixed\nCOMMIT\n";
    };
    const std::string version_a = file("a.rules", ruleset(true)), version_b = file("b.rules", ruleset(false));
    ASSERT_TRUE(xfw_ok({"restore", version_a}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const uint32_t prog = prog_id();
    ASSERT_NE(prog, 0u);
    ASSERT_TRUE(xfw_ok({"billing", "snapshot"}));

    const Frame frame = PacketBuilder()
                            .eth_src(lab().ns_mac())
                            .eth_dst(lab().host_mac())
                            .ipv4("10.5.0.1", "10.3.0.1")
                            .udp(40000, 9000)
                            .payload_len(32)
                            .build();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> sent{0};
    std::string send_error;
    std::thread sender([&] {
        const std::vector<Frame> burst(20, frame);
        while (!stop) {
            SendResult r = lab().send_from_ns(burst);
            if (!r.ok() || r.sent != burst.size()) {
                send_error = r.describe();
                return;
            }
            sent += burst.size();
        }
    });
    constexpr int kTransactions = 500;  // two rule changes each
    int failed = 0;
    for (int i = 0; i < kTransactions; ++i) failed += !xfw_ok({"restore", i % 2 ? version_a : version_b});
    stop = true;
    sender.join();
    ASSERT_TRUE(send_error.empty()) << send_error;
    EXPECT_EQ(failed, 0);
    EXPECT_GT(sent.load(), 1000u);
    EXPECT_EQ(prog_id(), prog) << "rule changes inside groups must not replace the program";

    settled_listing();
    ASSERT_TRUE(xfw_ok({"billing", "snapshot"}));
    CommandResult r = xfw({"billing", "report", "--format", "json"});
    ASSERT_TRUE(r.ok()) << r.describe();
    std::map<std::string, uint64_t> billed;
    const nlohmann::json report = nlohmann::json::parse(r.out);
    for (const auto& a : report.at("accounts"))
        billed[a.at("account").get<std::string>()] = a.at("packets").get<uint64_t>();
    EXPECT_EQ(billed["flow"], sent.load()) << r.out;
    EXPECT_EQ(billed["mixed"], 0u) << "frames judged by a mix of two rulesets\n" << r.out;
}

TEST_F(SetsE2e, SetsComeBackAfterTheBpffsIsEmptied) {
    ASSERT_TRUE(xfw_ok({"set", "create", "nets", "hash:net"}));
    ASSERT_TRUE(xfw_ok({"set", "add", "nets", "192.0.2.0/24"}));
    ASSERT_TRUE(xfw_ok({"set", "add", "nets", "198.51.100.7"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-m", "set", "--match-set", "nets", "src", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    // A reboot: the bpffs is empty (the links go with their pins).
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(cli_.bpffs, ec))
        std::filesystem::remove_all(entry.path(), ec);
    ASSERT_FALSE(std::filesystem::exists(cli_.bpffs + "/sets/nets"));
    ASSERT_TRUE(xfw_ok({"reload"}));
    EXPECT_TRUE(std::filesystem::exists(cli_.bpffs + "/sets/nets"));
    send({from("192.0.2.99"), from("198.51.100.7"), from("198.51.100.8")});
    Listing l = settled_listing();
    EXPECT_EQ(l["INPUT"].rules.at(0).packets, 2u);
    EXPECT_EQ(l["INPUT"].policy_packets, 1u);
    CommandResult save = xfw({"set", "save"});
    EXPECT_EQ(save.out,
              "create nets hash:net family inet hashsize 1024 maxelem 65536\n"
              "add nets 192.0.2.0/24\nadd nets 198.51.100.7\n");
}

// The kernel's ipset, in the lab namespace, as the oracle for the save format.
std::vector<std::string> normalised_save(const std::string& text) {
    static const std::regex tuning(R"( bucketsize \d+| initval 0x[0-9a-f]+)");
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(std::regex_replace(line, tuning, ""));
    // ipset lists a set's elements in hash order: compare create lines in place, elements sorted.
    for (size_t i = 0; i < lines.size();) {
        size_t j = i + 1;
        while (j < lines.size() && lines[j].rfind("add ", 0) == 0) ++j;
        std::sort(lines.begin() + static_cast<long>(i) + 1, lines.begin() + static_cast<long>(j));
        i = j;
    }
    return lines;
}

TEST_F(SetsE2e, SaveMatchesTheKernelsIpset) {
    if (run_command({"ipset", "-v"}).exit_status != 0) GTEST_SKIP() << "ipset is not installed (scripts/install-deps.sh)";
    const std::vector<std::vector<std::string>> commands = {
        {"create", "hosts", "hash:ip"},
        {"add", "hosts", "192.0.2.1"},
        {"add", "hosts", "10.0.0.255"},
        {"create", "nets6", "hash:net", "family", "inet6", "maxelem", "1000"},
        {"add", "nets6", "2001:db8::/32"},
        {"add", "nets6", "2001:db8:1:2::1"},
        {"add", "nets6", "2001:db8:ff00::/40"},
        {"create", "svc", "hash:ip,port", "hashsize", "300"},
        {"add", "svc", "10.0.0.1,80"},
        {"add", "svc", "10.0.0.1,udp:53"},
        {"add", "svc", "10.0.0.2,tcp:https"},
        {"create", "netsvc", "hash:net,port"},
        {"add", "netsvc", "192.0.2.0/25,tcp:22"},
        {"add", "netsvc", "198.51.100.7,udp:123"},
    };
    for (const auto& c : commands) {
        std::vector<std::string> ipset = {"ipset"};
        ipset.insert(ipset.end(), c.begin(), c.end());
        CommandResult k = lab().exec_in_ns(ipset);
        ASSERT_TRUE(k.ok()) << k.describe();
        std::vector<std::string> ours = {"set"};
        ours.insert(ours.end(), c.begin(), c.end());
        ASSERT_TRUE(xfw_ok(ours));
    }
    CommandResult kernel = lab().exec_in_ns({"ipset", "save"});
    ASSERT_TRUE(kernel.ok()) << kernel.describe();
    CommandResult mine = xfw({"set", "save"});
    ASSERT_TRUE(mine.ok()) << mine.describe();
    EXPECT_EQ(normalised_save(mine.out), normalised_save(kernel.out)) << "ipset:\n" << kernel.out << "xfw:\n" << mine.out;

    // The kernel's save text (with its bucketsize and initval) restores into a fresh xfw
    // unchanged, and ipset restores what xfw saves.
    ASSERT_TRUE(xfw_ok({"set", "destroy"}));
    ASSERT_TRUE(xfw_ok({"set", "restore", file("kernel.save", kernel.out)}));
    EXPECT_EQ(normalised_save(xfw({"set", "save"}).out), normalised_save(kernel.out));
    ASSERT_TRUE(lab().exec_in_ns({"ipset", "destroy"}).ok());
    CommandResult back = lab().exec_in_ns({"ipset", "restore", "-f", file("xfw.save", mine.out)});
    ASSERT_TRUE(back.ok()) << back.describe();
    EXPECT_EQ(normalised_save(lab().exec_in_ns({"ipset", "save"}).out), normalised_save(mine.out));
    (void)lab().exec_in_ns({"ipset", "destroy"});
}

TEST_F(SetsE2e, MillionElementSetRestoresAndMatches) {
    constexpr uint32_t kElements = 1000000;
    std::string text = "create big hash:ip family inet hashsize 1048576 maxelem 1048576\n";
    text.reserve(kElements * 24);
    char line[64];
    for (uint32_t i = 0; i < kElements; ++i) {
        const uint32_t a = 0x0a000000u + i * 3;  // 10.0.0.0 upwards, every third address
        std::snprintf(line, sizeof line, "add big %u.%u.%u.%u\n", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
        text += line;
    }
    const std::string path = file("big.save", text);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(xfw_ok({"set", "restore", path}));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    RecordProperty("restore_1m_ms", static_cast<int>(ms.count()));  // a figure, not a limit
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-m", "set", "--match-set", "big", "src", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    auto addr = [](uint32_t a) {
        return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 8) & 0xff) +
               "." + std::to_string(a & 0xff);
    };
    send({from(addr(0x0a000000u)), from(addr(0x0a000000u + 3 * 999999)), from(addr(0x0a000000u + 3 * 500000)),
          from(addr(0x0a000001u)), from(addr(0x0a000000u + 3 * 1000000))});
    Listing l = settled_listing();
    EXPECT_EQ(l["INPUT"].rules.at(0).packets, 3u);
    EXPECT_EQ(l["INPUT"].policy_packets, 2u);
    EXPECT_EQ(xfw({"set", "test", "big", addr(0x0a000000u + 3 * 777777)}).exit_status, 0);
    CommandResult terse = xfw({"set", "list", "big", "-t"});
    EXPECT_NE(terse.out.find("Number of entries: 1000000"), std::string::npos) << terse.out;
}

TEST_F(SetsE2e, BadInputChangesNothing) {
    ASSERT_TRUE(xfw_ok({"set", "create", "small", "hash:ip", "maxelem", "2"}));
    ASSERT_TRUE(xfw_ok({"set", "create", "six", "hash:net", "family", "inet6"}));
    ASSERT_TRUE(xfw_ok({"set", "add", "small", "192.0.2.1"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-m", "set", "--match-set", "small", "src", "-j", "DROP"}));
    const std::string rules_before = xfw({"-S"}).out, sets_before = xfw({"set", "save"}).out;
    auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
        CommandResult r = xfw(args);
        EXPECT_EQ(r.exit_status, 2) << r.describe();
        EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
        EXPECT_EQ(xfw({"-S"}).out, rules_before);
        EXPECT_EQ(xfw({"set", "save"}).out, sets_before);
    };
    refused({"-A", "INPUT", "-m", "set", "--match-set", "nosuch", "src", "-j", "DROP"}, "no set named nosuch");
    refused({"-A", "INPUT", "-s", "10.0.0.1", "-m", "set", "--match-set", "six", "src", "-j", "DROP"}, "inet6");
    refused({"-A", "INPUT", "-m", "set", "--match-set", "small", "sideways", "-j", "DROP"}, "not a direction");
    refused({"set", "add", "small", "192.0.2.300"}, "not an IPv4 address");
    refused({"set", "add", "small", "192.0.2.0/24"}, "use a hash:net set");
    refused({"set", "add", "six", "10.0.0.0/8"}, "is IPv4 but set six is family inet6");
    refused({"set", "add", "small", "192.0.2.1"}, "already added");
    refused({"set", "add", "nosuch", "192.0.2.1"}, "does not exist");
    refused({"set", "create", "small", "hash:net"}, "already exists");
    refused({"set", "create", "bad.name", "hash:ip"}, "'.' is reserved");
    refused({"set", "create", "x", "hash:ip", "timeout", "30"}, "timeout");
    refused({"set", "create", "x", "bitmap:port"}, "not supported");
    refused({"set", "destroy", "small"}, "in use by INPUT rule 1");
    ASSERT_TRUE(xfw_ok({"set", "add", "small", "192.0.2.2"}));
    const std::string full = xfw({"set", "save"}).out;
    CommandResult over = xfw({"set", "add", "small", "192.0.2.3"});
    EXPECT_EQ(over.exit_status, 2) << over.describe();
    EXPECT_NE(over.err.find("full"), std::string::npos) << over.err;
    EXPECT_EQ(xfw({"set", "save"}).out, full);
    // A restore file with one bad line applies nothing, and says which line.
    const std::string restore = file("bad.restore",
                                     "create fresh hash:ip\nadd fresh 10.0.0.1\nadd small 192.0.2.9\nadd fresh 10.0.0.x\n");
    CommandResult r = xfw({"set", "restore", restore});
    EXPECT_EQ(r.exit_status, 2) << r.describe();
    EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;  // small is full
    EXPECT_EQ(xfw({"set", "save"}).out, full);
    EXPECT_FALSE(std::filesystem::exists(cli_.bpffs + "/sets/fresh"));
}

}  // namespace
}  // namespace xfw::test
