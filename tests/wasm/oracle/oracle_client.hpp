// Runs a policy module through the Node oracle (run_policy.mjs) from C++ tests: writes the
// module and the frames (as a pcap) to a temporary directory, runs node, parses the JSON.
// Paths come from the environment meson sets for the test: XFW_WASM_ORACLE (run_policy.mjs)
// and XFW_WASM_FUEL (the xfw-wasm-fuel rewriter); `node` is looked up in PATH.
#pragma once

#include "tests/support/packet_builder.hpp"
#include "xdp/error.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xfw::test {

struct OracleOptions {
    std::string function = "filter";
    std::optional<uint32_t> buckets;
    uint32_t fuel = 65536;
    uint32_t ifindex = 1;
};

struct OracleRun {
    bool trapped = false;
    uint32_t trap_code = 0;
    uint32_t result = 0;
};

struct OracleBucket {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

struct OracleReport {
    std::vector<OracleRun> runs;
    std::vector<OracleBucket> buckets;
    std::vector<std::string> bucket_names;
};

// Empty when the oracle can run here, otherwise why not (for GTEST_SKIP / failure messages).
std::string oracle_unavailable_reason();

// Errors: the oracle refused the module (bad_input, with its message) or could not run.
Expected<OracleReport> run_oracle(std::span<const uint8_t> module, const OracleOptions& options,
                                  std::span<const Frame> frames);

// Many modules over the same frames in one Node process (each on its own instance): one result
// per job, in order, each a report or the oracle's refusal. The outer error: Node did not run.
struct OracleJob {
    std::vector<uint8_t> module;
    OracleOptions options;
};
Expected<std::vector<Expected<OracleReport>>> run_oracle_batch(std::span<const OracleJob> jobs,
                                                               std::span<const Frame> frames);

}  // namespace xfw::test
