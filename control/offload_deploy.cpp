// Offloaded attachments: driver check, device maps, device-bound programs, device counters.
#include "control/offload_deploy.hpp"

#include "control/compile.hpp"
#include "control/loader.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace xfw {

namespace fs = std::filesystem;

std::string offload_dir(const Paths& paths, const std::string& ifname) { return paths.bpffs + "/offload/" + ifname; }
std::string offload_link_pin(const Paths& paths, const std::string& ifname) { return offload_dir(paths, ifname) + "/link"; }
std::string offload_program_pin(const Paths& paths, const std::string& ifname) {
    return offload_dir(paths, ifname) + "/prog";
}

std::string interface_driver(const std::string& ifname) {
    Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid() || ifname.size() >= IFNAMSIZ) return "";
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq req{};
    std::memcpy(req.ifr_name, ifname.c_str(), ifname.size());
    req.ifr_data = reinterpret_cast<char*>(&info);
    if (::ioctl(sock.get(), SIOCETHTOOL, &req) != 0) return "";
    return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

Expected<offload::NfpProfile> offload_profile_for(const std::string& ifname) {
    const std::string driver = interface_driver(ifname);
    if (auto profile = offload::profile_for_driver(driver)) return *profile;
    return bad_input(ifname + " (driver " + (driver.empty() ? std::string("unknown") : driver) +
                     ") cannot run offloaded XDP programs: offload needs a Netronome NFP SmartNIC (driver nfp) "
                     "or netdevsim; use --mode native or --mode generic");
}

namespace {

constexpr uint32_t kSlotBytes = sizeof(xdp::CounterValue);

struct MapInfo {
    bpf_map_info info{};
    bool ok = false;
};

MapInfo map_info(int fd) {
    MapInfo m;
    uint32_t len = sizeof(m.info);
    m.ok = bpf_obj_get_info_by_fd(fd, &m.info, &len) == 0;
    return m;
}

uint32_t capacity_of(const bpf_map_info& info) {
    return info.value_size % kSlotBytes == 0 ? info.value_size / kSlotBytes * info.max_entries : 0;
}

// The generations N of offload/IFNAME/counters-N, ascending.
std::vector<uint32_t> counter_generations(const std::string& dir) {
    std::vector<uint32_t> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("counters-", 0) != 0) continue;
        try {
            out.push_back(static_cast<uint32_t>(std::stoul(name.substr(9))));
        } catch (...) {
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Slots a new device counter map gets: room for the ruleset to grow without a new map.
uint32_t new_capacity(uint32_t needed, const offload::NfpProfile& profile) {
    if (profile.max_map_entries) {
        const uint32_t per_entry = (std::max(needed, 64u) + profile.max_map_entries - 1) / profile.max_map_entries;
        return per_entry * profile.max_map_entries;
    }
    return (std::max(needed, 1024u) + 1023) / 1024 * 1024;
}

// The device counter map for `ifname`: the newest pinned one when it is bound to the device and
// holds `needed` slots, else a new one (not yet pinned).
Expected<PreparedOffload> device_counters(const Paths& paths, const std::string& ifname, uint32_t ifindex,
                                          uint32_t needed, const offload::NfpProfile& profile) {
    PreparedOffload out;
    out.ifname = ifname;
    const std::string dir = offload_dir(paths, ifname);
    const std::vector<uint32_t> generations = counter_generations(dir);
    if (!generations.empty()) {
        const std::string pin = dir + "/counters-" + std::to_string(generations.back());
        if (int fd = bpf_obj_get(pin.c_str()); fd >= 0) {
            Fd map(fd);
            const MapInfo m = map_info(map.get());
            if (m.ok && m.info.ifindex == ifindex && m.info.type == BPF_MAP_TYPE_ARRAY && capacity_of(m.info) >= needed) {
                out.counters = std::move(map);
                out.counters_pin = pin;
                return out;
            }
        }
    }
    const uint32_t capacity = new_capacity(needed, profile);
    auto options = offload::codegen_options(capacity, profile);
    if (!options) return options.error();
    auto map = create_map(xdp::counter_map_spec(capacity, options->counters, options->counters_per_entry), ifindex);
    if (!map) {
        Error e = map.error();
        e.message = ifname + ": cannot create the counter map on the device: " + e.message;
        return e;
    }
    out.counters = std::move(map).value();
    out.counters_new = true;
    out.counters_pin = dir + "/counters-" + std::to_string(generations.empty() ? 1 : generations.back() + 1);
    return out;
}

Status pin_fresh(int fd, const std::string& path) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    const std::string tmp = path + "_new";
    ::unlink(tmp.c_str());
    if (bpf_obj_pin(fd, tmp.c_str()) != 0) return runtime_error("cannot pin " + tmp + ": " + errno_text(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return runtime_error("cannot pin " + path + ": " + std::strerror(err));
    }
    return {};
}

}  // namespace

Expected<std::vector<PreparedOffload>> prepare_offload(const Paths& paths, const State& state) {
    std::vector<PreparedOffload> out;
    const uint32_t needed = counter_slots_needed(state);
    for (const Attachment& a : state.attachments) {
        if (a.mode != AttachMode::Offload) continue;
        const uint32_t ifindex = if_nametoindex(a.ifname.c_str());
        if (ifindex == 0) continue;  // swap_links warns and attaches it once it exists
        auto profile = offload_profile_for(a.ifname);
        if (!profile) return profile.error();
        auto prepared = device_counters(paths, a.ifname, ifindex, needed, *profile);
        if (!prepared) return prepared.error();
        const uint32_t capacity = capacity_of(map_info(prepared->counters.get()).info);
        auto program = generate_offload_ruleset(state, capacity, *profile);
        if (!program) {
            Error e = program.error();
            e.message = a.ifname + ": " + e.message;
            return e;
        }
        std::vector<int> map_fds{prepared->counters.get()};
        for (size_t i = 1; i < program->generated.maps.size(); ++i) {
            auto map = create_map(program->generated.maps[i], ifindex);
            if (!map) return map.error();
            map_fds.push_back(map->get());
            prepared->policy_maps.push_back(std::move(map).value());
        }
        auto fd = load_xdp_program(program->generated.program, map_fds, {.name = "xfw_hw", .offload_ifindex = ifindex});
        if (!fd) {
            Error e = fd.error();
            e.message = a.ifname + ": the device refused the offloaded program: " + e.message;
            return e;
        }
        prepared->program = std::move(fd).value();
        out.push_back(std::move(prepared).value());
    }
    return out;
}

Status pin_offload_counters(const Paths& paths, const std::vector<PreparedOffload>& prepared) {
    (void)paths;
    for (const PreparedOffload& p : prepared)
        if (p.counters_new) XFW_TRY(pin_fresh(p.counters.get(), p.counters_pin));
    return {};
}

Status pin_offload_programs(const Paths& paths, const std::vector<PreparedOffload>& prepared) {
    for (const PreparedOffload& p : prepared) XFW_TRY(pin_fresh(p.program.get(), offload_program_pin(paths, p.ifname)));
    return {};
}

Expected<std::vector<xdp::CounterValue>> read_counter_slots(int map_fd, uint32_t slots) {
    const MapInfo m = map_info(map_fd);
    if (!m.ok) return runtime_error("cannot inspect the counter map: " + errno_text(errno));
    if (m.info.key_size != 4 || m.info.value_size == 0 || m.info.value_size % kSlotBytes != 0 ||
        (m.info.type != BPF_MAP_TYPE_ARRAY && m.info.type != BPF_MAP_TYPE_PERCPU_ARRAY))
        return bad_input(std::string("map ") + m.info.name + " is not an xfw counter map (type " +
                         std::to_string(m.info.type) + ", value " + std::to_string(m.info.value_size) + " bytes)");
    const uint32_t per_entry = m.info.value_size / kSlotBytes;
    const uint32_t copies =
        m.info.type == BPF_MAP_TYPE_PERCPU_ARRAY ? static_cast<uint32_t>(libbpf_num_possible_cpus()) : 1;
    std::vector<xdp::CounterValue> sums(slots);
    std::vector<xdp::CounterValue> value(static_cast<size_t>(per_entry) * copies);
    const uint32_t entries = std::min(m.info.max_entries, (slots + per_entry - 1) / per_entry);
    // One lookup per entry: offloaded maps have no batch operations.
    for (uint32_t key = 0; key < entries; ++key) {
        if (bpf_map_lookup_elem(map_fd, &key, value.data()) != 0) {
            if (errno == ENOENT) continue;
            return runtime_error(std::string("cannot read counter map ") + m.info.name + ": " + errno_text(errno));
        }
        for (uint32_t c = 0; c < copies; ++c)
            for (uint32_t k = 0; k < per_entry; ++k) {
                const uint32_t slot = key * per_entry + k;
                if (slot >= slots) break;
                const xdp::CounterValue& v = value[static_cast<size_t>(c) * per_entry + k];
                sums[slot].packets += v.packets;
                sums[slot].bytes += v.bytes;
            }
    }
    return sums;
}

Status add_offload_counters(const Paths& paths, std::vector<xdp::CounterValue>& sums) {
    std::error_code ec;
    const std::string root = paths.bpffs + "/offload";
    if (!fs::is_directory(root, ec)) return {};
    for (const auto& iface : fs::directory_iterator(root, ec)) {
        for (uint32_t generation : counter_generations(iface.path().string())) {
            const std::string pin = iface.path().string() + "/counters-" + std::to_string(generation);
            const int fd = bpf_obj_get(pin.c_str());
            if (fd < 0) continue;
            Fd map(fd);
            auto values = read_counter_slots(map.get(), static_cast<uint32_t>(sums.size()));
            if (!values) {
                // A device that went away takes its memory with it: its counts cannot be read.
                if (errno == ENODEV) continue;
                return values.error();
            }
            for (size_t s = 0; s < sums.size(); ++s) {
                sums[s].packets += (*values)[s].packets;
                sums[s].bytes += (*values)[s].bytes;
            }
        }
    }
    return {};
}

}  // namespace xfw
