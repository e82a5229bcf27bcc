// Instruction stream builder: label binding and the single jump-patching pass.
#include "xdp/emitter.hpp"

#include <algorithm>
#include <limits>

namespace xfw::bpf {

namespace {

bool is_jump_class(const Insn& i) {
    uint8_t cls = BPF_CLASS(i.code);
    return cls == BPF_JMP || cls == BPF_JMP32;
}
bool is_ld_imm64(const Insn& i) { return i.code == (BPF_LD | BPF_DW | BPF_IMM); }

bool fits_16_bits(int64_t v) {
    return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
}

uint8_t opposite_jump(uint8_t op) {
    switch (op) {
        case BPF_JEQ: return BPF_JNE;
        case BPF_JNE: return BPF_JEQ;
        case BPF_JGT: return BPF_JLE;
        case BPF_JLE: return BPF_JGT;
        case BPF_JGE: return BPF_JLT;
        case BPF_JLT: return BPF_JGE;
        case BPF_JSGT: return BPF_JSLE;
        case BPF_JSLE: return BPF_JSGT;
        case BPF_JSGE: return BPF_JSLT;
        case BPF_JSLT: return BPF_JSGE;
    }
    return op;  // JSET has no opposite; jump_if_imm_far is not used with it
}

// The verifier replaces some helper calls with inline code (an array lookup becomes ~9
// instructions) and must then re-encode every jump across them in 16 bits; if one no longer
// fits it refuses the program with ENOMEM. expanded[i] is where instruction i lands with that
// growth accounted for.
std::vector<int64_t> expanded_positions(const std::vector<Insn>& insns) {
    constexpr int64_t kHelperCallWeight = 10;
    std::vector<int64_t> expanded(insns.size() + 1, 0);
    for (size_t i = 0; i < insns.size(); ++i) {
        const bool helper_call = insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 0;
        expanded[i + 1] = expanded[i] + (helper_call ? kHelperCallWeight : 1);
    }
    return expanded;
}

}  // namespace

std::string Program::origin_of(uint32_t index) const {
    auto it = std::upper_bound(spans.begin(), spans.end(), index,
                               [](uint32_t i, const SourceSpan& s) { return i < s.first_insn; });
    if (it == spans.begin()) return {};
    return std::prev(it)->origin;
}

Label Emitter::new_label() {
    label_pos_.push_back(-1);
    return Label{static_cast<uint32_t>(label_pos_.size() - 1)};
}

void Emitter::bind(Label label) { label_pos_.at(label.id) = size(); }

void Emitter::emit(const Insn& insn) { insns_.push_back(insn); }

void Emitter::jump(Label target) {
    fixups_.push_back({size(), target.id});
    emit(make(BPF_JMP | BPF_JA, 0, 0, 0, 0));
}

void Emitter::jump_if_imm(uint8_t op, Reg reg, int32_t imm, Label target, bool wide) {
    fixups_.push_back({size(), target.id});
    emit(make((wide ? BPF_JMP : BPF_JMP32) | op | BPF_K, reg, 0, 0, imm));
}

void Emitter::jump_if_reg(uint8_t op, Reg dst, Reg src, Label target, bool wide) {
    fixups_.push_back({size(), target.id});
    emit(make((wide ? BPF_JMP : BPF_JMP32) | op | BPF_X, dst, src, 0, 0));
}

void Emitter::jump_if_imm_far(uint8_t op, Reg reg, int32_t imm, Label target, bool wide) {
    fixups_.push_back({size(), target.id, false, true});
    emit(make((wide ? BPF_JMP : BPF_JMP32) | op | BPF_K, reg, 0, 0, imm));
    emit(make(BPF_JMP | BPF_JA, 0, 0, 0, 0));
}

void Emitter::jump_far(Label target) {
    fixups_.push_back({size(), target.id, false, true});
    emit(make(BPF_JMP | BPF_JA, 0, 0, 0, 0));
}

void Emitter::call(Label target) {
    fixups_.push_back({size(), target.id, true});
    emit(make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
}

void Emitter::load_imm64(Reg dst, uint64_t value) {
    emit(make(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, static_cast<int32_t>(value & 0xffffffffu)));
    emit(make(0, 0, 0, 0, static_cast<int32_t>(value >> 32)));
}

void Emitter::load_map(Reg dst, uint32_t map_index) {
    relocations_.push_back({size(), map_index});
    emit(make(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, 0));
    emit(make(0, 0, 0, 0, 0));
}

void Emitter::set_origin(std::string origin) {
    if (!spans_.empty() && spans_.back().first_insn == size()) {
        spans_.back().origin = std::move(origin);
        return;
    }
    spans_.push_back({size(), std::move(origin)});
}

Expected<Program> Emitter::finish() {
    const std::vector<int64_t> expanded = expanded_positions(insns_);
    for (const Fixup& f : fixups_) {
        int64_t pos = label_pos_.at(f.label);
        if (pos < 0) return runtime_error("internal: jump to a label that was never bound");
        int64_t off = pos - static_cast<int64_t>(f.insn_index) - 1;
        if (f.is_call) {
            insns_[f.insn_index].imm = static_cast<int32_t>(off);
            continue;
        }
        if (f.far && !fits_16_bits(expanded[pos] - expanded[f.insn_index + 1])) {
            Insn& cond = insns_[f.insn_index];
            if (BPF_OP(cond.code) == BPF_JA) {
                cond = make(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(off));
                continue;
            }
            // The opposite condition skips a long jump to the target.
            cond.code = static_cast<uint8_t>((cond.code & ~0xf0) | opposite_jump(BPF_OP(cond.code)));
            cond.off = 1;
            insns_[f.insn_index + 1] = make(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(off - 1));
            continue;
        }
        if (off < std::numeric_limits<int16_t>::min() || off > std::numeric_limits<int16_t>::max())
            return bad_input("program too large: a jump spans " + std::to_string(off) +
                             " instructions (limit 32767); use fewer rules in the user chain it "
                             "jumps over, or fewer rules in all");
        insns_[f.insn_index].off = static_cast<int16_t>(off);
    }
    fixups_.clear();
    Program program{std::move(insns_), std::move(relocations_), std::move(spans_)};
    remove_unreachable(program);
    XFW_TRY(check_expanded_jumps(program));
    return program;
}


Status check_expanded_jumps(const Program& program) {
    const auto& insns = program.insns;
    const std::vector<int64_t> expanded = expanded_positions(insns);
    for (size_t i = 0; i < insns.size(); ++i) {
        const Insn& insn = insns[i];
        if (!is_jump_class(insn) || is_long_jump(insn)) continue;
        const uint8_t op = BPF_OP(insn.code);
        if (op == BPF_CALL || op == BPF_EXIT) continue;
        const int64_t span = expanded[jump_target(insn, i)] - expanded[i + 1];
        if (!fits_16_bits(span))
            return bad_input("program too large: a jump at instruction " + std::to_string(i) + " (" +
                             program.origin_of(static_cast<uint32_t>(i)) + ") spans about " +
                             std::to_string(span) + " instructions once the kernel inlines its helpers "
                             "(limit 32767); use fewer rules in the user chain it jumps over, or fewer rules in all");
    }
    return {};
}

void remove_unreachable(Program& program) {
    std::vector<Insn>& insns = program.insns;
    const size_t n = insns.size();
    std::vector<bool> reachable(n, false);
    std::vector<size_t> work{0};
    while (!work.empty()) {
        size_t i = work.back();
        work.pop_back();
        if (i >= n || reachable[i]) continue;
        reachable[i] = true;
        const Insn& insn = insns[i];
        if (is_ld_imm64(insn)) {
            if (i + 1 < n) reachable[i + 1] = true;
            work.push_back(i + 2);
            continue;
        }
        if (!is_jump_class(insn)) {
            work.push_back(i + 1);
            continue;
        }
        uint8_t op = BPF_OP(insn.code);
        if (op == BPF_EXIT) continue;
        if (op == BPF_CALL) {
            if (insn.src_reg == BPF_PSEUDO_CALL) work.push_back(i + 1 + insn.imm);
            work.push_back(i + 1);
            continue;
        }
        work.push_back(static_cast<size_t>(jump_target(insn, i)));
        if (op != BPF_JA) work.push_back(i + 1);
    }
    // `ja +0` does nothing (jump_if_imm_far leaves one after a jump that fits): drop it here
    // rather than leave it to the verifier, which removes no-ops one at a time, each removal a
    // pass over the whole program (minutes for a 200 000-instruction tree program).
    std::vector<bool> keep(n, false);
    for (size_t i = 0; i < n; ++i)
        keep[i] = reachable[i] && !(insns[i].code == (BPF_JMP | BPF_JA) && insns[i].off == 0);
    // new_index[i] = position of insn i after compaction (or of the next kept insn).
    std::vector<uint32_t> new_index(n + 1);
    uint32_t next = 0;
    for (size_t i = 0; i < n; ++i) {
        new_index[i] = next;
        if (keep[i]) ++next;
    }
    new_index[n] = next;
    if (next == n) return;

    std::vector<Insn> kept;
    kept.reserve(next);
    for (size_t i = 0; i < n; ++i) {
        if (!keep[i]) continue;
        Insn insn = insns[i];
        if (is_jump_class(insn) && BPF_OP(insn.code) != BPF_EXIT) {
            bool pseudo_call = BPF_OP(insn.code) == BPF_CALL && insn.src_reg == BPF_PSEUDO_CALL;
            if (BPF_OP(insn.code) != BPF_CALL || pseudo_call) {
                int64_t target = pseudo_call ? static_cast<int64_t>(i) + 1 + insn.imm : jump_target(insn, i);
                int64_t off = static_cast<int64_t>(new_index[target]) - new_index[i] - 1;
                if (pseudo_call || is_long_jump(insn)) insn.imm = static_cast<int32_t>(off);
                else insn.off = static_cast<int16_t>(off);
            }
        }
        kept.push_back(insn);
    }
    insns = std::move(kept);
    // Relocations of removed loads go with them; a kept one moves with its instruction.
    std::vector<MapRelocation> relocations;
    for (MapRelocation r : program.map_relocations) {
        if (!reachable[r.insn_index]) continue;
        r.insn_index = new_index[r.insn_index];
        relocations.push_back(r);
    }
    program.map_relocations = std::move(relocations);
    for (SourceSpan& s : program.spans) s.first_insn = new_index[s.first_insn];
}

}  // namespace xfw::bpf
