// The offload checker: instruction rules, map rules, and a forward abstract interpretation of
// the registers for the rules that depend on values (atomics on map values, divisors, return
// codes, stack depth).
#include "offload/checker.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <set>
#include <sstream>

namespace xfw::offload {

const char* rule_name(Rule rule) {
    switch (rule) {
        case Rule::MapType: return "map-type";
        case Rule::MapFlags: return "map-flags";
        case Rule::MapSize: return "map-size";
        case Rule::MapEntries: return "map-entries";
        case Rule::GlobalData: return "no-global-data";
        case Rule::Helper: return "helper";
        case Rule::TailCall: return "no-tail-call";
        case Rule::Kfunc: return "no-kfunc";
        case Rule::Callback: return "no-callback";
        case Rule::Atomic: return "atomic-add-only";
        case Rule::AtomicTarget: return "atomic-on-map-value";
        case Rule::MapValueUse: return "map-value-use";
        case Rule::MapValueStore: return "no-map-value-store";
        case Rule::MapValueOffset: return "map-value-offset";
        case Rule::Modulo: return "no-modulo";
        case Rule::Division: return "constant-divisor";
        case Rule::Multiply: return "multiply-range";
        case Rule::CpuV4: return "no-cpu-v4";
        case Rule::ByteSwapLe: return "no-bswap-le";
        case Rule::LegacyPacketLoad: return "no-ld-abs";
        case Rule::ReturnCode: return "return-code";
        case Rule::Stack: return "stack-size";
        case Rule::ProgramLength: return "program-length";
        case Rule::Malformed: return "malformed";
    }
    return "?";
}

std::string CheckReport::format() const {
    std::ostringstream out;
    auto where = [&](const std::optional<uint32_t>& insn, const std::string& origin) {
        std::string w = insn ? "instruction " + std::to_string(*insn) : std::string("program");
        if (!origin.empty()) w += " (" + origin + ")";
        return w;
    };
    for (const Violation& v : violations)
        out << where(v.insn, v.origin) << ": " << rule_name(v.rule) << ": " << v.reason << "\n";
    for (const Note& n : notes) out << where(n.insn, n.origin) << ": note: " << n.text << "\n";
    return out.str();
}

namespace {

using bpf::Insn;

bool is_ld_imm64(const Insn& i) { return i.code == (BPF_LD | BPF_DW | BPF_IMM); }
bool is_pseudo_call(const Insn& i) { return i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL; }

const char* helper_name(int32_t id) {
    switch (id) {
        case BPF_FUNC_map_lookup_elem: return "bpf_map_lookup_elem";
        case BPF_FUNC_map_update_elem: return "bpf_map_update_elem";
        case BPF_FUNC_map_delete_elem: return "bpf_map_delete_elem";
        case BPF_FUNC_ktime_get_ns: return "bpf_ktime_get_ns";
        case BPF_FUNC_trace_printk: return "bpf_trace_printk";
        case BPF_FUNC_get_prandom_u32: return "bpf_get_prandom_u32";
        case BPF_FUNC_get_smp_processor_id: return "bpf_get_smp_processor_id";
        case BPF_FUNC_tail_call: return "bpf_tail_call";
        case BPF_FUNC_redirect: return "bpf_redirect";
        case BPF_FUNC_perf_event_output: return "bpf_perf_event_output";
        case BPF_FUNC_csum_diff: return "bpf_csum_diff";
        case BPF_FUNC_xdp_adjust_head: return "bpf_xdp_adjust_head";
        case BPF_FUNC_redirect_map: return "bpf_redirect_map";
        case BPF_FUNC_xdp_adjust_meta: return "bpf_xdp_adjust_meta";
        case BPF_FUNC_fib_lookup: return "bpf_fib_lookup";
        case BPF_FUNC_xdp_adjust_tail: return "bpf_xdp_adjust_tail";
        case BPF_FUNC_map_push_elem: return "bpf_map_push_elem";
        case BPF_FUNC_map_pop_elem: return "bpf_map_pop_elem";
        case BPF_FUNC_map_peek_elem: return "bpf_map_peek_elem";
        case BPF_FUNC_loop: return "bpf_loop";
        case BPF_FUNC_for_each_map_elem: return "bpf_for_each_map_elem";
        default: return nullptr;
    }
}

std::string map_type_name(uint32_t type) {
    switch (type) {
        case BPF_MAP_TYPE_HASH: return "HASH";
        case BPF_MAP_TYPE_ARRAY: return "ARRAY";
        case BPF_MAP_TYPE_PROG_ARRAY: return "PROG_ARRAY";
        case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return "PERF_EVENT_ARRAY";
        case BPF_MAP_TYPE_PERCPU_HASH: return "PERCPU_HASH";
        case BPF_MAP_TYPE_PERCPU_ARRAY: return "PERCPU_ARRAY";
        case BPF_MAP_TYPE_LRU_HASH: return "LRU_HASH";
        case BPF_MAP_TYPE_LRU_PERCPU_HASH: return "LRU_PERCPU_HASH";
        case BPF_MAP_TYPE_LPM_TRIE: return "LPM_TRIE";
        case BPF_MAP_TYPE_DEVMAP: return "DEVMAP";
        case BPF_MAP_TYPE_CPUMAP: return "CPUMAP";
        case BPF_MAP_TYPE_XSKMAP: return "XSKMAP";
        default: return "type " + std::to_string(type);
    }
}

uint32_t round_up(uint32_t v, uint32_t to) { return to ? (v + to - 1) / to * to : v; }

// What the checker knows about a register.
struct Val {
    enum class Kind : uint8_t { Unknown, Const, Ctx, Stack, MapPtr, MapValue, MapValueOrNull, MapValueVar };
    Kind kind = Kind::Unknown;
    int64_t v = 0;     // the constant, or the pointer's offset
    uint32_t map = 0;  // map index for MapPtr/MapValue*

    static Val unknown() { return {}; }
    static Val constant(int64_t c) { return {Kind::Const, c, 0}; }
    bool is_pointer() const { return kind != Kind::Unknown && kind != Kind::Const; }
    bool operator==(const Val&) const = default;
};

using Regs = std::array<Val, 11>;

Val join(const Val& a, const Val& b) {
    if (a == b) return a;
    const bool map_value_a = a.kind == Val::Kind::MapValue || a.kind == Val::Kind::MapValueOrNull;
    const bool map_value_b = b.kind == Val::Kind::MapValue || b.kind == Val::Kind::MapValueOrNull;
    if (map_value_a && map_value_b && a.map == b.map && a.v == b.v) return {Val::Kind::MapValueOrNull, a.v, a.map};
    if ((a.kind == Val::Kind::MapValueVar || map_value_a) && (b.kind == Val::Kind::MapValueVar || map_value_b) &&
        a.map == b.map)
        return {Val::Kind::MapValueVar, 0, a.map};
    return Val::unknown();
}

bool join_into(std::optional<Regs>& slot, const Regs& in) {
    if (!slot) {
        slot = in;
        return true;
    }
    bool changed = false;
    for (size_t r = 0; r < in.size(); ++r) {
        Val j = join((*slot)[r], in[r]);
        if (!(j == (*slot)[r])) {
            (*slot)[r] = j;
            changed = true;
        }
    }
    return changed;
}

// How an instruction touches a 4-byte word of a map value (the NFP tracks uses per word).
enum class Use : uint8_t { Read, Atomic };

struct Function {
    uint32_t first = 0, end = 0;
    uint32_t stack = 0;              // deepest stack byte this function touches
    std::set<uint32_t> callees;      // function indexes
    std::optional<Regs> entry_regs;  // join of the states at its call sites
};

class Checker {
public:
    Checker(const bpf::Program& program, const std::vector<xdp::MapSpec>& maps, const NfpProfile& profile)
        : p_(program), insns_(program.insns), maps_(maps), profile_(profile) {}

    CheckReport run() {
        report_.instructions = static_cast<uint32_t>(insns_.size());
        check_maps();
        if (!find_functions()) return std::move(report_);
        check_instructions();
        map_of_relocation();
        analyse();
        check_stack();
        if (report_.instructions > profile_.max_instructions)
            program_violation(Rule::ProgramLength,
                              "the program has " + std::to_string(report_.instructions) +
                                  " instructions; the " + profile_.name + " profile allows " +
                                  std::to_string(profile_.max_instructions) +
                                  " (the firmware's program store is limited); use fewer rules");
        std::stable_sort(report_.violations.begin(), report_.violations.end(), [](const Violation& a, const Violation& b) {
            return a.insn.value_or(0) < b.insn.value_or(0);
        });
        return std::move(report_);
    }

private:
    void violation(Rule rule, uint32_t insn, std::string reason) {
        report_.violations.push_back({rule, insn, p_.origin_of(insn), std::move(reason)});
    }
    void program_violation(Rule rule, std::string reason) {
        report_.violations.push_back({rule, std::nullopt, "", std::move(reason)});
    }
    void note(uint32_t insn, std::string text) {
        report_.notes.push_back({insn, p_.origin_of(insn), std::move(text)});
    }

    void check_maps() {
        for (size_t i = 0; i < maps_.size(); ++i) {
            const xdp::MapSpec& m = maps_[i];
            const std::string what = "map " + m.name + " (" + map_type_name(m.type) + ")";
            if (!m.name.empty() && (m.name[0] == '.' || m.name.find(".data") != std::string::npos ||
                                    m.name.find(".rodata") != std::string::npos ||
                                    m.name.find(".bss") != std::string::npos)) {
                program_violation(Rule::GlobalData, "map " + m.name +
                                                        " holds global data (.data/.rodata/.bss); the NFP "
                                                        "cannot map global variables: use constants or an ARRAY map");
                continue;
            }
            if (!profile_.map_types.count(m.type)) {
                std::string why = "the NFP holds only ARRAY and HASH maps";
                if (m.type == BPF_MAP_TYPE_PERCPU_ARRAY || m.type == BPF_MAP_TYPE_PERCPU_HASH ||
                    m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
                    why += " (it has no per-CPU storage: count with atomic adds into a shared ARRAY)";
                else if (m.type == BPF_MAP_TYPE_LPM_TRIE)
                    why += " (no longest-prefix tries: match prefixes with compares or a HASH per prefix length)";
                else if (m.type == BPF_MAP_TYPE_PROG_ARRAY)
                    why += " (no tail calls, so no program arrays)";
                program_violation(Rule::MapType, what + ": " + why);
            }
            if (m.flags)
                program_violation(Rule::MapFlags, what + " has flags 0x" + [&] {
                    std::ostringstream h;
                    h << std::hex << m.flags;
                    return h.str();
                }() + "; offloaded maps take no flags");
            if (m.key_size > profile_.max_key_size)
                program_violation(Rule::MapSize, what + ": key of " + std::to_string(m.key_size) +
                                                     " bytes; the device's keys hold at most " +
                                                     std::to_string(profile_.max_key_size));
            if (m.value_size > profile_.max_value_size)
                program_violation(Rule::MapSize, what + ": value of " + std::to_string(m.value_size) +
                                                     " bytes; the device's values hold at most " +
                                                     std::to_string(profile_.max_value_size));
            const uint32_t elem = round_up(m.key_size, 8) + round_up(m.value_size, 8);
            if (elem > profile_.max_elem_size && m.key_size <= profile_.max_key_size &&
                m.value_size <= profile_.max_value_size)
                program_violation(Rule::MapSize, what + ": key and value take " + std::to_string(elem) +
                                                     " bytes together; the device's elements hold at most " +
                                                     std::to_string(profile_.max_elem_size));
            if (profile_.max_map_entries && m.max_entries > profile_.max_map_entries)
                program_violation(Rule::MapEntries, what + " has " + std::to_string(m.max_entries) +
                                                        " entries; " + profile_.name + " holds at most " +
                                                        std::to_string(profile_.max_map_entries) +
                                                        " per offloaded map");
        }
    }

    // Function starts: the entry and every bpf-to-bpf call target. Also checks that the
    // instruction stream is well formed (ld_imm64 pairs, jumps inside their function).
    bool find_functions() {
        const uint32_t n = static_cast<uint32_t>(insns_.size());
        if (n == 0) {
            program_violation(Rule::Malformed, "the program is empty");
            return false;
        }
        starts_.assign(n, false);
        std::set<uint32_t> entries{0};
        for (uint32_t i = 0; i < n; ++i) {
            starts_[i] = true;
            if (is_ld_imm64(insns_[i])) {
                if (i + 1 >= n) {
                    violation(Rule::Malformed, i, "ld_imm64 without its second half");
                    return false;
                }
                ++i;
                continue;
            }
            if (is_pseudo_call(insns_[i])) {
                const int64_t t = int64_t{i} + insns_[i].imm + 1;
                if (t < 0 || t >= int64_t{n}) {
                    violation(Rule::Malformed, i, "call target " + std::to_string(t) + " is outside the program");
                    return false;
                }
                entries.insert(static_cast<uint32_t>(t));
            }
        }
        for (uint32_t e : entries) functions_.push_back({e, 0, 0, {}, {}});
        for (size_t f = 0; f < functions_.size(); ++f)
            functions_[f].end = f + 1 < functions_.size() ? functions_[f + 1].first : n;
        for (uint32_t i = 0; i < n; ++i) {
            if (!starts_[i]) continue;
            const uint8_t cls = BPF_CLASS(insns_[i].code), op = BPF_OP(insns_[i].code);
            if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT) {
                int64_t off = insns_[i].off;
                if (cls == BPF_JMP32 && op == BPF_JA) off = insns_[i].imm;  // gotol
                const int64_t t = int64_t{i} + off + 1;
                if (t < 0 || t >= int64_t{n} || !starts_[t] || function_of(static_cast<uint32_t>(t)) != function_of(i)) {
                    violation(Rule::Malformed, i, "jump to instruction " + std::to_string(t) +
                                                      ", outside its function or into an ld_imm64");
                    return false;
                }
            }
        }
        return true;
    }

    size_t function_of(uint32_t insn) const {
        size_t f = 0;
        while (f + 1 < functions_.size() && functions_[f + 1].first <= insn) ++f;
        return f;
    }
    size_t function_at(uint32_t first) const {
        for (size_t f = 0; f < functions_.size(); ++f)
            if (functions_[f].first == first) return f;
        return 0;
    }

    // Rules that need only the instruction itself.
    void check_instructions() {
        for (uint32_t i = 0; i < insns_.size(); ++i) {
            if (!starts_[i]) continue;
            const Insn& in = insns_[i];
            const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code), src = BPF_SRC(in.code);
            const uint8_t mode = BPF_MODE(in.code), size = BPF_SIZE(in.code);
            switch (cls) {
                case BPF_LD:
                    if (is_ld_imm64(in)) {
                        if (in.src_reg == BPF_PSEUDO_MAP_VALUE || in.src_reg == BPF_PSEUDO_MAP_IDX_VALUE)
                            violation(Rule::GlobalData, i, "ld_imm64 of a map value address (global data); the NFP "
                                                           "cannot map global variables");
                        else if (in.src_reg == BPF_PSEUDO_FUNC)
                            violation(Rule::Callback, i, "ld_imm64 of a function address (a callback); the NFP "
                                                         "has no callbacks");
                        else if (in.src_reg == BPF_PSEUDO_BTF_ID)
                            violation(Rule::Kfunc, i, "ld_imm64 of a kernel variable (BTF id); not available on "
                                                      "the NFP");
                    } else if (mode == BPF_ABS || mode == BPF_IND) {
                        violation(Rule::LegacyPacketLoad, i, "LD_ABS/LD_IND packet loads are for socket filters, "
                                                             "not XDP; read through ctx->data");
                    } else {
                        violation(Rule::Malformed, i, "unknown BPF_LD instruction");
                    }
                    break;
                case BPF_LDX:
                    if (mode == 0x80 /* BPF_MEMSX */)
                        violation(Rule::CpuV4, i, "sign-extending load (ldsx, cpu v4); the NFP JIT does not "
                                                  "implement cpu-v4 instructions");
                    break;
                case BPF_ST:
                    if (mode == BPF_ATOMIC) violation(Rule::Malformed, i, "BPF_ST with BPF_ATOMIC is not an instruction");
                    break;
                case BPF_STX:
                    if (mode == BPF_ATOMIC) {
                        if (in.imm != BPF_ADD) {
                            std::string what = in.imm == (BPF_ADD | BPF_FETCH) ? "atomic fetch-and-add"
                                               : in.imm == BPF_XCHG             ? "atomic exchange"
                                               : in.imm == BPF_CMPXCHG          ? "atomic compare-and-exchange"
                                                                                : "atomic and/or/xor";
                            violation(Rule::Atomic, i, what + "; the NFP implements only atomic ADD without "
                                                              "fetch (a counter increment)");
                        } else if (size != BPF_W && size != BPF_DW) {
                            violation(Rule::Atomic, i, "atomic add on 8 or 16 bits; the NFP adds 32 or 64 bits");
                        }
                    }
                    break;
                case BPF_ALU:
                case BPF_ALU64:
                    if (op == BPF_MOD)
                        violation(Rule::Modulo, i, in.off == 1 ? "signed modulo (smod, cpu v4); the NFP has no "
                                                                 "modulo"
                                                               : "BPF_MOD; the NFP has no modulo instruction "
                                                                 "(use an AND with a power-of-two mask)");
                    else if (op == BPF_DIV && in.off == 1)
                        violation(Rule::CpuV4, i, "signed division (sdiv, cpu v4); the NFP JIT divides only "
                                                  "unsigned values by constants");
                    else if (op == BPF_DIV && src == BPF_K && in.imm < 0)
                        violation(Rule::Division, i, "division by the negative constant " + std::to_string(in.imm) +
                                                         "; the NFP divides by unsigned constants only");
                    else if (op == BPF_MOV && in.off != 0)
                        violation(Rule::CpuV4, i, "sign-extending move (movsx, cpu v4); the NFP JIT does not "
                                                  "implement cpu-v4 instructions");
                    else if (op == BPF_MUL && cls == BPF_ALU64 && src == BPF_K && in.imm < 0)
                        violation(Rule::Multiply, i, "64-bit multiply by the negative (sign-extended) constant " +
                                                         std::to_string(in.imm) +
                                                         "; the NFP multiplies 32-bit unsigned operands");
                    else if (op == BPF_END && cls == BPF_ALU64)
                        violation(Rule::CpuV4, i, "unconditional byte swap (bswap, cpu v4); the NFP JIT does not "
                                                  "implement cpu-v4 instructions");
                    else if (op == BPF_END && src == BPF_TO_LE)
                        violation(Rule::ByteSwapLe, i, "byte swap to little endian (BPF_TO_LE); the NFP JIT "
                                                       "implements only swaps to big endian (network order)");
                    break;
                case BPF_JMP:
                case BPF_JMP32:
                    if (cls == BPF_JMP && op == 0xe0 /* BPF_JCOND */)
                        violation(Rule::CpuV4, i, "may_goto (BPF_JCOND); the NFP JIT does not implement cpu-v4 "
                                                  "instructions");
                    else if (cls == BPF_JMP32 && op == BPF_JA)
                        violation(Rule::CpuV4, i, "long jump (gotol, cpu v4); the NFP JIT does not implement "
                                                  "cpu-v4 instructions");
                    else if (op == BPF_CALL && cls == BPF_JMP) check_call(i, in);
                    else if (op == BPF_CALL) violation(Rule::Malformed, i, "call in the JMP32 class");
                    break;
            }
        }
    }

    void check_call(uint32_t i, const Insn& in) {
        if (in.src_reg == BPF_PSEUDO_CALL) return;  // bpf-to-bpf calls: the NFP JIT supports them
        if (in.src_reg == BPF_PSEUDO_KFUNC_CALL) {
            violation(Rule::Kfunc, i, "call of a kernel function (kfunc); the NFP calls only its helpers");
            return;
        }
        if (in.imm == BPF_FUNC_tail_call) {
            violation(Rule::TailCall, i, "bpf_tail_call; the NFP runs one program and has no tail calls "
                                         "(use bpf-to-bpf calls)");
            return;
        }
        if (!profile_.helpers.count(in.imm)) {
            const char* name = helper_name(in.imm);
            violation(Rule::Helper, i, std::string("helper ") + (name ? name : "#" + std::to_string(in.imm)) +
                                           " is not available on the NFP (it offers map lookup/update/delete, "
                                           "xdp_adjust_head/tail, get_prandom_u32 and perf_event_output)");
        }
    }

    // Relocated ld_imm64s name their map through the program's relocations.
    void map_of_relocation() {
        for (const bpf::MapRelocation& r : p_.map_relocations) map_at_[r.insn_index] = r.map_index;
    }

    void record_use(uint32_t insn, const Val& ptr, int64_t off, uint32_t bytes, Use use) {
        const int64_t first = ptr.v + off;
        if (first < 0) return;  // the kernel verifier refuses it; not an NFP rule
        std::optional<uint32_t> conflict;
        for (int64_t b = first / 4; b <= (first + bytes - 1) / 4; ++b) {
            WordUse& slot = uses_[std::make_pair(ptr.map, static_cast<uint32_t>(b))];
            auto& other = use == Use::Read ? slot.atomic : slot.read;
            auto& mine = use == Use::Read ? slot.read : slot.atomic;
            if (!mine) mine = insn;
            if (other && !conflict) conflict = other;
        }
        if (!conflict || !conflict_reported_.insert(insn).second) return;
        violation(Rule::MapValueUse, insn,
                  std::string(use == Use::Read ? "plain read" : "atomic add") + " of bytes " + std::to_string(first) +
                      ".." + std::to_string(first + bytes - 1) + " of a value of map " + map_name(ptr.map) +
                      ", which instruction " + std::to_string(*conflict) +
                      (use == Use::Read ? " updates atomically" : " reads plainly") +
                      "; the NFP keeps atomic counters apart: a map value word is either read or updated "
                      "atomically, never both");
    }

    void stack_access(size_t function, const Val& ptr, int64_t off) {
        const int64_t at = ptr.v + off;
        if (at < 0) functions_[function].stack = std::max<uint32_t>(functions_[function].stack, static_cast<uint32_t>(-at));
    }

    // Memory operand checks shared by loads, stores and atomics.
    void memory(uint32_t i, size_t function, const Val& ptr, int16_t off, uint32_t bytes, bool store, bool atomic) {
        switch (ptr.kind) {
            case Val::Kind::Stack: stack_access(function, ptr, off); break;
            case Val::Kind::MapValue:
                if (atomic) record_use(i, ptr, off, bytes, Use::Atomic);
                else if (store)
                    violation(Rule::MapValueStore, i, "plain store into a value of map " + map_name(ptr.map) +
                                                          "; the NFP does not write map values from the program "
                                                          "(use an atomic add or bpf_map_update_elem)");
                else record_use(i, ptr, off, bytes, Use::Read);
                break;
            case Val::Kind::MapValueVar:
                violation(Rule::MapValueOffset, i, "access to a value of map " + map_name(ptr.map) +
                                                       " at an offset the checker cannot prove constant; the NFP "
                                                       "needs constant offsets into map values");
                break;
            default:
                break;
        }
        if (atomic && ptr.kind != Val::Kind::MapValue && ptr.kind != Val::Kind::MapValueVar) {
            if (ptr.kind == Val::Kind::Unknown || ptr.kind == Val::Kind::MapValueOrNull)
                note(i, "atomic add through a pointer the checker cannot follow; the NFP accepts it only on a "
                        "map value (checked again by the driver at load)");
            else
                violation(Rule::AtomicTarget, i, std::string("atomic add on the ") +
                                                     (ptr.kind == Val::Kind::Stack ? "stack" : "context or a map pointer") +
                                                     "; the NFP adds atomically only to map values");
        }
    }

    std::string map_name(uint32_t map) const { return map < maps_.size() ? maps_[map].name : "#" + std::to_string(map); }

    // One function under the entry state `entry`; returns false when a callee's entry state
    // changed (so the callee must be analysed again).
    void analyse_function(size_t f, const Regs& entry) {
        const Function fn = functions_[f];
        std::vector<std::optional<Regs>> at(fn.end - fn.first);
        at[0] = entry;
        std::deque<uint32_t> work{fn.first};
        std::vector<bool> queued(at.size(), false);
        queued[0] = true;
        size_t steps = 0;
        auto flow = [&](uint32_t to, const Regs& regs) {
            if (to < fn.first || to >= fn.end) return;
            if (join_into(at[to - fn.first], regs) && !queued[to - fn.first]) {
                queued[to - fn.first] = true;
                work.push_back(to);
            }
        };
        while (!work.empty() && ++steps < 200000) {
            const uint32_t i = work.front();
            work.pop_front();
            queued[i - fn.first] = false;
            Regs r = *at[i - fn.first];
            const Insn& in = insns_[i];
            const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code), src = BPF_SRC(in.code);
            const bool last_pass = analysing_final_;
            switch (cls) {
                case BPF_LD:
                    if (is_ld_imm64(in)) {
                        if (auto m = map_at_.find(i); m != map_at_.end() || in.src_reg == BPF_PSEUDO_MAP_FD ||
                                                           in.src_reg == BPF_PSEUDO_MAP_IDX)
                            r[in.dst_reg] = {Val::Kind::MapPtr, 0, m != map_at_.end() ? m->second : static_cast<uint32_t>(in.imm)};
                        else if (in.src_reg == 0)
                            r[in.dst_reg] = Val::constant(static_cast<int64_t>(
                                (static_cast<uint64_t>(static_cast<uint32_t>(insns_[i + 1].imm)) << 32) |
                                static_cast<uint32_t>(in.imm)));
                        else r[in.dst_reg] = Val::unknown();
                        flow(i + 2, r);
                        continue;
                    }
                    for (int k = 0; k <= 5; ++k) r[k] = Val::unknown();
                    break;
                case BPF_LDX:
                    if (last_pass) memory(i, f, r[in.src_reg], in.off, bpf_size(in), false, false);
                    r[in.dst_reg] = Val::unknown();
                    break;
                case BPF_ST:
                    if (last_pass) memory(i, f, r[in.dst_reg], in.off, bpf_size(in), true, false);
                    break;
                case BPF_STX:
                    if (last_pass) {
                        const bool atomic = BPF_MODE(in.code) == BPF_ATOMIC;
                        memory(i, f, r[in.dst_reg], in.off, bpf_size(in), !atomic, atomic);
                        if (atomic && r[in.src_reg].is_pointer() && r[in.src_reg].kind != Val::Kind::MapValueOrNull)
                            violation(Rule::AtomicTarget, i, "atomic add of a pointer; the NFP adds scalars only");
                    }
                    if (BPF_MODE(in.code) == BPF_ATOMIC && (in.imm & BPF_FETCH)) r[in.src_reg] = Val::unknown();
                    if (in.imm == BPF_CMPXCHG && BPF_MODE(in.code) == BPF_ATOMIC) r[0] = Val::unknown();
                    break;
                case BPF_ALU:
                case BPF_ALU64:
                    alu(i, r, in, cls == BPF_ALU64, last_pass);
                    break;
                case BPF_JMP:
                case BPF_JMP32:
                    if (op == BPF_EXIT) {
                        if (f == 0 && last_pass) check_exit(i, r[0]);
                        continue;
                    }
                    if (op == BPF_CALL) {
                        if (in.src_reg == BPF_PSEUDO_CALL) {
                            const size_t callee = function_at(static_cast<uint32_t>(int64_t{i} + in.imm + 1));
                            functions_[f].callees.insert(callee);
                            Regs args = r;
                            args[10] = {Val::Kind::Stack, 0, 0};
                            for (int k = 0; k <= 9; ++k)
                                if (k == 0 || k > 5) args[k] = Val::unknown();
                            if (join_into(functions_[callee].entry_regs, args)) callees_changed_ = true;
                        } else {
                            Val r1 = r[1];
                            for (int k = 0; k <= 5; ++k) r[k] = Val::unknown();
                            if (in.imm == BPF_FUNC_map_lookup_elem && r1.kind == Val::Kind::MapPtr)
                                r[0] = {Val::Kind::MapValueOrNull, 0, r1.map};
                            flow(i + 1, r);
                            continue;
                        }
                        for (int k = 0; k <= 5; ++k) r[k] = Val::unknown();
                        flow(i + 1, r);
                        continue;
                    }
                    {
                        int64_t off = in.off;
                        if (cls == BPF_JMP32 && op == BPF_JA) off = in.imm;
                        const uint32_t target = static_cast<uint32_t>(int64_t{i} + off + 1);
                        if (op == BPF_JA) {
                            flow(target, r);
                            continue;
                        }
                        Regs taken = r, fall = r;
                        const Val& d = r[in.dst_reg];
                        if (d.kind == Val::Kind::MapValueOrNull && src == BPF_K && in.imm == 0 &&
                            (op == BPF_JEQ || op == BPF_JNE)) {
                            Val non_null{Val::Kind::MapValue, d.v, d.map};
                            (op == BPF_JEQ ? fall : taken)[in.dst_reg] = non_null;
                            (op == BPF_JEQ ? taken : fall)[in.dst_reg] = Val::constant(0);
                        } else if (src == BPF_K && op == BPF_JEQ && d.kind == Val::Kind::Unknown && cls == BPF_JMP) {
                            taken[in.dst_reg] = Val::constant(in.imm);
                        } else if (src == BPF_K && op == BPF_JNE && d.kind == Val::Kind::Unknown && cls == BPF_JMP) {
                            fall[in.dst_reg] = Val::constant(in.imm);
                        }
                        flow(target, taken);
                        flow(i + 1, fall);
                        continue;
                    }
            }
            flow(i + 1, r);
        }
    }

    static uint32_t bpf_size(const Insn& in) {
        switch (BPF_SIZE(in.code)) {
            case BPF_B: return 1;
            case BPF_H: return 2;
            case BPF_W: return 4;
            default: return 8;
        }
    }

    void alu(uint32_t i, Regs& r, const Insn& in, bool wide, bool last_pass) {
        const uint8_t op = BPF_OP(in.code);
        Val& d = r[in.dst_reg];
        const Val s = BPF_SRC(in.code) == BPF_K ? Val::constant(wide ? int64_t{in.imm} : int64_t{static_cast<uint32_t>(in.imm)})
                                                : r[in.src_reg];
        if (op == BPF_DIV && BPF_SRC(in.code) == BPF_X && last_pass && in.off == 0) {
            if (s.kind != Val::Kind::Const)
                violation(Rule::Division, i, "division by R" + std::to_string(in.src_reg) +
                                                 ", which is not a constant the checker can prove; the NFP "
                                                 "divides only by constants the verifier knows (load the "
                                                 "divisor with mov or ld_imm64)");
            else if (s.v < 0 || s.v > 0xffffffffLL)
                violation(Rule::Division, i, "division by " + std::to_string(s.v) +
                                                 "; the NFP divides by unsigned 32-bit constants only");
        }
        if ((op == BPF_DIV || op == BPF_MUL) && wide && last_pass && in.off == 0 && d.kind != Val::Kind::Const)
            note(i, std::string(op == BPF_DIV ? "dividend" : "multiplicand") + " R" + std::to_string(in.dst_reg) +
                        " is not a constant: the NFP needs it below 2^32, which the driver checks at load");
        if (op == BPF_MOV) {
            if (in.off != 0) d = Val::unknown();
            else if (wide) d = s;
            else d = s.kind == Val::Kind::Const ? Val::constant(static_cast<uint32_t>(s.v)) : Val::unknown();
            return;
        }
        if (op == BPF_END || op == BPF_NEG) {
            if (op == BPF_NEG && d.kind == Val::Kind::Const) d.v = wide ? -d.v : static_cast<uint32_t>(-d.v);
            else d = Val::unknown();
            return;
        }
        if (d.kind == Val::Kind::Const && s.kind == Val::Kind::Const) {
            uint64_t a = static_cast<uint64_t>(d.v), b = static_cast<uint64_t>(s.v), out = 0;
            if (!wide) {
                a = static_cast<uint32_t>(a);
                b = static_cast<uint32_t>(b);
            }
            const unsigned shift_mask = wide ? 63 : 31;
            switch (op) {
                case BPF_ADD: out = a + b; break;
                case BPF_SUB: out = a - b; break;
                case BPF_MUL: out = a * b; break;
                case BPF_DIV: out = b ? a / b : 0; break;
                case BPF_MOD: out = b ? a % b : a; break;
                case BPF_OR: out = a | b; break;
                case BPF_AND: out = a & b; break;
                case BPF_XOR: out = a ^ b; break;
                case BPF_LSH: out = a << (b & shift_mask); break;
                case BPF_RSH: out = a >> (b & shift_mask); break;
                case BPF_ARSH:
                    out = wide ? static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63))
                               : static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31));
                    break;
                default: d = Val::unknown(); return;
            }
            d = Val::constant(static_cast<int64_t>(wide ? out : static_cast<uint32_t>(out)));
            return;
        }
        const bool pointer = d.kind == Val::Kind::Stack || d.kind == Val::Kind::MapValue ||
                             d.kind == Val::Kind::MapValueVar || d.kind == Val::Kind::Ctx;
        if (pointer && wide && (op == BPF_ADD || op == BPF_SUB)) {
            if (s.kind == Val::Kind::Const) {
                if (d.kind != Val::Kind::MapValueVar) d.v += op == BPF_ADD ? s.v : -s.v;
            } else if (d.kind == Val::Kind::MapValue) {
                d = {Val::Kind::MapValueVar, 0, d.map};
            } else {
                d = Val::unknown();
            }
            return;
        }
        d = Val::unknown();
    }

    void check_exit(uint32_t i, const Val& r0) {
        if (r0.kind == Val::Kind::Const) {
            if (r0.v < 0 || r0.v > profile_.max_return_code) {
                std::string what = r0.v == XDP_REDIRECT ? "XDP_REDIRECT (4)" : std::to_string(r0.v);
                violation(Rule::ReturnCode, i, "the program returns " + what +
                                                   "; the NFP implements XDP_ABORTED, XDP_DROP, XDP_PASS and "
                                                   "XDP_TX (0-3) and aborts the packet on anything else");
            }
            return;
        }
        if (!exit_notes_.insert(i).second) return;
        note(i, "cannot prove the return code: R0 is not a constant on every path to this exit (the checker "
                "follows constants through mov, ld_imm64 and ALU on constants); a value above 3 aborts the "
                "packet on the NFP");
    }

    // Runs the interpretation to a fixpoint over functions (call-site states flow into callees),
    // then once more with reporting on.
    void analyse() {
        Regs entry{};
        entry[1] = {Val::Kind::Ctx, 0, 0};
        entry[10] = {Val::Kind::Stack, 0, 0};
        functions_[0].entry_regs = entry;
        for (int round = 0; round < 16; ++round) {
            callees_changed_ = false;
            for (size_t f = 0; f < functions_.size(); ++f)
                if (functions_[f].entry_regs) analyse_function(f, *functions_[f].entry_regs);
            if (!callees_changed_) break;
        }
        analysing_final_ = true;
        for (size_t f = 0; f < functions_.size(); ++f) {
            functions_[f].stack = 0;
            if (functions_[f].entry_regs) analyse_function(f, *functions_[f].entry_regs);
        }
    }

    uint32_t chain_stack(size_t f, int depth) const {
        if (depth > 16) return 0;
        uint32_t deepest = 0;
        for (size_t c : functions_[f].callees) deepest = std::max(deepest, chain_stack(c, depth + 1));
        return round_up(std::max<uint32_t>(functions_[f].stack, 1), profile_.stack_frame_align) + deepest;
    }

    void check_stack() {
        report_.stack_bytes = chain_stack(0, 0);
        if (report_.stack_bytes > profile_.max_stack_bytes)
            program_violation(Rule::Stack, "the deepest call chain uses " + std::to_string(report_.stack_bytes) +
                                               " bytes of stack (frames aligned to " +
                                               std::to_string(profile_.stack_frame_align) + " bytes); the " +
                                               profile_.name + " firmware offers " +
                                               std::to_string(profile_.max_stack_bytes));
    }

    struct WordUse {
        std::optional<uint32_t> read, atomic;
    };
    std::set<uint32_t> conflict_reported_;

    const bpf::Program& p_;
    const std::vector<Insn>& insns_;
    const std::vector<xdp::MapSpec>& maps_;
    const NfpProfile& profile_;
    CheckReport report_;
    std::vector<bool> starts_;
    std::vector<Function> functions_;
    std::map<uint32_t, uint32_t> map_at_;
    std::map<std::pair<uint32_t, uint32_t>, WordUse> uses_;
    std::set<uint32_t> exit_notes_;
    bool callees_changed_ = false;
    bool analysing_final_ = false;
};

}  // namespace

CheckReport check_program(const bpf::Program& program, const std::vector<xdp::MapSpec>& maps,
                          const NfpProfile& profile) {
    return Checker(program, maps, profile).run();
}

}  // namespace xfw::offload
