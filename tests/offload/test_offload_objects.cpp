// `--target offload` objects on the host: they load natively (libbpf, ip link ... xdp obj on a
// veth) and give the same verdicts and counts as native-target objects for the same ruleset
// through BPF_PROG_TEST_RUN; `xfw counters --iface` reads an object deployment's counters; an
// interface without offload support (veth) is refused by `attach --mode offload` with nothing
// changed. Needs root (skips otherwise) and $XFW.
#include "control/offload_deploy.hpp"
#include "tests/e2e/xfw_cli.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

namespace xfw::test {
namespace {

constexpr const char* kRules =
    "*filter\n"
    ":INPUT ACCEPT [0:0]\n"
    "-A INPUT -p udp --dport 5001 -j DROP\n"
    "-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT\n"
    "-A INPUT -p tcp --dport 22 -j DROP\n"
    "-A INPUT -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 80,443,8000:8080 -j DROP\n"
    "-A INPUT -p icmp --icmp-type echo-request -j DROP\n"
    "-A INPUT -p 58 -j ACCEPT\n"
    "-A INPUT -d 2001:db8::/32 -j DROP\n"
    "COMMIT\n";
constexpr uint32_t kSlots = 8 + 7;

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};

// An object loaded with libbpf: its program and counter map.
struct Loaded {
    std::unique_ptr<bpf_object, ObjectCloser> object;
    int prog = -1, counters = -1;
};

std::optional<Loaded> load_object(const std::string& path) {
    Loaded l;
    l.object.reset(bpf_object__open_file(path.c_str(), nullptr));
    if (!l.object || libbpf_get_error(l.object.get()) || bpf_object__load(l.object.get()) != 0) {
        l.object.release();
        return std::nullopt;
    }
    l.prog = bpf_program__fd(bpf_object__find_program_by_name(l.object.get(), "xfw_prog"));
    l.counters = bpf_map__fd(bpf_object__find_map_by_name(l.object.get(), "xfw_counters"));
    return l;
}

std::vector<Frame> corpus() {
    std::vector<Frame> f;
    for (uint16_t port : {5001, 5002, 53}) f.push_back(PacketBuilder().udp(40000, port).payload_len(10 + port % 7).build());
    f.push_back(PacketBuilder().ipv4("192.0.2.7", "10.0.0.1").tcp(1000, 22).build());
    f.push_back(PacketBuilder().ipv4("198.51.100.7", "10.0.0.1").tcp(1000, 22).build());
    for (uint16_t port : {80, 443, 8000, 8080, 8081, 79})
        f.push_back(PacketBuilder().tcp(1000, port, tcpflag::kSyn).payload_len(port % 13).build());
    f.push_back(PacketBuilder().tcp(1000, 80, tcpflag::kSyn | tcpflag::kAck).build());
    f.push_back(PacketBuilder().icmp(8, 0, 1, 1).payload_len(32).build());
    f.push_back(PacketBuilder().icmp(0, 0, 1, 1).payload_len(32).build());
    f.push_back(PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").icmp6(128, 0).build());
    f.push_back(PacketBuilder().ipv6("fd00::1", "2001:db8::2").udp(1, 2).build());
    f.push_back(PacketBuilder().ipv6("fd00::1", "fd00::2").tcp(1, 22).build());
    f.push_back(PacketBuilder().arp(1, "10.0.0.1", "10.0.0.2").build());
    f.push_back(PacketBuilder().udp(40000, 5001).truncate_to(30).build());  // malformed: counted as an error too
    return f;
}

class OffloadObjects : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!have_root_and_netns(&why)) GTEST_SKIP() << "needs root and network namespaces: " << why;
        if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
        ASSERT_TRUE(dir_.ok());
        ASSERT_TRUE(write_text_file(dir_.file("rules.v4"), kRules));
        cli_ = XfwCli{xfw_binary(), dir_.file("bpffs-unused"), dir_.file("state")};
    }
    std::string compile(const std::string& name, const std::vector<std::string>& extra) {
        std::vector<std::string> args = {"compile", "--rules", dir_.file("rules.v4"), "-o", dir_.file(name)};
        args.insert(args.end(), extra.begin(), extra.end());
        CommandResult r = cli_.run(args);
        EXPECT_TRUE(r.ok()) << r.describe();
        return dir_.file(name);
    }
    TempDir dir_{"offload-obj"};
    XfwCli cli_;
};

TEST_F(OffloadObjects, SameVerdictsAndCountsAsNative) {
    const std::string native = compile("native.o", {});
    const std::string nfp = compile("nfp.o", {"--target", "offload"});
    const std::string nsim = compile("nsim.o", {"--target", "offload", "--profile", "netdevsim"});
    auto n = load_object(native), o = load_object(nfp), s = load_object(nsim);
    ASSERT_TRUE(n && o && s) << "an object did not load natively";
    // The offload objects count into a shared ARRAY (netdevsim's packed two entries wide).
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(s->counters, &info, &len), 0);
    EXPECT_EQ(info.type, BPF_MAP_TYPE_ARRAY);
    EXPECT_EQ(info.max_entries, 2u);

    std::vector<uint32_t> drops(3, 0);
    for (const Frame& frame : corpus()) {
        if (frame.empty()) continue;
        std::vector<uint32_t> verdicts;
        for (int prog : {n->prog, o->prog, s->prog}) {
            LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(),
                        .data_size_in = static_cast<uint32_t>(frame.size()), .repeat = 1);
            ASSERT_EQ(bpf_prog_test_run_opts(prog, &run), 0);
            verdicts.push_back(run.retval);
        }
        EXPECT_EQ(verdicts[0], verdicts[1]) << "frame of " << frame.size() << " bytes";
        EXPECT_EQ(verdicts[0], verdicts[2]) << "frame of " << frame.size() << " bytes";
    }
    auto native_counts = read_counter_slots(n->counters, kSlots);
    auto nfp_counts = read_counter_slots(o->counters, kSlots);
    auto nsim_counts = read_counter_slots(s->counters, kSlots);
    ASSERT_TRUE(native_counts && nfp_counts && nsim_counts);
    uint64_t total = 0;
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
        EXPECT_EQ((*native_counts)[slot].packets, (*nfp_counts)[slot].packets) << "slot " << slot;
        EXPECT_EQ((*native_counts)[slot].bytes, (*nfp_counts)[slot].bytes) << "slot " << slot;
        EXPECT_EQ((*native_counts)[slot].packets, (*nsim_counts)[slot].packets) << "slot " << slot;
        EXPECT_EQ((*native_counts)[slot].bytes, (*nsim_counts)[slot].bytes) << "slot " << slot;
        if (slot != 0) total += (*native_counts)[slot].packets;  // slot 0 (errors) counts on top
    }
    EXPECT_EQ((*native_counts)[8].packets, 1u);       // udp 5001 (the truncated one is not a full header)
    EXPECT_EQ((*native_counts)[9].packets, 1u);       // ssh from 192.0.2.0/24
    EXPECT_EQ((*native_counts)[11].packets, 4u);      // SYN to 80, 443, 8000, 8080
    EXPECT_EQ((*native_counts)[1].packets, 1u);       // ARP: non-IP
    EXPECT_EQ(total, corpus().size());                // every frame ended in exactly one slot
}

TEST_F(OffloadObjects, CheckerRefusesNativeObjectsAndPassesOffloadOnes) {
    const std::string native = compile("native.o", {});
    const std::string nfp = compile("nfp.o", {"--target", "offload"});
    CommandResult ok = cli_.run({"check", "--target", "offload", nfp});
    EXPECT_TRUE(ok.ok()) << ok.describe();
    CommandResult bad = cli_.run({"check", "--target", "offload", native});
    EXPECT_EQ(bad.exit_status, 2) << bad.describe();
    EXPECT_NE(bad.err.find("map-type: map xfw_counters (PERCPU_ARRAY)"), std::string::npos) << bad.describe();
    EXPECT_NE(bad.err.find("(counter update): no-map-value-store"), std::string::npos) << bad.describe();
}

class OffloadOnVeth : public XfwLabTest {};

TEST_F(OffloadOnVeth, OffloadObjectRunsNativelyAndCountersReadByInterface) {
    TempDir dir("offload-veth");
    ASSERT_TRUE(write_text_file(dir.file("rules.v4"), kRules));
    CommandResult c = xfw({"compile", "--rules", dir.file("rules.v4"), "--target", "offload", "-o", dir.file("o.o")});
    ASSERT_TRUE(c.ok()) << c.describe();
    const std::string host = lab().host_ifname();
    CommandResult load = run_command({"ip", "link", "set", "dev", host, "xdp", "obj", dir.file("o.o"), "sec", "xdp"},
                                     std::chrono::seconds(30));
    ASSERT_TRUE(load.ok()) << load.describe();
    std::vector<Frame> frames;
    for (int i = 0; i < 5; ++i) frames.push_back(lab().to_host().udp(40000, 5001).payload_len(20).build());
    send(frames);
    CommandResult counters = xfw({"counters", "--iface", host, "--rules", dir.file("rules.v4"), "--json"});
    run_command({"ip", "link", "set", "dev", host, "xdp", "off"}, std::chrono::seconds(30));
    ASSERT_TRUE(counters.ok()) << counters.describe();
    auto json = nlohmann::json::parse(counters.out);
    ASSERT_FALSE(json["rules"].empty());
    EXPECT_EQ(json["rules"][0]["packets"], 5u) << counters.out;
    EXPECT_EQ(json["rules"][0]["bytes"], 5u * frames[0].size()) << counters.out;
}

TEST_F(OffloadOnVeth, AttachOffloadWithoutOffloadSupportChangesNothing) {
    ASSERT_TRUE(xfw_ok({"-A", "INPUT", "-p", "udp", "--dport", "5001", "-j", "DROP"}));
    const std::string host = lab().host_ifname();
    CommandResult r = xfw({"attach", host, "--mode", "offload"});
    EXPECT_EQ(r.exit_status, 2) << r.describe();
    EXPECT_NE(r.err.find("(driver veth) cannot run offloaded XDP programs"), std::string::npos) << r.describe();
    CommandResult status = xfw({"status"});
    ASSERT_TRUE(status.ok()) << status.describe();
    EXPECT_NE(status.out.find("attached: none"), std::string::npos) << status.out;
    EXPECT_FALSE(std::filesystem::exists(bpffs_->path() + "/xfw/offload")) << "an offload pin was made";
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    ASSERT_EQ(bpf_xdp_query(static_cast<int>(if_nametoindex(host.c_str())), 0, &query), 0);
    EXPECT_EQ(query.prog_id, 0u);
    EXPECT_EQ(query.hw_prog_id, 0u);
    // The interface still takes the firewall natively afterwards.
    EXPECT_TRUE(xfw_ok({"attach", host}));
    EXPECT_TRUE(xfw_ok({"detach", host}));
}

}  // namespace
}  // namespace xfw::test
