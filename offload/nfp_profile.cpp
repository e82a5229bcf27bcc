// The NFP and netdevsim profiles.
#include "offload/nfp_profile.hpp"

namespace xfw::offload {

NfpProfile nfp_profile() { return NfpProfile{}; }

NfpProfile netdevsim_profile() {
    NfpProfile p;
    p.name = "netdevsim";
    // netdevsim keeps offloaded map entries in a two-slot table (NSIM_BPF_MAX_KEYS) and
    // allocates values of any size.
    p.max_map_entries = 2;
    p.max_key_size = 4096;
    p.max_value_size = 4096;
    p.max_elem_size = 8192;
    return p;
}

std::optional<NfpProfile> profile_by_name(const std::string& name) {
    if (name == "nfp") return nfp_profile();
    if (name == "netdevsim") return netdevsim_profile();
    return std::nullopt;
}

std::optional<NfpProfile> profile_for_driver(const std::string& driver) {
    if (driver == "nfp") return nfp_profile();
    if (driver == "netdevsim") return netdevsim_profile();
    return std::nullopt;
}

}  // namespace xfw::offload
