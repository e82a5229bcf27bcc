// Loading generated programs into the kernel: map creation, map fd patching, the verifier,
// and a readable report when the verifier refuses a program.
#pragma once

#include "control/fd.hpp"
#include "xdp/codegen.hpp"
#include "xdp/error.hpp"

#include <string>
#include <vector>

namespace xfw {

Expected<Fd> create_map(const xdp::MapSpec& spec, uint32_t offload_ifindex = 0);

struct LoadOptions {
    std::string name = "xfw";  // program name shown by bpftool (truncated to 15 chars)
    uint32_t offload_ifindex = 0;
};

// Loads `program` as an XDP program, with `map_fds[i]` standing for the program's map i.
// A verifier refusal returns an error quoting the end of the verifier log and naming the
// rule the failing instruction came from.
Expected<Fd> load_xdp_program(const bpf::Program& program, const std::vector<int>& map_fds,
                              const LoadOptions& options = {});

// Runs a loaded program once on `frame` with BPF_PROG_TEST_RUN; returns the XDP action.
Expected<uint32_t> test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat = 1,
                            uint32_t* duration_ns = nullptr);

std::string errno_text(int err);

}  // namespace xfw
