// End-to-end tests of the xfw binary on a veth pair: every test gets its own network namespace
// lab, a private bpffs and a temporary state directory, and runs the real `xfw` (path in $XFW)
// one process per command, so whatever carries the firewall between commands lives in the pins.
//
// Frames are sent from the namespace end; they enter the host end's XDP hook, where xfw is
// attached. What passes reaches the test process's own network stack, where packet captures
// and UDP sockets observe it.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"
#include "tests/support/pcap_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;

// A UDP socket bound in the test's namespace: counts the datagrams the host stack delivers.
class UdpSink {
public:
    UdpSink(const std::string& addr, uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd_ < 0) {
            error_ = std::string("socket: ") + std::strerror(errno);
            return;
        }
        int rcvbuf = 16 << 20;
        if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
            (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            error_ = "bind " + addr + ":" + std::to_string(port) + ": " + std::strerror(errno);
            ::close(fd_);
            fd_ = -1;
        }
    }
    UdpSink(const UdpSink&) = delete;
    UdpSink& operator=(const UdpSink&) = delete;
    ~UdpSink() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return fd_ >= 0; }
    const std::string& error() const { return error_; }
    // Datagrams queued so far (reads them all).
    size_t drain() {
        size_t n = 0;
        char buf[2048];
        while (fd_ >= 0 && ::recv(fd_, buf, sizeof buf, 0) >= 0) ++n;
        return n;
    }

private:
    int fd_ = -1;
    std::string error_;
};

std::string join_lines(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// The prog id that `xfw status` reports for `ifname`, 0 if none, and whether it says "live".
struct StatusLine {
    uint32_t prog_id = 0;
    bool live = false;
    std::string mode;
    bool found = false;
};
StatusLine status_for(const std::string& status_out, const std::string& ifname) {
    StatusLine s;
    std::istringstream in(status_out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream w(line);
        std::string attached, name, mode_kw, mode, ifindex_kw, ifindex, prog_kw, id_kw, id, state;
        w >> attached >> name;
        if (attached != "attached:" || name != ifname) continue;
        w >> mode_kw >> mode >> ifindex_kw >> ifindex >> prog_kw >> id_kw >> id >> state;
        s.found = true;
        s.mode = mode;
        s.prog_id = static_cast<uint32_t>(std::strtoul(id.c_str(), nullptr, 10));
        s.live = state == "live";
    }
    return s;
}

// `prog/xdp id N` from `ip link show`, 0 if there is none.
uint32_t ip_link_xdp_prog(const std::string& ifname) {
    CommandResult r = run_command({"ip", "-d", "link", "show", "dev", ifname});
    std::smatch m;
    static const std::regex re(R"(prog/xdp(generic|drv)? id (\d+))");
    if (std::regex_search(r.out, m, re)) return static_cast<uint32_t>(std::stoul(m[2]));
    return 0;
}

class E2e : public XfwLabTest {
protected:
    Listing listing() const {
        CommandResult r = xfw({"-L", "-v", "-x", "-n"});
        if (!r.ok()) {
            ADD_FAILURE() << r.describe();
            return {};
        }
        std::string err;
        auto l = parse_listing(r.out, &err);
        if (!l) {
            ADD_FAILURE() << "cannot parse `xfw -L -v -x -n`: " << err << "\n" << r.out;
            return {};
        }
        return *l;
    }

    std::string listing_text() const { return xfw({"-L", "-v", "-x", "-n"}).out; }

    // The listing once the data path has processed what was sent: two reads 100 ms apart agree
    // (XDP runs in softirq context, normally before send() returns; this covers the rest).
    Listing settled_listing() const {
        std::string prev = listing_text();
        for (int i = 0; i < 30; ++i) {
            std::this_thread::sleep_for(100ms);
            std::string now = listing_text();
            if (now == prev) break;
            prev = now;
        }
        return listing();
    }

    uint32_t status_prog_id() const {
        CommandResult r = xfw({"status"});
        EXPECT_TRUE(r.ok()) << r.describe();
        return status_for(r.out, lab().host_ifname()).prog_id;
    }

    std::string restore_text(const std::vector<std::string>& lines) const {
        return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
               join_lines(lines) + "COMMIT\n";
    }

    // Writes `text` to a new file in the state's temp dir; returns its path.
    std::string temp_file(const std::string& name, const std::string& text) const {
        std::string path = state_->file(name);
        EXPECT_TRUE(write_text_file(path, text)) << path;
        return path;
    }

    void counting_test(const std::string& mode);
};

// ---------------------------------------------------------------------------------------------
// Per-rule counters equal the frames sent; dropped frames never reach the host stack.

void E2e::counting_test(const std::string& mode) {
    const std::string host4 = lab().host_ipv4();
    const std::string spoofed = "10.200." + std::to_string(lab().subnet()) + ".77";
    ASSERT_TRUE(xfw_ok({"-N", "USERCH"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "5001", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-s", spoofed + "/32", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "icmp", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-j", "USERCH"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "tcp", "--dport", "1", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "USERCH", "-p", "udp", "--dport", "5002", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "USERCH", "-p", "udp", "--dport", "5003", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "USERCH", "-p", "udp", "--dport", "5004"}));
    ASSERT_TRUE(xfw_ok({"-A", "USERCH", "-j", "RETURN"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname(), "--mode", mode}));

    // Each kind of frame, how many are sent, and the rules ("CHAIN:N", "policy") it counts on.
    struct Kind {
        std::string what;
        Frame frame;
        size_t count;
        bool reaches_host;
        std::vector<std::string> path;
    };
    std::vector<Kind> kinds = {
        {"udp dport 5001", lab().to_host().udp(40001, 5001).payload_len(20).build(), 11, false, {"INPUT:1"}},
        {"udp from " + spoofed, lab().to_host().ipv4(spoofed, host4).udp(40002, 5004).payload_len(30).build(), 13,
         false, {"INPUT:2"}},
        {"icmp echo", lab().to_host().icmp(8, 0, 77, 1).payload_len(40).build(), 17, true, {"INPUT:3"}},
        {"udp dport 5002", lab().to_host().udp(40003, 5002).payload_len(50).build(), 19, true,
         {"INPUT:4", "USERCH:1"}},
        {"udp dport 5003", lab().to_host().udp(40004, 5003).payload_len(60).build(), 23, false,
         {"INPUT:4", "USERCH:2"}},
        {"udp dport 5004", lab().to_host().udp(40005, 5004).payload_len(70).build(), 29, true,
         {"INPUT:4", "USERCH:3", "USERCH:4", "policy"}},
        // Port-only rules apply to IPv6 as well; -s and -p icmp rules do not.
        {"udp6 dport 5001", lab().to_host(true).udp(40006, 5001).payload_len(25).build(), 7, false, {"INPUT:1"}},
        {"udp6 dport 5002", lab().to_host(true).udp(40007, 5002).payload_len(35).build(), 5, true,
         {"INPUT:4", "USERCH:1"}},
        {"icmpv6 echo", lab().to_host(true).icmp6(128, 0, 5, 1).payload_len(8).build(), 3, true, {"policy"}},
    };
    std::vector<Frame> frames;
    for (size_t round = 0; round < 29; ++round)
        for (const Kind& k : kinds)
            if (round < k.count) frames.push_back(k.frame);

    UdpSink sink5001(host4, 5001), sink5002(host4, 5002), sink5003(host4, 5003), sink5004(host4, 5004);
    for (UdpSink* s : {&sink5001, &sink5002, &sink5003, &sink5004}) ASSERT_TRUE(s->ok()) << s->error();
    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;
    auto ns_before = lab().ns_stats();
    ASSERT_TRUE(ns_before.ok());

    send(frames);
    if (HasFatalFailure()) return;
    std::vector<Frame> seen = capture->collect(100000, 1000ms);
    Listing l = settled_listing();
    auto ns_after = lab().ns_stats();
    ASSERT_TRUE(ns_after.ok());
    const uint64_t ns_tx = ns_after->tx_packets - ns_before->tx_packets;
    SCOPED_TRACE("frames leaving the namespace end: " + std::to_string(ns_tx) + " (sent " +
                 std::to_string(frames.size()) + ")");

    std::map<std::string, std::pair<uint64_t, uint64_t>> want;
    for (const Kind& k : kinds)
        for (const std::string& where : k.path) {
            want[where].first += k.count;
            want[where].second += k.count * k.frame.size();
        }
    const std::string text = listing_text();
    ASSERT_TRUE(l.count("INPUT") && l.count("USERCH")) << text;
    ASSERT_EQ(l["INPUT"].rules.size(), 5u) << text;
    ASSERT_EQ(l["USERCH"].rules.size(), 4u) << text;
    for (const char* chain : {"INPUT", "USERCH"}) {
        const ListedChain& c = l[chain];
        for (size_t i = 0; i < c.rules.size(); ++i) {
            auto w = want[std::string(chain) + ":" + std::to_string(i + 1)];
            EXPECT_EQ(c.rules[i].packets, w.first) << chain << " rule " << i + 1 << "\n" << text;
            EXPECT_EQ(c.rules[i].bytes, w.second) << chain << " rule " << i + 1 << "\n" << text;
        }
    }
    EXPECT_EQ(l["INPUT"].policy_packets, want["policy"].first) << text;
    EXPECT_EQ(l["INPUT"].policy_bytes, want["policy"].second) << text;

    // The host end's capture (after XDP) sees exactly the accepted frames.
    for (const Kind& k : kinds) {
        size_t got = std::count(seen.begin(), seen.end(), k.frame);
        EXPECT_EQ(got, k.reaches_host ? k.count : 0u) << "frames seen on the host end: " << k.what;
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(sink5001.drain(), 0u) << "UDP to the dropped port 5001 reached a socket";
    EXPECT_EQ(sink5003.drain(), 0u) << "UDP to the dropped port 5003 reached a socket";
    EXPECT_EQ(sink5002.drain(), kinds[3].count);
    EXPECT_EQ(sink5004.drain(), kinds[5].count) << "only the namespace's own 5004 datagrams (the spoofed ones are dropped)";
}

TEST_F(E2e, CountersEqualFramesSentNative) { counting_test("native"); }
TEST_F(E2e, CountersEqualFramesSentGeneric) { counting_test("generic"); }

// ---------------------------------------------------------------------------------------------
// status / ip link / detach

TEST_F(E2e, StatusShowsAttachmentAndDetachRemovesIt) {
    const std::string ifname = lab().host_ifname();
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "5555", "-j", "DROP"}));
    ASSERT_EQ(ip_link_xdp_prog(ifname), 0u) << "an XDP program before attach";
    ASSERT_TRUE(xfw_ok({"attach", ifname}));

    CommandResult st = xfw({"status"});
    ASSERT_TRUE(st.ok()) << st.describe();
    StatusLine s = status_for(st.out, ifname);
    ASSERT_TRUE(s.found) << st.out;
    EXPECT_TRUE(s.live) << st.out;
    EXPECT_EQ(s.mode, "native") << st.out;
    EXPECT_NE(s.prog_id, 0u) << st.out;
    EXPECT_EQ(ip_link_xdp_prog(ifname), s.prog_id) << run_command({"ip", "-d", "link", "show", "dev", ifname}).out;

    // The firewall is in force with no xfw process running.
    auto capture = FrameCapture::open(ifname);
    ASSERT_TRUE(capture.ok()) << capture.error().message;
    const Frame blocked = lab().to_host().udp(1234, 5555).payload_len(10).build();
    send({blocked, blocked, blocked});
    EXPECT_EQ(capture->count_matching([&](const Frame& f) { return f == blocked; }, 300ms), 0u);

    // A rule change swaps the program on the same link.
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "5556", "-j", "DROP"}));
    StatusLine s2 = status_for(xfw({"status"}).out, ifname);
    EXPECT_TRUE(s2.live);
    EXPECT_NE(s2.prog_id, s.prog_id);
    EXPECT_EQ(ip_link_xdp_prog(ifname), s2.prog_id);

    ASSERT_TRUE(xfw_ok({"detach", ifname}));
    EXPECT_EQ(ip_link_xdp_prog(ifname), 0u) << run_command({"ip", "-d", "link", "show", "dev", ifname}).out;
    CommandResult link = run_command({"ip", "link", "show", "dev", ifname});
    EXPECT_EQ(link.out.find("xdp"), std::string::npos) << link.out;
    st = xfw({"status"});
    EXPECT_FALSE(status_for(st.out, ifname).found) << st.out;
    EXPECT_NE(st.out.find("attached: none"), std::string::npos) << st.out;

    // Traffic flows again.
    send({blocked, blocked});
    EXPECT_EQ(capture->count_matching([&](const Frame& f) { return f == blocked; }, 1000ms, 2), 2u);

    // Detaching what is not attached is bad input.
    CommandResult again = xfw({"detach", ifname});
    EXPECT_EQ(again.exit_status, 2) << again.describe();
    EXPECT_NE(again.err.find(ifname), std::string::npos) << again.err;
    CommandResult lo = xfw({"detach", "lo"});
    EXPECT_EQ(lo.exit_status, 2) << lo.describe();

    // Re-attaching in generic mode works after the detach.
    ASSERT_TRUE(xfw_ok({"attach", ifname, "--mode", "generic"}));
    StatusLine s3 = status_for(xfw({"status"}).out, ifname);
    EXPECT_TRUE(s3.live);
    EXPECT_EQ(s3.mode, "generic");
    EXPECT_EQ(ip_link_xdp_prog(ifname), s3.prog_id);
    ASSERT_TRUE(xfw_ok({"detach", ifname}));
    EXPECT_EQ(ip_link_xdp_prog(ifname), 0u);
}

// ---------------------------------------------------------------------------------------------
// Counters survive rule changes; -Z zeroes what -L shows.

TEST_F(E2e, CountersSurviveRuleChanges) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "6001", "-j", "DROP"}));   // KEEP1
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "6002", "-j", "ACCEPT"})); // deleted later
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "icmp", "-j", "ACCEPT"}));                    // KEEP2
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "6003", "-j", "DROP"}));   // replaced later
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));

    const Frame f6001 = lab().to_host().udp(1000, 6001).payload_len(33).build();
    const Frame f6002 = lab().to_host().udp(1000, 6002).payload_len(12).build();
    const Frame ficmp = lab().to_host().icmp(8, 0, 1, 1).payload_len(21).build();
    const Frame f6003 = lab().to_host().udp(1000, 6003).payload_len(5).build();
    const Frame f6004 = lab().to_host().udp(1000, 6004).payload_len(7).build();
    auto batch = [](const Frame& f, size_t n) { return std::vector<Frame>(n, f); };

    uint64_t keep1 = 0, keep2 = 0;
    send(batch(f6001, 7));
    send(batch(ficmp, 5));
    send(batch(f6002, 3));
    send(batch(f6003, 4));
    keep1 += 7;
    keep2 += 5;

    // Finds an INPUT rule by a fragment of its -L line ("dpt:6001"), or by "icmp" for the one
    // with protocol 1 (-n prints numbers); returns its counts.
    auto rule = [&](const Listing& l, const std::string& needle) -> std::optional<ListedRule> {
        auto it = l.find("INPUT");
        if (it == l.end()) return std::nullopt;
        for (const ListedRule& r : it->second.rules) {
            std::istringstream w(r.line);
            std::string pkts, bytes, target, prot;
            w >> pkts >> bytes >> target >> prot;
            if (needle == "icmp" ? prot == "1" : r.line.find(needle) != std::string::npos) return r;
        }
        return std::nullopt;
    };
    auto check = [&](const std::string& step) {
        SCOPED_TRACE(step);
        Listing l = settled_listing();
        const std::string text = listing_text();
        auto k1 = rule(l, "dpt:6001");
        auto k2 = rule(l, "icmp");
        ASSERT_TRUE(k1 && k2) << text;
        EXPECT_EQ(k1->packets, keep1) << text;
        EXPECT_EQ(k1->bytes, keep1 * f6001.size()) << text;
        EXPECT_EQ(k2->packets, keep2) << text;
        EXPECT_EQ(k2->bytes, keep2 * ficmp.size()) << text;
    };
    check("initial");
    {
        Listing l = settled_listing();
        auto r3 = rule(l, "dpt:6003");
        ASSERT_TRUE(r3);
        EXPECT_EQ(r3->packets, 4u);
    }

    ASSERT_TRUE(xfw_ok({"-I", "INPUT", "1", "-p", "tcp", "--dport", "7777", "-j", "DROP"}));
    check("after -I INPUT 1 (a rule inserted before)");
    send(batch(f6001, 2));
    keep1 += 2;
    check("traffic after -I");

    ASSERT_TRUE(xfw_ok({"-D", "INPUT", "-p", "udp", "--dport", "6002", "-j", "ACCEPT"}));
    check("after -D of another rule");

    // INPUT is now: 7777, 6001, icmp, 6003.
    ASSERT_TRUE(xfw_ok({"-R", "INPUT", "4", "-p", "udp", "--dport", "6004", "-j", "DROP"}));
    check("after -R of another rule");
    {
        Listing l = settled_listing();
        auto r4 = rule(l, "dpt:6004");
        ASSERT_TRUE(r4) << listing_text();
        EXPECT_EQ(r4->packets, 0u) << "a replacement rule starts from zero, like iptables -R\n" << listing_text();
        EXPECT_FALSE(rule(l, "dpt:6003")) << listing_text();
    }
    send(batch(f6004, 3));
    send(batch(ficmp, 1));
    keep2 += 1;
    check("traffic after -R");

    const std::string file = temp_file(
        "keep.rules", restore_text({"-A INPUT -p udp -m udp --dport 6100 -j DROP",
                                    "-A INPUT -p icmp -j ACCEPT",
                                    "-A INPUT -p udp -m udp --dport 6001 -j DROP",
                                    "-A INPUT -p udp -m udp --dport 6004 -j DROP"}));
    ASSERT_TRUE(xfw_ok({"restore", file}));
    check("after restore of a file that still contains the rules (reordered)");
    {
        Listing l = settled_listing();
        auto r4 = rule(l, "dpt:6004");
        ASSERT_TRUE(r4);
        EXPECT_EQ(r4->packets, 3u) << listing_text();
    }

    ASSERT_TRUE(xfw_ok({"-P", "INPUT", "DROP"}));
    check("after -P INPUT DROP");
    ASSERT_TRUE(xfw_ok({"-P", "INPUT", "ACCEPT"}));
    check("after -P INPUT ACCEPT");
    send(batch(f6001, 4));
    keep1 += 4;
    check("traffic after -P");

    // -Z: everything -L shows starts again from zero, then counts on.
    ASSERT_TRUE(xfw_ok({"-Z"}));
    {
        Listing l = settled_listing();
        for (const auto& [name, c] : l) {
            EXPECT_EQ(c.policy_packets, 0u) << name;
            for (const ListedRule& r : c.rules) EXPECT_EQ(r.packets, 0u) << r.line;
            for (const ListedRule& r : c.rules) EXPECT_EQ(r.bytes, 0u) << r.line;
        }
    }
    keep1 = keep2 = 0;
    check("after -Z");
    send(batch(f6001, 6));
    send(batch(ficmp, 2));
    keep1 += 6;
    keep2 += 2;
    check("traffic after -Z");
    // A change after -Z keeps the zeroed view.
    ASSERT_TRUE(xfw_ok({"-I", "INPUT", "-p", "tcp", "--dport", "7778", "-j", "DROP"}));
    check("rule change after -Z");
}

// Renaming a chain keeps counters; -Z CHAIN zeroes that chain only; restore --noflush adds.
// A reboot empties the bpffs: links, program and counter map are gone while the state file
// remains. The next change attaches again by itself, and -Z baselines taken against the old
// map no longer apply to the fresh one.
TEST_F(E2e, PinsLostLikeAfterARebootAreRebuiltByTheNextChange) {
    const std::string ifname = lab().host_ifname();
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7001", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", ifname}));
    const Frame f7001 = lab().to_host().udp(1000, 7001).payload_len(9).build();
    auto dropped_count = [&] {
        Listing l = settled_listing();
        return l.count("INPUT") && !l["INPUT"].rules.empty() ? l["INPUT"].rules[0].packets : UINT64_MAX;
    };
    send(std::vector<Frame>(6, f7001));
    ASSERT_EQ(dropped_count(), 6u) << listing_text();
    ASSERT_TRUE(xfw_ok({"-Z"}));
    send(std::vector<Frame>(2, f7001));
    ASSERT_EQ(dropped_count(), 2u) << listing_text();

    // "Reboot": every pin goes; with the last reference the link detaches the program.
    for (const std::string& pin : {"/links/" + ifname, std::string("/prog"), std::string("/counters")})
        ASSERT_EQ(::unlink((cli_.bpffs + pin).c_str()), 0) << pin << ": " << std::strerror(errno);
    auto link = run_command({"ip", "link", "show", "dev", ifname});
    ASSERT_TRUE(link.ok()) << link.describe();
    ASSERT_EQ(link.out.find("prog/xdp"), std::string::npos) << link.out;

    // An ordinary change brings the firewall back on the interface.
    auto added = xfw({"-A", "INPUT", "-p", "udp", "--dport", "7002", "-j", "DROP"});
    ASSERT_EQ(added.exit_status, 0) << added.describe();
    link = run_command({"ip", "link", "show", "dev", ifname});
    EXPECT_NE(link.out.find("prog/xdp"), std::string::npos) << link.out;
    EXPECT_NE(xfw({"status"}).out.find("live"), std::string::npos);
    send(std::vector<Frame>(3, f7001));
    EXPECT_EQ(dropped_count(), 3u) << "a fresh map counts from zero, without the old -Z baseline\n"
                                   << listing_text();
}

// Another program already on the interface: attach refuses with what to do, changes nothing.
TEST_F(E2e, AttachRefusesAnInterfaceWithAForeignXdpProgram) {
    const std::string ifname = lab().host_ifname();
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7101", "-j", "DROP"}));
    const std::string object = state_->file("foreign.o");
    ASSERT_TRUE(xfw_ok({"compile", "-o", object}));
    auto foreign = run_command({"ip", "link", "set", "dev", ifname, "xdpgeneric", "obj", object, "sec", "xdp"});
    ASSERT_TRUE(foreign.ok()) << foreign.describe();
    const std::string before = xfw({"status"}).out;

    auto refused = xfw({"attach", ifname, "--mode", "generic"});
    EXPECT_EQ(refused.exit_status, 2) << refused.describe();
    EXPECT_NE(refused.err.find("already has an XDP program that is not xfw's"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("xdpgeneric off"), std::string::npos) << refused.err;
    EXPECT_EQ(xfw({"status"}).out, before);
    EXPECT_EQ(::access((cli_.bpffs + "/links/" + ifname).c_str(), F_OK), -1) << "no link pin may be left";

    ASSERT_TRUE(run_command({"ip", "link", "set", "dev", ifname, "xdpgeneric", "off"}).ok());
    EXPECT_TRUE(xfw_ok({"attach", ifname, "--mode", "generic"}));
}

TEST_F(E2e, RenameAndPerChainZero) {
    ASSERT_TRUE(xfw_ok({"-N", "U1"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "-j", "U1"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "icmp", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "U1", "-p", "udp", "--dport", "53", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const Frame dns = lab().to_host().udp(1000, 53).payload_len(30).build();
    const Frame ping = lab().to_host().icmp(8, 0).build();
    send(std::vector<Frame>(5, dns));
    send(std::vector<Frame>(4, ping));

    auto counts = [&](const std::string& chain) {
        std::vector<uint64_t> v;
        Listing l = settled_listing();
        for (const ListedRule& r : l[chain].rules) v.push_back(r.packets);
        return v;
    };
    EXPECT_EQ(counts("INPUT"), (std::vector<uint64_t>{5, 4})) << listing_text();
    EXPECT_EQ(counts("U1"), (std::vector<uint64_t>{5})) << listing_text();

    ASSERT_TRUE(xfw_ok({"-E", "U1", "U2"}));
    EXPECT_EQ(counts("INPUT"), (std::vector<uint64_t>{5, 4})) << listing_text();
    EXPECT_EQ(counts("U2"), (std::vector<uint64_t>{5})) << listing_text();
    EXPECT_EQ(listing_text().find("U1"), std::string::npos) << listing_text();

    ASSERT_TRUE(xfw_ok({"-Z", "U2"}));
    EXPECT_EQ(counts("INPUT"), (std::vector<uint64_t>{5, 4})) << listing_text();
    EXPECT_EQ(counts("U2"), (std::vector<uint64_t>{0})) << listing_text();
    send(std::vector<Frame>(2, dns));
    EXPECT_EQ(counts("INPUT"), (std::vector<uint64_t>{7, 4})) << listing_text();
    EXPECT_EQ(counts("U2"), (std::vector<uint64_t>{2})) << listing_text();

    const std::string more = temp_file("more.rules", "*filter\n-A INPUT -p tcp -m tcp --dport 1 -j DROP\nCOMMIT\n");
    ASSERT_TRUE(xfw_ok({"restore", "--noflush", more}));
    EXPECT_EQ(counts("INPUT"), (std::vector<uint64_t>{7, 4, 0})) << listing_text();
    EXPECT_EQ(counts("U2"), (std::vector<uint64_t>{2})) << listing_text();
}

// ---------------------------------------------------------------------------------------------
// Rule updates while traffic flows: nothing lost, nothing counted twice, no dropped frame leaks.

TEST_F(E2e, RuleUpdatesUnderTraffic) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7000", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7001", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7002", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));

    const uint16_t ports[4] = {7000, 7001, 7002, 7003};  // drop, accept, accept, policy
    std::vector<Frame> batch;
    for (int i = 0; i < 25; ++i)
        for (uint16_t p : ports)
            batch.push_back(lab().to_host().udp(static_cast<uint16_t>(20000 + i), p).payload_len(18).build());

    UdpSink sink7000(lab().host_ipv4(), 7000);
    ASSERT_TRUE(sink7000.ok()) << sink7000.error();
    auto capture = FrameCapture::open(lab().host_ifname());
    ASSERT_TRUE(capture.ok()) << capture.error().message;

    std::atomic<bool> changes_done{false}, sender_started{false}, stop_capture{false};
    std::atomic<size_t> leaked{0}, captured{0};
    std::thread watcher([&] {
        while (!stop_capture.load()) {
            for (const Frame& f : capture->collect(4096, 100ms)) {
                ++captured;
                if (is_udp_to(f, 7000)) ++leaked;
            }
        }
        for (const Frame& f : capture->collect(1 << 20, 300ms)) {
            ++captured;
            if (is_udp_to(f, 7000)) ++leaked;
        }
    });

    uint64_t sent_per_port[4] = {0, 0, 0, 0};
    std::vector<std::string> send_errors;
    std::atomic<size_t> total{0};
    std::thread sender([&] {
        sender_started = true;
        while (!changes_done.load() || total.load() < 20000) {
            SendResult r = lab().send_from_ns(batch);
            // Frames the kernel refused ("frame 12 (...)") never reached XDP.
            std::vector<bool> failed(batch.size(), false);
            for (const std::string& e : r.errors) {
                unsigned long idx = 0;
                if (std::sscanf(e.c_str(), "frame %lu", &idx) == 1 && idx < batch.size()) failed[idx] = true;
                else if (send_errors.size() < 5) send_errors.push_back(e);
            }
            for (size_t i = 0; i < batch.size(); ++i)
                if (!failed[i]) {
                    ++sent_per_port[i % 4];
                    ++total;
                }
            std::this_thread::sleep_for(1ms);
        }
    });
    while (!sender_started.load()) std::this_thread::sleep_for(1ms);

    // ~30 changes: inserts and deletes of unrelated rules, and restores that keep the three.
    std::vector<std::string> failures;
    const auto t0 = std::chrono::steady_clock::now();
    const size_t sent_before_changes = total.load();
    for (int i = 0; i < 10; ++i) {
        const std::string port = std::to_string(9000 + i);
        auto record = [&](const CommandResult& r) {
            if (!r.ok()) failures.push_back(r.describe());
        };
        record(xfw({"-I", "INPUT", "1", "-p", "tcp", "--dport", port, "-j", "DROP"}));
        record(xfw({"-D", "INPUT", "-p", "tcp", "--dport", port, "-j", "DROP"}));
        std::vector<std::string> lines = {"-A INPUT -p tcp -m tcp --dport 8" + std::to_string(i) + " -j ACCEPT",
                                          "-A INPUT -p udp -m udp --dport 7000 -j DROP",
                                          "-A INPUT -p tcp -m multiport --dports 81,82 -j DROP",
                                          "-A INPUT -p udp -m udp --dport 7001 -j ACCEPT",
                                          "-A INPUT -p udp -m udp --dport 7002 -j ACCEPT"};
        if (i % 2) lines.push_back("-A INPUT -s 192.0.2." + std::to_string(i) + "/32 -j DROP");
        record(xfw({"restore", temp_file("r" + std::to_string(i) + ".rules", restore_text(lines))}));
    }
    const auto changes_took = std::chrono::steady_clock::now() - t0;
    const size_t sent_during_changes = total.load() - sent_before_changes;
    changes_done = true;
    sender.join();
    // Let the last frames through the data path before reading counters.
    Listing l = settled_listing();
    stop_capture = true;
    watcher.join();

    for (const auto& f : failures) ADD_FAILURE() << f;
    EXPECT_TRUE(send_errors.empty()) << send_errors.front();
    EXPECT_GT(sent_during_changes, 1000u) << "the traffic did not overlap the rule changes";
    const uint64_t sent_total = sent_per_port[0] + sent_per_port[1] + sent_per_port[2] + sent_per_port[3];
    RecordProperty("frames_sent", std::to_string(sent_total));
    const auto changes_ms = std::chrono::duration_cast<std::chrono::milliseconds>(changes_took).count();
    RecordProperty("changes_ms", std::to_string(changes_ms));
    std::printf("%llu frames sent, %zu of them during 30 rule changes (%lld ms)\n",
                static_cast<unsigned long long>(sent_total), sent_during_changes, static_cast<long long>(changes_ms));

    const std::string text = listing_text();
    ASSERT_TRUE(l.count("INPUT")) << text;
    uint64_t c7000 = 0, c7001 = 0, c7002 = 0;
    for (const ListedRule& r : l["INPUT"].rules) {
        if (r.line.find("udp dpt:7000") != std::string::npos) c7000 = r.packets;
        if (r.line.find("udp dpt:7001") != std::string::npos) c7001 = r.packets;
        if (r.line.find("udp dpt:7002") != std::string::npos) c7002 = r.packets;
    }
    const uint64_t policy = l["INPUT"].policy_packets;
    EXPECT_EQ(c7000 + c7001 + c7002 + policy, sent_total)
        << "drop " << c7000 << " + accept " << c7001 << " + accept " << c7002 << " + policy " << policy
        << " != frames sent " << sent_total << "\n" << text;
    EXPECT_EQ(c7000, sent_per_port[0]) << text;
    EXPECT_EQ(c7001, sent_per_port[1]) << text;
    EXPECT_EQ(c7002, sent_per_port[2]) << text;
    EXPECT_EQ(policy, sent_per_port[3]) << text;
    EXPECT_EQ(leaked.load(), 0u) << "frames to the dropped port 7000 seen on the host end";
    EXPECT_EQ(sink7000.drain(), 0u) << "datagrams to the dropped port 7000 reached the host's socket";
    EXPECT_GT(captured.load(), 0u) << "the capture saw nothing at all; the leak check is void";
}

// ---------------------------------------------------------------------------------------------
// Bad input changes nothing.

TEST_F(E2e, BadInputLeavesEverythingUnchanged) {
    ASSERT_TRUE(xfw_ok({"-N", "KEEP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "6500", "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-j", "KEEP"}));
    ASSERT_TRUE(xfw_ok({"-A", "KEEP", "-p", "icmp", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    const Frame f = lab().to_host().udp(1, 6500).payload_len(9).build();
    send(std::vector<Frame>(5, f));
    send(std::vector<Frame>(3, lab().to_host().icmp(8, 0).build()));

    const std::string save0 = xfw({"save"}).out;
    Listing settled = settled_listing();
    const std::string list0 = listing_text();
    const uint32_t prog0 = status_prog_id();
    ASSERT_NE(prog0, 0u);
    ASSERT_EQ(settled["INPUT"].rules.size(), 2u) << list0;
    ASSERT_EQ(settled["INPUT"].rules[0].packets, 5u) << list0;
    ASSERT_EQ(settled["KEEP"].rules.size(), 1u) << list0;
    ASSERT_EQ(settled["KEEP"].rules[0].packets, 3u) << list0;

    auto unchanged = [&](const std::string& what) {
        SCOPED_TRACE(what);
        EXPECT_EQ(xfw({"save"}).out, save0);
        EXPECT_EQ(listing_text(), list0);
        EXPECT_EQ(status_prog_id(), prog0);
        EXPECT_EQ(ip_link_xdp_prog(lab().host_ifname()), prog0);
    };
    auto expect_bad = [&](const std::vector<std::string>& args, const std::vector<std::string>& mentions) {
        CommandResult r = xfw(args);
        EXPECT_EQ(r.exit_status, 2) << r.describe();
        for (const std::string& m : mentions) EXPECT_NE(r.err.find(m), std::string::npos) << "stderr lacks \"" << m << "\": " << r.err;
        unchanged(r.command);
    };

    expect_bad({"-A", "INPUT", "-p", "tcp", "--dport", "99999", "-j", "DROP"}, {"99999"});
    expect_bad({"-A", "INPUT", "-p", "tcp", "--dport"}, {"--dport"});
    expect_bad({"-A", "INPUT", "-s", "10.1.2.300", "-j", "DROP"}, {"10.1.2.300"});
    expect_bad({"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"}, {"conntrack"});
    expect_bad({"-A", "INPUT", "-j", "NOSUCHCHAIN"}, {"NOSUCHCHAIN"});
    expect_bad({"-A", "INPUT", "-p", "tcp", "-j", "REJECT"}, {"REJECT"});
    expect_bad({"-D", "INPUT", "9"}, {});
    expect_bad({"-X", "KEEP"}, {"KEEP"});

    // A restore file with a bad line in the middle: all or nothing.
    const std::string bad = temp_file(
        "bad.rules", "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                     "-A INPUT -p udp -m udp --dport 1 -j DROP\n"
                     "-A INPUT -p tcp -m tcp --dport nosuchservice -j DROP\n"  // line 6
                     "-A INPUT -p udp -m udp --dport 2 -j DROP\n"
                     "COMMIT\n");
    expect_bad({"restore", bad}, {"line 6", "nosuchservice"});
    const std::string bad2 = temp_file(
        "bad2.rules", "*filter\n:INPUT ACCEPT [0:0]\n"
                      "-A INPUT -p udp -m udp --dport 1 -j DROP\n"
                      "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"  // line 4
                      "-A INPUT -p udp -m udp --dport 2 -j DROP\n"
                      "COMMIT\n");
    expect_bad({"restore", bad2}, {"line 4", "conntrack"});

    // Attaching a missing interface.
    CommandResult missing = xfw({"attach", "xfwnosuch0"});
    EXPECT_EQ(missing.exit_status, 2) << missing.describe();
    EXPECT_NE(missing.err.find("xfwnosuch0"), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
    unchanged("attach of a missing interface");

    // Attaching twice.
    CommandResult twice = xfw({"attach", lab().host_ifname()});
    EXPECT_EQ(twice.exit_status, 2) << twice.describe();
    unchanged("second attach");

    // --bpffs that is not on a BPF filesystem.
    TempDir notbpf("notbpf");
    ASSERT_TRUE(notbpf.ok());
    XfwCli other{xfw_binary(), notbpf.file("xfw"), notbpf.file("state")};
    CommandResult nb = other.run({"-A", "INPUT", "-j", "DROP"});
    EXPECT_NE(nb.exit_status, 0) << nb.describe();
    EXPECT_NE(nb.err.find("mount -t bpf"), std::string::npos) << nb.err;
    CommandResult nb_attach = other.run({"attach", lab().host_ifname()});
    EXPECT_NE(nb_attach.exit_status, 0) << nb_attach.describe();
    EXPECT_NE(nb_attach.err.find("mount -t bpf"), std::string::npos) << nb_attach.err;
    EXPECT_FALSE(std::filesystem::exists(notbpf.file("xfw/prog")));
    unchanged("a --bpffs outside bpffs");
}

// ---------------------------------------------------------------------------------------------
// Concurrent invocations are serialised by the state lock.

TEST_F(E2e, ConcurrentInvocationsAreSerialised) {
    ASSERT_TRUE(xfw_ok({"attach", lab().host_ifname()}));
    constexpr int kN = 10;
    std::vector<std::future<CommandResult>> results;
    for (int i = 0; i < kN; ++i)
        results.push_back(std::async(std::launch::async, [this, i] {
            return xfw({"-A", "INPUT", "-p", "tcp", "--dport", std::to_string(11000 + i), "-j", "DROP"});
        }));
    for (auto& r : results) {
        CommandResult c = r.get();
        EXPECT_TRUE(c.ok()) << c.describe();
    }

    CommandResult s = xfw({"-S", "INPUT"});
    ASSERT_TRUE(s.ok()) << s.describe();
    std::multiset<std::string> got;
    std::istringstream in(s.out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("-A INPUT", 0) == 0) got.insert(line);
    std::multiset<std::string> want;
    for (int i = 0; i < kN; ++i)
        want.insert("-A INPUT -p tcp -m tcp --dport " + std::to_string(11000 + i) + " -j DROP");
    EXPECT_EQ(got, want) << s.out;

    // The attached program is the one built from the final state: every rule is in force.
    StatusLine st = status_for(xfw({"status"}).out, lab().host_ifname());
    EXPECT_TRUE(st.live);
    EXPECT_EQ(ip_link_xdp_prog(lab().host_ifname()), st.prog_id);
    std::vector<Frame> frames;
    for (int i = 0; i < kN; ++i)
        frames.push_back(lab().to_host().tcp(5000, static_cast<uint16_t>(11000 + i)).build());
    send(frames);
    Listing l = settled_listing();
    ASSERT_EQ(l["INPUT"].rules.size(), static_cast<size_t>(kN)) << listing_text();
    for (const ListedRule& r : l["INPUT"].rules) EXPECT_EQ(r.packets, 1u) << r.line;

    // save | restore round-trips the concurrent result.
    const std::string saved = xfw({"save"}).out;
    ASSERT_TRUE(xfw_ok({"restore", temp_file("saved.rules", saved)}));
    EXPECT_EQ(xfw({"save"}).out, saved);
    Listing l2 = listing();
    for (const ListedRule& r : l2["INPUT"].rules) EXPECT_EQ(r.packets, 1u) << r.line;
}

// ---------------------------------------------------------------------------------------------
// replay: a pcap through a rules file with BPF_PROG_TEST_RUN.

TEST_F(E2e, ReplayCountsVerdictsAndRules) {
    std::vector<Frame> frames;
    auto add = [&](PacketBuilder b, int n) {
        for (int i = 0; i < n; ++i) frames.push_back(b.build());
    };
    add(udp4("10.0.0.1", "10.0.0.2", 1000, 53).payload_len(20), 5);      // rule 1 DROP
    add(tcp4("10.0.0.1", "10.0.0.2", 40000, 22), 3);                      // rule 2 ACCEPT
    add(icmp4("10.0.0.1", "10.0.0.2"), 2);                                // rule 3 ACCEPT
    add(udp6("fd00::1", "fd00::2", 1000, 53), 4);                         // rule 1 (both families)
    add(arp_request("10.0.0.1", "10.0.0.2"), 2);                          // non-IP, passed
    add(tcp4("10.0.0.1", "10.0.0.2", 40000, 80).payload_len(100), 6);    // rule 4 (no target), policy DROP
    add(tcp6("fd00::1", "fd00::2", 40000, 22), 1);                        // rule 2
    const std::string rules =
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p udp -m udp --dport 53 -j DROP\n"
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
        "-A INPUT -p icmp -j ACCEPT\n"
        "-A INPUT -p tcp -m tcp --dport 80\n"
        "COMMIT\n";
    const std::string pcap = state_->file("replay.pcap");
    ASSERT_TRUE(write_pcap(pcap, frames).ok());
    const std::string rules_file = temp_file("replay.rules", rules);

    CommandResult r = xfw({"replay", "--pcap", pcap, "--rules", rules_file, "--json"});
    ASSERT_TRUE(r.ok()) << r.describe();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
        FAIL() << "replay --json printed no JSON: " << e.what() << "\n" << r.out;
    }
    auto bytes_of = [&](size_t first, size_t n) {
        uint64_t b = 0;
        for (size_t i = first; i < first + n; ++i) b += frames[i].size();
        return b;
    };
    EXPECT_EQ(j["packets"], 23) << j.dump(2);
    EXPECT_EQ(j["verdicts"]["XDP_DROP"], 15) << j.dump(2);
    EXPECT_EQ(j["verdicts"]["XDP_PASS"], 8) << j.dump(2);
    ASSERT_EQ(j["rules"].size(), 4u) << j.dump(2);
    const uint64_t want_packets[4] = {9, 4, 2, 6};
    const uint64_t want_bytes[4] = {bytes_of(0, 5) + bytes_of(10, 4), bytes_of(5, 3) + bytes_of(22, 1),
                                    bytes_of(8, 2), bytes_of(16, 6)};
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(j["rules"][i]["chain"], "INPUT");
        EXPECT_EQ(j["rules"][i]["num"], i + 1);
        EXPECT_EQ(j["rules"][i]["packets"], want_packets[i]) << j["rules"][i].dump();
        EXPECT_EQ(j["rules"][i]["bytes"], want_bytes[i]) << j["rules"][i].dump();
    }
    EXPECT_EQ(j["rules"][0]["spec"], "-p udp -m udp --dport 53 -j DROP");
    EXPECT_EQ(j["policy"]["INPUT"]["target"], "DROP");
    EXPECT_EQ(j["policy"]["INPUT"]["packets"], 6);
    EXPECT_EQ(j["policy"]["INPUT"]["bytes"], bytes_of(16, 6));
    EXPECT_EQ(j["non_ip"]["packets"], 2);
    EXPECT_EQ(j["errors"]["packets"], 0);

    // Without --rules, replay uses the stored ruleset (and changes nothing).
    ASSERT_TRUE(xfw_ok({"restore", rules_file}));
    const std::string save0 = xfw({"save"}).out;
    CommandResult stored = xfw({"replay", "--pcap", pcap, "--json"});
    ASSERT_TRUE(stored.ok()) << stored.describe();
    auto j2 = nlohmann::json::parse(stored.out, nullptr, false);
    ASSERT_FALSE(j2.is_discarded()) << stored.out;
    EXPECT_EQ(j2["verdicts"], j["verdicts"]);
    EXPECT_EQ(j2["rules"], j["rules"]);
    EXPECT_EQ(xfw({"save"}).out, save0);
    Listing l = listing();
    for (const ListedRule& rr : l["INPUT"].rules) EXPECT_EQ(rr.packets, 0u) << "replay touched live counters";

    // A pcap that does not exist, and a bad rules file, are bad input.
    CommandResult nopcap = xfw({"replay", "--pcap", state_->file("nosuch.pcap"), "--rules", rules_file});
    EXPECT_NE(nopcap.exit_status, 0);
    const std::string bad_rules = temp_file("bad-replay.rules", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport x -j DROP\nCOMMIT\n");
    CommandResult badr = xfw({"replay", "--pcap", pcap, "--rules", bad_rules, "--json"});
    EXPECT_EQ(badr.exit_status, 2) << badr.describe();
    EXPECT_NE(badr.err.find("line 3"), std::string::npos) << badr.err;
}

}  // namespace
}  // namespace xfw::test
