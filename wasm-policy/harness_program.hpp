// The smallest XDP program around one policy: it calls the policy subprogram, stores what it
// returned (the i32 result, or kPolicyTrapped | trap code) in a one-entry result map and
// passes the frame. Buckets count into a per-CPU counter map from slot 0. Used to run a policy
// on its own with BPF_PROG_TEST_RUN (differential tests) and to check a policy against the
// verifier without a ruleset.
#pragma once

#include "xdp/codegen.hpp"
#include "xdp/plan.hpp"

#include <cstdint>

namespace xfw::wasm {

inline constexpr uint32_t kHarnessCounterMap = 0;  // per-CPU {packets, bytes}, slot b = bucket b
inline constexpr uint32_t kHarnessResultMap = 1;   // ARRAY, 1 entry, u64: the policy's last R0

Expected<xdp::GeneratedProgram> build_policy_harness(const xdp::PolicyCode& code, uint32_t bucket_count);

}  // namespace xfw::wasm
