// xfw-bench-workload: writes the benchmark suite's rulesets (in every system's language) and
// traces (pcap) with their expected verdicts and per-rule counts. Deterministic for a seed.
//
//   xfw-bench-workload --out DIR [--shapes blocklist,ports,classbench] [--sizes 1,10,100,1000,10000]
//                      [--families v4,v6] [--packets 256] [--mixed] [--seed 1]
//
// Layout: DIR/manifest.json lists DIR/<shape>-<size>-<family>/, each holding rules.iptables
// (filter INPUT, for xfw and iptables-restore), rules.raw.iptables (raw PREROUTING), rules.nft,
// rules.classbench (DPDK rte_acl), xdp-filter.json, trace-<kind>-<sizes>.pcap and expected.json.
#include "bench/workload/rules.hpp"
#include "bench/workload/traces.hpp"
#include "tests/support/pcap_io.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace xfw::bench;

namespace {

[[noreturn]] void usage_error(const std::string& what) {
    std::cerr << "xfw-bench-workload: " << what << "\n"
              << "usage: xfw-bench-workload --out DIR [--shapes LIST] [--sizes LIST] [--families v4,v6] "
                 "[--packets N] [--mixed] [--seed N]\n";
    std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

uint64_t number(const std::string& opt, const std::string& text) {
    try {
        size_t used = 0;
        const unsigned long long v = std::stoull(text, &used);
        if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    usage_error(opt + " \"" + text + "\": expected a non-negative integer");
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
    if (!out) {
        std::cerr << "xfw-bench-workload: cannot write " << p << "\n";
        std::exit(1);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string out_dir;
    std::vector<Shape> shapes{Shape::Blocklist, Shape::Ports, Shape::ClassBench};
    std::vector<size_t> sizes{1, 10, 100, 1000, 10000};
    std::vector<bool> families{false, true};
    size_t packets = 256;
    bool mixed = false;
    uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--out") out_dir = value();
        else if (a == "--shapes") {
            shapes.clear();
            for (const auto& s : split(value())) {
                auto shape = parse_shape(s);
                if (!shape) usage_error("--shapes: \"" + s + "\": expected blocklist, ports or classbench");
                shapes.push_back(*shape);
            }
        } else if (a == "--sizes") {
            sizes.clear();
            for (const auto& s : split(value())) {
                const uint64_t n = number("--sizes", s);
                if (n == 0 || n > 100000) usage_error("--sizes: " + s + ": expected 1..100000 rules");
                sizes.push_back(n);
            }
        } else if (a == "--families") {
            families.clear();
            for (const auto& f : split(value())) {
                if (f != "v4" && f != "v6") usage_error("--families: \"" + f + "\": expected v4 or v6");
                families.push_back(f == "v6");
            }
        } else if (a == "--packets") {
            packets = number(a, value());
            if (packets == 0) usage_error("--packets must be at least 1");
        } else if (a == "--mixed") mixed = true;
        else if (a == "--seed") seed = number(a, value());
        else usage_error("unknown option \"" + a + "\"");
    }
    if (out_dir.empty()) usage_error("--out DIR is required");
    if (shapes.empty() || sizes.empty() || families.empty()) usage_error("empty --shapes, --sizes or --families");

    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
        std::cerr << "xfw-bench-workload: cannot create " << out_dir << ": " << ec.message() << "\n";
        return 1;
    }

    json manifest{{"seed", seed}, {"packets_per_trace", packets}, {"rulesets", json::array()}};
    std::vector<SizeMix> mixes{SizeMix::Min64};
    if (mixed) mixes.push_back(SizeMix::Mixed);
    for (Shape shape : shapes)
        for (size_t size : sizes)
            for (bool v6 : families) {
                const std::string name = std::string(shape_name(shape)) + "-" + std::to_string(size) + "-" + (v6 ? "v6" : "v4");
                const fs::path dir = fs::path(out_dir) / name;
                fs::create_directories(dir);
                const BenchRuleset rs = generate_ruleset(shape, size, v6, seed);
                write_file(dir / "rules.iptables", to_iptables_restore(rs));
                write_file(dir / "rules.raw.iptables", to_iptables_restore_raw(rs));
                write_file(dir / "rules.nft", to_nft(rs));
                write_file(dir / "rules.classbench", to_classbench(rs));
                const XdpFilterTranslation xf = to_xdp_filter(rs);
                json xfj{{"expressible", xf.expressible}, {"reason", xf.reason}, {"features", xf.load_features},
                         {"commands", xf.commands}};
                write_file(dir / "xdp-filter.json", xfj.dump(1) + "\n");

                json expected{{"shape", shape_name(shape)}, {"rules", size}, {"family", v6 ? "v6" : "v4"},
                              {"seed", seed}, {"traces", json::object()}};
                for (TraceKind kind : {TraceKind::First, TraceKind::Middle, TraceKind::Last, TraceKind::None})
                    for (SizeMix mix : mixes) {
                        const Trace tr = generate_trace(rs, kind, mix, packets, seed);
                        const std::string tname = std::string(trace_kind_name(kind)) + "-" + size_mix_name(mix);
                        if (tr.frames.empty()) {
                            std::cerr << "xfw-bench-workload: " << name << ": no packet reaches a rule for trace "
                                      << tname << "; left out\n";
                            continue;
                        }
                        const std::string file = "trace-" + tname + ".pcap";
                        if (auto st = xfw::test::write_pcap((dir / file).string(), tr.frames); !st) {
                            std::cerr << "xfw-bench-workload: " << st.error().message << "\n";
                            return 1;
                        }
                        // Per-rule counts sparse, keyed by the 1-based rule number (as iptables -L numbers them).
                        json counts = json::object();
                        uint64_t bytes = 0;
                        for (size_t r = 0; r < tr.rule_packets.size(); ++r)
                            if (tr.rule_packets[r]) counts[std::to_string(r + 1)] = {tr.rule_packets[r], tr.rule_bytes[r]};
                        for (const auto& f : tr.frames) bytes += f.size();
                        expected["traces"][tname] = {
                            {"file", file}, {"kind", trace_kind_name(kind)}, {"sizes", size_mix_name(mix)},
                            {"target_rule", tr.target_rule + 1}, {"packets", tr.frames.size()}, {"bytes", bytes},
                            {"rule_counts", counts}, {"policy", {tr.policy_packets, tr.policy_bytes}},
                            {"dropped", tr.dropped}, {"passed", tr.passed}};
                    }
                write_file(dir / "expected.json", expected.dump(1) + "\n");
                manifest["rulesets"].push_back({{"name", name}, {"shape", shape_name(shape)}, {"rules", size},
                                                {"family", v6 ? "v6" : "v4"}});
            }
    write_file(fs::path(out_dir) / "manifest.json", manifest.dump(1) + "\n");
    return 0;
}
