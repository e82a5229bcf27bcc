// Emitter: label binding, jump patching, map relocations, unreachable-code removal.
#include "xdp/emitter.hpp"

#include <gtest/gtest.h>

namespace xfw::bpf {
namespace {

TEST(Emitter, PatchesForwardAndBackwardJumps) {
    Emitter e;
    Label top = e.new_label(), end = e.new_label();
    e.bind(top);
    e.emit(mov64_imm(R0, 0));                        // 0
    e.jump_if_imm(BPF_JEQ, R1, 5, end);              // 1 -> 4
    e.emit(alu64_imm(BPF_ADD, R0, 1));               // 2
    e.jump(top);                                     // 3 -> 0
    e.bind(end);
    e.emit(exit_insn());                             // 4
    auto p = e.finish();
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_EQ(p->insns.size(), 5u);
    EXPECT_EQ(p->insns[1].off, 2);
    EXPECT_EQ(p->insns[3].off, -4);
    EXPECT_EQ(p->insns[1].code, BPF_JMP | BPF_JEQ | BPF_K);
    EXPECT_EQ(p->insns[1].imm, 5);
}

TEST(Emitter, Jump32UsesTheJmp32Class) {
    Emitter e;
    Label l = e.new_label();
    e.jump_if_imm(BPF_JNE, R1, 7, l, /*wide=*/false);
    e.bind(l);
    e.emit(exit_insn());
    auto p = e.finish();
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->insns[0].code, BPF_JMP32 | BPF_JNE | BPF_K);
}

TEST(Emitter, UnboundLabelIsAnError) {
    Emitter e;
    Label never = e.new_label();
    e.jump(never);
    e.emit(exit_insn());
    EXPECT_FALSE(e.finish().ok());
}

TEST(Emitter, RecordsMapRelocationsAndImm64) {
    Emitter e;
    e.emit(mov64_imm(R0, 0));
    e.load_map(R1, 3);
    e.load_imm64(R2, 0x1122334455667788ull);
    e.emit(exit_insn());
    auto p = e.finish();
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->map_relocations.size(), 1u);
    EXPECT_EQ(p->map_relocations[0].insn_index, 1u);
    EXPECT_EQ(p->map_relocations[0].map_index, 3u);
    EXPECT_EQ(p->insns[1].src_reg, BPF_PSEUDO_MAP_FD);
    EXPECT_EQ(static_cast<uint32_t>(p->insns[3].imm), 0x55667788u);
    EXPECT_EQ(static_cast<uint32_t>(p->insns[4].imm), 0x11223344u);
}

TEST(Emitter, RemovesUnreachableCodeAndRetargets) {
    Emitter e;
    Label out = e.new_label();
    e.set_origin("a");
    e.jump_if_imm(BPF_JEQ, R1, 1, out);  // 0
    e.emit(mov64_imm(R0, 1));            // 1
    e.emit(exit_insn());                 // 2
    e.set_origin("dead");
    e.emit(mov64_imm(R0, 9));            // 3: unreachable
    e.load_map(R1, 0);                   // 4,5: unreachable
    e.set_origin("b");
    e.bind(out);
    e.load_map(R1, 0);                   // 6,7
    e.emit(mov64_imm(R0, 2));            // 8
    e.emit(exit_insn());                 // 9
    auto p = e.finish();
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->insns.size(), 7u);
    EXPECT_EQ(p->insns[0].off, 2);  // now jumps over mov+exit to the ld_imm64
    // The dead load's relocation is gone, not moved onto the next live instruction.
    ASSERT_EQ(p->map_relocations.size(), 1u);
    EXPECT_EQ(p->map_relocations[0].insn_index, 3u);
    EXPECT_EQ(p->origin_of(0), "a");
    EXPECT_EQ(p->origin_of(3), "b");
    EXPECT_EQ(p->insns[5].imm, 2);
}

TEST(Emitter, JumpTooFarIsReported) {
    Emitter e;
    Label far = e.new_label();
    e.jump_if_imm(BPF_JEQ, R1, 0, far);
    for (int i = 0; i < 40000; ++i) e.emit(mov64_imm(R0, 0));
    e.bind(far);
    e.emit(exit_insn());
    auto p = e.finish();
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("program too large"), std::string::npos);
}

}  // namespace
}  // namespace xfw::bpf
