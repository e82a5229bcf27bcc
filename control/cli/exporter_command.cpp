// exporter: serves the per-rule counters over HTTP for Prometheus (GET /metrics). Every scrape
// opens the firewall briefly (state lock), reads the counters and releases the lock, so rule
// changes go on while it runs. Slow or silent clients are bounded by timeouts and a fixed
// thread pool; SIGTERM and SIGINT stop it with exit status 0.
#include "control/cli/commands.hpp"

#include "control/counter_export.hpp"
#include "xdp/plan.hpp"

#include <arpa/inet.h>
#include <boost/program_options.hpp>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

constexpr const char* kDefaultListen = "127.0.0.1:9469";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kWorkerThreads = 8;
constexpr int kTimeoutSeconds = 5;

struct ListenAddress {
    std::string host;  // numeric IPv4 or IPv6 address, without brackets
    int port = 0;
};

// "A.B.C.D:PORT" or "[IPV6]:PORT", the address numeric, the port 1..65535.
Expected<ListenAddress> parse_listen(const std::string& token) {
    auto bad = [&](const std::string& why) -> Expected<ListenAddress> {
        return bad_input("exporter: bad --listen \"" + token + "\": " + why +
                         " (expected ADDRESS:PORT, e.g. 127.0.0.1:9469 or [::1]:9469)");
    };
    ListenAddress out;
    std::string port_text;
    if (!token.empty() && token[0] == '[') {
        const size_t close = token.find(']');
        if (close == std::string::npos) return bad("no closing ']'");
        out.host = token.substr(1, close - 1);
        if (close + 1 >= token.size() || token[close + 1] != ':') return bad("no port");
        port_text = token.substr(close + 2);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) return bad("not an IPv6 address");
    } else {
        const size_t colon = token.rfind(':');
        if (colon == std::string::npos) return bad("no port");
        out.host = token.substr(0, colon);
        port_text = token.substr(colon + 1);
        if (out.host.find(':') != std::string::npos) return bad("IPv6 addresses go in brackets");
        in_addr a4{};
        if (::inet_pton(AF_INET, out.host.c_str(), &a4) != 1) return bad("not an IPv4 address");
    }
    if (port_text.empty()) return bad("no port");
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
        return bad("the port is not a number");
    const int port = std::stoi(port_text);
    if (port < 1 || port > 65535) return bad("the port is out of range 1-65535");
    out.port = port;
    return out;
}

// The counters as `xfw counters --prometheus` prints them (raw, never reset).
Expected<CounterSnapshot> take_snapshot(const Paths& paths) { return read_counter_snapshot(paths, /*raw=*/true); }

class Exporter {
public:
    explicit Exporter(Paths paths) : paths_(std::move(paths)) {}

    void handle_metrics(const httplib::Request&, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        Expected<CounterSnapshot> snapshot = [&] {
            // Scrapes take the state lock one at a time; serving the answers stays concurrent.
            std::lock_guard<std::mutex> guard(snapshot_mutex_);
            return take_snapshot(paths_);
        }();
        if (!snapshot) {
            ++scrape_errors_;
            std::string msg = snapshot.error().message;
            while (!msg.empty() && msg.back() == '\n') msg.pop_back();
            std::fprintf(stderr, "xfw exporter: cannot read the counters: %s\n", msg.c_str());
            res.status = 500;
            res.set_content("xfw exporter: cannot read the counters: " + msg + "\n", "text/plain; charset=utf-8");
            return;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::string body = format_counters_prometheus(*snapshot);
        body += "# HELP xfw_up Whether the counters could be read (1; a failed read answers 500).\n"
                "# TYPE xfw_up gauge\n"
                "xfw_up 1\n";
        body += "# HELP xfw_scrape_errors_total Scrapes this exporter answered with an error since it started.\n"
                "# TYPE xfw_scrape_errors_total counter\n"
                "xfw_scrape_errors_total " + std::to_string(scrape_errors_.load()) + "\n";
        char duration[64];
        std::snprintf(duration, sizeof duration, "%.6f", seconds);
        body += "# HELP xfw_scrape_duration_seconds Time taken to read the counters for this scrape.\n"
                "# TYPE xfw_scrape_duration_seconds gauge\n"
                "xfw_scrape_duration_seconds " + std::string(duration) + "\n";
        res.status = 200;
        res.set_content(body, kMetricsType);
    }

private:
    Paths paths_;
    std::mutex snapshot_mutex_;
    std::atomic<uint64_t> scrape_errors_{0};
};

constexpr const char* kIndexPage =
    "<!DOCTYPE html>\n<html><head><title>xfw exporter</title></head><body>\n"
    "<h1>xfw exporter</h1>\n<p><a href=\"/metrics\">/metrics</a>: per-rule packet and byte counters "
    "in the Prometheus text format.</p>\n</body></html>\n";

}  // namespace

int run_exporter(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("exporter options");
    desc.add_options()
        ("listen", po::value<std::string>()->default_value(kDefaultListen),
         "ADDRESS:PORT to serve /metrics on ([IPV6]:PORT for IPv6)");
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--listen") {
            ++i;  // its value
            continue;
        }
        if (args[i].empty() || args[i][0] != '-')
            return report(bad_input("exporter: unexpected argument \"" + args[i] + "\""));
    }
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(desc).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("exporter: ") + e.what()));
    }
    auto listen = parse_listen(vm["listen"].as<std::string>());
    if (!listen) return report(listen.error());

    // SIGTERM and SIGINT are taken by a dedicated thread (sigwait); every other thread,
    // including httplib's workers, inherits the blocked mask. Writes to a closed connection
    // must not kill the process.
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    Exporter exporter(paths);
    httplib::Server server;
    server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second
    // exporter bind the same port instead of failing.
    server.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_read_timeout(kTimeoutSeconds, 0);
    server.set_write_timeout(kTimeoutSeconds, 0);
    server.set_idle_interval(0, 0);
    server.set_keep_alive_max_count(100);
    server.set_keep_alive_timeout(kTimeoutSeconds);
    server.set_payload_max_length(64 * 1024);
    server.Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
        exporter.handle_metrics(req, res);
    });
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kIndexPage, "text/html; charset=utf-8");
    });
    const std::string where = listen->host.find(':') != std::string::npos
                                  ? "[" + listen->host + "]:" + std::to_string(listen->port)
                                  : listen->host + ":" + std::to_string(listen->port);
    if (!server.bind_to_port(listen->host, listen->port)) {
        std::fprintf(stderr, "xfw: exporter: cannot listen on %s (port in use, or the address is not on this host)\n",
                     where.c_str());
        return kExitRuntime;
    }

    std::atomic<bool> stopping{false};
    std::atomic<bool> done{false};
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        stopping = true;
        // A signal that comes before the server loop runs waits for it (stop() is a no-op
        // until then).
        while (!done) {
            if (server.is_running()) {
                server.stop();
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    std::fprintf(stderr, "xfw exporter: serving http://%s/metrics\n", where.c_str());
    const bool served = server.listen_after_bind();
    done = true;
    // The server stopped on its own: wake the signal thread so it can be joined.
    if (!stopping) ::kill(::getpid(), SIGTERM);
    signal_thread.join();
    if (!served && !stopping) {
        std::fprintf(stderr, "xfw: exporter: the server on %s stopped unexpectedly\n", where.c_str());
        return kExitRuntime;
    }
    return kExitOk;
}

}  // namespace xfw::cli
