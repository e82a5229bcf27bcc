// run_wasm_policy: compile, wrap in the harness program, load, run frames on one CPU.
#include "tests/support/wasm_runner.hpp"

#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "wasm-policy/harness_program.hpp"
#include "xdp/plan.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace xfw::test {

namespace {

// Keeps the calling thread on one CPU while it lives (BPF_PROG_TEST_RUN runs the program on
// the caller's CPU, and the policy's instance is per CPU).
class PinnedToOneCpu {
public:
    PinnedToOneCpu() {
        saved_ok_ = sched_getaffinity(0, sizeof saved_, &saved_) == 0;
        if (!saved_ok_) return;
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (!CPU_ISSET(cpu, &saved_)) continue;
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            sched_setaffinity(0, sizeof one, &one);
            break;
        }
    }
    ~PinnedToOneCpu() {
        if (saved_ok_) sched_setaffinity(0, sizeof saved_, &saved_);
    }
    PinnedToOneCpu(const PinnedToOneCpu&) = delete;
    PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;

private:
    cpu_set_t saved_{};
    bool saved_ok_ = false;
};

}  // namespace

Expected<PolicyRunReport> run_wasm_policy(std::span<const uint8_t> module, const wasm::PolicyOptions& options,
                                          std::span<const std::vector<uint8_t>> frames, uint32_t ingress_ifindex) {
    auto compiled = wasm::compile_policy(module, options, "policy");
    if (!compiled) return compiled.error();
    const uint32_t buckets = static_cast<uint32_t>(compiled->bucket_names.size());
    auto generated = wasm::build_policy_harness(*compiled->code, buckets);
    if (!generated) return generated.error();

    std::vector<Fd> maps;
    std::vector<int> map_fds;
    for (const xdp::MapSpec& spec : generated->maps) {
        auto fd = create_map(spec);
        if (!fd) return fd.error();
        map_fds.push_back(fd->get());
        maps.push_back(std::move(fd).value());
    }
    auto prog = load_xdp_program(generated->program, map_fds, {.name = "xfw_wasm_test"});
    if (!prog) return Error{prog.error().message, 1};

    for (size_t i = 0; i < frames.size(); ++i)
        if (frames[i].size() < 14)
            return bad_input("frame " + std::to_string(i) + " has " + std::to_string(frames[i].size()) +
                             " bytes; BPF_PROG_TEST_RUN needs at least an Ethernet header (14 bytes)");
    PinnedToOneCpu pin;
    PolicyRunReport report;
    const uint32_t key = 0;
    for (const std::vector<uint8_t>& frame : frames) {
        std::vector<uint8_t> out(frame.size() + 256);
        xdp_md ctx{};
        ctx.data_end = static_cast<uint32_t>(frame.size());
        ctx.ingress_ifindex = ingress_ifindex;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                    .data_size_in = static_cast<uint32_t>(frame.size()),
                    .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctx,
                    .ctx_size_in = sizeof ctx, .repeat = 1);
        uint64_t sentinel = ~0ull;
        if (bpf_map_update_elem(map_fds[wasm::kHarnessResultMap], &key, &sentinel, BPF_ANY) != 0)
            return runtime_error("cannot reset the result map: " + errno_text(errno));
        if (bpf_prog_test_run_opts(prog->get(), &opts) != 0)
            return runtime_error("BPF_PROG_TEST_RUN failed: " + errno_text(errno));
        uint64_t value = 0;
        if (bpf_map_lookup_elem(map_fds[wasm::kHarnessResultMap], &key, &value) != 0)
            return runtime_error("cannot read the result map: " + errno_text(errno));
        if (value == sentinel) return runtime_error("the policy program did not record a result");
        PolicyRun run;
        if (value >> 32) {
            run.trapped = true;
            run.trap_code = static_cast<uint32_t>(value);
        } else {
            run.result = static_cast<uint32_t>(value);
        }
        report.runs.push_back(run);
    }
    if (buckets > 0) {
        auto counters = read_counters(map_fds[wasm::kHarnessCounterMap], xdp::CounterMode::PerCpu, buckets);
        if (!counters) return counters.error();
        report.buckets = std::move(counters).value();
    }
    return report;
}

Expected<std::vector<uint8_t>> wat_to_wasm(const std::string& wat, const std::string& flags) {
    namespace fs = std::filesystem;
    char dir_template[] = "/tmp/xfw-wat-XXXXXX";
    if (!mkdtemp(dir_template)) return runtime_error("cannot create a temporary directory: " + errno_text(errno));
    const fs::path dir = dir_template;
    const fs::path in = dir / "policy.wat", out = dir / "policy.wasm", log = dir / "wat2wasm.log";
    { std::ofstream(in) << wat; }
    const char* tool = std::getenv("WAT2WASM");
    const std::string command = std::string(tool ? tool : "wat2wasm") + " " + flags + " '" + in.string() + "' -o '" +
                                out.string() + "' >'" + log.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    std::vector<uint8_t> bytes;
    std::string message;
    if (status == 0) {
        std::ifstream f(out, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    } else {
        std::ifstream f(log);
        message.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    if (status != 0) return bad_input("wat2wasm refused the module: " + message);
    return bytes;
}

std::vector<uint8_t> with_custom_section(std::vector<uint8_t> bytes, const std::string& name,
                                         const std::string& payload) {
    auto leb = [](std::vector<uint8_t>& out, uint32_t v) {
        do {
            uint8_t b = v & 0x7f;
            v >>= 7;
            out.push_back(static_cast<uint8_t>(b | (v ? 0x80 : 0)));
        } while (v);
    };
    std::vector<uint8_t> content;
    leb(content, static_cast<uint32_t>(name.size()));
    content.insert(content.end(), name.begin(), name.end());
    content.insert(content.end(), payload.begin(), payload.end());
    bytes.push_back(0);
    leb(bytes, static_cast<uint32_t>(content.size()));
    bytes.insert(bytes.end(), content.begin(), content.end());
    return bytes;
}

}  // namespace xfw::test
