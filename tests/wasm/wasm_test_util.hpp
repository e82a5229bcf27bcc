// Shared helpers for the Wasm policy tests: WAT in, runs out, with clear failures.
#pragma once

#include "tests/support/wasm_runner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace xfw::test {

#define XFW_REQUIRE_ROOT()                                                              \
    do {                                                                                \
        if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";          \
    } while (0)

// A 64-byte frame whose byte i is (i * 7 + 1) & 0xff, handy for packet-load checks.
inline std::vector<uint8_t> pattern_frame(size_t size = 64) {
    std::vector<uint8_t> f(size);
    for (size_t i = 0; i < size; ++i) f[i] = static_cast<uint8_t>(i * 7 + 1);
    return f;
}

inline std::vector<uint8_t> wasm_of(const std::string& wat) {
    auto bytes = wat_to_wasm(wat);
    if (!bytes) {
        ADD_FAILURE() << bytes.error().message;
        return {};
    }
    return std::move(bytes).value();
}

// Runs the module's "filter" on the given frames; fails the test on a compile or load error.
inline PolicyRunReport run_wat(const std::string& wat, std::vector<std::vector<uint8_t>> frames = {pattern_frame()},
                               wasm::PolicyOptions options = {}, uint32_t ifindex = 1) {
    std::vector<uint8_t> wasm = wasm_of(wat);
    auto report = run_wasm_policy(wasm, options, frames, ifindex);
    if (!report) {
        ADD_FAILURE() << report.error().message;
        return {};
    }
    return std::move(report).value();
}

// The single run of a policy on one frame.
inline PolicyRun run_once(const std::string& wat, std::vector<uint8_t> frame = pattern_frame(),
                          wasm::PolicyOptions options = {}) {
    PolicyRunReport r = run_wat(wat, {frame}, options);
    if (r.runs.size() != 1) return PolicyRun{true, 0xdead, 0};
    return r.runs[0];
}

}  // namespace xfw::test
