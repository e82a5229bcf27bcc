// compile_policy: scan, read and validate, check against the ABI and the target, instrument
// fuel, optimise, lower; and the PolicyCode that copies the lowered subprogram into the
// caller's program.
#include "wasm-policy/policy_compiler.hpp"

#include "wasm-policy/binaryen_module.hpp"
#include "wasm-policy/fuel_instrument.hpp"
#include "wasm-policy/lowering.hpp"
#include "wasm-policy/module_check.hpp"
#include "wasm-policy/module_scan.hpp"

#include <bpf/libbpf.h>

#include <mutex>

namespace xfw::wasm {

namespace {

class WasmPolicyCode final : public xdp::PolicyCode {
public:
    explicit WasmPolicyCode(LoweredPolicy lowered) : lowered_(std::move(lowered)) {}

    std::vector<xdp::MapSpec> maps() const override { return lowered_.maps; }

    Status emit(bpf::Emitter& e, bpf::Label entry, const xdp::PolicyEmitContext& context) const override {
        const auto& insns = lowered_.program.insns;
        std::vector<int64_t> map_at(insns.size(), -1);
        for (const bpf::MapRelocation& r : lowered_.program.map_relocations) map_at.at(r.insn_index) = r.map_index;
        std::vector<bool> count_call(insns.size(), false);
        for (uint32_t i : lowered_.count_calls) count_call[i] = true;
        e.bind(entry);
        for (uint32_t i = 0; i < lowered_.length; ++i) {
            if (map_at[i] >= 0) {
                e.load_map(static_cast<bpf::Reg>(insns[i].dst_reg),
                           context.first_map_index + static_cast<uint32_t>(map_at[i]));
                ++i;
                continue;
            }
            if (count_call[i]) {
                e.call(context.count_subprogram);
                continue;
            }
            bpf::Insn insn = insns[i];
            // The instruction before each counting call adds the bucket base slot to R1.
            if (i + 1 < lowered_.length && count_call[i + 1]) insn.imm = static_cast<int32_t>(context.bucket_base_slot);
            e.emit(insn);
        }
        return {};
    }

private:
    LoweredPolicy lowered_;
};

// binaryen's optimiser settings are process-wide.
std::mutex& binaryen_lock() {
    static std::mutex lock;
    return lock;
}

void optimise(BinaryenModuleRef module) {
    // Function-level clean-up only. The lowering inlines every call itself, so binaryen's
    // inliner buys little: on the example policies the full -O2 pipeline took 3-5 times as long
    // (4-6 ms of CPU against 0.5-1.7 ms) for the same eBPF instruction counts, give or take 2%.
    // Features: MVP, sign-ext, mutable globals, so no pass introduces bulk memory or others.
    BinaryenModuleSetFeatures(module, BinaryenFeatureMVP() | BinaryenFeatureSignExt() | BinaryenFeatureMutableGlobals());
    BinaryenSetOptimizeLevel(2);
    BinaryenSetShrinkLevel(0);
    BinaryenSetLowMemoryUnused(false);
    BinaryenSetZeroFilledMemory(false);
    static const char* kPasses[] = {"dce", "precompute", "simplify-locals", "vacuum",
                                    "remove-unused-brs", "merge-blocks", "vacuum"};
    BinaryenModuleRunPasses(module, kPasses, sizeof kPasses / sizeof kPasses[0]);
}

}  // namespace

Expected<CompiledPolicy> compile_policy(std::span<const uint8_t> bytes, const PolicyOptions& options,
                                        const std::string& source_name) {
    auto with_source = [&](const Error& error) {
        return Error{source_name + ": " + error.message, error.exit_code};
    };
    auto scan = scan_module(bytes);
    if (!scan) return with_source(scan.error());
    auto module = read_module(bytes);
    if (!module) return with_source(module.error());
    std::lock_guard<std::mutex> guard(binaryen_lock());
    auto facts = check_module(module->get(), *scan, options);
    if (!facts) return with_source(facts.error());
    if (options.target == Target::Offload && facts->has_loops)
        return with_source(bad_input("function \"" + options.function + "\" or a function it calls has a loop: "
                                     "loops are not supported on the offload target (the NFP has no may_goto "
                                     "to bound them); unroll the loop or use the native target"));
    const bool policy_entry_charged = instrument_fuel(module->get(), facts->policy);
    optimise(module->get());
    auto lowered = lower_policy(module->get(), *facts, options, options.instance_map_name, policy_entry_charged);
    if (!lowered) return with_source(lowered.error());
    if (lowered->home == FrameHome::CpuIndexedValue) {
        const int cpus = libbpf_num_possible_cpus();
        if (cpus <= 0) return runtime_error("cannot count the possible CPUs (/sys/devices/system/cpu/possible)");
        lowered->maps[0].max_entries = static_cast<uint32_t>(cpus);
    }
    CompiledPolicy out;
    out.bucket_names = facts->bucket_names;
    out.stats.wasm_instructions = facts->wasm_instructions;
    out.stats.bpf_instructions = lowered->length;
    out.stats.stack_bytes = lowered->stack_bytes;
    out.stats.memory_bytes = lowered->memory_bytes;
    out.stats.globals = lowered->globals;
    out.stats.has_loops = facts->has_loops;
    out.code = std::make_shared<WasmPolicyCode>(std::move(lowered).value());
    return out;
}

}  // namespace xfw::wasm
