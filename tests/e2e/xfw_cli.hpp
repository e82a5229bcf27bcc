// Helpers for tests that drive the real `xfw` binary: where it is, running it against a private
// bpffs and state directory, parsing `-L -v -x -n` listings, temporary directories, and a small
// frame classifier for what a capture sees. Header-only; shared by tests/e2e and tests/oracle.
#pragma once

#include "tests/support/netns.hpp"
#include "tests/support/packet_builder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xfw::test {

// The xfw binary under test: $XFW (set by meson), or empty.
inline std::string xfw_binary() {
    const char* p = std::getenv("XFW");
    return p ? std::string(p) : std::string();
}

// A directory removed (recursively) when the object goes away.
class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        std::string tmpl = (std::filesystem::temp_directory_path() / ("xfw-" + tag + "-XXXXXX")).string();
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data())) path_ = buf.data();
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    bool ok() const { return !path_.empty(); }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline bool write_text_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

// One xfw installation: binary, --bpffs and --state-dir.
struct XfwCli {
    std::string binary;
    std::string bpffs;
    std::string state_dir;

    std::vector<std::string> argv(const std::vector<std::string>& args) const {
        std::vector<std::string> a = {binary, "--bpffs", bpffs, "--state-dir", state_dir};
        a.insert(a.end(), args.begin(), args.end());
        return a;
    }
    CommandResult run(const std::vector<std::string>& args) const {
        return run_command(argv(args), std::chrono::seconds(60));
    }
};

// ---- `xfw -L -v -x -n` ----------------------------------------------------------------------

struct ListedNote {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::string label;  // "policy 1 bucket b0", "policy 1 traps"
};

struct ListedRule {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::string line;
    std::vector<ListedNote> notes;  // the counted lines -v prints under a rule with Wasm policies
};

struct ListedChain {
    std::string name;
    bool builtin = false;
    std::string policy;
    uint64_t policy_packets = 0;
    uint64_t policy_bytes = 0;
    std::vector<ListedRule> rules;
};

using Listing = std::map<std::string, ListedChain>;

// Parses the iptables-style verbose exact listing. Returns nullopt (and *error) on anything
// it does not recognise.
inline std::optional<Listing> parse_listing(const std::string& text, std::string* error = nullptr) {
    auto fail = [&](const std::string& why) -> std::optional<Listing> {
        if (error) *error = why;
        return std::nullopt;
    };
    Listing out;
    std::istringstream in(text);
    std::string line;
    ListedChain* cur = nullptr;
    bool expect_heading = false;
    while (std::getline(in, line)) {
        if (line.empty()) {
            cur = nullptr;
            continue;
        }
        if (line.rfind("Chain ", 0) == 0) {
            std::istringstream w(line.substr(6));
            ListedChain c;
            std::string rest;
            w >> c.name;
            std::getline(w, rest);
            // " (policy ACCEPT 12 packets, 3456 bytes)" or " (2 references)"
            if (rest.find("(policy ") != std::string::npos) {
                c.builtin = true;
                std::istringstream p(rest.substr(rest.find("(policy ") + 8));
                std::string pk, by;
                p >> c.policy >> c.policy_packets >> pk >> c.policy_bytes >> by;
                if (p.fail() || pk != "packets,") return fail("bad chain header: " + line);
            }
            out[c.name] = c;
            cur = &out[c.name];
            expect_heading = true;
            continue;
        }
        if (!cur) return fail("rule line outside a chain: " + line);
        if (expect_heading) {
            if (line.find("pkts") == std::string::npos) return fail("missing heading: " + line);
            expect_heading = false;
            continue;
        }
        std::istringstream w(line);
        ListedRule r;
        r.line = line;
        w >> r.packets >> r.bytes;
        if (w.fail()) return fail("bad rule line: " + line);
        std::string rest;
        std::getline(w, rest);
        if (rest.rfind("   policy ", 0) == 0) {
            if (cur->rules.empty()) return fail("policy counter line before any rule: " + line);
            cur->rules.back().notes.push_back({r.packets, r.bytes, rest.substr(3)});
            continue;
        }
        cur->rules.push_back(r);
    }
    return out;
}

// ---- What a capture sees --------------------------------------------------------------------

struct FrameInfo {
    uint16_t ethertype = 0;
    bool v4 = false, v6 = false;
    uint8_t proto = 0;
    std::string src, dst;  // textual IP addresses
    uint16_t sport = 0, dport = 0;
    bool has_ports = false;
    uint8_t icmp_type = 0;
};

// Ethernet + IPv4/IPv6 (no extension headers) + TCP/UDP/ICMP: enough for the test traffic.
inline FrameInfo classify_frame(const Frame& f) {
    FrameInfo fi;
    if (f.size() < 14) return fi;
    fi.ethertype = static_cast<uint16_t>(f[12] << 8 | f[13]);
    size_t l4 = 0;
    char buf[64] = {};
    if (fi.ethertype == ethertype::kIpv4 && f.size() >= 34) {
        fi.v4 = true;
        const size_t ihl = (f[14] & 0x0f) * 4u;
        fi.proto = f[23];
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", f[26], f[27], f[28], f[29]);
        fi.src = buf;
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", f[30], f[31], f[32], f[33]);
        fi.dst = buf;
        const bool nonfirst = ((f[20] & 0x1f) << 8 | f[21]) != 0;
        if (!nonfirst) l4 = 14 + ihl;
    } else if (fi.ethertype == ethertype::kIpv6 && f.size() >= 54) {
        fi.v6 = true;
        fi.proto = f[20];
        l4 = 54;
    }
    if (l4 && f.size() >= l4 + 4) {
        if (fi.proto == ipproto::kTcp || fi.proto == ipproto::kUdp) {
            fi.has_ports = true;
            fi.sport = static_cast<uint16_t>(f[l4] << 8 | f[l4 + 1]);
            fi.dport = static_cast<uint16_t>(f[l4 + 2] << 8 | f[l4 + 3]);
        } else if (fi.proto == ipproto::kIcmp || fi.proto == ipproto::kIcmpV6) {
            fi.icmp_type = f[l4];
        }
    }
    return fi;
}

inline bool is_udp_to(const Frame& f, uint16_t dport) {
    FrameInfo fi = classify_frame(f);
    return fi.has_ports && fi.proto == ipproto::kUdp && fi.dport == dport;
}


// A fixture for tests that drive the real xfw binary: a veth pair with one end in a network
// namespace, a private bpffs and a temporary state directory. Skips without root or $XFW.
// Members are destroyed in reverse order: the state dir, then the bpffs (unpinning the links
// detaches the program), then the namespace and veth pair — also when a test fails.
class XfwLabTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (!have_root_and_netns(&why)) GTEST_SKIP() << "needs root and network namespaces: " << why;
        if (xfw_binary().empty()) GTEST_SKIP() << "XFW (path of the xfw binary) is not set; run through `meson test`";
        auto lab = NetnsLab::create();
        ASSERT_TRUE(lab.ok()) << lab.error().message;
        lab_.emplace(std::move(lab).value());
        auto mnt = BpffsMount::create();
        ASSERT_TRUE(mnt.ok()) << mnt.error().message;
        bpffs_.emplace(std::move(mnt).value());
        state_.emplace("e2e");
        ASSERT_TRUE(state_->ok()) << "mkdtemp failed";
        cli_ = XfwCli{xfw_binary(), bpffs_->path() + "/xfw", state_->file("state")};
    }

    const NetnsLab& lab() const { return *lab_; }

    CommandResult xfw(const std::vector<std::string>& args) const { return cli_.run(args); }

    // Runs xfw and records a failure (with its stderr) if it does not succeed.
    bool xfw_ok(const std::vector<std::string>& args) const {
        CommandResult r = xfw(args);
        if (!r.ok()) ADD_FAILURE() << r.describe();
        return r.ok();
    }

    // Sends frames from the namespace end; they arrive at the host end's XDP hook.
    void send(const std::vector<Frame>& frames) const {
        SendResult r = lab().send_from_ns(frames);
        ASSERT_TRUE(r.ok()) << r.describe();
        ASSERT_EQ(r.sent, frames.size());
    }

    std::optional<NetnsLab> lab_;
    std::optional<BpffsMount> bpffs_;
    std::optional<TempDir> state_;
    XfwCli cli_;
};

}  // namespace xfw::test
