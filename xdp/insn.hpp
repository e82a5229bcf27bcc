// Constructors for single eBPF instructions, in the spirit of the kernel's filter.h macros,
// as constexpr functions so they type-check and can be used in tables.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace xfw::bpf {

using Insn = struct bpf_insn;

// Registers, named for the eBPF calling convention.
enum Reg : uint8_t { R0 = 0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

constexpr Insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    Insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// ALU
constexpr Insn alu64_reg(uint8_t op, Reg dst, Reg src) { return make(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
constexpr Insn alu64_imm(uint8_t op, Reg dst, int32_t imm) { return make(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
constexpr Insn alu32_reg(uint8_t op, Reg dst, Reg src) { return make(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
constexpr Insn alu32_imm(uint8_t op, Reg dst, int32_t imm) { return make(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
constexpr Insn mov64_reg(Reg dst, Reg src) { return alu64_reg(BPF_MOV, dst, src); }
constexpr Insn mov64_imm(Reg dst, int32_t imm) { return alu64_imm(BPF_MOV, dst, imm); }
constexpr Insn mov32_reg(Reg dst, Reg src) { return alu32_reg(BPF_MOV, dst, src); }
constexpr Insn mov32_imm(Reg dst, int32_t imm) { return alu32_imm(BPF_MOV, dst, imm); }
// Byte swap to big endian (network order) of the low `bits` bits; on x86 this is a swap.
constexpr Insn to_be(Reg dst, int32_t bits) { return make(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, bits); }

// Memory
constexpr Insn ldx(uint8_t size, Reg dst, Reg src, int16_t off) { return make(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
constexpr Insn stx(uint8_t size, Reg dst, Reg src, int16_t off) { return make(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
constexpr Insn st_imm(uint8_t size, Reg dst, int16_t off, int32_t imm) { return make(BPF_ST | size | BPF_MEM, dst, 0, off, imm); }
// Atomic add without fetch (the only atomic the NFP offload accepts).
constexpr Insn atomic_add(uint8_t size, Reg dst, Reg src, int16_t off) { return make(BPF_STX | size | BPF_ATOMIC, dst, src, off, BPF_ADD); }

// Control flow; jump offsets are patched by the Emitter.
constexpr Insn call_helper(int32_t helper) { return make(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
constexpr Insn exit_insn() { return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

}  // namespace xfw::bpf
