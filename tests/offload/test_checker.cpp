// The offload checker: one program per profile rule that the NFP refuses (each must be
// reported with its rule, instruction and origin), and programs that must pass, including
// xfw's own offload-target programs.
#include "offload/checker.hpp"
#include "offload/lowering.hpp"
#include "xdp/codegen.hpp"
#include "xdp/emitter.hpp"
#include "xdp/insn.hpp"
#include "xdp/plan.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace xfw::offload {
namespace {

using namespace xfw::bpf;
using xdp::MapSpec;

MapSpec shared_counters(uint32_t entries = 16) { return xdp::counter_map_spec(entries, xdp::CounterMode::SharedAtomic); }

// A program: `body` emitted under origin "INPUT:1" between a prologue and `r0 = ret; exit`.
Program build(const std::function<void(Emitter&)>& body, int32_t ret = XDP_PASS) {
    Emitter e;
    e.set_origin("parser");
    e.emit(mov64_imm(R9, 64));
    e.set_origin("INPUT:1");
    body(e);
    e.set_origin("policy");
    e.emit(mov64_imm(R0, ret));
    e.emit(exit_insn());
    auto p = e.finish();
    EXPECT_TRUE(p.ok());
    return std::move(p).value();
}

// Looks up key 0 of map 0 and leaves the value pointer in R0 (jumps to `out` when null).
void lookup(Emitter& e, Label out) {
    e.emit(st_imm(BPF_W, R10, -4, 0));
    e.load_map(R1, 0);
    e.emit(mov64_reg(R2, R10));
    e.emit(alu64_imm(BPF_ADD, R2, -4));
    e.emit(call_helper(BPF_FUNC_map_lookup_elem));
    e.jump_if_imm(BPF_JEQ, R0, 0, out);
}

// A counter increment as the NFP wants it: atomic adds into a shared ARRAY value.
void atomic_count(Emitter& e) {
    Label out = e.new_label();
    lookup(e, out);
    e.emit(mov64_imm(R1, 1));
    e.emit(atomic_add(BPF_DW, R0, R1, 0));
    e.emit(atomic_add(BPF_DW, R0, R9, 8));
    e.bind(out);
}

// The single violation of `rule` (and no other violation) with an instruction in "INPUT:1".
void expect_only(const CheckReport& r, Rule rule, const std::string& reason_part, bool has_insn = true) {
    ASSERT_EQ(r.violations.size(), 1u) << r.format();
    const Violation& v = r.violations[0];
    EXPECT_EQ(v.rule, rule) << r.format();
    EXPECT_NE(v.reason.find(reason_part), std::string::npos) << r.format();
    if (has_insn) {
        ASSERT_TRUE(v.insn.has_value());
        EXPECT_EQ(v.origin, "INPUT:1") << r.format();
        EXPECT_NE(r.format().find("instruction " + std::to_string(*v.insn) + " (INPUT:1): " + rule_name(rule)),
                  std::string::npos)
            << r.format();
    }
}

CheckReport check(const Program& p, std::vector<MapSpec> maps = {shared_counters()}) {
    return check_program(p, maps, nfp_profile());
}

// ---- programs that must pass ----

TEST(OffloadChecker, CounterWithAtomicAddsPasses) {
    auto r = check(build(atomic_count));
    EXPECT_TRUE(r.ok()) << r.format();
    EXPECT_TRUE(r.notes.empty()) << r.format();
    EXPECT_EQ(r.stack_bytes, 64u);  // one frame, aligned to 64 bytes
}

TEST(OffloadChecker, AllowedInstructionsPass) {
    auto r = check(build([](Emitter& e) {
        e.emit(mov64_imm(R1, 100));
        e.emit(alu64_imm(BPF_DIV, R1, 7));             // divide by a constant
        e.emit(mov64_imm(R2, 3));
        e.emit(alu64_reg(BPF_DIV, R1, R2));            // by a register holding a known constant
        e.emit(alu32_imm(BPF_AND, R1, 0xff));
        e.emit(to_be(R1, 16));                         // byte swap to big endian
        e.emit(alu64_imm(BPF_LSH, R1, 3));
        e.emit(call_helper(BPF_FUNC_get_prandom_u32));
        e.emit(stx(BPF_DW, R10, R0, -16));
    }));
    EXPECT_TRUE(r.ok()) << r.format();
}

TEST(OffloadChecker, BpfToBpfCallsPassAndStackAddsUp) {
    Emitter e;
    Label sub = e.new_label();
    e.set_origin("INPUT:1");
    e.emit(st_imm(BPF_DW, R10, -8, 0));
    e.call(sub);
    e.emit(mov64_imm(R0, XDP_DROP));
    e.emit(exit_insn());
    e.bind(sub);
    e.emit(st_imm(BPF_DW, R10, -72, 0));  // 72 bytes: two 64-byte frames' worth
    e.emit(mov64_imm(R0, 0));
    e.emit(exit_insn());
    auto r = check(std::move(e.finish()).value());
    EXPECT_TRUE(r.ok()) << r.format();
    EXPECT_EQ(r.stack_bytes, 64u + 128u);
}

TEST(OffloadChecker, XfwOffloadProgramsPass) {
    // The code generator's own output for the offload target: parser, rules, shared atomic counters.
    xdp::Plan plan;
    plan.counter_slots = 12;
    xdp::Step rule;
    rule.tests.push_back(xdp::TestProtocol{6, false});
    rule.tests.push_back(xdp::TestPorts{6, xdp::TestPorts::Which::Destination, {{22, 22}}, false});
    rule.counter = 8;
    rule.on_match = {xdp::Action::Kind::Drop, 0};
    rule.on_miss = 1;
    rule.origin = "INPUT:1";
    xdp::Step policy;
    policy.counter = xdp::kSlotPolicyInput;
    policy.on_match = {xdp::Action::Kind::Pass, 0};
    policy.origin = "INPUT policy";
    plan.steps = {rule, policy};
    auto nfp = generate_for_offload(plan, nfp_profile());
    ASSERT_TRUE(nfp.ok()) << nfp.error().message;
    EXPECT_TRUE(nfp->report.ok());
    EXPECT_EQ(nfp->generated.maps[0].type, BPF_MAP_TYPE_ARRAY);
    EXPECT_EQ(nfp->generated.maps[0].max_entries, 12u);
    EXPECT_EQ(nfp->options.counters_per_entry, 1u);
    // netdevsim holds 2 entries per map: the 12 slots are packed 6 to a value.
    auto nsim = generate_for_offload(plan, netdevsim_profile());
    ASSERT_TRUE(nsim.ok()) << nsim.error().message;
    EXPECT_EQ(nsim->generated.maps[0].max_entries, 2u);
    EXPECT_EQ(nsim->generated.maps[0].value_size, 6u * 16u);
    // The native program (per-CPU map, read-modify-write counters) is refused for the NFP.
    auto native = xdp::generate(plan, xdp::CodegenOptions{});
    ASSERT_TRUE(native.ok());
    auto r = check_program(native->program, native->maps, nfp_profile());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.format().find("map-type: map xfw_counters (PERCPU_ARRAY)"), std::string::npos) << r.format();
    EXPECT_NE(r.format().find("no-map-value-store"), std::string::npos) << r.format();
}

TEST(OffloadChecker, NfpValueSizeLimitsPacking) {
    // 65 slots on a 2-entry device would need 33 slots (528 bytes) per value: over the NFP's 64.
    NfpProfile tight = nfp_profile();
    tight.max_map_entries = 2;
    auto options = codegen_options(65, tight);
    ASSERT_FALSE(options.ok());
    EXPECT_NE(options.error().message.find("65 counter slots"), std::string::npos) << options.error().message;
    EXPECT_EQ(options.error().exit_code, 2);
}

// ---- one program per rule that must be refused ----

TEST(OffloadChecker, RefusesPerCpuMaps) {
    auto r = check(build(atomic_count), {xdp::counter_map_spec(16, xdp::CounterMode::PerCpu)});
    expect_only(r, Rule::MapType, "no per-CPU storage", false);
}

TEST(OffloadChecker, RefusesLpmLruAndProgArrayMaps) {
    for (auto type : {BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PROG_ARRAY}) {
        MapSpec m{"m", type, 8, 8, 16, type == BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0u};
        auto r = check(build([](Emitter&) {}), {m});
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.violations[0].rule, Rule::MapType) << r.format();
    }
}

TEST(OffloadChecker, RefusesMapFlags) {
    MapSpec m = shared_counters();
    m.flags = BPF_F_RDONLY_PROG;
    expect_only(check(build(atomic_count), {m}), Rule::MapFlags, "offloaded maps take no flags", false);
}

TEST(OffloadChecker, RefusesLargeKeysAndValues) {
    MapSpec m{"big", BPF_MAP_TYPE_HASH, 4, 200, 16, 0};
    expect_only(check(build([](Emitter&) {}), {m}), Rule::MapSize, "value of 200 bytes", false);
    MapSpec k{"bigkey", BPF_MAP_TYPE_HASH, 80, 8, 16, 0};
    expect_only(check(build([](Emitter&) {}), {k}), Rule::MapSize, "key of 80 bytes", false);
}

TEST(OffloadChecker, RefusesMoreEntriesThanTheDeviceHolds) {
    auto r = check_program(build(atomic_count), {shared_counters(3)}, netdevsim_profile());
    expect_only(r, Rule::MapEntries, "holds at most 2", false);
}

TEST(OffloadChecker, RefusesGlobalData) {
    Program p = build([](Emitter& e) {
        e.emit(make(BPF_LD | BPF_DW | BPF_IMM, R1, BPF_PSEUDO_MAP_VALUE, 0, 0));
        e.emit(make(0, 0, 0, 0, 0));
    });
    expect_only(check(p), Rule::GlobalData, "global data");
    auto r = check(build([](Emitter&) {}), {MapSpec{"xfw.rodata", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0}});
    expect_only(r, Rule::GlobalData, ".rodata", false);
}

TEST(OffloadChecker, RefusesHelpersOutsideTheAllowList) {
    expect_only(check(build([](Emitter& e) { e.emit(call_helper(BPF_FUNC_ktime_get_ns)); })), Rule::Helper,
                "bpf_ktime_get_ns is not available");
    expect_only(check(build([](Emitter& e) { e.emit(call_helper(BPF_FUNC_redirect)); })), Rule::Helper,
                "bpf_redirect");
}

TEST(OffloadChecker, RefusesTailCalls) {
    expect_only(check(build([](Emitter& e) { e.emit(call_helper(BPF_FUNC_tail_call)); })), Rule::TailCall,
                "no tail calls");
}

TEST(OffloadChecker, RefusesKfuncCalls) {
    expect_only(check(build([](Emitter& e) { e.emit(make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 77)); })),
                Rule::Kfunc, "kfunc");
}

TEST(OffloadChecker, RefusesAtomicsOtherThanAdd) {
    for (int32_t op : {BPF_ADD | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG, BPF_OR}) {
        auto r = check(build([op](Emitter& e) {
            Label out = e.new_label();
            lookup(e, out);
            e.emit(mov64_imm(R1, 1));
            e.emit(make(BPF_STX | BPF_DW | BPF_ATOMIC, R0, R1, 0, op));
            e.bind(out);
        }));
        expect_only(r, Rule::Atomic, "only atomic ADD without fetch");
    }
    auto small = check(build([](Emitter& e) {
        Label out = e.new_label();
        lookup(e, out);
        e.emit(mov64_imm(R1, 1));
        e.emit(make(BPF_STX | BPF_H | BPF_ATOMIC, R0, R1, 0, BPF_ADD));
        e.bind(out);
    }));
    expect_only(small, Rule::Atomic, "32 or 64 bits");
}

TEST(OffloadChecker, RefusesAtomicAddOnTheStack) {
    auto r = check(build([](Emitter& e) {
        e.emit(st_imm(BPF_DW, R10, -8, 0));
        e.emit(mov64_imm(R1, 1));
        e.emit(atomic_add(BPF_DW, R10, R1, -8));
    }));
    expect_only(r, Rule::AtomicTarget, "only to map values");
}

TEST(OffloadChecker, RefusesReadingAnAtomicCounter) {
    auto r = check(build([](Emitter& e) {
        Label out = e.new_label();
        lookup(e, out);
        e.emit(mov64_imm(R1, 1));
        e.emit(atomic_add(BPF_DW, R0, R1, 0));
        e.emit(ldx(BPF_DW, R2, R0, 0));  // reads the counter it updates atomically
        e.bind(out);
    }));
    expect_only(r, Rule::MapValueUse, "either read or updated atomically");
}

TEST(OffloadChecker, RefusesPlainStoresIntoMapValues) {
    auto r = check(build([](Emitter& e) {
        Label out = e.new_label();
        lookup(e, out);
        e.emit(st_imm(BPF_DW, R0, 8, 1));
        e.bind(out);
    }));
    expect_only(r, Rule::MapValueStore, "does not write map values");
}

TEST(OffloadChecker, RefusesVariableMapValueOffsets) {
    auto r = check(build([](Emitter& e) {
        Label out = e.new_label();
        e.emit(ldx(BPF_W, R3, R1, 0));  // unknown scalar from the context
        lookup(e, out);
        e.emit(alu64_imm(BPF_AND, R3, 8));
        e.emit(alu64_reg(BPF_ADD, R0, R3));
        e.emit(mov64_imm(R1, 1));
        e.emit(atomic_add(BPF_DW, R0, R1, 0));
        e.bind(out);
    }));
    expect_only(r, Rule::MapValueOffset, "constant offsets");
}

TEST(OffloadChecker, RefusesModulo) {
    expect_only(check(build([](Emitter& e) { e.emit(alu64_imm(BPF_MOD, R9, 10)); })), Rule::Modulo, "no modulo");
}

TEST(OffloadChecker, RefusesDivisionByAnUnknownValue) {
    auto r = check(build([](Emitter& e) {
        e.emit(ldx(BPF_W, R2, R1, 0));
        e.emit(alu64_reg(BPF_DIV, R9, R2));
    }));
    expect_only(r, Rule::Division, "not a constant");
    expect_only(check(build([](Emitter& e) { e.emit(alu32_imm(BPF_DIV, R9, -4)); })), Rule::Division,
                "negative constant");
}

TEST(OffloadChecker, RefusesNegativeSignExtendedMultiply) {
    expect_only(check(build([](Emitter& e) { e.emit(alu64_imm(BPF_MUL, R9, -3)); })), Rule::Multiply,
                "negative");
}

TEST(OffloadChecker, RefusesCpuV4Instructions) {
    const std::vector<std::pair<Insn, std::string>> v4 = {
        {make(BPF_JMP | 0xe0, 0, 0, 0, 0), "may_goto"},
        {make(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), "gotol"},
        {make(BPF_ALU64 | BPF_DIV | BPF_K, R9, 0, 1, 3), "sdiv"},
        {make(BPF_ALU64 | BPF_MOV | BPF_X, R2, R9, 8, 0), "movsx"},
        {make(BPF_LDX | 0x80 | BPF_W, R2, R10, -8, 0), "ldsx"},
        {make(BPF_ALU64 | BPF_END | BPF_TO_LE, R9, 0, 0, 32), "bswap"},
    };
    for (const auto& [insn, name] : v4) {
        auto r = check(build([&insn](Emitter& e) {
            e.emit(st_imm(BPF_DW, R10, -8, 0));
            e.emit(insn);
        }));
        expect_only(r, Rule::CpuV4, name);
    }
    expect_only(check(build([](Emitter& e) { e.emit(make(BPF_ALU64 | BPF_MOD | BPF_K, R9, 0, 1, 3)); })),
                Rule::Modulo, "smod");
}

TEST(OffloadChecker, RefusesByteSwapToLittleEndian) {
    expect_only(check(build([](Emitter& e) { e.emit(make(BPF_ALU | BPF_END | BPF_TO_LE, R9, 0, 0, 16)); })),
                Rule::ByteSwapLe, "little endian");
}

TEST(OffloadChecker, RefusesLegacyPacketLoads) {
    expect_only(check(build([](Emitter& e) { e.emit(make(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 12)); })),
                Rule::LegacyPacketLoad, "LD_ABS");
}

TEST(OffloadChecker, RefusesRedirectAndOtherReturnCodes) {
    auto r = check(build([](Emitter&) {}, XDP_REDIRECT));
    ASSERT_EQ(r.violations.size(), 1u) << r.format();
    EXPECT_EQ(r.violations[0].rule, Rule::ReturnCode);
    EXPECT_NE(r.violations[0].reason.find("XDP_REDIRECT"), std::string::npos);
    EXPECT_EQ(r.violations[0].origin, "policy");
    // A constant computed through ALU is followed too.
    auto computed = check(build([](Emitter& e) {
        e.emit(mov64_imm(R0, 2));
        e.emit(alu64_imm(BPF_LSH, R0, 2));
        e.emit(exit_insn());
    }));
    ASSERT_EQ(computed.violations.size(), 1u) << computed.format();
    EXPECT_NE(computed.violations[0].reason.find("returns 8"), std::string::npos);
}

TEST(OffloadChecker, SaysWhatItCannotProveAboutReturnCodes) {
    auto r = check(build([](Emitter& e) {
        e.emit(ldx(BPF_W, R0, R1, 0));
        e.emit(exit_insn());
    }));
    EXPECT_TRUE(r.ok()) << r.format();
    ASSERT_EQ(r.notes.size(), 1u) << r.format();
    EXPECT_NE(r.notes[0].text.find("cannot prove the return code"), std::string::npos);
    EXPECT_EQ(r.notes[0].origin, "INPUT:1");
}

TEST(OffloadChecker, RefusesDeepStacks) {
    NfpProfile small = nfp_profile();
    small.max_stack_bytes = 128;
    auto r = check_program(build([](Emitter& e) { e.emit(st_imm(BPF_DW, R10, -200, 0)); }), {shared_counters()}, small);
    expect_only(r, Rule::Stack, "256 bytes of stack", false);
}

TEST(OffloadChecker, RefusesLongPrograms) {
    NfpProfile small = nfp_profile();
    small.max_instructions = 10;
    auto r = check_program(build([](Emitter& e) {
        for (int i = 0; i < 20; ++i) e.emit(mov64_imm(R2, i));
    }), {shared_counters()}, small);
    expect_only(r, Rule::ProgramLength, "allows 10", false);
}

TEST(OffloadChecker, ReportsEveryViolation) {
    auto r = check(build([](Emitter& e) {
        e.emit(alu64_imm(BPF_MOD, R9, 10));
        e.emit(call_helper(BPF_FUNC_tail_call));
    }, XDP_REDIRECT), {xdp::counter_map_spec(16, xdp::CounterMode::PerCpu)});
    EXPECT_EQ(r.violations.size(), 4u) << r.format();
}

}  // namespace
}  // namespace xfw::offload
