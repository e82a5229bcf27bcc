// Counter map access with batched lookups (one syscall for thousands of slots).
#include "control/counter_map.hpp"

#include "control/loader.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <numeric>

namespace xfw {

namespace {
uint32_t value_copies(xdp::CounterMode mode) {
    return mode == xdp::CounterMode::PerCpu ? static_cast<uint32_t>(libbpf_num_possible_cpus()) : 1;
}
}  // namespace

Expected<std::vector<xdp::CounterValue>> read_counters(int map_fd, xdp::CounterMode mode, uint32_t count) {
    const uint32_t copies = value_copies(mode);
    std::vector<xdp::CounterValue> sums(count);
    if (count == 0) return sums;
    std::vector<uint32_t> keys(count);
    std::vector<xdp::CounterValue> values(static_cast<size_t>(count) * copies);
    uint32_t done = 0;
    uint32_t batch_token = 0;
    bool first = true;
    while (done < count) {
        uint32_t n = count - done;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &batch_token, &batch_token,
                                       keys.data() + done, values.data() + static_cast<size_t>(done) * copies,
                                       &n, &opts);
        first = false;
        if (err != 0 && errno != ENOENT)
            return runtime_error("cannot read the counter map: " + errno_text(errno));
        done += n;
        if (err != 0 || n == 0) break;  // ENOENT: end of map
    }
    for (uint32_t i = 0; i < done; ++i) {
        if (keys[i] >= count) continue;
        xdp::CounterValue& sum = sums[keys[i]];
        for (uint32_t c = 0; c < copies; ++c) {
            const xdp::CounterValue& v = values[static_cast<size_t>(i) * copies + c];
            sum.packets += v.packets;
            sum.bytes += v.bytes;
        }
    }
    return sums;
}

Status zero_counters(int map_fd, xdp::CounterMode mode, const std::vector<uint32_t>& slots) {
    std::vector<xdp::CounterValue> zeros(value_copies(mode));
    for (uint32_t slot : slots)
        if (bpf_map_update_elem(map_fd, &slot, zeros.data(), BPF_ANY) != 0)
            return runtime_error("cannot reset counter slot " + std::to_string(slot) + ": " + errno_text(errno));
    return {};
}

}  // namespace xfw
