// Lowering to the NFP target: the code generator's options for a profile (counters in one
// shared ARRAY updated with atomic adds, no per-CPU maps; packed counter values when the device
// holds fewer map entries than there are counter slots) and the whole offload compile step:
// generate, then check, refusing with the checker's messages.
#pragma once

#include "offload/checker.hpp"
#include "offload/nfp_profile.hpp"
#include "xdp/codegen.hpp"
#include "xdp/error.hpp"
#include "xdp/plan.hpp"

namespace xfw::offload {

// Codegen options for `slots` counter slots on `profile`. Fails (bad input) when the counters
// cannot fit the device's map limits in any packing.
Expected<xdp::CodegenOptions> codegen_options(uint32_t slots, const NfpProfile& profile);

struct OffloadProgram {
    xdp::GeneratedProgram generated;
    CheckReport report;  // no violations; notes say what the checker could not prove
    xdp::CodegenOptions options;
};

// Generates `plan` for `profile` and checks the result. A program with violations is refused
// (bad input) with every violation on its own line.
Expected<OffloadProgram> generate_for_offload(const xdp::Plan& plan, const NfpProfile& profile);

}  // namespace xfw::offload
