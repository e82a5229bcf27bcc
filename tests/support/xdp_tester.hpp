// A BPF_PROG_TEST_RUN harness for tests: compiles a ruleset exactly as the firewall does
// (planner, code generator, verifier), with a private counter map, and runs frames through it.
#pragma once

#include "control/compile.hpp"

#include "control/fd.hpp"
#include "control/state_store.hpp"
#include "xdp/maps.hpp"

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::test {

class XdpTester {
public:
    // Builds from iptables-restore text (a *filter table) and compiles it. Fails the calling
    // test (ADD_FAILURE) and returns an unusable tester when anything refuses.
    // `options`: the firewall's defaults, or e.g. the plain linear program.
    static XdpTester from_restore(const std::string& text, const CompileOptions& options = {});
    // Shorthand: rules for INPUT given as specs ("-p tcp --dport 22 -j DROP"), policy ACCEPT.
    static XdpTester from_rules(const std::vector<std::string>& input_rules,
                                const std::string& policy = "ACCEPT");

    bool ok() const { return prog_.valid(); }
    const std::string& error() const { return error_; }

    // Runs one frame; returns the XDP action.
    uint32_t run(const std::vector<uint8_t>& frame);
    // Packets counted so far for rule `n` (1-based) of `chain`.
    uint64_t rule_packets(const std::string& chain, size_t n);
    uint64_t rule_bytes(const std::string& chain, size_t n);
    uint64_t policy_packets();
    uint64_t error_packets();
    uint64_t non_ip_packets();
    uint32_t instruction_count() const { return insn_count_; }
    int prog_fd() const { return prog_.get(); }

private:
    xdp::CounterValue slot(uint32_t s);
    State state_;
    Fd map_;
    Fd prog_;
    uint32_t slots_ = 0;
    uint32_t insn_count_ = 0;
    std::string error_;
};

}  // namespace xfw::test
