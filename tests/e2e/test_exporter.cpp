// End-to-end tests of `xfw exporter`: the real binary (path in $XFW) as a child process serving
// /metrics for a private bpffs and state directory, scraped with httplib::Client while frames
// go through a veth pair and rules change. The --listen checks run without root.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/export_formats.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

// Waits up to `timeout` for `pid` to exit; its exit status, or nullopt if it is still running.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || std::chrono::steady_clock::now() > end) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

// Starts `argv` with stdout and stderr going to `log_path`; the child's pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        std::vector<char*> a;
        for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        ::execv(a[0], a.data());
        ::_exit(127);
    }
    return pid;
}

// Kills and reaps a child when it goes out of scope (unless already reaped: pid set to -1).
struct ChildGuard {
    pid_t& pid;
    ~ChildGuard() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
};

TEST(ExporterOptions, BadListenValuesExitWithStatus2) {
    if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
    TempDir dir("exporter-opts");
    ASSERT_TRUE(dir.ok());
    XfwCli cli{xfw_binary(), dir.file("bpf"), dir.file("state")};
    for (const std::string bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http",
                                  "localhost-x:80", "999.1.1.1:80", "[::1]", "[::1:80", "::1:80", ":9469"}) {
        SCOPED_TRACE(bad);
        CommandResult r = run_command(cli.argv({"exporter", "--listen", bad}), 10s);
        EXPECT_EQ(r.exit_status, 2) << r.describe();
        EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    }
    CommandResult r = run_command(cli.argv({"exporter", "stray"}), 10s);
    EXPECT_EQ(r.exit_status, 2) << r.describe();
}

// A state file that cannot be read: /metrics answers 500 with the error, the exporter keeps
// running and counts the failure once the state is readable again.
TEST(ExporterOptions, UnreadableStateAnswers500AndKeepsServing) {
    if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
    TempDir dir("exporter-500");
    ASSERT_TRUE(dir.ok());
    std::filesystem::create_directories(dir.file("state"));
    ASSERT_TRUE(write_text_file(dir.file("state") + "/state.json", "garbage{"));
    XfwCli cli{xfw_binary(), dir.file("bpf"), dir.file("state")};
    const int port = free_port();
    ASSERT_NE(port, 0);
    pid_t pid = spawn(cli.argv({"exporter", "--listen", "127.0.0.1:" + std::to_string(port)}), dir.file("log"));
    ChildGuard guard{pid};
    ASSERT_GT(pid, 0);
    auto first_answer = [&] {
        for (int i = 0;; ++i) {
            httplib::Client c("127.0.0.1", port);
            c.set_connection_timeout(1, 0);
            auto r = c.Get("/metrics");
            if (r || i == 100) return r;
            std::this_thread::sleep_for(50ms);
        }
    };
    auto res = first_answer();
    ASSERT_TRUE(res) << "the exporter does not answer";
    EXPECT_EQ(res->status, 500);
    EXPECT_NE(res->body.find("state.json"), std::string::npos) << res->body;

    std::filesystem::remove(dir.file("state") + "/state.json");
    httplib::Client c("127.0.0.1", port);
    auto ok = c.Get("/metrics");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    std::string why;
    auto parsed = parse_prometheus_text(ok->body, &why);
    ASSERT_TRUE(parsed) << why;
    bool counted = false;
    for (const PromSample& s : parsed->samples)
        if (s.name == "xfw_scrape_errors_total") counted = s.value == "1";
    EXPECT_TRUE(counted) << ok->body;

    ASSERT_EQ(::kill(pid, SIGINT), 0);
    auto status = wait_exit(pid, 5s);
    ASSERT_TRUE(status) << "still running 5 s after SIGINT";
    pid = -1;
    EXPECT_EQ(*status, 0);
}

class Exporter : public XfwLabTest {
protected:
    void SetUp() override {
        XfwLabTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        port_ = free_port();
        ASSERT_NE(port_, 0);
        pid_ = start({"exporter", "--listen", "127.0.0.1:" + std::to_string(port_)});
        ASSERT_GT(pid_, 0);
        // Wait until it answers.
        const auto end = std::chrono::steady_clock::now() + 5s;
        while (true) {
            httplib::Client c("127.0.0.1", port_);
            c.set_connection_timeout(1, 0);
            if (auto res = c.Get("/"); res && res->status == 200) break;
            ASSERT_LT(std::chrono::steady_clock::now(), end) << "the exporter does not answer:\n" << log();
            std::this_thread::sleep_for(50ms);
        }
    }

    void TearDown() override {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    pid_t start(const std::vector<std::string>& args) { return spawn(cli_.argv(args), state_->file("exporter.log")); }
    std::string log() const {
        FILE* f = std::fopen(state_->file("exporter.log").c_str(), "r");
        if (!f) return "";
        std::string out;
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
        return out;
    }

    httplib::Result get(const std::string& path) const {
        httplib::Client c("127.0.0.1", port_);
        c.set_connection_timeout(2, 0);
        c.set_read_timeout(5, 0);
        return c.Get(path);
    }
    // A successful, valid scrape's samples (failures recorded).
    std::optional<PromParse> scrape() const {
        auto res = get("/metrics");
        if (!res) {
            ADD_FAILURE() << "scrape failed: " << httplib::to_string(res.error());
            return std::nullopt;
        }
        if (res->status != 200) {
            ADD_FAILURE() << "scrape answered " << res->status << ": " << res->body;
            return std::nullopt;
        }
        std::string why;
        auto parsed = parse_prometheus_text(res->body, &why);
        if (!parsed) ADD_FAILURE() << "not the Prometheus text format: " << why << "\n" << res->body;
        return parsed;
    }
    bool xfw_ok(const std::vector<std::string>& args) const {
        CommandResult r = cli_.run(args);
        if (!r.ok()) ADD_FAILURE() << r.describe();
        return r.ok();
    }

    static std::optional<std::string> value(const PromParse& p, const std::string& name, const std::string& chain,
                                            const std::string& num) {
        for (const PromSample& s : p.samples)
            if (s.name == name && s.labels.count("chain") && s.labels.at("chain") == chain &&
                (num.empty() || (s.labels.count("num") && s.labels.at("num") == num)))
                return s.value;
        return std::nullopt;
    }

    int port_ = 0;
    pid_t pid_ = -1;
};

TEST_F(Exporter, ServesCountersKeepsServingDuringRuleChangesAndStopsOnSigterm) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7001", "-m", "comment", "--comment", "account=acme",
                        "-j", "DROP"}));
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "7002", "-j", "ACCEPT"}));
    ASSERT_TRUE(xfw_ok({"attach", lab_->host_ifname()}));

    const Frame f1 = lab_->to_host().udp(40001, 7001).payload_len(20).build();
    const Frame f2 = lab_->to_host().udp(40002, 7002).payload_len(33).build();
    std::vector<Frame> frames(11, f1);
    frames.insert(frames.end(), 7, f2);
    SendResult sent = lab_->send_from_ns(frames);
    ASSERT_TRUE(sent.ok()) << sent.describe();

    // ---- values equal what was sent (polled until the data path has counted everything)
    const std::string p1 = "11", b1 = std::to_string(11 * f1.size());
    const std::string p2 = "7", b2 = std::to_string(7 * f2.size());
    std::optional<PromParse> p;
    for (int i = 0; i < 40; ++i) {
        p = scrape();
        ASSERT_TRUE(p);
        if (value(*p, "xfw_rule_packets_total", "INPUT", "1") == p1 &&
            value(*p, "xfw_rule_packets_total", "INPUT", "2") == p2)
            break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(value(*p, "xfw_rule_packets_total", "INPUT", "1"), p1);
    EXPECT_EQ(value(*p, "xfw_rule_bytes_total", "INPUT", "1"), b1);
    EXPECT_EQ(value(*p, "xfw_rule_packets_total", "INPUT", "2"), p2);
    EXPECT_EQ(value(*p, "xfw_rule_bytes_total", "INPUT", "2"), b2);
    bool acme = false;
    for (const PromSample& s : p->samples)
        if (s.name == "xfw_rule_bytes_total" && s.labels.count("account") && s.labels.at("account") == "acme")
            acme = true;
    EXPECT_TRUE(acme);
    bool up = false;
    for (const PromSample& s : p->samples)
        if (s.name == "xfw_up") up = s.value == "1";
    EXPECT_TRUE(up);
    EXPECT_EQ(p->type["xfw_scrape_errors_total"], "counter");

    {
        auto res = get("/metrics");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
        auto root = get("/");
        ASSERT_TRUE(root);
        EXPECT_EQ(root->status, 200);
        EXPECT_NE(root->body.find("/metrics"), std::string::npos);
        auto missing = get("/nope");
        ASSERT_TRUE(missing);
        EXPECT_EQ(missing->status, 404);
    }

    // ---- a client that connects and sends nothing does not block other scrapes
    {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port_));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        const auto t0 = std::chrono::steady_clock::now();
        httplib::Client c("127.0.0.1", port_);
        c.set_connection_timeout(1, 0);
        c.set_read_timeout(1, 0);
        auto res = c.Get("/metrics");
        const auto took = std::chrono::steady_clock::now() - t0;
        ::close(fd);
        ASSERT_TRUE(res) << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 200);
        EXPECT_LT(took, 1s);
    }

    // ---- every scrape succeeds while ~20 rule changes go on
    std::atomic<bool> done{false};
    std::atomic<int> changes{0};
    std::thread changer([&] {
        for (int i = 0; i < 10; ++i) {
            const std::string port = std::to_string(8000 + i);
            if (cli_.run({"-I", "INPUT", "1", "-p", "tcp", "--dport", port, "-j", "DROP"}).ok()) ++changes;
            if (cli_.run({"-D", "INPUT", "1"}).ok()) ++changes;
        }
        done = true;
    });
    int scrapes = 0;
    while (!done) {
        auto s = scrape();
        if (!s) break;
        ++scrapes;
    }
    changer.join();
    EXPECT_EQ(changes.load(), 20);
    EXPECT_GT(scrapes, 0);
    auto after = scrape();
    ASSERT_TRUE(after);
    EXPECT_EQ(value(*after, "xfw_rule_packets_total", "INPUT", "1"), p1);

    // ---- SIGTERM: a clean exit with status 0
    ASSERT_EQ(::kill(pid_, SIGTERM), 0);
    auto status = wait_exit(pid_, 5s);
    ASSERT_TRUE(status) << "still running 5 s after SIGTERM";
    pid_ = -1;
    EXPECT_EQ(*status, 0) << log();
}

TEST_F(Exporter, PortInUseExitsWithStatus1) {
    CommandResult r = run_command(cli_.argv({"exporter", "--listen", "127.0.0.1:" + std::to_string(port_)}), 10s);
    EXPECT_EQ(r.exit_status, 1) << r.describe();
    EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace xfw::test
