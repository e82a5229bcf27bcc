// Differential test of xfw's Wasm-to-eBPF translation against a real Wasm engine.
//
// Every example policy and several hundred generated integer-only modules
// (tests/wasm/module_generator.hpp) run over the same packet corpus (tests/wasm/policy_corpus.hpp)
// twice: compiled by xfw and run through BPF_PROG_TEST_RUN (tests/support/wasm_runner.hpp), and in
// Node's WebAssembly with the ABI written in JavaScript (tests/wasm/oracle/run_policy.mjs). For
// each frame, in order, on one instance: whether the run trapped, the trap kind, and otherwise
// the i32 result must be equal; at the end every bucket's packet and byte counts must be equal.
//
// Fuel is part of what is compared. Both sides charge at the same points (docs/wasm-compiler.md,
// and the oracle's rewrite in tests/wasm/oracle/fuel_instrument.hpp):
//   +1 at every call to a function of the module (calls to the xfw imports are free), charged
//      after the operands are evaluated, before the callee runs; the host's call of the policy
//      function is not charged;
//   +1 at every loop iteration after the first (each branch back to a loop label);
//   the charge that finds no fuel left traps with kind 6.
//
// Reproducing a failure: the message names the seed; XFW_WASM_DIFF_SEEDS=FIRST:COUNT reruns a
// range (default 1:320), and the message carries the module as text and the first differing
// frame.
#include "tests/support/packet_builder.hpp"
#include "tests/support/wasm_runner.hpp"
#include "tests/wasm/module_generator.hpp"
#include "tests/wasm/oracle/oracle_client.hpp"
#include "tests/wasm/policy_corpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace xfw::test {
namespace {

const char* trap_name(uint32_t code) {
    switch (code) {
    case 1: return "unreachable";
    case 2: return "int_divide_by_zero";
    case 3: return "int_overflow";
    case 4: return "memory_out_of_bounds";
    case 5: return "packet";
    case 6: return "fuel";
    case 7: return "bucket";
    case 8: return "verdict";
    default: return "unknown";
    }
}

std::string describe(bool trapped, uint32_t code, uint32_t result) {
    std::ostringstream o;
    if (trapped) o << "trap " << code << " (" << trap_name(code) << ")";
    else o << "result " << result << " (0x" << std::hex << result << ")";
    return o.str();
}

// Empty when the two reports agree, otherwise the first difference, described.
std::string compare(const PolicyRunReport& xfw, const OracleReport& node, const std::vector<Frame>& frames) {
    std::ostringstream o;
    if (xfw.runs.size() != frames.size() || node.runs.size() != frames.size()) {
        o << "run counts differ: xfw " << xfw.runs.size() << ", node " << node.runs.size() << ", frames "
          << frames.size();
        return o.str();
    }
    for (size_t i = 0; i < frames.size(); ++i) {
        const PolicyRun& a = xfw.runs[i];
        const OracleRun& b = node.runs[i];
        const bool same = a.trapped == b.trapped && (a.trapped ? a.trap_code == b.trap_code : a.result == b.result);
        if (!same) {
            o << "frame " << i << " (" << frames[i].size() << " bytes): xfw " << describe(a.trapped, a.trap_code, a.result)
              << ", node " << describe(b.trapped, b.trap_code, b.result) << "\n"
              << hex_dump(frames[i]);
            return o.str();
        }
    }
    if (xfw.buckets.size() != node.buckets.size()) {
        o << "bucket counts differ: xfw " << xfw.buckets.size() << ", node " << node.buckets.size();
        return o.str();
    }
    for (size_t b = 0; b < xfw.buckets.size(); ++b) {
        if (xfw.buckets[b].packets != node.buckets[b].packets || xfw.buckets[b].bytes != node.buckets[b].bytes) {
            o << "bucket " << b << ": xfw " << xfw.buckets[b].packets << " packets / " << xfw.buckets[b].bytes
              << " bytes, node " << node.buckets[b].packets << " packets / " << node.buckets[b].bytes << " bytes";
            return o.str();
        }
    }
    return "";
}

class WasmDifferentialTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF_PROG_TEST_RUN)";
        const std::string why = oracle_unavailable_reason();
        ASSERT_TRUE(why.empty()) << "the Node oracle cannot run: " << why;
    }
};

struct Example {
    const char* file;
    std::optional<uint32_t> buckets;
};

std::vector<uint8_t> read_example(const std::string& file) {
    const char* dir = std::getenv("XFW_WASM_EXAMPLES");
    if (!dir) return {};
    std::ifstream in(std::string(dir) + "/" + file, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(WasmDifferentialTest, EveryExampleAgreesWithNode) {
    const std::vector<Example> examples = {
        {"dns_amplification.wasm", std::nullopt},   {"syn_flood_guard.wasm", std::nullopt},
        {"vlan_meter.wasm", std::nullopt},          {"vlan_meter_wat.wasm", 5},
        {"dns_amplification_as.wasm", 3},
    };
    // The corpus twice, so that per-CPU state (the SYN guard's table) carries into a second pass.
    std::vector<Frame> frames = policy_corpus();
    const std::vector<Frame> again = frames;
    frames.insert(frames.end(), again.begin(), again.end());
    for (const Example& ex : examples) {
        SCOPED_TRACE(ex.file);
        const std::vector<uint8_t> module = read_example(ex.file);
        ASSERT_FALSE(module.empty()) << "cannot read " << ex.file << " from $XFW_WASM_EXAMPLES (built by `ninja`)";
        wasm::PolicyOptions options;
        options.buckets = ex.buckets;
        auto xfw = run_wasm_policy(module, options, frames);
        ASSERT_TRUE(xfw.ok()) << xfw.error().message;
        OracleOptions oo;
        oo.buckets = ex.buckets;
        auto node = run_oracle(module, oo, frames);
        ASSERT_TRUE(node.ok()) << node.error().message;
        const std::string diff = compare(*xfw, *node, frames);
        EXPECT_TRUE(diff.empty()) << ex.file << ": " << diff;
    }
}

// A br_table far beyond what one test per entry lets the verifier follow (about 4000): runs of
// equal targets of seeded lengths, the default among the entries too, so the lowering's binary
// search has many runs to split. The frames put every run boundary, both ends of the table, the
// first indices past it and "negative" indices (unsigned in Wasm, so the default) at offset 0.
struct BranchTable {
    std::string wat;
    std::vector<uint32_t> run_starts;
    uint32_t entries = 0;
};

BranchTable big_branch_table(uint32_t entries, uint32_t max_run, uint64_t seed) {
    BranchTable t;
    t.entries = entries;
    const char* targets[] = {"$t0", "$t1", "$t2", "$t3", "$d"};
    std::string table;
    uint64_t state = seed;
    auto next = [&]() {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>(state >> 33);
    };
    uint32_t previous = 5;
    for (uint32_t i = 0; i < entries;) {
        uint32_t target = next() % 5;
        if (target == previous) target = (target + 1) % 5;
        previous = target;
        t.run_starts.push_back(i);
        for (uint32_t n = 1 + next() % max_run; n > 0 && i < entries; --n, ++i) table += std::string(targets[target]) + " ";
    }
    t.wat = R"((module
      (import "xfw" "load_u32" (func $u32 (param i32) (result i32)))
      (func (export "filter") (result i32)
        (block $d (block $t3 (block $t2 (block $t1 (block $t0
          (br_table )" + table + R"($d (call $u32 (i32.const 0))))
          (return (i32.const 100)))
          (return (i32.const 101)))
          (return (i32.const 102)))
          (return (i32.const 103)))
        (i32.const 999))))";
    return t;
}

Frame index_frame(uint32_t index) {
    Frame f(64, 0);
    for (int i = 0; i < 4; ++i) f[static_cast<size_t>(i)] = static_cast<uint8_t>(index >> (24 - 8 * i));
    return f;
}

TEST_F(WasmDifferentialTest, LargeBranchTablesAgreeWithNode) {
    for (const auto& [entries, max_run] : {std::pair<uint32_t, uint32_t>{6000, 12}, {5000, 1}, {20000, 400}}) {
        SCOPED_TRACE(std::to_string(entries) + " entries, runs up to " + std::to_string(max_run));
        const BranchTable t = big_branch_table(entries, max_run, entries);
        auto module = wat_to_wasm(t.wat);
        ASSERT_TRUE(module.ok()) << module.error().message;
        std::vector<Frame> frames;
        for (uint32_t start : t.run_starts) {
            frames.push_back(index_frame(start));
            if (start > 0) frames.push_back(index_frame(start - 1));
        }
        for (uint32_t index : {entries - 1, entries, entries + 1, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
            frames.push_back(index_frame(index));
        auto xfw = run_wasm_policy(*module, {}, frames);
        ASSERT_TRUE(xfw.ok()) << xfw.error().message;
        auto node = run_oracle(*module, {}, frames);
        ASSERT_TRUE(node.ok()) << node.error().message;
        const std::string diff = compare(*xfw, *node, frames);
        EXPECT_TRUE(diff.empty()) << diff;
        // The table really spreads over every target, and past its end everything is the default.
        std::set<uint32_t> seen;
        for (const PolicyRun& r : xfw->runs)
            if (!r.trapped) seen.insert(r.result);
        EXPECT_EQ(seen, (std::set<uint32_t>{100, 101, 102, 103, 999}));
        for (size_t i = frames.size() - 6; i < frames.size(); ++i)
            EXPECT_EQ(xfw->runs[i].result, 999u) << "index past the table, frame " << i;
    }
}

struct SeedRange {
    uint64_t first = 1;
    uint64_t count = 320;
};

SeedRange seed_range() {
    SeedRange r;
    if (const char* s = std::getenv("XFW_WASM_DIFF_SEEDS")) {
        std::string v = s;
        const size_t colon = v.find(':');
        r.first = std::strtoull(v.substr(0, colon).c_str(), nullptr, 10);
        if (colon != std::string::npos) r.count = std::strtoull(v.substr(colon + 1).c_str(), nullptr, 10);
    }
    return r;
}

TEST_F(WasmDifferentialTest, GeneratedModulesAgreeWithNode) {
    const SeedRange range = seed_range();
    const std::vector<Frame> frames = policy_corpus();
    std::set<std::string> instructions;
    std::map<uint32_t, uint64_t> traps;  // kind -> runs, over all modules (oracle side)
    uint64_t results = 0, mismatches = 0, compared = 0;
    std::vector<std::string> rejected;

    // xfw runs each module as it is generated; Node runs them in batches, one process each.
    struct Pending {
        GeneratedModule gen;
        PolicyRunReport xfw;
    };
    std::vector<Pending> pending;
    auto compare_pending = [&]() -> bool {
        std::vector<OracleJob> jobs;
        for (const Pending& p : pending) {
            OracleJob job;
            job.module = p.gen.wasm;
            job.options.fuel = p.gen.fuel;
            job.options.buckets = p.gen.buckets_flag;
            jobs.push_back(std::move(job));
        }
        auto batch = run_oracle_batch(jobs, frames);
        if (!batch) {
            ADD_FAILURE() << "the Node oracle failed: " << batch.error().message;
            return false;
        }
        for (size_t i = 0; i < pending.size(); ++i) {
            const GeneratedModule& gen = pending[i].gen;
            const auto& node = (*batch)[i];
            if (!node) {
                ADD_FAILURE() << "seed " << gen.seed << ": " << node.error().message << "\n" << gen.wat;
                return false;
            }
            ++compared;
            instructions.insert(gen.instructions.begin(), gen.instructions.end());
            for (const OracleRun& r : node->runs) {
                if (r.trapped) ++traps[r.trap_code];
                else ++results;
            }
            const std::string diff = compare(pending[i].xfw, *node, frames);
            if (!diff.empty()) {
                ++mismatches;
                ADD_FAILURE() << "seed " << gen.seed << " (fuel " << gen.fuel << ", buckets " << gen.bucket_count
                              << (gen.buckets_flag ? " by --buckets" : "") << "): " << diff
                              << "\nreproduce: XFW_WASM_DIFF_SEEDS=" << gen.seed << ":1 meson test --suite wasm-diff"
                              << "\nmodule:\n" << gen.wat;
                if (mismatches >= 3) return false;  // enough to work on; the rest would be noise
            }
        }
        pending.clear();
        return true;
    };

    for (uint64_t seed = range.first; seed < range.first + range.count; ++seed) {
        auto gen = generate_module(seed);
        ASSERT_TRUE(gen.ok()) << gen.error().message;
        wasm::PolicyOptions options;
        options.fuel = gen->fuel;
        options.buckets = gen->buckets_flag;
        auto xfw = run_wasm_policy(gen->wasm, options, frames);
        if (!xfw) {
            // The generator stays inside the ABI and the documented limits: a refusal is a bug
            // in one of the two; list them all at the end.
            rejected.push_back("seed " + std::to_string(seed) + ": " + xfw.error().message);
            continue;
        }
        pending.push_back({std::move(gen).value(), std::move(xfw).value()});
        if (pending.size() == 64 && !compare_pending()) break;
    }
    if (!pending.empty()) compare_pending();

    for (const std::string& r : rejected) ADD_FAILURE() << "xfw refused a generated module: " << r;
    std::ostringstream summary;
    summary << compared << " modules compared on " << frames.size() << " frames: " << results << " results";
    for (const auto& [code, n] : traps) summary << ", " << n << " " << trap_name(code) << " traps";
    std::cout << summary.str() << "\n";

    // The comparison means something only if the modules did everything: every instruction the
    // generator knows, every trap kind a policy can raise, and plenty of normal results.
    if (range.count >= 200 && mismatches == 0) {
        for (const std::string& name : generator_instruction_names())
            EXPECT_TRUE(instructions.count(name)) << "no generated module used " << name;
        for (uint32_t code = 1; code <= 7; ++code)
            EXPECT_GT(traps[code], 0u) << "no run trapped with " << trap_name(code) << "; " << summary.str();
        EXPECT_GT(results, compared * frames.size() / 5) << summary.str();
    }
}

}  // namespace
}  // namespace xfw::test
