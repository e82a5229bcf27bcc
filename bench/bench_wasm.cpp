// Translation time of Wasm policies (wasm::compile_policy: scan, guarded read, validation, ABI
// checks, fuel instrumentation, binaryen -O2, lowering): every example module under
// wasm-policy/examples (as built) and a generated module of about 10 000 Wasm instructions.
// Goal: under 10 ms per example. Run: build/bench/xfw_bench_wasm.
#include "wasm-policy/policy_compiler.hpp"

#include <benchmark/benchmark.h>
#include <binaryen-c.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A policy of straight-line mixing over packet words with a branch every few statements and
// one loop: about 10 000 instructions once parsed.
std::vector<uint8_t> large_module(uint32_t groups) {
    std::ostringstream wat;
    wat << "(module (import \"xfw\" \"load_u32\" (func $u32 (param i32) (result i32)))\n"
           " (func (export \"filter\") (result i32) (local $a i32) (local $b i32) (local $c i64) (local $i i32)\n"
           "  (local.set $a (call $u32 (i32.const 0))) (local.set $b (call $u32 (i32.const 4)))\n";
    for (uint32_t g = 0; g < groups; ++g) {
        wat << "  (local.set $a (i32.add (i32.xor (local.get $a) (local.get $b)) (i32.const " << g * 2654435761u << ")))\n"
            << "  (local.set $b (i32.rotl (local.get $b) (i32.and (local.get $a) (i32.const 31))))\n"
            << "  (local.set $c (i64.add (local.get $c) (i64.extend_i32_u (i32.mul (local.get $a) (i32.const 3)))))\n"
            << "  (if (i32.gt_u (local.get $a) (local.get $b)) (then (local.set $a (i32.sub (local.get $a) (local.get $b)))))\n";
    }
    wat << "  (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
           "    (br_if $l (i32.lt_u (local.get $i) (i32.and (local.get $b) (i32.const 15)))))\n"
           "  (i32.xor (local.get $a) (i32.wrap_i64 (local.get $c)))))\n";
    BinaryenModuleRef module = BinaryenModuleParse(wat.str().c_str());
    BinaryenModuleAllocateAndWriteResult out = BinaryenModuleAllocateAndWrite(module, nullptr);
    std::vector<uint8_t> bytes(static_cast<uint8_t*>(out.binary), static_cast<uint8_t*>(out.binary) + out.binaryBytes);
    std::free(out.binary);
    BinaryenModuleDispose(module);
    return bytes;
}

void translate(benchmark::State& state, std::vector<uint8_t> module, xfw::wasm::PolicyOptions options) {
    for (auto _ : state) {
        auto compiled = xfw::wasm::compile_policy(module, options, "bench");
        if (!compiled) {
            state.SkipWithError(compiled.error().message.c_str());
            return;
        }
        benchmark::DoNotOptimize(compiled->stats.bpf_instructions);
        state.counters["wasm_insns"] = compiled->stats.wasm_instructions;
        state.counters["bpf_insns"] = compiled->stats.bpf_instructions;
    }
}

void register_benchmarks() {
    namespace fs = std::filesystem;
    std::vector<fs::path> examples;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(XFW_WASM_EXAMPLES_DIR, ec))
        if (entry.path().extension() == ".wasm") examples.push_back(entry.path());
    std::sort(examples.begin(), examples.end());
    for (const fs::path& path : examples) {
        xfw::wasm::PolicyOptions options;
        options.buckets = std::nullopt;
        std::vector<uint8_t> bytes = read_file(path);
        // Modules without an xfw.buckets section get buckets from the rule; 8 is enough for all.
        if (!xfw::wasm::compile_policy(bytes, options, path.string())) options.buckets = 8;
        benchmark::RegisterBenchmark(("translate/" + path.stem().string()).c_str(), translate, bytes, options)
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark("translate/generated_10k", translate, large_module(400), xfw::wasm::PolicyOptions{})
        ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
