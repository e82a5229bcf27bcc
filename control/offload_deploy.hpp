// Offloaded attachments (`xfw attach IFACE --mode offload`): the interface's offload profile
// (from its driver), the device-bound program and device counter map each offloaded interface
// needs, their pins, and reading device counters back.
//
// Pins, per offloaded interface, under the bpffs directory:
//   offload/IFNAME/link        the bpf_link in HW mode
//   offload/IFNAME/prog        the device-bound program it runs
//   offload/IFNAME/counters-N  device counter maps, N = 1, 2, ... The highest that can hold the
//                              ruleset's slots is used; older ones (too small, or from before
//                              the device was re-created) stay pinned with their final counts
//                              and are summed too, so no count is lost while the device exists.
#pragma once

#include "control/fd.hpp"
#include "control/firewall.hpp"
#include "control/state_store.hpp"
#include "offload/nfp_profile.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <string>
#include <vector>

namespace xfw {

std::string offload_dir(const Paths& paths, const std::string& ifname);
std::string offload_link_pin(const Paths& paths, const std::string& ifname);
std::string offload_program_pin(const Paths& paths, const std::string& ifname);

// The network driver behind `ifname` (ethtool's driver name), "" when it has none.
std::string interface_driver(const std::string& ifname);

// The offload profile of `ifname`'s device; bad input naming the driver when it cannot run
// offloaded XDP programs.
Expected<offload::NfpProfile> offload_profile_for(const std::string& ifname);

// `state` compiled, checked and loaded for one offloaded interface.
struct PreparedOffload {
    std::string ifname;
    Fd program;
    Fd counters;
    std::string counters_pin;  // where `counters` is (or is to be) pinned
    bool counters_new = false;
    std::vector<Fd> policy_maps;
};

// One PreparedOffload per offload attachment of `state` whose interface exists. Nothing is
// pinned or attached; a program the profile refuses is a bad_input listing every violation.
Expected<std::vector<PreparedOffload>> prepare_offload(const Paths& paths, const State& state);

// Pins the device counter maps prepare_offload created.
Status pin_offload_counters(const Paths& paths, const std::vector<PreparedOffload>& prepared);
// Pins each interface's program (after its link runs it).
Status pin_offload_programs(const Paths& paths, const std::vector<PreparedOffload>& prepared);

// Adds, slot by slot, the counts of every pinned device counter map to `sums`.
Status add_offload_counters(const Paths& paths, std::vector<xdp::CounterValue>& sums);

// Any xfw counter map by slot: per-CPU (summed over CPUs) or shared, one slot or several
// packed per value (layout from the map's own type and value size); `slots` first slots.
Expected<std::vector<xdp::CounterValue>> read_counter_slots(int map_fd, uint32_t slots);

}  // namespace xfw
