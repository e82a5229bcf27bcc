// Code generation for a Plan. Each step becomes: its tests (each jumps to the miss target on
// failure), a counter update, and its action. Tests read only the stack metadata that the
// parser prologue filled in (see packet_meta.hpp).
#include "xdp/codegen.hpp"

#include "xdp/packet_meta.hpp"
#include "xdp/packet_parser.hpp"

#include <linux/in.h>
#include <linux/in6.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

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
            const int64_t target = static_cast<int64_t>(k) + 1 + insn.off;
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

    // The counting subprogram: R1 = slot, R2 = bytes; the map key lives on its own stack.
    void emit_count_subprogram() {
        e.set_origin("counter update");
        e.bind(count_subprogram);
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
    void emit_action(const Step& s, size_t i) {
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
                if (s.on_match.target != i + 1) e.jump(step_labels[s.on_match.target]);
                break;
            case Action::Kind::Policy: policy_verdict(s); break;
        }
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

    void policy_verdict(const Step& s) {
        call_policy(s.on_match.target);
        Label drop = e.new_label(), pass = e.new_label(), aborted = e.new_label();
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictDrop, drop, false);
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictPass, pass, false);
        e.jump_if_imm(BPF_JEQ, R0, kPolicyVerdictAborted, aborted, false);
        e.jump_if_imm(BPF_JEQ, R0, static_cast<int32_t>(kPolicyVerdictContinue), step_labels[s.on_miss], false);
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
        ParserFeatures f{.l4 = false, .ifindex = false};
        for (const Step& s : plan.steps)
            for (const Test& t : s.tests) {
                if (std::holds_alternative<TestPorts>(t) || std::holds_alternative<TestTcpFlags>(t) ||
                    std::holds_alternative<TestIcmp>(t))
                    f.l4 = true;
                if (std::holds_alternative<TestIfindex>(t)) f.ifindex = true;
                if (const auto* lookup = std::get_if<TestLookup>(&t))
                    if (lookup->key.layout != LookupKey::Layout::Address &&
                        lookup->key.layout != LookupKey::Layout::AddressPrefix)
                        f.l4 = true;
            }
        return f;
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
        emit_packet_parser(e, features(), ParserExits{non_ip});
        e.jump(rules);

        // Non-IP frames are handled next to the parser, so no jump spans the rules.
        e.set_origin("non-IP frames");
        e.bind(non_ip);
        count(kSlotNonIp);
        verdict(XDP_PASS);

        e.set_origin("error counter");
        e.bind(rules);
        Label no_error = e.new_label();
        e.emit(ldx(BPF_W, R1, R10, meta::kError));
        e.jump_if_imm(BPF_JEQ, R1, 0, no_error);
        count(kSlotError);
        e.bind(no_error);
        if (plan.generation_map != kNoMap) {
            e.set_origin("group generation");
            load_group_generation();
        }

        for (size_t i = 0; i < plan.steps.size(); ++i) step_labels.push_back(e.new_label());
        for (size_t i = 0; i < plan.steps.size(); ++i) {
            const Step& s = plan.steps[i];
            if (s.on_miss >= plan.steps.size() ||
                (s.on_match.kind == Action::Kind::Goto && s.on_match.target >= plan.steps.size()))
                return runtime_error("internal: plan step " + std::to_string(i) + " jumps out of range");
            e.set_origin(s.origin);
            e.bind(step_labels[i]);
            Label miss = step_labels[s.on_miss];
            for (const Test& t : s.tests) std::visit([&](const auto& test) { emit_test(test, miss); }, t);
            if (!s.tests.empty() && s.on_match.kind != Action::Kind::Goto) {
                // Keep the chain of tests dense in the instruction cache: the verdict block of a
                // matching rule goes out of line, after all rules (it always exits, so no jump
                // goes backwards).
                Label matched = e.new_label();
                e.jump(matched);
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
