// The single-policy XDP program (see harness_program.hpp).
#include "wasm-policy/harness_program.hpp"

#include "xdp/insn.hpp"

#include <algorithm>

namespace xfw::wasm {

using namespace bpf;

Expected<xdp::GeneratedProgram> build_policy_harness(const xdp::PolicyCode& code, uint32_t bucket_count) {
    Emitter e;
    Label policy = e.new_label(), count = e.new_label(), out = e.new_label();
    e.set_origin("harness");
    e.emit(mov64_reg(R6, R1));
    e.call(policy);
    e.emit(mov64_reg(R7, R0));
    e.emit(st_imm(BPF_W, R10, -8, 0));
    e.load_map(R1, kHarnessResultMap);
    e.emit(mov64_reg(R2, R10));
    e.emit(alu64_imm(BPF_ADD, R2, -8));
    e.emit(call_helper(BPF_FUNC_map_lookup_elem));
    e.jump_if_imm(BPF_JEQ, R0, 0, out);
    e.emit(stx(BPF_DW, R0, R7, 0));
    e.bind(out);
    e.emit(mov64_imm(R0, XDP_PASS));
    e.emit(exit_insn());

    // Counting subprogram with the code generator's convention: R1 = slot, R2 = bytes.
    e.set_origin("harness counter update");
    Label done = e.new_label();
    e.bind(count);
    e.emit(stx(BPF_W, R10, R1, -8));
    e.emit(mov64_reg(R6, R2));
    e.load_map(R1, kHarnessCounterMap);
    e.emit(mov64_reg(R2, R10));
    e.emit(alu64_imm(BPF_ADD, R2, -8));
    e.emit(call_helper(BPF_FUNC_map_lookup_elem));
    e.jump_if_imm(BPF_JEQ, R0, 0, done);
    e.emit(ldx(BPF_DW, R1, R0, 0));
    e.emit(alu64_imm(BPF_ADD, R1, 1));
    e.emit(stx(BPF_DW, R0, R1, 0));
    e.emit(ldx(BPF_DW, R1, R0, 8));
    e.emit(alu64_reg(BPF_ADD, R1, R6));
    e.emit(stx(BPF_DW, R0, R1, 8));
    e.bind(done);
    e.emit(mov64_imm(R0, 0));
    e.emit(exit_insn());

    xdp::PolicyEmitContext context;
    context.first_map_index = 2;
    context.counters = xdp::CounterMode::PerCpu;
    context.count_subprogram = count;
    context.bucket_base_slot = 0;
    context.bucket_count = bucket_count;
    e.set_origin("policy");
    XFW_TRY(code.emit(e, policy, context));
    auto program = e.finish();
    if (!program) return program.error();

    std::vector<xdp::MapSpec> maps;
    maps.push_back(xdp::counter_map_spec(std::max(bucket_count, 1u), xdp::CounterMode::PerCpu));
    xdp::MapSpec result;
    result.name = "xfw_wasm_result";
    result.type = BPF_MAP_TYPE_ARRAY;
    result.key_size = 4;
    result.value_size = 8;
    result.max_entries = 1;
    maps.push_back(result);
    for (xdp::MapSpec& m : code.maps()) maps.push_back(std::move(m));
    return xdp::GeneratedProgram{std::move(program).value(), std::move(maps)};
}

}  // namespace xfw::wasm
