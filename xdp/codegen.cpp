// Code generation for a Plan. Each step becomes: its tests (each jumps to the miss target on
// failure), a counter update, and its action. Tests read only the stack metadata that the
// parser prologue filled in (see packet_meta.hpp).
#include "xdp/codegen.hpp"

#include "xdp/classifier_keys.hpp"
#include "xdp/packet_meta.hpp"
#include "xdp/packet_parser.hpp"

#include <linux/in.h>
#include <linux/in6.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>

namespace xfw::xdp {

using namespace bpf;

MapSpec counter_map_spec(uint32_t slots, CounterMode mode, uint32_t slots_per_entry) {
    MapSpec spec;
    spec.name = kCounterMapName;
    spec.type = mode == CounterMode::PerCpu ? BPF_MAP_TYPE_PERCPU_ARRAY : BPF_MAP_TYPE_ARRAY;
    spec.key_size = 4;
    const uint32_t per_entry = std::max<uint32_t>(slots_per_entry, 1);
    spec.value_size = static_cast<uint32_t>(sizeof(CounterValue)) * per_entry;
    spec.max_entries = (slots + per_entry - 1) / per_entry;
    return spec;
}

namespace {

// The verifier's limit on jumps recorded along one path is 8192; keep a margin.
constexpr uint32_t kMaxBranchesPerPath = 8000;

// Most conditional branches on any path from the entry to an exit (forward jumps only).
uint32_t longest_branch_path(const std::vector<Insn>& insns) {
    const size_t n = insns.size();
    std::vector<uint32_t> from(n + 2, 0);
    for (size_t k = n; k-- > 0;) {
        const Insn& insn = insns[k];
        const uint8_t cls = BPF_CLASS(insn.code), op = BPF_OP(insn.code);
        auto at = [&](int64_t i) { return i >= 0 && static_cast<size_t>(i) <= n ? from[i] : 0u; };
        if (insn.code == (BPF_LD | BPF_DW | BPF_IMM)) {
            from[k] = at(static_cast<int64_t>(k) + 2);
        } else if (cls != BPF_JMP && cls != BPF_JMP32) {
            from[k] = at(static_cast<int64_t>(k) + 1);
        } else if (op == BPF_EXIT) {
            from[k] = 0;
        } else if (op == BPF_CALL) {
            from[k] = at(static_cast<int64_t>(k) + 1);
        } else {
            const int64_t target = jump_target(insn, k);
            from[k] = op == BPF_JA ? at(target) : 1 + std::max(at(target), at(static_cast<int64_t>(k) + 1));
        }
    }
    return n ? from[0] : 0;
}

// The u32 the eBPF machine (little endian) loads from 4 network-order bytes.
int32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return static_cast<int32_t>(v);
}

struct Generator {
    Emitter e;
    const Plan& plan;
    const CodegenOptions& options;
    std::vector<Label> step_labels;

    Label count_subprogram = e.new_label();

    // Bumps counter `slot` by one packet and R9 bytes: a call to one shared counting
    // subprogram. Inlining the update at every rule would make the kernel inline its map
    // lookup at every rule too, and each of those rewrites costs the verifier a pass over the
    // whole program (1000 rules: 0.8 s instead of 0.1 s to load). Clobbers R0-R5.
    void count(uint32_t slot) {
        if (options.counters_per_entry > 1) return count_packed(slot);
        e.emit(mov64_imm(R1, static_cast<int32_t>(slot)));
        e.emit(mov64_reg(R2, R9));
        e.call(count_subprogram);
    }

    // Adds to the counter slot in `slot` a zero the verifier cannot prove is zero: the frame
    // length `len` shifted right by 16 (an XDP frame's linear part is under 64 KiB). Shared
    // counting code (the subprogram, a tree's count blocks) is reached with a different
    // constant slot from every rule; a constant map key makes the verifier mark it precise
    // and verify the shared code once per rule (10 000 tree rules: 560 000 instructions
    // processed for a 110 000-instruction program), an unknown one lets it prune after the
    // first. The lookup keeps its null check either way. Clobbers `scratch`.
    void hide_slot_from_verifier(Reg slot, Reg len, Reg scratch) {
        e.emit(mov64_reg(scratch, len));
        e.emit(alu64_imm(BPF_RSH, scratch, 16));
        e.emit(alu64_reg(BPF_ADD, slot, scratch));
    }

    // The counting subprogram: R1 = slot, R2 = bytes; the map key lives on its own stack.
    void emit_count_subprogram() {
        e.set_origin("counter update");
        e.bind(count_subprogram);
        hide_slot_from_verifier(R1, R2, R3);
        e.emit(stx(BPF_W, R10, R1, -8));
        e.emit(mov64_reg(R6, R2));
        emit_counter_update(R6, -8);
        e.emit(mov64_imm(R0, 0));
        e.emit(exit_insn());
    }

    // The same update in the main program: the key goes in the free slot at the top of the
    // metadata block's frame ([-8, -4)). Clobbers R0-R5.
    void count_inline(uint32_t slot) {
        if (options.counters_per_entry > 1) return count_packed(slot);
        e.emit(st_imm(BPF_W, R10, -8, static_cast<int32_t>(slot)));
        emit_counter_update(R9, -8);
    }

    // Looks up the key stored at R10+key_offset and adds one packet and `bytes` bytes.
    void emit_counter_update(Reg bytes, int16_t key_offset) {
        Label out = e.new_label();
        e.load_map(R1, kCounterMapIndex);
        e.emit(mov64_reg(R2, R10));
        e.emit(alu64_imm(BPF_ADD, R2, key_offset));
        e.emit(call_helper(BPF_FUNC_map_lookup_elem));
        e.jump_if_imm(BPF_JEQ, R0, 0, out);
        if (options.counters == CounterMode::PerCpu) {
            e.emit(ldx(BPF_DW, R1, R0, offsetof(CounterValue, packets)));
            e.emit(alu64_imm(BPF_ADD, R1, 1));
            e.emit(stx(BPF_DW, R0, R1, offsetof(CounterValue, packets)));
            e.emit(ldx(BPF_DW, R1, R0, offsetof(CounterValue, bytes)));
            e.emit(alu64_reg(BPF_ADD, R1, bytes));
            e.emit(stx(BPF_DW, R0, R1, offsetof(CounterValue, bytes)));
        } else {
            e.emit(mov64_imm(R1, 1));
            e.emit(atomic_add(BPF_DW, R0, R1, offsetof(CounterValue, packets)));
            e.emit(atomic_add(BPF_DW, R0, bytes, offsetof(CounterValue, bytes)));
        }
        e.bind(out);
    }

    // Packed counters (CodegenOptions::counters_per_entry > 1, shared map): the entry and the
    // offset inside its value are constants, so the update is inlined with atomic adds at
    // fixed offsets (the NFP needs constant map value offsets). Clobbers R0-R5.
    void count_packed(uint32_t slot) {
        const uint32_t per_entry = options.counters_per_entry;
        const int16_t base = static_cast<int16_t>((slot % per_entry) * sizeof(CounterValue));
        Label out = e.new_label();
        e.emit(st_imm(BPF_W, R10, -8, static_cast<int32_t>(slot / per_entry)));
        e.load_map(R1, kCounterMapIndex);
        e.emit(mov64_reg(R2, R10));
        e.emit(alu64_imm(BPF_ADD, R2, -8));
        e.emit(call_helper(BPF_FUNC_map_lookup_elem));
        e.jump_if_imm(BPF_JEQ, R0, 0, out);
        e.emit(mov64_imm(R1, 1));
        e.emit(atomic_add(BPF_DW, R0, R1, static_cast<int16_t>(base + offsetof(CounterValue, packets))));
        e.emit(atomic_add(BPF_DW, R0, R9, static_cast<int16_t>(base + offsetof(CounterValue, bytes))));
        e.bind(out);
    }

    std::vector<std::pair<Label, size_t>> cold_blocks;

    // Counter update and verdict (or jump) of step `i` once its tests passed. The last step
    // (the policy) counts inline: every packet that matches no rule ends there, and a single
    // inlined lookup costs the verifier one rewrite, not one per rule.
    // `next`: in a tree leaf, where the step's Goto (always to the next step) and a policy's
    // "continue" go instead: the leaf's next candidate.
    void emit_action(const Step& s, size_t i, std::optional<Label> next = std::nullopt) {
        if (s.counter == kCounterFromLookup) {
            count_found_slot();
        } else if (s.counter != kNoCounter) {
            if (i + 1 == plan.steps.size()) count_inline(s.counter);
            else count(s.counter);
        }
        switch (s.on_match.kind) {
            case Action::Kind::Pass: verdict(XDP_PASS); break;
            case Action::Kind::Drop: verdict(XDP_DROP); break;
            case Action::Kind::Goto:
                if (next) e.jump(*next);
                else if (s.on_match.target != i + 1) e.jump(step_labels[s.on_match.target]);
                break;
            case Action::Kind::Policy: policy_verdict(s, next ? *next : step_labels[s.on_miss]); break;
        }
    }

    // ---- Classification trees (Plan::trees) ----
    //
    // Inside a tree the packet's keys live in registers, not only in their stack slots: the
    // kernel's stack liveness analysis (Linux 6.18) makes a pass over the whole function each
    // time the verifier finishes a path that read a stack slot at an instruction no earlier
    // path reached. Every leaf of a tree is such a path, so key reads from the stack made
    // verification quadratic in the tree's size (10 000 rules: 45 s). Nodes and leaves
    // compare registers; the slots stay the backing store the registers are reloaded from
    // after a helper or subprogram call clobbered them.
    //
    // Key registers: R0, R2-R5, then R7 (callee-saved: the JIT saves it, one push per packet,
    // so only when more than ten keys are in use). Up to five keys get a register each (upper
    // half zero); beyond that the least-used keys share a register's upper half, extracted into
    // R1 for a compare. R1 stays scratch for every other test.

    static int16_t tree_key_slot(size_t key) { return static_cast<int16_t>(meta::kTreeKeys + 4 * key); }

    struct KeyHome {
        Reg reg = R1;
        bool high = false;  // bits 32-63 of reg
        bool used = false;
    };
    std::array<KeyHome, kTreeKeyCount> key_home{};

    // Writes key `key` of the packet to its slot, without branches (see classifier_keys.hpp).
    void emit_tree_key(TreeKey key) {
        const int16_t slot = tree_key_slot(static_cast<size_t>(key));
        switch (key) {
            case TreeKey::Family:
                e.emit(ldx(BPF_B, R1, R10, meta::kL3));
                break;
            case TreeKey::Protocol:
            case TreeKey::SourcePort:
            case TreeKey::DestinationPort: {
                const bool protocol = key == TreeKey::Protocol;
                e.emit(ldx(BPF_B, R2, R10, protocol ? meta::kProtoKnown : meta::kL4Ok));
                e.emit(alu32_imm(BPF_XOR, R2, 1));
                e.emit(alu32_imm(BPF_LSH, R2, protocol ? 8 : 16));
                if (protocol) e.emit(ldx(BPF_B, R1, R10, meta::kProto));
                else e.emit(ldx(BPF_W, R1, R10, key == TreeKey::SourcePort ? meta::kSport : meta::kDport));
                e.emit(alu32_reg(BPF_OR, R1, R2));
                break;
            }
            default: {
                const auto k = static_cast<int>(key);
                const bool source = key <= TreeKey::Source3;
                const int word = k - static_cast<int>(source ? TreeKey::Source0 : TreeKey::Destination0);
                e.emit(ldx(BPF_W, R1, R10, static_cast<int16_t>((source ? meta::kSrc : meta::kDst) + 4 * word)));
                e.emit(to_be(R1, 32));
                break;
            }
        }
        e.emit(stx(BPF_W, R10, R1, slot));
    }

    // Picks each used key's register from how many compares the tree makes on it (nodes, and
    // leaf entries whose rule restricts the key): the most compared keys get a register of
    // their own.
    void assign_key_registers(const std::array<size_t, kTreeKeyCount>& uses,
                              const std::array<bool, kTreeKeyCount>& used) {
        static constexpr std::array<Reg, 6> kKeyRegs{R0, R2, R3, R4, R5, R7};
        std::vector<size_t> keys;
        for (size_t k = 0; k < kTreeKeyCount; ++k)
            if (used[k]) keys.push_back(k);
        std::stable_sort(keys.begin(), keys.end(), [&](size_t a, size_t b) { return uses[a] > uses[b]; });
        const size_t regs = keys.size() <= 5 ? keys.size() : keys.size() <= 10 ? 5 : 6;
        key_home = {};
        for (size_t i = 0; i < keys.size(); ++i) {
            // Low halves in order of use; the upper halves go to the registers whose low key is
            // least used, so the registers in most compares stay one instruction per compare.
            const size_t reg = i < regs ? i : regs - 1 - (i - regs);
            key_home[keys[i]] = KeyHome{kKeyRegs[reg], i >= regs, true};
        }
    }

    // Loads every used key from its slot into its register.
    void load_key_registers() {
        for (size_t k = 0; k < kTreeKeyCount; ++k)
            if (key_home[k].used && !key_home[k].high) e.emit(ldx(BPF_W, key_home[k].reg, R10, tree_key_slot(k)));
        for (size_t k = 0; k < kTreeKeyCount; ++k) {
            if (!key_home[k].used || !key_home[k].high) continue;
            e.emit(ldx(BPF_W, R1, R10, tree_key_slot(k)));
            e.emit(alu64_imm(BPF_LSH, R1, 32));
            e.emit(alu64_reg(BPF_OR, key_home[k].reg, R1));
        }
    }

    // The register to compare key `key` in (32-bit compares): its own, or R1 holding it from
    // an upper half. `in_r1` is the key R1 holds (kTreeKeyCount: none); updated.
    Reg key_operand(size_t key, size_t& in_r1) {
        const KeyHome& home = key_home[key];
        if (!home.high) return home.reg;
        if (in_r1 != key) {
            e.emit(mov64_reg(R1, home.reg));
            e.emit(alu64_imm(BPF_RSH, R1, 32));
            in_r1 = key;
        }
        return R1;
    }

    // The tree of `tree` from `child` on; `region` is what the path so far knows of the keys,
    // `in_r1` the key R1 holds (kTreeKeyCount: none): a child is reached only through its
    // parent's compare, so it finds R1 as the parent left it.
    void emit_tree_child(const ClassifierTree& tree, int32_t child, const KeyBox& region, size_t in_r1, Label end) {
        if (child < 0) return emit_leaf(tree.leaves.at(static_cast<size_t>(~child)), region, end);
        const TreeNode& node = tree.nodes.at(static_cast<size_t>(child));
        const auto key = static_cast<TreeKey>(node.key);
        const Reg reg = key_operand(node.key, in_r1);
        Label at_or_above = e.new_label();
        e.jump_if_imm_far(BPF_JGE, reg, static_cast<int32_t>(node.threshold), at_or_above, /*wide=*/false);
        KeyBox below_region = region, above_region = region;
        below_region[key].hi = node.threshold - 1;
        above_region[key].lo = node.threshold;
        emit_tree_child(tree, node.below, below_region, in_r1, end);
        e.bind(at_or_above);
        emit_tree_child(tree, node.at_or_above, above_region, in_r1, end);
    }

    // Whether a leaf entry compares key `k`: its rule restricts the key where the leaf's region
    // does not already.
    static bool compares_key(const KeyBox& want, const KeyBox& region, size_t k) {
        const KeyRange w = want.range[k], r = region.range[k];
        return !(w.lo <= r.lo && r.hi <= w.hi);
    }

    // Falls through when every key lies in `want`; compares only what `region` leaves open.
    // A key that a later entry of the leaf compares again is compared in a copy in R1 that the
    // verifier does not link to its register (an ALU operation after the move): compares on the
    // register itself would narrow what the verifier knows of it differently on each way to
    // the next entry (this compare failed, that one did), so it could not prune and would walk
    // the rest of the leaf once per compare. Nodes compare the registers: what they narrow is
    // the leaf's region, the same on every way through the leaf.
    void emit_key_ranges(const KeyBox& want, const KeyBox& region, const std::array<bool, kTreeKeyCount>& later,
                         Label fail) {
        size_t in_r1 = kTreeKeyCount;
        for (size_t k = 0; k < kTreeKeyCount; ++k) {
            if (!compares_key(want, region, k)) continue;
            const KeyRange w = want.range[k], r = region.range[k];
            Reg reg = key_operand(k, in_r1);
            if (later[k] && reg != R1) {
                e.emit(mov32_reg(R1, reg));
                e.emit(alu32_imm(BPF_XOR, R1, 0));
                reg = R1;
            }
            if (w.lo == w.hi) {
                e.jump_if_imm(BPF_JNE, reg, static_cast<int32_t>(w.lo), fail, /*wide=*/false);
                continue;
            }
            if (w.lo > r.lo) e.jump_if_imm(BPF_JLT, reg, static_cast<int32_t>(w.lo), fail, false);
            if (w.hi < r.hi) e.jump_if_imm(BPF_JGT, reg, static_cast<int32_t>(w.hi), fail, false);
        }
    }

    // A leaf that decided with an ACCEPT or DROP step counts through one of two blocks shared
    // by every leaf (R1 = the slot): by plain jumps, not the counting subprogram, whose call
    // would clobber the key registers and cost each leaf a stack access of its own.
    std::optional<Label> tree_count_drop, tree_count_pass;
    void emit_leaf_verdict(const Step& s) {
        if (s.counter == kNoCounter) return verdict(s.on_match.kind == Action::Kind::Drop ? XDP_DROP : XDP_PASS);
        if (s.counter == kCounterFromLookup) e.emit(ldx(BPF_W, R1, R0, 0));
        else e.emit(mov64_imm(R1, static_cast<int32_t>(s.counter)));
        std::optional<Label>& block = s.on_match.kind == Action::Kind::Drop ? tree_count_drop : tree_count_pass;
        if (!block) block = e.new_label();
        e.jump_far(*block);
    }
    void emit_tree_count_blocks() {
        for (auto [block, action] : {std::pair{tree_count_drop, XDP_DROP}, std::pair{tree_count_pass, XDP_PASS}}) {
            if (!block) continue;
            e.set_origin("classifier tree counter update");
            e.bind(*block);
            hide_slot_from_verifier(R1, R9, R2);
            e.emit(stx(BPF_W, R10, R1, -8));
            emit_counter_update(R9, -8);
            verdict(action);
        }
    }

    // A test of a leaf's other tests that calls a helper or subprogram (clobbering R0-R5).
    static bool calls_out(const Test& t) {
        return std::holds_alternative<TestLookup>(t) || std::holds_alternative<TestPolicy>(t);
    }

    // A step's tests that are one exact box in key space become key compares; the rest are
    // emitted as in linear code.
    static void split_tests(const Step& s, KeyBox& want, std::vector<const Test*>& others) {
        want = universe_box();
        for (const Test& t : s.tests) {
            const TestBoxes tb = boxes_of(t);
            if (tb.exact && tb.boxes.size() == 1) want = intersection(want, tb.boxes[0]);
            else others.push_back(&t);
        }
    }

    // A leaf tries its steps in plan order. Key compares are emitted only where the leaf's
    // region leaves them open, the other tests only where the region does not imply them. A
    // step that calls out (a lookup, a policy, a counting rule that continues) leaves the key
    // registers to be reloaded where the next step starts. The leaf's way out (no step
    // decided) is one jump at its end: the tree's end may lie far beyond 16-bit offsets, and
    // only that jump needs to reach it.
    void emit_leaf(const std::vector<uint32_t>& steps, const KeyBox& region, Label end) {
        std::vector<KeyBox> wants(steps.size());
        std::vector<std::vector<const Test*>> other_tests(steps.size());
        for (size_t i = 0; i < steps.size(); ++i) split_tests(plan.steps.at(steps[i]), wants[i], other_tests[i]);
        // later[i][k]: an entry after entry i compares key k.
        std::vector<std::array<bool, kTreeKeyCount>> later(steps.size());
        for (size_t i = steps.size(); i-- > 1;)
            for (size_t k = 0; k < kTreeKeyCount; ++k)
                later[i - 1][k] = later[i][k] || compares_key(wants[i], region, k);
        for (size_t i = 0; i < steps.size(); ++i) {
            const uint32_t step = steps[i];
            const Step& s = plan.steps.at(step);
            Label next = e.new_label();
            e.set_origin(s.origin);
            const std::vector<const Test*>& others = other_tests[i];
            emit_key_ranges(wants[i], region, later[i], next);
            bool clobbers = false;
            for (const Test* t : others) {
                if (implied_by(*t, region)) continue;
                std::visit([&](const auto& test) { emit_test(test, next); }, *t);
                clobbers |= calls_out(*t);
            }
            const bool decides = s.on_match.kind == Action::Kind::Pass || s.on_match.kind == Action::Kind::Drop;
            if (decides) {
                emit_leaf_verdict(s);
            } else {
                emit_action(s, step, next);
                clobbers |= s.counter != kNoCounter || s.on_match.kind == Action::Kind::Policy;
            }
            e.bind(next);
            if (clobbers) load_key_registers();
        }
        e.jump_far(end);
    }

    void emit_tree(const ClassifierTree& tree) {
        e.set_origin("classifier tree over steps " + plan.steps[tree.first_step].origin + " to " +
                     plan.steps[tree.end_step - 1].origin);
        // The keys its nodes branch on and its leaves compare (emit_leaf), and how often.
        std::array<bool, kTreeKeyCount> used{};
        std::array<size_t, kTreeKeyCount> uses{};
        for (const TreeNode& n : tree.nodes) {
            used.at(n.key) = true;
            ++uses[n.key];
        }
        const KeyBox all = universe_box();
        std::vector<KeyBox> step_box(tree.end_step - tree.first_step, all);
        for (uint32_t i = tree.first_step; i < tree.end_step; ++i) {
            std::vector<const Test*> others;
            split_tests(plan.steps[i], step_box[i - tree.first_step], others);
        }
        for (const auto& leaf : tree.leaves)
            for (uint32_t i : leaf)
                for (size_t k = 0; k < kTreeKeyCount; ++k)
                    if (!(step_box[i - tree.first_step].range[k] == all.range[k])) ++uses[k];
        for (const KeyBox& box : step_box)
            for (size_t k = 0; k < kTreeKeyCount; ++k)
                if (!(box.range[k] == all.range[k])) used[k] = true;
        for (size_t k = 0; k < kTreeKeyCount; ++k)
            if (used[k]) emit_tree_key(static_cast<TreeKey>(k));
        assign_key_registers(uses, used);
        load_key_registers();
        emit_tree_child(tree, tree.nodes.empty() ? ~0 : 0, universe_box(), kTreeKeyCount, step_labels[tree.end_step]);
    }

    // ---- Policies (bpf-to-bpf subprograms emitted by their front end) ----

    std::vector<Label> policy_entries;  // per Plan::policies
    std::vector<Label> policy_traps;    // per policy: count the trap, drop the packet

    // Calls policy `index`; on return R0 holds its result (a trap has already left).
    void call_policy(uint32_t index) {
        e.emit(mov64_reg(R1, R6));
        e.call(policy_entries[index]);
        e.emit(mov64_reg(R1, R0));
        e.emit(alu64_imm(BPF_RSH, R1, 32));
        e.jump_if_imm(BPF_JNE, R1, 0, policy_traps[index]);
    }

    void emit_test(const TestPolicy& t, Label fail) {
        call_policy(t.policy);
        e.jump_if_imm(BPF_JEQ, R0, 0, fail, /*wide=*/false);
    }

    void policy_verdict(const Step& s, Label on_continue) {
        call_policy(s.on_match.target);
        Label drop = e.new_label(), pass = e.new_label(), aborted = e.new_label();
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictDrop, drop, false);
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictPass, pass, false);
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictAborted, aborted, false);
        e.jump_if_imm(BPF_JEQ, R0, static_cast<int32_t>(kPolicyVerdictContinue), on_continue, false);
        e.jump(policy_traps[s.on_match.target]);
        e.bind(drop);
        verdict(XDP_DROP);
        e.bind(pass);
        verdict(XDP_PASS);
        e.bind(aborted);
        verdict(XDP_ABORTED);
    }

    void emit_policy_traps() {
        for (size_t i = 0; i < plan.policies.size(); ++i) {
            e.set_origin(plan.policies[i].origin + " trap");
            e.bind(policy_traps[i]);
            if (plan.policies[i].trap_slot != kNoCounter) count(plan.policies[i].trap_slot);
            verdict(XDP_DROP);
        }
    }

    // Emits every policy's subprogram and returns the maps they use (after the counter map).
    Expected<std::vector<MapSpec>> emit_policies() {
        std::vector<MapSpec> maps;
        for (size_t i = 0; i < plan.policies.size(); ++i) {
            const PlanPolicy& p = plan.policies[i];
            if (!p.code) return runtime_error("internal: policy " + std::to_string(i) + " has no code");
            PolicyEmitContext context;
            context.first_map_index = static_cast<uint32_t>(1 + plan.maps.size() + maps.size());
            context.counters = options.counters;
            context.count_subprogram = count_subprogram;
            context.bucket_base_slot = p.bucket_base_slot;
            context.bucket_count = p.bucket_count;
            e.set_origin(p.origin);
            XFW_TRY(p.code->emit(e, policy_entries[i], context));
            for (MapSpec& m : p.code->maps()) maps.push_back(std::move(m));
        }
        return maps;
    }

    // ---- Map lookups (sets, map-backed rule groups) ----

    // Builds the key of `t` at meta::kLookupKey; jumps to `no_key` when the packet has none
    // (port keys without a TCP/UDP header).
    void build_lookup_key(const TestLookup& t, Label no_key, Label fail) {
        using Layout = LookupKey::Layout;
        const LookupKey& k = t.key;
        int16_t off = meta::kLookupKey;
        const int32_t address_bits = k.v6 ? 128 : 32;
        auto generation_word = [&] {
            if (!t.versioned) return;
            e.emit(ldx(BPF_W, R1, R10, meta::kGroupGeneration));
            e.emit(stx(BPF_W, R10, R1, off));
            off += 4;
        };
        if (k.layout == Layout::Port) {
            // A rule group over one port: the protocol is part of every rule, not of the key.
            l4_precondition(k.port_proto, fail);
            generation_word();
            e.emit(ldx(BPF_W, R1, R10, k.port == Direction::Source ? meta::kSport : meta::kDport));
            e.emit(stx(BPF_W, R10, R1, off));
            return;
        }
        if (k.layout == Layout::AddressPrefix || k.layout == Layout::ProtoPortAddressPrefix) {
            const int32_t bits = address_bits + (k.layout == Layout::ProtoPortAddressPrefix ? 32 : 0) +
                                 (t.versioned ? 32 : 0);
            e.emit(st_imm(BPF_W, R10, off, bits));
            off += 4;
        }
        generation_word();
        if (k.layout == Layout::ProtoPortAddress || k.layout == Layout::ProtoPortAddressPrefix) {
            Label port_proto = e.new_label();
            e.emit(ldx(BPF_B, R1, R10, meta::kL4Ok));
            e.jump_if_imm(BPF_JNE, R1, 1, no_key);
            e.emit(ldx(BPF_B, R2, R10, meta::kProto));
            e.jump_if_imm(BPF_JEQ, R2, IPPROTO_TCP, port_proto);
            e.jump_if_imm(BPF_JNE, R2, IPPROTO_UDP, no_key);
            e.bind(port_proto);
            // proto | 0 | port in network order, as one little-endian word.
            e.emit(ldx(BPF_W, R1, R10, k.port == Direction::Source ? meta::kSport : meta::kDport));
            e.emit(to_be(R1, 16));
            e.emit(alu64_imm(BPF_LSH, R1, 16));
            e.emit(alu64_reg(BPF_OR, R1, R2));
            e.emit(stx(BPF_W, R10, R1, off));
            off += 4;
        }
        const int16_t from = k.address == Direction::Source ? meta::kSrc : meta::kDst;
        for (int16_t word = 0; word < address_bits / 32; ++word) {
            e.emit(ldx(BPF_W, R1, R10, static_cast<int16_t>(from + 4 * word)));
            e.emit(stx(BPF_W, R10, R1, static_cast<int16_t>(off + 4 * word)));
        }
    }

    // Passes when the key is in the map (absent with `invert`); on a pass without `invert`,
    // R0 points to the entry's value.
    void emit_test(const TestLookup& t, Label fail) {
        if (t.key.layout != LookupKey::Layout::Port)
            require_u8(meta::kL3, t.key.v6 ? meta::kL3Ipv6 : meta::kL3Ipv4, fail);
        Label not_found = t.invert ? e.new_label() : fail;
        build_lookup_key(t, not_found, fail);
        e.load_map(R1, 1 + t.map);
        e.emit(mov64_reg(R2, R10));
        e.emit(alu64_imm(BPF_ADD, R2, meta::kLookupKey));
        e.emit(call_helper(BPF_FUNC_map_lookup_elem));
        if (!t.invert) {
            e.jump_if_imm(BPF_JEQ, R0, 0, fail);
            return;
        }
        e.jump_if_imm(BPF_JNE, R0, 0, fail);
        e.bind(not_found);
    }

    // Reads the group generation once, before any rule, so every lookup of the packet uses
    // the same one: a change switched between two lookups cannot judge it half old, half new.
    void load_group_generation() {
        Label store = e.new_label();
        e.emit(st_imm(BPF_W, R10, meta::kLookupKey, 0));
        e.load_map(R1, 1 + plan.generation_map);
        e.emit(mov64_reg(R2, R10));
        e.emit(alu64_imm(BPF_ADD, R2, meta::kLookupKey));
        e.emit(call_helper(BPF_FUNC_map_lookup_elem));
        e.emit(mov64_imm(R1, 0));
        e.jump_if_imm(BPF_JEQ, R0, 0, store);
        e.emit(ldx(BPF_W, R1, R0, 0));
        e.bind(store);
        e.emit(stx(BPF_W, R10, R1, meta::kGroupGeneration));
    }

    // A map-backed rule group matched: its lookup left R0 on the value, the rule's slot.
    void count_found_slot() {
        e.emit(ldx(BPF_W, R1, R0, 0));
        e.emit(mov64_reg(R2, R9));
        e.call(count_subprogram);
    }

    void verdict(uint32_t xdp_action) {
        e.emit(mov64_imm(R0, static_cast<int32_t>(xdp_action)));
        e.emit(exit_insn());
    }

    void require_u8(int16_t field, int32_t value, Label fail) {
        e.emit(ldx(BPF_B, R1, R10, field));
        e.jump_if_imm(BPF_JNE, R1, value, fail);
    }

    // A test with a precondition (jumps to `fail` when unmet, inverted or not) and a
    // condition; `emit_condition(on_false)` falls through when the condition holds.
    template <class Pre, class Cond>
    void test(bool invert, Label fail, Pre&& precondition, Cond&& emit_condition) {
        precondition();
        if (!invert) {
            emit_condition(fail);
            return;
        }
        Label holds_not = e.new_label();
        emit_condition(holds_not);
        e.jump(fail);
        e.bind(holds_not);
    }

    void emit_test(const TestFamily& t, Label fail) {
        require_u8(meta::kL3, t.v6 ? meta::kL3Ipv6 : meta::kL3Ipv4, fail);
    }

    void emit_test(const TestPrefix& t, Label fail) {
        const int16_t base = t.dir == Direction::Source ? meta::kSrc : meta::kDst;
        auto compare = [&](Label on_false) {
            int bits = t.prefix_len;
            for (int16_t word = 0; bits > 0; ++word, bits -= 32) {
                uint8_t net[4], mask[4];
                for (int i = 0; i < 4; ++i) {
                    int bit_index = std::min(std::max(bits - 8 * i, 0), 8);
                    mask[i] = static_cast<uint8_t>(0xff00 >> bit_index);
                    net[i] = t.net[word * 4 + i] & mask[i];
                }
                // Scratch R1, not a register kept across rules: on the path where the address
                // matched but the family did not, the verifier knows the value, and a register
                // that carried it into the next rule would split the verifier's states.
                e.emit(ldx(BPF_W, R1, R10, static_cast<int16_t>(base + 4 * word)));
                if (bits < 32) e.emit(alu32_imm(BPF_AND, R1, load_u32(mask)));
                e.jump_if_imm(BPF_JNE, R1, load_u32(net), on_false, /*wide=*/false);
            }
        };
        auto family = [&] { require_u8(meta::kL3, t.v6 ? meta::kL3Ipv6 : meta::kL3Ipv4, fail); };
        if (!t.invert) {
            // Most packets miss on the address: compare first, check the family after.
            compare(fail);
            family();
            return;
        }
        test(true, fail, family, compare);
    }

    void emit_test(const TestProtocol& t, Label fail) {
        test(t.invert, fail, [&] { require_u8(meta::kProtoKnown, 1, fail); },
             [&](Label on_false) {
                 e.emit(ldx(BPF_B, R1, R10, meta::kProto));
                 e.jump_if_imm(BPF_JNE, R1, t.proto, on_false);
             });
    }

    void l4_precondition(uint8_t proto, Label fail) {
        require_u8(meta::kL4Ok, 1, fail);
        require_u8(meta::kProto, proto, fail);
    }

    // Falls through when the port in R1 lies in one of `ranges`, else jumps to on_false.
    void port_in_ranges(Reg port, const std::vector<std::array<uint16_t, 2>>& ranges, Label on_false,
                        Label matched) {
        for (const auto& r : ranges) {
            if (r[0] == r[1]) {
                e.jump_if_imm(BPF_JEQ, port, r[0], matched);
                continue;
            }
            Label next = e.new_label();
            if (r[0] > 0) e.jump_if_imm(BPF_JLT, port, r[0], next);
            e.jump_if_imm(BPF_JLE, port, r[1], matched);
            e.bind(next);
        }
        e.jump(on_false);
    }

    void emit_test(const TestPorts& t, Label fail) {
        test(t.invert, fail, [&] { l4_precondition(t.proto, fail); },
             [&](Label on_false) {
                 Label matched = e.new_label();
                 if (t.which == TestPorts::Which::Either) {
                     Label try_dport = e.new_label();
                     e.emit(ldx(BPF_W, R1, R10, meta::kSport));
                     port_in_ranges(R1, t.ranges, try_dport, matched);
                     e.bind(try_dport);
                     e.emit(ldx(BPF_W, R1, R10, meta::kDport));
                     port_in_ranges(R1, t.ranges, on_false, matched);
                 } else {
                     e.emit(ldx(BPF_W, R1, R10,
                                t.which == TestPorts::Which::Source ? meta::kSport : meta::kDport));
                     port_in_ranges(R1, t.ranges, on_false, matched);
                 }
                 e.bind(matched);
             });
    }

    void emit_test(const TestTcpFlags& t, Label fail) {
        test(t.invert, fail, [&] { l4_precondition(IPPROTO_TCP, fail); },
             [&](Label on_false) {
                 e.emit(ldx(BPF_B, R1, R10, meta::kTcpFlags));
                 e.emit(alu32_imm(BPF_AND, R1, t.mask));
                 e.jump_if_imm(BPF_JNE, R1, t.comp, on_false);
             });
    }

    void emit_test(const TestIcmp& t, Label fail) {
        test(t.invert, fail,
             [&] {
                 require_u8(meta::kL3, t.v6 ? meta::kL3Ipv6 : meta::kL3Ipv4, fail);
                 l4_precondition(t.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, fail);
             },
             [&](Label on_false) {
                 if (t.any) return;
                 e.emit(ldx(BPF_B, R1, R10, meta::kIcmpType));
                 e.jump_if_imm(BPF_JNE, R1, t.type, on_false);
                 if (t.code_min == 0 && t.code_max == 0xff) return;
                 e.emit(ldx(BPF_B, R1, R10, meta::kIcmpCode));
                 if (t.code_min > 0) e.jump_if_imm(BPF_JLT, R1, t.code_min, on_false);
                 if (t.code_max < 0xff) e.jump_if_imm(BPF_JGT, R1, t.code_max, on_false);
             });
    }

    void emit_test(const TestFragment& t, Label fail) {
        test(t.invert, fail,
             [&] {
                 e.emit(ldx(BPF_B, R1, R10, meta::kL3));
                 e.jump_if_imm(BPF_JEQ, R1, meta::kL3None, fail);
             },
             [&](Label on_false) { require_u8(meta::kFragment, 1, on_false); });
    }

    void emit_test(const TestIfindex& t, Label fail) {
        test(t.invert, fail, [] {},
             [&](Label on_false) {
                 Label matched = e.new_label();
                 e.emit(ldx(BPF_W, R1, R10, meta::kIfindex));
                 for (uint32_t ifindex : t.ifindexes)
                     e.jump_if_imm(BPF_JEQ, R1, static_cast<int32_t>(ifindex), matched);
                 e.jump(on_false);
                 e.bind(matched);
             });
    }

    ParserFeatures features() const {
        ParserFeatures f{.l4 = false, .ifindex = false, .ipv6_addresses = false};
        for (const Step& s : plan.steps)
            for (const Test& t : s.tests) {
                if (std::holds_alternative<TestPorts>(t) || std::holds_alternative<TestTcpFlags>(t) ||
                    std::holds_alternative<TestIcmp>(t))
                    f.l4 = true;
                if (std::holds_alternative<TestIfindex>(t)) f.ifindex = true;
                if (const auto* prefix = std::get_if<TestPrefix>(&t)) f.ipv6_addresses |= prefix->v6;
                if (const auto* lookup = std::get_if<TestLookup>(&t)) {
                    if (lookup->key.layout != LookupKey::Layout::Address &&
                        lookup->key.layout != LookupKey::Layout::AddressPrefix)
                        f.l4 = true;
                    f.ipv6_addresses |= lookup->key.v6;
                }
            }
        return f;
    }

    // The shape ClassifierTree promises: ranges in order, inside the plan, before the last
    // step; steps inside a range (but the first) reached only from the step before; leaves
    // naming steps of their range.
    Status check_trees() const {
        uint32_t after_previous = 0;
        for (const ClassifierTree& t : plan.trees) {
            if (t.first_step < after_previous || t.first_step >= t.end_step || t.end_step >= plan.steps.size())
                return runtime_error("internal: classifier tree over steps out of order or out of range");
            for (uint32_t i = t.first_step; i < t.end_step; ++i) {
                const Step& s = plan.steps[i];
                if (s.on_miss != i + 1 || (s.on_match.kind == Action::Kind::Goto && s.on_match.target != i + 1))
                    return runtime_error("internal: classifier tree over a step that jumps (" + s.origin + ")");
            }
            for (const auto& leaf : t.leaves)
                for (uint32_t step : leaf)
                    if (step < t.first_step || step >= t.end_step)
                        return runtime_error("internal: classifier tree leaf names a step outside its range");
            for (const TreeNode& n : t.nodes)
                if (n.key >= kTreeKeyCount || n.threshold == 0)
                    return runtime_error("internal: classifier tree node with an unknown key or threshold 0");
            after_previous = t.end_step;
        }
        for (size_t i = 0; i < plan.steps.size(); ++i) {
            const Step& s = plan.steps[i];
            for (uint32_t target : {s.on_miss, s.on_match.kind == Action::Kind::Goto ? s.on_match.target : s.on_miss})
                for (const ClassifierTree& t : plan.trees)
                    if (target > t.first_step && target < t.end_step && target != i + 1)
                        return runtime_error("internal: a jump into the middle of a classifier tree (" + s.origin + ")");
        }
        return {};
    }

    Expected<GeneratedProgram> run() {
        if (plan.steps.empty() || !plan.steps.back().tests.empty() ||
            plan.steps.back().on_match.kind == Action::Kind::Goto)
            return runtime_error("internal: a plan must end with an unconditional verdict");
        for (size_t i = 0; i < plan.policies.size(); ++i) {
            policy_entries.push_back(e.new_label());
            policy_traps.push_back(e.new_label());
        }
        Label non_ip = e.new_label(), rules = e.new_label();
        emit_packet_parser(e, features(), ParserExits{non_ip, rules, [&] { count(kSlotError); }});

        // Non-IP frames are handled next to the parser, so no jump spans the rules.
        e.set_origin("non-IP frames");
        e.bind(non_ip);
        count(kSlotNonIp);
        verdict(XDP_PASS);
        e.bind(rules);
        if (plan.generation_map != kNoMap) {
            e.set_origin("group generation");
            load_group_generation();
        }

        for (size_t i = 0; i < plan.steps.size(); ++i) step_labels.push_back(e.new_label());
        XFW_TRY(check_trees());
        auto tree = plan.trees.begin();
        for (size_t i = 0; i < plan.steps.size(); ++i) {
            const Step& s = plan.steps[i];
            if (s.on_miss >= plan.steps.size() ||
                (s.on_match.kind == Action::Kind::Goto && s.on_match.target >= plan.steps.size()))
                return runtime_error("internal: plan step " + std::to_string(i) + " jumps out of range");
            e.set_origin(s.origin);
            e.bind(step_labels[i]);
            if (tree != plan.trees.end() && tree->first_step == i) {
                emit_tree(*tree);
                i = tree->end_step - 1;
                ++tree;
                continue;
            }
            Label miss = step_labels[s.on_miss];
            for (const Test& t : s.tests) std::visit([&](const auto& test) { emit_test(test, miss); }, t);
            if (!s.tests.empty() && s.on_match.kind != Action::Kind::Goto) {
                // Keep the chain of tests dense in the instruction cache: the verdict block of a
                // matching rule goes out of line, after all rules (it always exits, so no jump
                // goes backwards).
                Label matched = e.new_label();
                e.jump_far(matched);  // a classifier tree may lie between
                cold_blocks.push_back({matched, i});
                continue;
            }
            emit_action(s, i);
        }
        for (const auto& [label, index] : cold_blocks) {
            e.set_origin(plan.steps[index].origin);
            e.bind(label);
            emit_action(plan.steps[index], index);
        }
        emit_policy_traps();
        emit_tree_count_blocks();
        if (options.counters_per_entry > 1 &&
            (options.counters != CounterMode::SharedAtomic || !plan.policies.empty()))
            return bad_input("packed counters need the shared counter map and a ruleset without policies "
                             "(policies count through a subprogram with a run-time slot)");
        if (options.counters_per_entry > 1 &&
            std::any_of(plan.steps.begin(), plan.steps.end(), [](const Step& s) { return s.counter == kCounterFromLookup; }))
            return bad_input("packed counters need a constant slot per rule; map-backed rule groups count a "
                             "slot found at run time (plan without rule groups for this target)");
        if (options.counters_per_entry <= 1) emit_count_subprogram();
        auto policy_maps = emit_policies();
        if (!policy_maps) return policy_maps.error();
        auto program = e.finish();
        if (!program) return program.error();
        // The verifier follows at most 8192 branches on one path from the entry
        // ("sequence of jumps is too complex"); refuse here, with a message, what it would
        // refuse. Generated code only jumps forward, so the longest path is one backward pass.
        const uint32_t branches = longest_branch_path(program->insns);
        if (branches > kMaxBranchesPerPath)
            return bad_input("ruleset too large for one program: its rules need " + std::to_string(branches) +
                             " branch tests on one path and the kernel verifier follows at most " +
                             std::to_string(kMaxBranchesPerPath) + " on a path; use fewer rules");
        std::vector<MapSpec> maps{counter_map_spec(plan.counter_slots, options.counters, options.counters_per_entry)};
        for (const MapSpec& m : plan.maps) maps.push_back(m);
        for (MapSpec& m : *policy_maps) maps.push_back(std::move(m));
        return GeneratedProgram{std::move(program).value(), std::move(maps)};
    }
};

}  // namespace

Expected<GeneratedProgram> generate(const Plan& plan, const CodegenOptions& options) {
    Generator g{{}, plan, options, {}};
    return g.run();
}

}  // namespace xfw::xdp
