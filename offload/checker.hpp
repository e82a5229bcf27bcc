// The offload checker: holds a program and its maps against an NfpProfile and reports every
// violation with the instruction, where the instruction came from (the rule or policy, from
// the program's source spans) and why the NFP refuses it. Run on every offload compile and by
// `xfw check --target offload FILE.o`, so a program the card would refuse never reaches the
// kernel.
//
// Pointer and constant facts come from a small abstract interpretation of the registers
// (constants through mov/ld_imm64 and ALU on constants, map pointers, map value pointers with
// constant offsets, the stack). What it cannot prove is reported as a note, not a violation:
// the NFP driver checks those cases itself at load time with the kernel verifier's ranges.
#pragma once

#include "offload/nfp_profile.hpp"
#include "xdp/emitter.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xfw::offload {

// The profile rule a violation breaks; `rule_name` gives its stable spelling.
enum class Rule : uint8_t {
    MapType,            // map kind other than ARRAY/HASH
    MapFlags,           // any map flag
    MapSize,            // key, value or element larger than the firmware's
    MapEntries,         // more entries than the device holds
    GlobalData,         // .data/.rodata/.bss or a direct map value load
    Helper,             // helper outside the allow-list
    TailCall,           // bpf_tail_call
    Kfunc,              // kernel function call
    Callback,           // ld_imm64 of a function (callbacks)
    Atomic,             // atomic other than 32/64-bit ADD without fetch
    AtomicTarget,       // atomic add not on a map value
    MapValueUse,        // a map value word both read plainly and updated atomically
    MapValueStore,      // plain store into a map value
    MapValueOffset,     // map value access at a variable offset
    Modulo,             // BPF_MOD
    Division,           // division by a value not known to be a constant, or a negative one
    Multiply,           // sign-extended 64-bit multiply by a negative constant
    CpuV4,              // may_goto, gotol, sdiv/smod, movsx, ldsx, bswap
    ByteSwapLe,         // BPF_END to little endian
    LegacyPacketLoad,   // LD_ABS/LD_IND (not for XDP)
    ReturnCode,         // R0 at exit outside 0..3
    Stack,              // stack deeper than the firmware's
    ProgramLength,      // more instructions than the limit
    Malformed,          // not a well-formed program (bad jump, truncated ld_imm64)
};
const char* rule_name(Rule rule);

struct Violation {
    Rule rule;
    std::optional<uint32_t> insn;  // instruction index; none for map- and program-wide rules
    std::string origin;            // "INPUT:3", "counter update", "" when unknown
    std::string reason;
};

struct Note {
    std::optional<uint32_t> insn;
    std::string origin;
    std::string text;
};

struct CheckReport {
    std::vector<Violation> violations;
    std::vector<Note> notes;  // what the checker could not prove (the driver checks at load)
    uint32_t instructions = 0;
    uint32_t stack_bytes = 0;  // deepest call chain, frames aligned as the NFP JIT aligns them

    bool ok() const { return violations.empty(); }
    // Every violation and note on its own line:
    //   "instruction 57 (INPUT:3): no-modulo: BPF_MOD ..."
    std::string format() const;
};

// Checks `program` whose map index i is `maps[i]`.
CheckReport check_program(const bpf::Program& program, const std::vector<xdp::MapSpec>& maps,
                          const NfpProfile& profile);

}  // namespace xfw::offload
