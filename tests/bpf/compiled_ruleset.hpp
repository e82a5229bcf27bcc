// A ruleset compiled the way the firewall compiles it, with a private (unpinned) counter map:
// the BPF_PROG_TEST_RUN handle of the tests that compare strategies (rule groups, trees,
// linear code) on the same rules.
#pragma once

#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/loader.hpp"
#include "control/state_store.hpp"
#include "tests/support/packet_builder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xfw::test {

struct CompiledRuleset {
    std::string error;
    State state;
    Fd counters;
    Fd program;
    uint32_t slots = 0;
    uint32_t instructions = 0;

    bool ok() const { return program.valid(); }

    uint32_t run(const Frame& frame) {
        auto r = test_run(program.get(), frame);
        if (!r) {
            ADD_FAILURE() << r.error().message;
            return UINT32_MAX;
        }
        return *r;
    }
    std::vector<xdp::CounterValue> read() {
        auto v = read_counters(counters.get(), xdp::CounterMode::PerCpu, slots);
        if (!v) {
            ADD_FAILURE() << v.error().message;
            return {};
        }
        return std::move(v).value();
    }
    // Counter slot of rule `n` (1-based) of INPUT.
    uint32_t slot_of(size_t n) const { return state.slot_of_rule.at(state.ruleset.find("INPUT")->rules.at(n - 1).id); }
    uint64_t rule_packets(size_t n) { return read().at(slot_of(n)).packets; }
    uint64_t policy_packets() { return read().at(xdp::kSlotPolicyInput).packets; }

    // Compiles `state` (identities assigned) into this handle; false with `error` set on refusal.
    bool compile(const CompileOptions& options, const std::string& program_name) {
        auto prog = compile_private(state, program_name, options);
        if (!prog) {
            error = prog.error().message;
            return false;
        }
        counters = std::move(prog->counters);
        program = std::move(prog->compiled.program);
        slots = prog->counter_slots;
        instructions = prog->compiled.instruction_count;
        return true;
    }
};

}  // namespace xfw::test
