// Benchmark fixtures: synthetic rulesets and the bare XDP_DROP floor.
#include "bench/bench_programs.hpp"

#include "control/compile.hpp"
#include "control/loader.hpp"
#include "control/rule_parser.hpp"
#include "xdp/insn.hpp"

#include <map>

namespace xfw::bench {

Ruleset make_port_ruleset(size_t count) {
    Ruleset rs = Ruleset::empty();
    Chain* input = rs.find(kInputChain);
    for (size_t i = 0; i < count; ++i) {
        // 198.18.0.0/15 is the benchmarking range; the packet comes from 10.0.0.1.
        std::string src = "198.18." + std::to_string((i / 250) % 250) + "." + std::to_string(i % 250 + 1);
        auto rule = parse_rule({"-s", src, "-p", "tcp", "--dport", std::to_string(1000 + i % 50000), "-j", "DROP"});
        if (!rule) continue;
        input->rules.push_back(std::move(rule).value());
    }
    return rs;
}

Expected<LoadedProgram> compile_and_load(const Ruleset& ruleset) {
    State state;
    state.ruleset = ruleset;
    assign_identities(state);
    auto prog = compile_private(state, "xfw_bench");
    if (!prog) return prog.error();
    return LoadedProgram{std::move(prog->counters), std::move(prog->compiled.program),
                         prog->compiled.instruction_count};
}

Expected<LoadedProgram> load_bare_drop() {
    bpf::Program p;
    p.insns = {bpf::mov64_imm(bpf::R0, XDP_DROP), bpf::exit_insn()};
    auto prog = load_xdp_program(p, {}, {.name = "bare_drop"});
    if (!prog) return prog.error();
    LoadedProgram out;
    out.program = std::move(prog).value();
    out.instructions = 2;
    return out;
}

std::vector<uint8_t> unmatched_tcp_frame() {
    std::vector<uint8_t> f(64, 0);
    const uint8_t eth[] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    std::copy(std::begin(eth), std::end(eth), f.begin());
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    ip[3] = 50;  // total length 20 + 20 + 10
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t src[] = {10, 0, 0, 1}, dst[] = {10, 0, 0, 2};
    std::copy(std::begin(src), std::end(src), ip + 12);
    std::copy(std::begin(dst), std::end(dst), ip + 16);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<uint8_t>(~sum >> 8);
    ip[11] = static_cast<uint8_t>(~sum);
    uint8_t* tcp = ip + 20;
    tcp[0] = 0x9c; tcp[1] = 0x40;  // 40000
    tcp[2] = 0x00; tcp[3] = 0x50;  // 80: below every rule's port
    tcp[12] = 0x50;
    tcp[13] = 0x02;
    return f;
}

Expected<double> ns_per_packet(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat) {
    uint32_t duration = 0;
    auto r = test_run(prog_fd, frame, repeat, &duration);
    if (!r) return r.error();
    return static_cast<double>(duration);
}

}  // namespace xfw::bench
