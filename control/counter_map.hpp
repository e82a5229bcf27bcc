// Reading and writing the counter map: per-CPU values summed into one figure per slot.
#pragma once

#include "control/fd.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <vector>

namespace xfw {

// Slots the counter map is created with; enough for every rule a ruleset can hold.
inline constexpr uint32_t kCounterMapSlots = 65536;

// Sums of slots [0, count) across CPUs.
Expected<std::vector<xdp::CounterValue>> read_counters(int map_fd, xdp::CounterMode mode, uint32_t count);

// Sets each slot in `slots` to zero on every CPU.
Status zero_counters(int map_fd, xdp::CounterMode mode, const std::vector<uint32_t>& slots);

}  // namespace xfw
