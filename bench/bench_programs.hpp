// Programs and packets shared by the benchmarks: synthetic rulesets of a given size and a
// bare XDP_DROP floor, built and loaded the way the firewall builds them.
#pragma once

#include "control/fd.hpp"
#include "control/ruleset.hpp"
#include "xdp/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::bench {

// `count` narrow 5-tuple rules (none matches the benchmark packet, so it walks them all),
// followed by the ACCEPT policy.
Ruleset make_port_ruleset(size_t count);

struct LoadedProgram {
    Fd counters;
    Fd program;
    uint32_t instructions = 0;
};

Expected<LoadedProgram> compile_and_load(const Ruleset& ruleset);
Expected<LoadedProgram> load_bare_drop();

// A 64-byte TCP/IPv4 frame that matches none of make_port_ruleset's rules.
std::vector<uint8_t> unmatched_tcp_frame();

// Average ns per run of `prog_fd` on `frame` measured by the kernel over `repeat` runs.
Expected<double> ns_per_packet(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat);

}  // namespace xfw::bench
