#include "tests/wasm/oracle/oracle_client.hpp"

#include "tests/e2e/xfw_cli.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/pcap_io.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace xfw::test {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

Status write_file(const std::string& path, std::span<const uint8_t> bytes) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return runtime_error("oracle: cannot write " + path);
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) return runtime_error("oracle: cannot write " + path);
    return Status::success();
}

Expected<OracleReport> parse_report(const nlohmann::json& j) {
    if (j.contains("error")) return bad_input("oracle refused the module: " + j["error"].get<std::string>());
    OracleReport report;
    for (const auto& run : j.at("runs"))
        report.runs.push_back({run.at("trapped").get<bool>(), run.at("trap_code").get<uint32_t>(),
                               run.at("result").get<uint32_t>()});
    for (const auto& b : j.at("buckets"))
        report.buckets.push_back({b.at("packets").get<uint64_t>(), b.at("bytes").get<uint64_t>()});
    for (const auto& n : j.at("bucket_names")) report.bucket_names.push_back(n.get<std::string>());
    return report;
}

Expected<nlohmann::json> run_node(const std::vector<std::string>& argv) {
    CommandResult r = run_command(argv, std::chrono::seconds(280));
    if (r.timed_out) return runtime_error("oracle timed out: " + r.describe());
    try {
        return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
        return runtime_error("oracle printed no JSON (" + std::string(e.what()) + "): " + r.describe());
    }
}

}  // namespace

std::string oracle_unavailable_reason() {
    if (env("XFW_WASM_ORACLE").empty() || env("XFW_WASM_FUEL").empty())
        return "XFW_WASM_ORACLE / XFW_WASM_FUEL are not set; run through `meson test`";
    if (!std::filesystem::exists(env("XFW_WASM_ORACLE"))) return env("XFW_WASM_ORACLE") + " does not exist";
    if (!std::filesystem::exists(env("XFW_WASM_FUEL"))) return env("XFW_WASM_FUEL") + " does not exist";
    CommandResult r = run_command({"node", "--version"}, std::chrono::seconds(20));
    if (!r.ok()) return "node does not run: " + r.describe();
    return "";
}

Expected<OracleReport> run_oracle(std::span<const uint8_t> module, const OracleOptions& options,
                                  std::span<const Frame> frames) {
    TempDir dir("wasm-oracle");
    if (!dir.ok()) return runtime_error("oracle: mkdtemp failed");
    const std::string wasm = dir.file("policy.wasm");
    const std::string pcap = dir.file("frames.pcap");
    XFW_TRY(write_file(wasm, module));
    XFW_TRY(write_pcap(pcap, frames));
    std::vector<std::string> argv = {"node", env("XFW_WASM_ORACLE"), "--module", wasm, "--frames", pcap,
                                      "--instrument", env("XFW_WASM_FUEL"), "--func", options.function,
                                      "--fuel", std::to_string(options.fuel),
                                      "--ifindex", std::to_string(options.ifindex)};
    if (options.buckets) {
        argv.push_back("--buckets");
        argv.push_back(std::to_string(*options.buckets));
    }
    auto j = run_node(argv);
    if (!j) return j.error();
    try {
        return parse_report(*j);
    } catch (const std::exception& e) {
        return runtime_error(std::string("oracle: unexpected JSON: ") + e.what());
    }
}

Expected<std::vector<Expected<OracleReport>>> run_oracle_batch(std::span<const OracleJob> jobs,
                                                               std::span<const Frame> frames) {
    TempDir dir("wasm-oracle");
    if (!dir.ok()) return runtime_error("oracle: mkdtemp failed");
    const std::string pcap = dir.file("frames.pcap");
    XFW_TRY(write_pcap(pcap, frames));
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < jobs.size(); ++i) {
        const std::string wasm = dir.file("policy" + std::to_string(i) + ".wasm");
        XFW_TRY(write_file(wasm, jobs[i].module));
        nlohmann::json job = {{"module", wasm}, {"func", jobs[i].options.function},
                              {"fuel", jobs[i].options.fuel}, {"ifindex", jobs[i].options.ifindex}};
        if (jobs[i].options.buckets) job["buckets"] = *jobs[i].options.buckets;
        list.push_back(job);
    }
    const std::string jobs_path = dir.file("jobs.json");
    const std::string text = list.dump();
    XFW_TRY(write_file(jobs_path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
    auto j = run_node({"node", env("XFW_WASM_ORACLE"), "--jobs", jobs_path, "--frames", pcap,
                       "--instrument", env("XFW_WASM_FUEL")});
    if (!j) return j.error();
    std::vector<Expected<OracleReport>> out;
    try {
        if (j->contains("error")) return runtime_error("oracle: " + (*j)["error"].get<std::string>());
        const auto& results = j->at("results");
        if (results.size() != jobs.size()) return runtime_error("oracle: wrong number of results");
        for (const auto& r : results) out.push_back(parse_report(r));
    } catch (const std::exception& e) {
        return runtime_error(std::string("oracle: unexpected JSON: ") + e.what());
    }
    return out;
}

}  // namespace xfw::test
