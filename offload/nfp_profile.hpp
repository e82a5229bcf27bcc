// The NFP offload target as data: what the kernel's nfp driver (drivers/net/ethernet/netronome/
// nfp/bpf/: verifier.c, jit.c, offload.c) and the NFP BPF firmware accept. The checker
// (checker.hpp) holds programs against a profile; the lowering (lowering.hpp) generates code
// within it. Limits that the firmware reports at probe time (stack size, program length, map
// key/value sizes) are fields with the driver's usual values as defaults, so a card with other
// firmware is described by changing numbers, not code.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace xfw::offload {

struct NfpProfile {
    std::string name = "nfp";

    // Maps: the NFP keeps ARRAY and HASH maps in device memory; no per-CPU, LPM, LRU, prog-array
    // or other kinds, and no map flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG ...).
    std::set<uint32_t> map_types = {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH};
    // Firmware capability (NFP_BPF_CAP_TYPE_MAPS): largest key, value and key+value element,
    // each rounded up to 8 bytes for the element limit.
    uint32_t max_key_size = 64;
    uint32_t max_value_size = 64;
    uint32_t max_elem_size = 128;
    // Entries per offloaded map; 0 = only the firmware's total, which the driver checks at load.
    uint32_t max_map_entries = 0;

    // Helpers the NFP JIT implements for XDP programs.
    std::set<int32_t> helpers = {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem,
                                 BPF_FUNC_map_delete_elem, BPF_FUNC_get_prandom_u32,
                                 BPF_FUNC_perf_event_output, BPF_FUNC_xdp_adjust_head,
                                 BPF_FUNC_xdp_adjust_tail};

    // Stack: the firmware reports its size in 64-byte units (NFP_NET_CFG_BPF_STACK_SZ) and the
    // JIT aligns every frame of a bpf-to-bpf call chain to 64 bytes.
    uint32_t max_stack_bytes = 512;
    uint32_t stack_frame_align = 64;
    // Program length in eBPF instructions (an ld_imm64 counts twice, as for the kernel). The
    // firmware's own limit is in NFP instructions (NFP_NET_CFG_BPF_MAX_LEN) and the JIT
    // expands every eBPF instruction into one or more of them; this bound keeps a margin.
    uint32_t max_instructions = 4096;

    // XDP return codes the NFP's program outro implements: ABORTED, DROP, PASS, TX. Anything
    // larger (REDIRECT = 4) aborts the packet on the card.
    uint32_t max_return_code = XDP_TX;
};

// The NFP with its driver's usual firmware limits.
NfpProfile nfp_profile();

// netdevsim (the kernel's software model of an offload device, used in CI): the NFP rules,
// plus its own cap of 2 entries per offloaded map and no key/value size cap of its own.
NfpProfile netdevsim_profile();

// "nfp" or "netdevsim"; nullopt for other names.
std::optional<NfpProfile> profile_by_name(const std::string& name);

// The profile for a network driver (ethtool's driver name), nullopt when the driver cannot
// run offloaded XDP programs at all.
std::optional<NfpProfile> profile_for_driver(const std::string& driver);

}  // namespace xfw::offload
