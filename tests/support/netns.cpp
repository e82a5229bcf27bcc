#include "tests/support/netns.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace xfw::test {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string errno_text(int err) { return std::strerror(err); }

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Writes `value` to a file (sysctls). Call inside run_in_netns for /proc/sys/net of another
// namespace.
std::string write_file(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return "open " + path + ": " + errno_text(errno);
    std::string error;
    ssize_t n = ::write(fd, value.data(), value.size());
    if (n != static_cast<ssize_t>(value.size()))
        error = "write " + path + ": " + (n < 0 ? errno_text(errno) : "short write");
    ::close(fd);
    return error;
}

bool parse_uint(std::string_view text, unsigned long& out) {
    if (text.empty()) return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

// "xfwt-<pid>-<n>" -> pid, n.
bool parse_lab_name(std::string_view name, unsigned long& pid, unsigned long& n) {
    constexpr std::string_view prefix = "xfwt-";
    if (name.substr(0, prefix.size()) != prefix) return false;
    name.remove_prefix(prefix.size());
    size_t dash = name.find('-');
    if (dash == std::string_view::npos) return false;
    return parse_uint(name.substr(0, dash), pid) && parse_uint(name.substr(dash + 1), n);
}

std::string lab_ns_name(unsigned long pid, unsigned long n) {
    return "xfwt-" + std::to_string(pid) + "-" + std::to_string(n);
}
std::string lab_if_name(unsigned long pid, char end, unsigned long n) {
    return "xfv" + std::to_string(pid % 10000) + end + std::to_string(n);
}

bool netns_exists(const std::string& ns) {
    struct stat st{};
    return ::stat(("/run/netns/" + ns).c_str(), &st) == 0;
}

// Removes labs of test processes that died without cleaning up (crash, SIGKILL): their
// namespaces pin a veth pair whose host end carries a 10.200.N.0/24 address.
void sweep_stale_labs() {
    DIR* dir = ::opendir("/run/netns");
    if (!dir) return;
    std::vector<std::pair<unsigned long, unsigned long>> stale;
    std::set<std::string> live_host_ifs;
    while (dirent* e = ::readdir(dir)) {
        unsigned long pid = 0, n = 0;
        if (!parse_lab_name(e->d_name, pid, n)) continue;
        bool alive = pid == static_cast<unsigned long>(::getpid()) ||
                     ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
        if (alive) live_host_ifs.insert(lab_if_name(pid, 'h', n));
        else stale.emplace_back(pid, n);
    }
    ::closedir(dir);
    for (auto [pid, n] : stale) {
        // The short interface name only keeps pid % 10000: leave it alone if a live lab
        // owns the same name.
        std::string host_if = lab_if_name(pid, 'h', n);
        if (!live_host_ifs.count(host_if) && ::if_nametoindex(host_if.c_str()) != 0)
            (void)run_command({"ip", "link", "del", "dev", host_if});
        (void)run_command({"ip", "netns", "del", lab_ns_name(pid, n)});
    }
}

// "a.b.c.d/len" -> ("a.b.c.d", "a.b.c.d/len"), adding `default_len` when absent.
std::pair<std::string, std::string> split_cidr(const std::string& text, int default_len) {
    size_t slash = text.find('/');
    if (slash == std::string::npos) return {text, text + "/" + std::to_string(default_len)};
    return {text.substr(0, slash), text};
}

struct LinkInfo {
    int ifindex = 0;
    Mac mac{};
};

// Parses `ip -o link show dev X`: "5: name@if2: <...> ... link/ether aa:bb:cc:dd:ee:ff brd ...".
Expected<LinkInfo> parse_link(const CommandResult& r) {
    if (!r.ok()) return Error{r.describe()};
    LinkInfo info;
    size_t colon = r.out.find(':');
    unsigned long idx = 0;
    if (colon == std::string::npos || !parse_uint(r.out.substr(0, colon), idx))
        return Error{"cannot parse ifindex from `" + r.command + "`: " + r.out};
    info.ifindex = static_cast<int>(idx);
    size_t at = r.out.find("link/ether ");
    if (at == std::string::npos) return Error{"no MAC address in `" + r.command + "`: " + r.out};
    try {
        info.mac = parse_mac(r.out.substr(at + 11, 17));
    } catch (const std::exception& e) {
        return Error{std::string("bad MAC address in `") + r.command + "`: " + e.what()};
    }
    return info;
}

// Next frame received by a packet socket before `deadline`, with the VLAN tag the kernel
// stripped (reported through PACKET_AUXDATA) put back in place. Outgoing frames are skipped.
std::optional<Frame> receive_frame(int fd, Clock::time_point deadline) {
    std::vector<uint8_t> buf(65536 + 4);
    for (;;) {
        pollfd pfd{fd, POLLIN, 0};
        int rc = ::poll(&pfd, 1, remaining_ms(deadline));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return std::nullopt;
        sockaddr_ll from{};
        iovec iov{buf.data() + 4, buf.size() - 4};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return std::nullopt;
        }
        if (from.sll_pkttype == PACKET_OUTGOING) continue;
        Frame frame(buf.begin() + 4, buf.begin() + 4 + n);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
            if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || frame.size() < 12) continue;
            uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid
                                                                        : ethertype::kVlan;
            uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                              static_cast<uint8_t>(aux.tp_vlan_tci >> 8),
                              static_cast<uint8_t>(aux.tp_vlan_tci)};
            frame.insert(frame.begin() + 12, tag, tag + 4);
        }
        return frame;
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Processes

std::string CommandResult::describe() const {
    std::string s = "`" + command + "`";
    if (timed_out) s += " timed out";
    else if (exit_status >= 128) s += " killed by signal " + std::to_string(exit_status - 128);
    else s += " exited with " + std::to_string(exit_status);
    std::string detail = err.empty() ? out : err;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    if (!detail.empty()) s += ": " + detail;
    return s;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout) {
    CommandResult r;
    for (const auto& a : argv) {
        if (!r.command.empty()) r.command += ' ';
        r.command += a;
    }
    if (argv.empty()) {
        r.exit_status = 127;
        r.err = "run_command: empty argv";
        return r;
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    if (::pipe2(outp, O_CLOEXEC) != 0 || ::pipe2(errp, O_CLOEXEC) != 0) {
        r.exit_status = 127;
        r.err = "pipe2: " + errno_text(errno);
        for (int fd : {outp[0], outp[1], errp[0], errp[1]})
            if (fd >= 0) ::close(fd);
        return r;
    }
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // Prepared before fork(): the child only calls async-signal-safe functions.
    std::string exec_failed = "execvp " + argv[0] + ": ";

    pid_t pid = ::fork();
    if (pid == 0) {
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        ::dup2(outp[1], STDOUT_FILENO);
        ::dup2(errp[1], STDERR_FILENO);
        ::execvp(cargv[0], cargv.data());
        int err = errno;
        (void)!::write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
        const char* msg = err == ENOENT ? "No such file or directory\n"
                          : err == EACCES ? "Permission denied\n"
                                          : "exec failed\n";
        (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
        ::_exit(127);
    }
    ::close(outp[1]);
    ::close(errp[1]);
    if (devnull >= 0) ::close(devnull);
    if (pid < 0) {
        r.exit_status = 127;
        r.err = "fork: " + errno_text(errno);
        ::close(outp[0]);
        ::close(errp[0]);
        return r;
    }

    pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    const bool has_timeout = timeout.count() > 0;
    const auto deadline = Clock::now() + timeout;
    Clock::time_point grace_deadline{};
    char buf[4096];
    while (open_fds > 0) {
        int wait = -1;
        if (has_timeout && !r.timed_out) {
            wait = remaining_ms(deadline);
            if (wait == 0) {
                ::kill(pid, SIGKILL);
                r.timed_out = true;
                // Grandchildren may hold the pipes open; do not wait for them for long.
                grace_deadline = Clock::now() + milliseconds(1000);
            }
        }
        if (r.timed_out) {
            wait = remaining_ms(grace_deadline);
            if (wait == 0) break;
        }
        int rc = ::poll(fds, 2, wait);
        if (rc < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& p : fds)
        if (p.fd >= 0) ::close(p.fd);

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.exit_status = 128 + WTERMSIG(status);
    return r;
}

bool have_root_and_netns(std::string* reason) {
    static std::once_flag once;
    static bool ok = false;
    static std::string why;
    std::call_once(once, [] {
        if (::geteuid() != 0) {
            why = "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces";
            return;
        }
        if (::access("/proc/self/ns/net", F_OK) != 0) {
            why = "kernel without network namespaces (/proc/self/ns/net missing)";
            return;
        }
        CommandResult v = run_command({"ip", "-V"});
        if (!v.ok()) {
            why = "iproute2 `ip` is not usable: " + v.describe();
            return;
        }
        std::string probe = "xfwt-probe-" + std::to_string(::getpid());
        (void)run_command({"ip", "netns", "del", probe});
        CommandResult add = run_command({"ip", "netns", "add", probe});
        if (!add.ok()) {
            why = "cannot create a network namespace: " + add.describe();
            return;
        }
        (void)run_command({"ip", "netns", "del", probe});
        ok = true;
    });
    if (reason) *reason = why;
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Namespaces and raw frames

Status run_in_netns(const std::string& ns, const std::function<void()>& fn) {
    std::string error;
    auto guarded = [&] {
        try {
            fn();
        } catch (const std::exception& e) {
            error = std::string("exception in namespace ") + (ns.empty() ? "(own)" : ns) +
                    ": " + e.what();
        } catch (...) {
            error = "unknown exception in namespace " + ns;
        }
    };
    if (ns.empty()) {
        guarded();
        return error.empty() ? Status::success() : Status(Error{error});
    }
    std::string path = "/run/netns/" + ns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{"network namespace " + ns + ": open " + path + ": " + errno_text(errno)};
    try {
        std::thread worker([&] {
            // Network namespace membership is per thread: only this thread moves.
            if (::setns(fd, CLONE_NEWNET) != 0) {
                error = "setns(" + ns + "): " + errno_text(errno);
                return;
            }
            guarded();
        });
        worker.join();
    } catch (const std::exception& e) {
        error = std::string("cannot start a thread: ") + e.what();
    }
    ::close(fd);
    return error.empty() ? Status::success() : Status(Error{error});
}

std::string SendResult::describe() const {
    std::string s = "sent " + std::to_string(sent);
    for (const auto& e : errors) s += "; " + e;
    return s;
}

SendResult send_frames(const std::string& ifname, std::span<const Frame> frames,
                       const std::string& ns) {
    SendResult res;
    const std::string where = ifname + (ns.empty() ? "" : " (netns " + ns + ")");
    Status s = run_in_netns(ns, [&] {
        // Protocol 0: this socket never receives; the kernel takes skb->protocol from each
        // frame's ethertype.
        int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            res.errors.push_back("socket(AF_PACKET, SOCK_RAW): " + errno_text(errno));
            return;
        }
        unsigned ifindex = ::if_nametoindex(ifname.c_str());
        if (ifindex == 0) {
            res.errors.push_back("no interface " + where + ": " + errno_text(errno));
            ::close(fd);
            return;
        }
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = static_cast<int>(ifindex);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
            res.errors.push_back("bind to " + where + ": " + errno_text(errno));
            ::close(fd);
            return;
        }
        for (size_t i = 0; i < frames.size(); ++i) {
            ssize_t n;
            do {
                n = ::send(fd, frames[i].data(), frames[i].size(), 0);
            } while (n < 0 && errno == EINTR);
            if (n == static_cast<ssize_t>(frames[i].size())) {
                ++res.sent;
            } else {
                res.errors.push_back("frame " + std::to_string(i) + " (" +
                                     std::to_string(frames[i].size()) + " bytes) on " + where +
                                     ": " + (n < 0 ? errno_text(errno)
                                                   : "short send of " + std::to_string(n)));
            }
        }
        ::close(fd);
    });
    if (!s.ok()) res.errors.push_back(s.error().message);
    return res;
}

Expected<InterfaceStats> interface_stats(const std::string& ifname, const std::string& ns) {
    std::string content;
    Status s = run_in_netns(ns, [&] {
        // thread-self, not self: /proc/self/net would show the main thread's namespace.
        std::ifstream in("/proc/thread-self/net/dev");
        std::stringstream ss;
        ss << in.rdbuf();
        content = ss.str();
    });
    if (!s.ok()) return s.error();
    std::istringstream lines(content);
    std::string line;
    while (std::getline(lines, line)) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        size_t start = line.find_first_not_of(' ');
        if (line.substr(start, colon - start) != ifname) continue;
        std::istringstream fields(line.substr(colon + 1));
        uint64_t v[16] = {};
        for (auto& x : v) fields >> x;
        if (fields.fail()) return Error{"cannot parse /proc/net/dev line: " + line};
        InterfaceStats st;
        st.rx_bytes = v[0];
        st.rx_packets = v[1];
        st.rx_errors = v[2];
        st.rx_dropped = v[3];
        st.tx_bytes = v[8];
        st.tx_packets = v[9];
        st.tx_errors = v[10];
        st.tx_dropped = v[11];
        return st;
    }
    return Error{"no interface " + ifname + " in /proc/net/dev" +
                 (ns.empty() ? std::string() : " of netns " + ns)};
}

// ---------------------------------------------------------------------------------------------
// FrameCapture

Expected<FrameCapture> FrameCapture::open(const std::string& ifname, const std::string& ns) {
    int fd = -1;
    std::string error;
    Status s = run_in_netns(ns, [&] {
        // Created with protocol 0 (receives nothing) and bound with ETH_P_ALL to the one
        // interface, so no frame of another interface slips in before bind().
        fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = "socket(AF_PACKET, SOCK_RAW): " + errno_text(errno);
            return;
        }
        int one = 1;
        int rcvbuf = 8 << 20;
        (void)::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one);
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
            (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        unsigned ifindex = ::if_nametoindex(ifname.c_str());
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_protocol = htons(ETH_P_ALL);
        sll.sll_ifindex = static_cast<int>(ifindex);
        if (ifindex == 0) {
            error = "no interface " + ifname + ": " + errno_text(errno);
        } else if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
            error = "bind to " + ifname + ": " + errno_text(errno);
        }
        if (!error.empty()) {
            ::close(fd);
            fd = -1;
        }
    });
    if (!s.ok()) return s.error();
    if (!error.empty()) return Error{error + (ns.empty() ? "" : " (netns " + ns + ")")};
    return FrameCapture(fd);
}

FrameCapture::FrameCapture(FrameCapture&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FrameCapture& FrameCapture::operator=(FrameCapture&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

FrameCapture::~FrameCapture() {
    if (fd_ >= 0) ::close(fd_);
}

std::vector<Frame> FrameCapture::collect(size_t max_frames, milliseconds timeout) {
    std::vector<Frame> frames;
    const auto deadline = Clock::now() + timeout;
    while (fd_ >= 0 && frames.size() < max_frames) {
        auto f = receive_frame(fd_, deadline);
        if (!f) break;
        frames.push_back(std::move(*f));
    }
    return frames;
}

size_t FrameCapture::count_matching(const std::function<bool(const Frame&)>& match,
                                    milliseconds timeout, size_t expected) {
    size_t count = 0;
    const auto deadline = Clock::now() + timeout;
    while (fd_ >= 0 && (expected == 0 || count < expected)) {
        auto f = receive_frame(fd_, deadline);
        if (!f) break;
        if (match(*f)) ++count;
    }
    return count;
}

// ---------------------------------------------------------------------------------------------
// NetnsLab

Expected<NetnsLab> NetnsLab::create(NetnsLabOptions options) {
    NetnsLab lab;
    Status s = lab.setup(options);
    if (!s.ok()) {
        (void)lab.cleanup();
        return s.error();
    }
    return Expected<NetnsLab>(std::move(lab));
}

NetnsLab::NetnsLab(NetnsLab&& other) noexcept { *this = std::move(other); }

NetnsLab& NetnsLab::operator=(NetnsLab&& other) noexcept {
    if (this != &other) {
        (void)cleanup();
        active_ = std::exchange(other.active_, false);
        ns_ = std::move(other.ns_);
        host_if_ = std::move(other.host_if_);
        ns_if_ = std::move(other.ns_if_);
        host_ifindex_ = other.host_ifindex_;
        ns_ifindex_ = other.ns_ifindex_;
        host_mac_ = other.host_mac_;
        ns_mac_ = other.ns_mac_;
        subnet_ = other.subnet_;
        host_v4_ = std::move(other.host_v4_);
        ns_v4_ = std::move(other.ns_v4_);
        host_v6_ = std::move(other.host_v6_);
        ns_v6_ = std::move(other.ns_v6_);
        host_v4_cidr_ = std::move(other.host_v4_cidr_);
        ns_v4_cidr_ = std::move(other.ns_v4_cidr_);
        host_v6_cidr_ = std::move(other.host_v6_cidr_);
        ns_v6_cidr_ = std::move(other.ns_v6_cidr_);
    }
    return *this;
}

NetnsLab::~NetnsLab() { (void)cleanup(); }

Status NetnsLab::setup(const NetnsLabOptions& options) {
    static std::atomic<unsigned long> counter{0};
    const unsigned long pid = static_cast<unsigned long>(::getpid());
    const unsigned long n = counter++;
    ns_ = lab_ns_name(pid, n);
    host_if_ = lab_if_name(pid, 'h', n);
    ns_if_ = lab_if_name(pid, 'n', n);
    if (host_if_.size() >= IFNAMSIZ) return Error{"interface name too long: " + host_if_};

    sweep_stale_labs();
    // Leftovers from an earlier run of a process with the same pid.
    if (::if_nametoindex(host_if_.c_str()) != 0)
        (void)run_command({"ip", "link", "del", "dev", host_if_});
    if (netns_exists(ns_)) (void)run_command({"ip", "netns", "del", ns_});

    // Subnet: the requested one, or the first from a pid-dependent start that no address in
    // our namespace uses.
    subnet_ = options.subnet;
    if (subnet_ == 0 || subnet_ > 254) {
        CommandResult addrs = run_command({"ip", "-o", "addr", "show"});
        unsigned start = static_cast<unsigned>((pid * 7 + n * 31) % 254);
        subnet_ = start + 1;
        for (unsigned k = 0; k < 254; ++k) {
            unsigned cand = (start + k) % 254 + 1;
            std::string c = std::to_string(cand);
            if (addrs.out.find("inet 10.200." + c + ".") == std::string::npos &&
                addrs.out.find("inet6 fd00:200:" + c + ":") == std::string::npos) {
                subnet_ = cand;
                break;
            }
        }
    }
    const std::string sn = std::to_string(subnet_);
    std::tie(host_v4_, host_v4_cidr_) =
        split_cidr(options.host_v4.empty() ? "10.200." + sn + ".1/24" : options.host_v4, 24);
    std::tie(ns_v4_, ns_v4_cidr_) =
        split_cidr(options.ns_v4.empty() ? "10.200." + sn + ".2/24" : options.ns_v4, 24);
    if (options.ipv6) {
        std::tie(host_v6_, host_v6_cidr_) = split_cidr(
            options.host_v6.empty() ? "fd00:200:" + sn + "::1/64" : options.host_v6, 64);
        std::tie(ns_v6_, ns_v6_cidr_) = split_cidr(
            options.ns_v6.empty() ? "fd00:200:" + sn + "::2/64" : options.ns_v6, 64);
    }

    auto run = [](const std::vector<std::string>& argv) -> Status {
        CommandResult r = run_command(argv);
        if (!r.ok()) return Error{"NetnsLab: " + r.describe()};
        return Status::success();
    };

    active_ = true;  // from here on, cleanup() removes whatever exists
    XFW_TRY(run({"ip", "netns", "add", ns_}));
    std::vector<std::string> add = {"ip", "link", "add", "name", host_if_, "numtxqueues", "1",
                                    "numrxqueues", "1"};
    if (options.mtu) add.insert(add.end(), {"mtu", std::to_string(options.mtu)});
    add.insert(add.end(), {"type", "veth", "peer", "name", ns_if_, "numtxqueues", "1",
                           "numrxqueues", "1"});
    if (options.mtu) add.insert(add.end(), {"mtu", std::to_string(options.mtu)});
    add.insert(add.end(), {"netns", ns_});
    XFW_TRY(run(add));

    // IPv6 knobs, before the links go up: no DAD (addresses usable at once), no router
    // solicitations, and MLD reports sent right away so settle() finishes quickly.
    auto ipv6_sysctls = [&](const std::string& ifname) {
        std::string base = "/proc/sys/net/ipv6/conf/" + ifname + "/";
        std::vector<std::pair<std::string, std::string>> knobs;
        if (options.ipv6) {
            knobs = {{"accept_dad", "0"},
                     {"dad_transmits", "0"},
                     {"router_solicitations", "0"},
                     {"mldv1_unsolicited_report_interval", "1"},
                     {"mldv2_unsolicited_report_interval", "1"}};
        } else {
            knobs = {{"disable_ipv6", "1"}};
        }
        std::string errors;
        for (const auto& [knob, value] : knobs) {
            std::string e = write_file(base + knob, value);
            if (!e.empty()) errors += (errors.empty() ? "" : "; ") + e;
        }
        return errors;
    };
    if (::access("/proc/sys/net/ipv6", F_OK) == 0) {
        std::string host_err = ipv6_sysctls(host_if_);
        if (!host_err.empty()) return Error{"NetnsLab: " + host_err};
        std::string ns_err;
        XFW_TRY(run_in_netns(ns_, [&] { ns_err = ipv6_sysctls(ns_if_); }));
        if (!ns_err.empty()) return Error{"NetnsLab (netns " + ns_ + "): " + ns_err};
    } else if (options.ipv6) {
        return Error{"NetnsLab: IPv6 is not available in this kernel (/proc/sys/net/ipv6)"};
    }

    XFW_TRY(run({"ip", "addr", "add", host_v4_cidr_, "dev", host_if_}));
    XFW_TRY(run({"ip", "-n", ns_, "addr", "add", ns_v4_cidr_, "dev", ns_if_}));
    if (options.ipv6) {
        XFW_TRY(run({"ip", "-6", "addr", "add", host_v6_cidr_, "dev", host_if_, "nodad"}));
        XFW_TRY(run({"ip", "-n", ns_, "-6", "addr", "add", ns_v6_cidr_, "dev", ns_if_, "nodad"}));
    }
    XFW_TRY(run({"ip", "link", "set", "dev", host_if_, "up"}));
    XFW_TRY(run({"ip", "-n", ns_, "link", "set", "dev", ns_if_, "up"}));
    XFW_TRY(run({"ip", "-n", ns_, "link", "set", "dev", "lo", "up"}));

    auto host = parse_link(run_command({"ip", "-o", "link", "show", "dev", host_if_}));
    if (!host) return host.error();
    auto peer = parse_link(run_command({"ip", "-n", ns_, "-o", "link", "show", "dev", ns_if_}));
    if (!peer) return peer.error();
    host_ifindex_ = host->ifindex;
    host_mac_ = host->mac;
    ns_ifindex_ = peer->ifindex;
    ns_mac_ = peer->mac;

    if (options.static_neighbors) {
        XFW_TRY(run({"ip", "neigh", "replace", ns_v4_, "lladdr", format_mac(ns_mac_), "dev",
                     host_if_, "nud", "permanent"}));
        XFW_TRY(run({"ip", "-n", ns_, "neigh", "replace", host_v4_, "lladdr",
                     format_mac(host_mac_), "dev", ns_if_, "nud", "permanent"}));
        if (options.ipv6) {
            XFW_TRY(run({"ip", "-6", "neigh", "replace", ns_v6_, "lladdr", format_mac(ns_mac_),
                         "dev", host_if_, "nud", "permanent"}));
            XFW_TRY(run({"ip", "-n", ns_, "-6", "neigh", "replace", host_v6_, "lladdr",
                         format_mac(host_mac_), "dev", ns_if_, "nud", "permanent"}));
        }
    }

    if (options.settle && !settle())
        return Error{"NetnsLab: " + host_if_ + " kept receiving traffic for 3 s after setup"};
    return Status::success();
}

Status NetnsLab::cleanup() {
    if (!active_) return Status::success();
    active_ = false;
    std::string errors;
    // Deleting one end deletes the pair at once; deleting only the namespace would leave the
    // host end around until the kernel tears the namespace down asynchronously.
    if (!host_if_.empty() && ::if_nametoindex(host_if_.c_str()) != 0) {
        CommandResult r = run_command({"ip", "link", "del", "dev", host_if_});
        if (!r.ok() && ::if_nametoindex(host_if_.c_str()) != 0) errors += r.describe();
    }
    if (!ns_.empty() && netns_exists(ns_)) {
        CommandResult r = run_command({"ip", "netns", "del", ns_});
        if (!r.ok() && netns_exists(ns_)) errors += (errors.empty() ? "" : "; ") + r.describe();
    }
    if (!errors.empty()) return Error{"NetnsLab cleanup: " + errors};
    return Status::success();
}

CommandResult NetnsLab::exec_in_ns(const std::vector<std::string>& argv,
                                   milliseconds timeout) const {
    std::vector<std::string> full = {"ip", "netns", "exec", ns_};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, timeout);
}

SendResult NetnsLab::send_from_ns(std::span<const Frame> frames) const {
    return send_frames(ns_if_, frames, ns_);
}

SendResult NetnsLab::send_from_host(std::span<const Frame> frames) const {
    return send_frames(host_if_, frames);
}

PacketBuilder NetnsLab::to_host(bool v6) const {
    PacketBuilder b;
    b.eth_src(ns_mac_).eth_dst(host_mac_);
    if (v6) b.ipv6(ns_v6_, host_v6_);
    else b.ipv4(ns_v4_, host_v4_);
    return b;
}

bool NetnsLab::settle(milliseconds quiet, milliseconds max_wait) const {
    const auto give_up = Clock::now() + max_wait;
    auto first = host_stats();
    if (!first) return false;
    uint64_t last = first->rx_packets;
    auto last_change = Clock::now();
    while (Clock::now() < give_up) {
        std::this_thread::sleep_for(milliseconds(25));
        auto st = host_stats();
        if (!st) return false;
        if (st->rx_packets != last) {
            last = st->rx_packets;
            last_change = Clock::now();
        } else if (Clock::now() - last_change >= quiet) {
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// BpffsMount

Expected<BpffsMount> BpffsMount::create() {
    static std::atomic<unsigned long> counter{0};
    BpffsMount m;
    std::string path = "/run/xfw-test-bpf-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {  // leftover of a crashed run with our pid
        (void)::umount2(path.c_str(), MNT_DETACH);
        std::filesystem::remove_all(path, ec);
    }
    if (::mkdir(path.c_str(), 0700) != 0)
        return Error{"BpffsMount: mkdir " + path + ": " + errno_text(errno)};
    m.path_ = path;
    if (::mount("bpffs", path.c_str(), "bpf", 0, "mode=0700") != 0) {
        Error e{"BpffsMount: mount -t bpf " + path + ": " + errno_text(errno)};
        (void)m.cleanup();
        return e;
    }
    m.mounted_ = true;
    // Mounts made below it (none expected) stay private even if /run is a shared mount.
    (void)::mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr);
    return Expected<BpffsMount>(std::move(m));
}

BpffsMount::BpffsMount(BpffsMount&& other) noexcept
    : path_(std::move(other.path_)), mounted_(std::exchange(other.mounted_, false)) {
    other.path_.clear();
}

BpffsMount& BpffsMount::operator=(BpffsMount&& other) noexcept {
    if (this != &other) {
        (void)cleanup();
        path_ = std::move(other.path_);
        other.path_.clear();
        mounted_ = std::exchange(other.mounted_, false);
    }
    return *this;
}

BpffsMount::~BpffsMount() { (void)cleanup(); }

Status BpffsMount::cleanup() {
    if (path_.empty()) return Status::success();
    std::string errors;
    if (mounted_) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
            std::error_code rm_ec;
            std::filesystem::remove_all(entry.path(), rm_ec);
            if (rm_ec) errors += "remove " + entry.path().string() + ": " + rm_ec.message() + "; ";
        }
        if (::umount2(path_.c_str(), 0) != 0 && ::umount2(path_.c_str(), MNT_DETACH) != 0)
            errors += "umount " + path_ + ": " + errno_text(errno) + "; ";
        mounted_ = false;
    }
    if (::rmdir(path_.c_str()) != 0 && errno != ENOENT)
        errors += "rmdir " + path_ + ": " + errno_text(errno);
    path_.clear();
    if (!errors.empty()) return Error{"BpffsMount cleanup: " + errors};
    return Status::success();
}

}  // namespace xfw::test
