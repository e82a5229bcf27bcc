// Map layouts the generated programs use: what a program's map index refers to, and the
// value layout the control plane reads back.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xfw::xdp {

struct MapSpec {
    std::string name;  // also the pin name under the bpffs directory
    bpf_map_type type = BPF_MAP_TYPE_ARRAY;
    uint32_t key_size = 4;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;
    // An existing map to use instead of creating one: pinned at `pin`, or open as `fd` (owned
    // by the caller, e.g. a set's map in a test). Its type and sizes must equal the above.
    std::string pin;
    int fd = -1;
    bool existing() const { return !pin.empty() || fd >= 0; }
    // Put in a created map before the program is loaded (a rule group's keys and values).
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
};

// One counter slot: what the data plane adds per matched packet.
struct CounterValue {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};
static_assert(sizeof(CounterValue) == 16);

// How counters are kept. Native programs use a per-CPU array (no atomics, no false sharing);
// the NFP cannot hold per-CPU maps, so offloaded programs use one shared array updated with
// atomic adds.
enum class CounterMode : uint8_t { PerCpu, SharedAtomic };

// Map index 0 of every generated program.
inline constexpr uint32_t kCounterMapIndex = 0;
inline constexpr const char* kCounterMapName = "xfw_counters";

// `slots_per_entry` > 1 packs that many consecutive slots into one map value (slot s lives in
// entry s / slots_per_entry at byte (s % slots_per_entry) * 16): for offload devices that hold
// few entries (netdevsim: 2), see docs/offload.md.
MapSpec counter_map_spec(uint32_t slots, CounterMode mode, uint32_t slots_per_entry = 1);

}  // namespace xfw::xdp
