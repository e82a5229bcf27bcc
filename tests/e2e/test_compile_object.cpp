// `xfw compile` end to end: the object it writes is loaded by other tools, unchanged —
// bpftool prog load, libbpf (bpf_object__open_file + load), ip link ... xdp obj (native and
// generic) and xdp-loader — and, attached to the host end of a veth lab, drops and passes
// traffic by the rules and counts every frame in the object's own xfw_counters map.
// Needs root; skips otherwise. Everything (labs, bpffs mounts, temp files) is removed on exit,
// also when an assertion fails.
#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRules =
    "*filter\n"
    ":INPUT ACCEPT [0:0]\n"
    ":FORWARD ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -p udp --dport 5001 -j DROP\n"
    "-A INPUT -p udp --dport 5002 -j ACCEPT\n"
    "-A INPUT -p icmp -j DROP\n"
    "COMMIT\n";
// Counter slots: rules get 8, 9, 10 in order (fixed slots below 8); the INPUT policy is 2.
constexpr uint32_t kSlotRule1 = 8, kSlotRule2 = 9, kSlotRule3 = 10, kSlotPolicy = 2;

struct Counter {
    uint64_t packets = 0, bytes = 0;
};

// Runs `fn` when it goes out of scope (cleanup that must happen on assertion failures too).
class Defer {
public:
    explicit Defer(std::function<void()> fn) : fn_(std::move(fn)) {}
    Defer(const Defer&) = delete;
    Defer& operator=(const Defer&) = delete;
    ~Defer() {
        if (fn_) fn_();
    }

private:
    std::function<void()> fn_;
};

bool have_tool(const std::string& name) {
    return run_command({"sh", "-c", "command -v " + name}, 10s).ok();
}

// The map ids of program `prog_id`.
std::vector<uint32_t> map_ids_of_program(uint32_t prog_id) {
    int fd = bpf_prog_get_fd_by_id(prog_id);
    if (fd < 0) return {};
    std::vector<uint32_t> ids(16);
    bpf_prog_info info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uint64_t>(ids.data());
    uint32_t len = sizeof(info);
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    ::close(fd);
    if (err) return {};
    ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
    return ids;
}

std::string program_name(uint32_t prog_id) {
    int fd = bpf_prog_get_fd_by_id(prog_id);
    if (fd < 0) return "";
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    ::close(fd);
    return err ? "" : std::string(info.name);
}

// Sums the per-CPU values of `slots` of the map called xfw_counters among `map_ids`.
Expected<std::map<uint32_t, Counter>> read_counters(const std::vector<uint32_t>& map_ids,
                                                     const std::vector<uint32_t>& slots) {
    for (uint32_t id : map_ids) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || std::string(info.name) != "xfw_counters") {
            ::close(fd);
            continue;
        }
        if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != 16 || info.max_entries != 65536) {
            ::close(fd);
            return Error{"xfw_counters has the wrong layout (type " + std::to_string(info.type) + ", value " +
                         std::to_string(info.value_size) + ", entries " + std::to_string(info.max_entries) + ")"};
        }
        const int cpus = libbpf_num_possible_cpus();
        std::vector<Counter> values(static_cast<size_t>(cpus > 0 ? cpus : 1));
        std::map<uint32_t, Counter> out;
        for (uint32_t slot : slots) {
            if (bpf_map_lookup_elem(fd, &slot, values.data()) != 0) {
                ::close(fd);
                return Error{"lookup of slot " + std::to_string(slot) + " failed"};
            }
            Counter sum;
            for (const Counter& c : values) {
                sum.packets += c.packets;
                sum.bytes += c.bytes;
            }
            out[slot] = sum;
        }
        ::close(fd);
        return out;
    }
    return Error{"no map named xfw_counters among the program's maps"};
}

class CompileObject : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!have_root_and_netns(&why)) GTEST_SKIP() << "needs root and network namespaces: " << why;
        if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
        ASSERT_TRUE(dir_.ok());
        ASSERT_TRUE(write_text_file(dir_.file("rules.txt"), kRules));
        cli_ = XfwCli{xfw_binary(), dir_.file("bpffs-unused"), dir_.file("state")};
        auto r = cli_.run({"compile", "--rules", dir_.file("rules.txt"), "-o", object()});
        ASSERT_TRUE(r.ok()) << r.describe();
    }

    std::string object() const { return dir_.file("xfw.o"); }

    // Sends the test traffic from the ns end, checks what passed XDP on the host end and that
    // the object's counters (of program `prog_id`) equal the frames sent per rule.
    void check_traffic(const NetnsLab& lab, uint32_t prog_id) {
        ASSERT_NE(prog_id, 0u);
        const Frame drop1 = lab.to_host().udp(40001, 5001).payload_len(20).build();
        const Frame pass2 = lab.to_host().udp(40002, 5002).payload_len(30).build();
        const Frame drop3 = lab.to_host().icmp(8, 0, 7, 1).payload_len(40).build();
        const Frame policy = lab.to_host().udp(40003, 5003).payload_len(50).build();
        std::vector<Frame> frames;
        for (int i = 0; i < 3; ++i) frames.push_back(drop1);
        for (int i = 0; i < 2; ++i) frames.push_back(pass2);
        for (int i = 0; i < 4; ++i) frames.push_back(drop3);
        frames.push_back(policy);

        auto capture = FrameCapture::open(lab.host_ifname());
        ASSERT_TRUE(capture.ok()) << capture.error().message;
        auto sent = lab.send_from_ns(frames);
        ASSERT_TRUE(sent.ok()) << sent.describe();
        ASSERT_EQ(sent.sent, frames.size());
        std::vector<Frame> seen = capture->collect(frames.size(), 1500ms);
        std::map<std::string, size_t> passed;
        for (const Frame& f : seen) {
            if (f == drop1) ++passed["udp 5001"];
            if (f == pass2) ++passed["udp 5002"];
            if (f == drop3) ++passed["icmp"];
            if (f == policy) ++passed["udp 5003"];
        }
        EXPECT_EQ(passed["udp 5001"], 0u) << "-p udp --dport 5001 -j DROP";
        EXPECT_EQ(passed["udp 5002"], 2u) << "-p udp --dport 5002 -j ACCEPT";
        EXPECT_EQ(passed["icmp"], 0u) << "-p icmp -j DROP";
        EXPECT_EQ(passed["udp 5003"], 1u) << "policy ACCEPT";

        const auto maps = map_ids_of_program(prog_id);
        ASSERT_FALSE(maps.empty()) << "program " << prog_id << " has no maps";
        auto counters = read_counters(maps, {kSlotRule1, kSlotRule2, kSlotRule3, kSlotPolicy});
        ASSERT_TRUE(counters.ok()) << counters.error().message;
        EXPECT_EQ((*counters)[kSlotRule1].packets, 3u);
        EXPECT_EQ((*counters)[kSlotRule1].bytes, 3 * drop1.size());
        EXPECT_EQ((*counters)[kSlotRule2].packets, 2u);
        EXPECT_EQ((*counters)[kSlotRule2].bytes, 2 * pass2.size());
        EXPECT_EQ((*counters)[kSlotRule3].packets, 4u);
        EXPECT_EQ((*counters)[kSlotRule3].bytes, 4 * drop3.size());
        EXPECT_EQ((*counters)[kSlotPolicy].packets, 1u);
        EXPECT_EQ((*counters)[kSlotPolicy].bytes, policy.size());
    }

    // ip link set dev HOST xdp|xdpgeneric obj F.o sec xdp, then traffic and counters.
    void ip_link_test(const std::string& mode) {
        auto lab = NetnsLab::create();
        ASSERT_TRUE(lab.ok()) << lab.error().message;
        const std::string dev = lab->host_ifname();
        Defer detach([&] { (void)run_command({"ip", "link", "set", "dev", dev, mode, "off"}, 10s); });
        auto r = run_command({"ip", "link", "set", "dev", dev, mode, "obj", object(), "sec", "xdp"}, 60s);
        ASSERT_TRUE(r.ok()) << r.describe();
        uint32_t prog_id = 0;
        ASSERT_EQ(bpf_xdp_query_id(lab->host_ifindex(), mode == "xdpgeneric" ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE,
                                   &prog_id),
                  0);
        EXPECT_EQ(program_name(prog_id), "xfw_prog");
        check_traffic(*lab, prog_id);
    }

    TempDir dir_{"compile"};
    XfwCli cli_;
};

TEST_F(CompileObject, BpftoolLoadsTheObject) {
    auto bpffs = BpffsMount::create();
    ASSERT_TRUE(bpffs.ok()) << bpffs.error().message;
    const std::string pin = bpffs->path() + "/xfw_prog";
    auto r = run_command({"bpftool", "prog", "load", object(), pin}, 60s);
    ASSERT_TRUE(r.ok()) << r.describe();
    auto show = run_command({"bpftool", "-j", "prog", "show", "pinned", pin}, 30s);
    ASSERT_TRUE(show.ok()) << show.describe();
    auto j = nlohmann::json::parse(show.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << show.out;
    EXPECT_EQ(j.value("name", ""), "xfw_prog");
    EXPECT_EQ(j.value("type", ""), "xdp");
    ASSERT_TRUE(j.contains("map_ids")) << show.out;
    ASSERT_EQ(j["map_ids"].size(), 1u) << show.out;
    std::vector<uint32_t> ids = {j["map_ids"][0].get<uint32_t>()};
    auto counters = read_counters(ids, {kSlotRule1});
    EXPECT_TRUE(counters.ok()) << counters.error().message;
}

TEST_F(CompileObject, LibbpfOpensAndLoadsTheObject) {
    struct bpf_object* obj = bpf_object__open_file(object().c_str(), nullptr);
    ASSERT_EQ(libbpf_get_error(obj), 0);
    Defer close([&] { bpf_object__close(obj); });
    ASSERT_EQ(bpf_object__load(obj), 0);
    struct bpf_program* prog = bpf_object__find_program_by_name(obj, "xfw_prog");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(bpf_program__type(prog), BPF_PROG_TYPE_XDP);
    EXPECT_GE(bpf_program__fd(prog), 0);
    struct bpf_map* map = bpf_object__find_map_by_name(obj, "xfw_counters");
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(bpf_map__type(map), BPF_MAP_TYPE_PERCPU_ARRAY);
    EXPECT_EQ(bpf_map__max_entries(map), 65536u);
    // A frame through BPF_PROG_TEST_RUN: udp 5001 is dropped.
    auto frame = PacketBuilder().udp(1, 5001).payload_len(8).build();
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
                .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &run), 0);
    EXPECT_EQ(run.retval, static_cast<uint32_t>(XDP_DROP));
}

TEST_F(CompileObject, IpLinkNativeFiltersAndCounts) { ip_link_test("xdp"); }
TEST_F(CompileObject, IpLinkGenericFiltersAndCounts) { ip_link_test("xdpgeneric"); }

TEST_F(CompileObject, XdpLoaderFiltersAndCounts) {
    if (!have_tool("xdp-loader")) GTEST_SKIP() << "xdp-loader is not installed";
    auto lab = NetnsLab::create();
    ASSERT_TRUE(lab.ok()) << lab.error().message;
    const std::string dev = lab->host_ifname();
    Defer unload([&] { (void)run_command({"xdp-loader", "unload", "-a", dev}, 30s); });
    auto r = run_command({"xdp-loader", "load", "-m", "skb", dev, object()}, 60s);
    ASSERT_TRUE(r.ok()) << r.describe();
    // Without a dispatcher the program itself is attached; with libxdp's dispatcher, xfw_prog
    // is its extension: find the newest program called xfw_prog.
    uint32_t attached = 0;
    ASSERT_EQ(bpf_xdp_query_id(lab->host_ifindex(), XDP_FLAGS_SKB_MODE, &attached), 0);
    ASSERT_NE(attached, 0u);
    uint32_t prog_id = 0;
    if (program_name(attached) == "xfw_prog") {
        prog_id = attached;
    } else {
        for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;)
            if (program_name(id) == "xfw_prog") prog_id = id;
    }
    check_traffic(*lab, prog_id);
}

TEST_F(CompileObject, BadInputAndUnwritableOutput) {
    ASSERT_TRUE(write_text_file(dir_.file("bad.txt"), "*filter\n-A INPUT -p udp --dport nope -j DROP\nCOMMIT\n"));
    auto bad = cli_.run({"compile", "--rules", dir_.file("bad.txt"), "-o", dir_.file("bad.o")});
    EXPECT_EQ(bad.exit_status, 2) << bad.describe();
    EXPECT_NE(bad.err.find("bad.txt"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(dir_.file("bad.o")));

    auto no_output = cli_.run({"compile", "--rules", dir_.file("rules.txt")});
    EXPECT_EQ(no_output.exit_status, 2) << no_output.describe();
    EXPECT_NE(no_output.err.find("-o"), std::string::npos) << no_output.err;

    auto extra = cli_.run({"compile", "--rules", dir_.file("rules.txt"), "stray", "-o", dir_.file("x.o")});
    EXPECT_EQ(extra.exit_status, 2) << extra.describe();
    EXPECT_FALSE(std::filesystem::exists(dir_.file("x.o")));

    auto missing = cli_.run({"compile", "--rules", dir_.file("nonexistent.txt"), "-o", dir_.file("x.o")});
    EXPECT_EQ(missing.exit_status, 2) << missing.describe();

    const std::string unwritable = dir_.file("no-such-dir/x.o");
    auto w = cli_.run({"compile", "--rules", dir_.file("rules.txt"), "-o", unwritable});
    EXPECT_EQ(w.exit_status, 1) << w.describe();
    EXPECT_NE(w.err.find("cannot write " + unwritable), std::string::npos) << w.err;

    // Nothing half-written is left next to the output.
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace xfw::test
