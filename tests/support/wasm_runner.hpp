// Runs a Wasm policy on its own through BPF_PROG_TEST_RUN, for semantic and differential tests:
// the policy compiled exactly as for a rule, inside the smallest XDP program that calls it and
// records what it returned (wasm-policy/harness_program.hpp).
#pragma once

#include "wasm-policy/policy_compiler.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace xfw::test {

struct PolicyRun {
    bool trapped = false;
    uint32_t trap_code = 0;  // the ABI's trap kinds (1 unreachable ... 7 bucket) when trapped
    uint32_t result = 0;     // the policy function's i32 result when not trapped
};

struct PolicyRunReport {
    std::vector<PolicyRun> runs;               // one per frame, in order
    std::vector<xdp::CounterValue> buckets;    // per declared bucket, summed over CPUs
};

// Compiles the policy into a minimal XDP program that calls it and records R0, then runs every
// frame in order through BPF_PROG_TEST_RUN on one CPU (instance state persists between frames,
// as one Node instance sees all frames). Frames need at least 14 bytes. ingress_ifindex goes in the xdp_md context (it must
// name an existing interface; 1 is the loopback). Compile errors come back as the compiler
// gave them (exit code 2); kernel refusals as runtime errors quoting the verifier.
Expected<PolicyRunReport> run_wasm_policy(std::span<const uint8_t> module, const wasm::PolicyOptions& options,
                                          std::span<const std::vector<uint8_t>> frames,
                                          uint32_t ingress_ifindex = 1);

// WAT text to a Wasm binary with wabt's wat2wasm (on PATH, or $WAT2WASM); `flags` are passed
// on (e.g. "--enable-threads", "--no-check").
Expected<std::vector<uint8_t>> wat_to_wasm(const std::string& wat, const std::string& flags = "");

// `bytes` with a custom section `name` holding `payload` appended (wat2wasm 1.0.32 has no
// custom-section syntax), e.g. the policy ABI's "xfw.buckets".
std::vector<uint8_t> with_custom_section(std::vector<uint8_t> bytes, const std::string& name,
                                         const std::string& payload);

}  // namespace xfw::test
