// Helpers for end-to-end tests that run real traffic through a veth pair, one end in a private
// network namespace, the other in the test's own namespace ("host end"):
//
//        test process netns                 |  namespace xfwt-<pid>-<n>
//     host end  xfv<pid%10000>h<n>  <==== veth ====>  ns end  xfv<pid%10000>n<n>
//     10.200.N.1/24, fd00:200:N::1/64       |  10.200.N.2/24, fd00:200:N::2/64
//     (XDP is attached here, ingress)       |  (traffic generator side)
//
// Frames written to the ns end (send_frames(lab.ns_ifname(), frames, lab.ns_name()), or
// lab.send_from_ns(frames)) are received by the host end, i.e. they enter the host end's XDP
// hook exactly as sent; packets the program passes continue into the host stack (and
// iptables) of the test's namespace.
//
// Everything needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); tests call have_root_and_netns() first
// and GTEST_SKIP() with the reason it gives. Nothing here throws: failures come back as
// xfw::Error / CommandResult / SendResult values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tests/support/packet_builder.hpp"
#include "xdp/error.hpp"

namespace xfw::test {

// ---- Processes ----------------------------------------------------------------------------

struct CommandResult {
    std::string command;    // argv joined with spaces, for messages
    int exit_status = -1;   // exit code; 128 + signal if killed by one; 127 if exec failed
    bool timed_out = false;
    std::string out;        // captured stdout
    std::string err;        // captured stderr
    bool ok() const { return exit_status == 0 && !timed_out; }
    // "`ip link add ...` exited with 2: <stderr>" — for assertion and error messages.
    std::string describe() const;
};

// Runs argv[0] (looked up in PATH) with `argv` via fork/execvp, no shell. stdin is /dev/null,
// stdout and stderr are captured. With a non-zero timeout the child is killed (SIGKILL) when
// it runs longer, and timed_out is set. Called from inside run_in_netns() the child inherits
// that namespace.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

// True when the process is root and can create network namespaces with `ip netns`. The
// check (which creates and deletes a probe namespace) runs once per process. On false,
// *reason says why, for GTEST_SKIP() << reason.
bool have_root_and_netns(std::string* reason = nullptr);

// ---- Namespaces and raw frames ------------------------------------------------------------

// Runs `fn` on a short-lived thread that has joined the network namespace `ns` (a name from
// `ip netns list`; empty means the caller's namespace), then joins it. Sockets created and
// /proc/thread-self/net or /proc/sys/net files opened in `fn` belong to that namespace (note:
// /sys/class/net still shows the caller's namespace). Errors if the namespace cannot be
// entered; exceptions thrown by `fn` are returned as errors too.
Status run_in_netns(const std::string& ns, const std::function<void()>& fn);

struct SendResult {
    size_t sent = 0;                  // frames the kernel accepted in full
    std::vector<std::string> errors;  // setup failure, or one entry per frame not sent
    bool ok() const { return errors.empty(); }
    std::string describe() const;     // errors joined, for assertion messages
};

// Transmits each frame verbatim out of interface `ifname` through an AF_PACKET/SOCK_RAW socket
// bound to it; `ns` names the namespace the interface lives in (empty: the caller's). Every
// frame is attempted; each one that is not sent in full gets an entry in `errors` ("frame 3:
// Message too long"). The kernel refuses frames longer than MTU + 14 (+4 with a VLAN tag) and
// frames shorter than the 14-byte Ethernet header (EINVAL); runts are for BPF_PROG_TEST_RUN.
//
// Sent from the ns end of a NetnsLab veth, the frames arrive on the host end and run through
// the XDP program attached there.
SendResult send_frames(const std::string& ifname, std::span<const Frame> frames,
                       const std::string& ns = "");

// Interface counters from /proc/thread-self/net/dev of namespace `ns` (empty: caller's).
struct InterfaceStats {
    uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
    uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};
Expected<InterfaceStats> interface_stats(const std::string& ifname, const std::string& ns = "");

// A receive-only AF_PACKET socket on one interface: every frame the interface receives from
// the wire (not those it transmits), from the moment open() returns. A VLAN tag the kernel
// strips on receive is put back (from PACKET_AUXDATA), so frames compare equal to what was
// sent.
class FrameCapture {
public:
    static Expected<FrameCapture> open(const std::string& ifname, const std::string& ns = "");
    FrameCapture(FrameCapture&& other) noexcept;
    FrameCapture& operator=(FrameCapture&& other) noexcept;
    FrameCapture(const FrameCapture&) = delete;
    FrameCapture& operator=(const FrameCapture&) = delete;
    ~FrameCapture();

    // Frames received until `max_frames` were collected or `timeout` passed since the call.
    std::vector<Frame> collect(size_t max_frames, std::chrono::milliseconds timeout);
    // Keeps receiving until `timeout`, returning how many received frames satisfy `match`
    // (stops early once `expected` matched, if expected > 0).
    size_t count_matching(const std::function<bool(const Frame&)>& match,
                          std::chrono::milliseconds timeout, size_t expected = 0);

private:
    explicit FrameCapture(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// ---- NetnsLab -----------------------------------------------------------------------------

struct NetnsLabOptions {
    // N in 10.200.N.0/24 and fd00:200:N::/64 (1..254). 0 picks one that no interface of the
    // caller's namespace uses yet, so labs of parallel test processes do not collide.
    unsigned subnet = 0;
    // Explicit addresses with prefix length ("192.0.2.1/24", "2001:db8::1/64"); empty means
    // derived from `subnet` (.1 / ::1 host end, .2 / ::2 ns end).
    std::string host_v4, ns_v4, host_v6, ns_v6;
    bool ipv6 = true;   // false: IPv6 disabled on both ends
    unsigned mtu = 0;   // 0: veth default (1500)
    // Wait at the end of create() until the ns end has sent its spontaneous start-up traffic
    // (IPv6 MLD reports), so that counters on the host end only move for test traffic. Router
    // solicitations and DAD are disabled on both ends, so nothing more follows unless the test
    // adds addresses (then call settle() again).
    bool settle = true;
    // Permanent neighbour entries on both ends (ARP and ND for the lab addresses), so neither
    // side ever sends ARP/ND for them and counters only move for test traffic (replies the
    // host stack sends, e.g. ICMP port unreachable, need no resolution first).
    bool static_neighbors = true;
};

class NetnsLab {
public:
    // Creates namespace xfwt-<pid>-<n> and the veth pair (single rx/tx queue, both ends up,
    // addresses assigned without DAD, loopback up in the namespace). Leftovers of an earlier
    // run with the same names, and labs of test processes that no longer exist (namespaces
    // xfwt-<pid>-<n> whose pid is gone), are removed first. On failure everything created so
    // far is removed again.
    static Expected<NetnsLab> create(NetnsLabOptions options = {});

    NetnsLab(NetnsLab&& other) noexcept;
    NetnsLab& operator=(NetnsLab&& other) noexcept;
    NetnsLab(const NetnsLab&) = delete;
    NetnsLab& operator=(const NetnsLab&) = delete;
    ~NetnsLab();  // cleanup(), errors ignored

    // Deletes the veth pair (synchronously, both ends) and the namespace. Idempotent.
    Status cleanup();
    bool active() const { return active_; }

    const std::string& ns_name() const { return ns_; }
    const std::string& host_ifname() const { return host_if_; }
    const std::string& ns_ifname() const { return ns_if_; }
    int host_ifindex() const { return host_ifindex_; }  // in the caller's namespace
    int ns_ifindex() const { return ns_ifindex_; }      // inside the namespace
    const Mac& host_mac() const { return host_mac_; }
    const Mac& ns_mac() const { return ns_mac_; }
    unsigned subnet() const { return subnet_; }
    // Addresses without prefix length ("10.200.7.1"); the *_cidr forms include it.
    const std::string& host_ipv4() const { return host_v4_; }
    const std::string& ns_ipv4() const { return ns_v4_; }
    const std::string& host_ipv6() const { return host_v6_; }  // empty if ipv6 = false
    const std::string& ns_ipv6() const { return ns_v6_; }
    const std::string& host_ipv4_cidr() const { return host_v4_cidr_; }
    const std::string& ns_ipv4_cidr() const { return ns_v4_cidr_; }
    const std::string& host_ipv6_cidr() const { return host_v6_cidr_; }
    const std::string& ns_ipv6_cidr() const { return ns_v6_cidr_; }

    // `ip netns exec <ns> argv...`
    CommandResult exec_in_ns(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) const;
    // send_frames() out of the ns end: the frames arrive at the host end (XDP ingress).
    SendResult send_from_ns(std::span<const Frame> frames) const;
    // send_frames() out of the host end: the frames arrive at the ns end.
    SendResult send_from_host(std::span<const Frame> frames) const;
    // A builder addressed from the ns end to the host end: Ethernet ns_mac -> host_mac, IPv4
    // ns_ipv4 -> host_ipv4 (v6 = false) or IPv6 ns_ipv6 -> host_ipv6 (v6 = true). Add the
    // upper layer and build().
    PacketBuilder to_host(bool v6 = false) const;

    Expected<InterfaceStats> host_stats() const { return interface_stats(host_if_); }
    Expected<InterfaceStats> ns_stats() const { return interface_stats(ns_if_, ns_); }
    // Waits until the host end's rx_packets stays unchanged for `quiet`; false if it is still
    // moving after `max_wait`.
    bool settle(std::chrono::milliseconds quiet = std::chrono::milliseconds{250},
                std::chrono::milliseconds max_wait = std::chrono::milliseconds{3000}) const;

private:
    NetnsLab() = default;
    Status setup(const NetnsLabOptions& options);

    bool active_ = false;
    std::string ns_, host_if_, ns_if_;
    int host_ifindex_ = 0, ns_ifindex_ = 0;
    Mac host_mac_{}, ns_mac_{};
    unsigned subnet_ = 0;
    std::string host_v4_, ns_v4_, host_v6_, ns_v6_;
    std::string host_v4_cidr_, ns_v4_cidr_, host_v6_cidr_, ns_v6_cidr_;
};

// ---- bpffs --------------------------------------------------------------------------------

// A private bpf filesystem instance mounted at a fresh directory /run/xfw-test-bpf-<pid>-<n>,
// so tests can pin maps and programs without touching /sys/fs/bpf. The destructor (or
// cleanup()) unlinks every pin, unmounts and removes the directory.
class BpffsMount {
public:
    static Expected<BpffsMount> create();
    BpffsMount(BpffsMount&& other) noexcept;
    BpffsMount& operator=(BpffsMount&& other) noexcept;
    BpffsMount(const BpffsMount&) = delete;
    BpffsMount& operator=(const BpffsMount&) = delete;
    ~BpffsMount();

    const std::string& path() const { return path_; }
    Status cleanup();

private:
    BpffsMount() = default;
    std::string path_;
    bool mounted_ = false;
};

}  // namespace xfw::test
