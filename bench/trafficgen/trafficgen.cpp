// xfw-bench-trafficgen: the benchmark suite's traffic generator. It injects a pcap's frames
// into the kernel with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: each frame is run through a
// two-instruction program returning XDP_TX on the sending veth end, so the kernel transmits it
// to the peer without building a socket buffer. On this kind of machine that is several times
// faster than AF_PACKET, tcpreplay or DPDK's txonly (see docs/benchmarks.md), so the system
// under test, not the generator, sets the rate.
//
//   xfw-bench-trafficgen --ifname IF [--netns NS] --pcap FILE [--dst-mac MAC]
//                        (--seconds S | --once) [--burst 64] [--cpu N]
//       Sends the frames round robin, `--burst` copies of each per BPF_PROG_RUN call, for S
//       seconds; --once sends every frame exactly once (for the correctness pass). Prints
//       "frames=N seconds=T thread_cpu_seconds=C" on stdout. --dst-mac rewrites the destination MAC of every frame
//       (the kernel stack drops frames not addressed to the receiving interface).
//
//   xfw-bench-trafficgen --hold-xdp drop|pass --ifname IF [--netns NS]
//       Attaches a bare XDP_DROP (the floor) or XDP_PASS program to IF in native mode, prints
//       "attached", and detaches when its standard input is closed.
#include "tests/support/pcap_io.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what, int code = 1) {
    std::cerr << "xfw-bench-trafficgen: " << what << "\n";
    std::exit(code);
}

int load_return_program(int action) {
    const bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = action},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xfwbench_gen", "GPL", insns, 2, nullptr);
    if (fd < 0) fail(std::string("cannot load an XDP program: ") + strerror(errno) + " (needs root / CAP_BPF)");
    return fd;
}

void enter_netns(const std::string& ns) {
    if (ns.empty()) return;
    const std::string path = "/run/netns/" + ns;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("network namespace " + ns + ": " + strerror(errno), 2);
    if (setns(fd, CLONE_NEWNET) != 0) fail("cannot enter network namespace " + ns + ": " + strerror(errno));
    close(fd);
}

std::array<uint8_t, 6> parse_mac_arg(const std::string& text) {
    std::array<uint8_t, 6> mac{};
    unsigned v[6];
    if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        fail("--dst-mac \"" + text + "\": expected aa:bb:cc:dd:ee:ff", 2);
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
    return mac;
}

int hold(const std::string& what, int ifindex, const std::string& ifname) {
    const int action = what == "drop" ? XDP_DROP : what == "pass" ? XDP_PASS : -1;
    if (action < 0) fail("--hold-xdp \"" + what + "\": expected drop or pass", 2);
    const int fd = load_return_program(action);
    if (int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, nullptr); err)
        fail("cannot attach XDP to " + ifname + " in native mode: " + strerror(-err));
    std::cout << "attached" << std::endl;
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string ifname, ns, pcap, dst_mac, hold_what;
    double seconds = 0;
    bool once = false;
    unsigned burst = 64;
    unsigned batch = 0;
    int cpu = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value", 2);
            return argv[++i];
        };
        if (a == "--ifname") ifname = value();
        else if (a == "--netns") ns = value();
        else if (a == "--pcap") pcap = value();
        else if (a == "--dst-mac") dst_mac = value();
        else if (a == "--seconds") seconds = std::stod(value());
        else if (a == "--once") once = true;
        else if (a == "--burst") burst = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--cpu") cpu = std::stoi(value());
        else if (a == "--batch") batch = static_cast<unsigned>(std::stoul(value()));
        else if (a == "--hold-xdp") hold_what = value();
        else fail("unknown option \"" + a + "\"", 2);
    }
    if (ifname.empty()) fail("--ifname is required", 2);
    enter_netns(ns);
    const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex == 0) fail("no interface " + ifname + (ns.empty() ? "" : " in namespace " + ns), 2);
    if (!hold_what.empty()) return hold(hold_what, ifindex, ifname);

    if (pcap.empty() || (seconds <= 0) == !once) fail("give --pcap and one of --seconds S or --once", 2);
    if (burst == 0) fail("--burst must be positive", 2);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) fail("cannot pin to CPU " + std::to_string(cpu));
    }
    auto frames = xfw::test::read_pcap(pcap);
    if (!frames) fail(frames.error().message, 2);
    if (frames->empty()) fail(pcap + " holds no frames", 2);
    if (!dst_mac.empty()) {
        const auto mac = parse_mac_arg(dst_mac);
        for (auto& f : *frames)
            if (f.size() >= 6) std::copy(mac.begin(), mac.end(), f.begin());
    }

    const int prog = load_return_program(XDP_TX);
    // BPF_PROG_RUN with repeat > 1 adds the program to the kernel's XDP dispatcher and removes
    // it afterwards, each change costing a synchronize_rcu (~25 ms a call on this machine). A
    // program already in the dispatcher skips both, so it is attached (generic mode) to the
    // sending namespace's loopback, which carries no traffic, for the generator's lifetime.
    const int lo = static_cast<int>(if_nametoindex("lo"));
    const bool on_lo = lo > 0 && bpf_xdp_attach(lo, prog, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) == 0;
    if (!on_lo)
        std::cerr << "xfw-bench-trafficgen: note: could not park the program on lo; each burst pays a dispatcher "
                     "update, use larger --burst\n";
    xdp_md ctx{};
    ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
    uint64_t sent = 0;
    rusage ru0{};
    getrusage(RUSAGE_THREAD, &ru0);
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds);
    for (size_t i = 0;; i = (i + 1) % frames->size()) {
        auto& f = (*frames)[i];
        ctx.data_end = static_cast<uint32_t>(f.size());  // the kernel insists on data_end == frame size
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = static_cast<uint32_t>(f.size()),
                    .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = static_cast<int>(once ? 1 : burst),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = once ? 1 : batch ? batch : std::min(burst, 256u));
        if (bpf_prog_test_run_opts(prog, &opts) != 0)
            fail(std::string("BPF_PROG_RUN with live frames on ") + ifname + ": " + strerror(errno) +
                 " (needs kernel 5.18 or later and an interface that can transmit XDP frames)");
        sent += once ? 1 : burst;
        if (once) {
            if (i + 1 == frames->size()) break;
            continue;
        }
        // Checking the clock every frame would cost more than a burst of a cheap program.
        if (i % 16 == 0 && std::chrono::steady_clock::now() >= deadline) break;
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_lo) bpf_xdp_detach(lo, XDP_FLAGS_SKB_MODE, nullptr);
    rusage ru1{};
    getrusage(RUSAGE_THREAD, &ru1);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    const double thread_cpu = secs(ru1.ru_utime) - secs(ru0.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_stime);
    // thread_cpu_seconds: this thread's user+system time; softirq work it triggers (the
    // receiving end's XDP and stack) is accounted by the kernel separately (/proc/stat).
    std::cout << "frames=" << sent << " seconds=" << elapsed << " thread_cpu_seconds=" << thread_cpu << std::endl;
    return 0;
}
