// Builds an eBPF instruction stream: labels, forward/backward jumps patched once at finish(),
// and map references recorded as relocations so the same code can be loaded with map fds or
// written to an ELF object with map symbols.
#pragma once

#include "xdp/error.hpp"
#include "xdp/insn.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::bpf {

struct Label {
    uint32_t id = UINT32_MAX;
};

// A reference from an ld_imm64 instruction to a map, by the program's own map index.
struct MapRelocation {
    uint32_t insn_index = 0;  // index of the first half of the ld_imm64
    uint32_t map_index = 0;
};

// Where an instruction came from, for diagnostics (offload checker, verifier log).
struct SourceSpan {
    uint32_t first_insn = 0;
    std::string origin;  // e.g. "INPUT rule 3" or "parser"
};

struct Program {
    std::vector<Insn> insns;
    std::vector<MapRelocation> map_relocations;
    std::vector<SourceSpan> spans;  // sorted by first_insn

    // The origin of the instruction at `index` ("" when unknown).
    std::string origin_of(uint32_t index) const;
};

// A long unconditional jump (`gotol`, BPF_JMP32 | BPF_JA): its offset is in imm, 32 bits.
inline bool is_long_jump(const Insn& insn) { return insn.code == (BPF_JMP32 | BPF_JA); }
// Where the jump at `index` goes (16-bit offset, or imm for a long jump).
inline int64_t jump_target(const Insn& insn, size_t index) {
    return static_cast<int64_t>(index) + 1 + (is_long_jump(insn) ? insn.imm : insn.off);
}

// Drops no-op jumps (`ja +0`) and instructions no path from the entry reaches (the verifier
// refuses them), e.g. rules after an unconditional verdict, and re-targets jumps, relocations
// and spans.
void remove_unreachable(Program& program);

// Fails when a jump would no longer fit its 16-bit offset after the kernel inlines helper
// calls inside its span (the kernel would refuse the program with a bare ENOMEM).
Status check_expanded_jumps(const Program& program);

class Emitter {
public:
    Label new_label();
    // Binds `label` to the next instruction to be emitted.
    void bind(Label label);

    void emit(const Insn& insn);
    uint32_t size() const { return static_cast<uint32_t>(insns_.size()); }

    // Unconditional jump.
    void jump(Label target);
    // Conditional jumps: `op` is BPF_JEQ, BPF_JNE, BPF_JGT, ... ; 32-bit (BPF_JMP32) when `wide` is false.
    void jump_if_imm(uint8_t op, Reg reg, int32_t imm, Label target, bool wide = true);
    void jump_if_reg(uint8_t op, Reg dst, Reg src, Label target, bool wide = true);
    // A conditional jump that may span more than 16 bits of offset: two instruction slots, the
    // jump and a `ja +0` (a no-op the verifier removes). When the span does not fit,
    // finish() rewrites the pair as the opposite condition over a long jump (`gotol`, 32-bit
    // offset, kernel 6.4+). `op` must have an opposite (JEQ/JNE, JGT/JLE, JGE/JLT, signed ones).
    void jump_if_imm_far(uint8_t op, Reg reg, int32_t imm, Label target, bool wide = true);
    // An unconditional jump that finish() turns into `gotol` when 16 bits do not reach.
    void jump_far(Label target);

    // bpf-to-bpf call of the subprogram starting at `target`.
    void call(Label target);

    // 64-bit immediate load (two instruction slots).
    void load_imm64(Reg dst, uint64_t value);
    // Loads the address of map `map_index` (BPF_PSEUDO_MAP_FD, patched when loading).
    void load_map(Reg dst, uint32_t map_index);

    // Marks subsequent instructions as coming from `origin`.
    void set_origin(std::string origin);

    // Resolves every jump. Fails if a label was never bound or an offset does not fit 16 bits.
    Expected<Program> finish();

private:
    struct Fixup {
        uint32_t insn_index;
        uint32_t label;
        bool is_call = false;  // the offset goes in imm (32 bits), not off
        bool far = false;      // jump_if_imm_far: a jump and a no-op, relaxed by finish()
    };
    std::vector<Insn> insns_;
    std::vector<int64_t> label_pos_;  // -1 = unbound
    std::vector<Fixup> fixups_;
    std::vector<MapRelocation> relocations_;
    std::vector<SourceSpan> spans_;
};

}  // namespace xfw::bpf
