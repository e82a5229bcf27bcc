// BPF maps of sets and rule groups: create, fill, pin, open, check.
#include "control/set_maps.hpp"

#include "control/loader.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace xfw {

namespace {

const char* map_type_name(uint32_t type) {
    switch (type) {
        case BPF_MAP_TYPE_HASH: return "hash";
        case BPF_MAP_TYPE_LPM_TRIE: return "lpm_trie";
        case BPF_MAP_TYPE_ARRAY: return "array";
        case BPF_MAP_TYPE_PERCPU_ARRAY: return "percpu_array";
        default: return "other";
    }
}

Status check_layout(int fd, const xdp::MapSpec& spec, const std::string& where) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        return runtime_error("cannot inspect map " + where + ": " + errno_text(errno));
    if (info.type != static_cast<uint32_t>(spec.type) || info.key_size != spec.key_size ||
        info.value_size != spec.value_size)
        return runtime_error(where + " is a " + map_type_name(info.type) + " map with " + std::to_string(info.key_size) +
                             "-byte keys and " + std::to_string(info.value_size) + "-byte values, not the " +
                             map_type_name(spec.type) + " map with " + std::to_string(spec.key_size) + "/" +
                             std::to_string(spec.value_size) + " that " + spec.name +
                             " needs; remove it (or use another --bpffs) and run `xfw reload`");
    return {};
}

std::string hex(const std::vector<uint8_t>& bytes) {
    std::string s;
    char b[4];
    for (uint8_t c : bytes) {
        std::snprintf(b, sizeof b, "%02x", c);
        s += b;
    }
    return s;
}

}  // namespace

Status put_map_entries(int map_fd, const xdp::MapSpec& spec,
                       const std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>& entries) {
    if (entries.empty()) return {};
    if (entries.size() > spec.max_entries)
        return bad_input(spec.name + ": " + std::to_string(entries.size()) + " entries do not fit its " +
                         std::to_string(spec.max_entries) + " (maxelem)");
    if (spec.type == BPF_MAP_TYPE_HASH) {
        // One system call per few thousand entries instead of one per entry (a 1M-element set
        // loads in a fraction of a second).
        constexpr size_t kBatch = 8192;
        std::vector<uint8_t> keys, values;
        for (size_t first = 0; first < entries.size(); first += kBatch) {
            const size_t count = std::min(kBatch, entries.size() - first);
            keys.clear();
            values.clear();
            for (size_t i = first; i < first + count; ++i) {
                keys.insert(keys.end(), entries[i].first.begin(), entries[i].first.end());
                values.insert(values.end(), entries[i].second.begin(), entries[i].second.end());
            }
            uint32_t done = static_cast<uint32_t>(count);
            LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
            if (bpf_map_update_batch(map_fd, keys.data(), values.data(), &done, &opts) == 0) continue;
            if (errno != EINVAL && errno != EOPNOTSUPP)
                return runtime_error("cannot fill map " + spec.name + " (entry " + std::to_string(first + done + 1) +
                                     ", key " + hex(entries[first + done].first) + "): " + errno_text(errno));
            // Kernels without batch updates: one at a time from where the batch stopped.
            for (size_t i = first + done; i < entries.size(); ++i)
                if (bpf_map_update_elem(map_fd, entries[i].first.data(), entries[i].second.data(), BPF_ANY) != 0)
                    return runtime_error("cannot fill map " + spec.name + " (key " + hex(entries[i].first) + "): " +
                                         errno_text(errno));
            return {};
        }
        return {};
    }
    for (const auto& [key, value] : entries)
        if (bpf_map_update_elem(map_fd, key.data(), value.data(), BPF_ANY) != 0)
            return runtime_error("cannot fill map " + spec.name + " (key " + hex(key) + "): " + errno_text(errno));
    return {};
}

Expected<Fd> open_or_create_map(const xdp::MapSpec& spec) {
    if (spec.fd >= 0) {
        const int fd = ::fcntl(spec.fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) return runtime_error("cannot use the map of " + spec.name + ": " + std::strerror(errno));
        Fd map(fd);
        XFW_TRY(check_layout(map.get(), spec, "the map of " + spec.name));
        return map;
    }
    if (!spec.pin.empty()) {
        const int fd = bpf_obj_get(spec.pin.c_str());
        if (fd < 0)
            return runtime_error("set " + spec.name + " has no map at " + spec.pin + " (" + errno_text(errno) +
                                 "); run `xfw reload` to recreate it from the stored elements");
        Fd map(fd);
        XFW_TRY(check_layout(map.get(), spec, spec.pin));
        return map;
    }
    auto map = create_map(spec);
    if (!map) return map.error();
    XFW_TRY(put_map_entries(map->get(), spec, spec.entries));
    return map;
}

std::string set_pin_dir(const std::string& bpffs) { return bpffs + "/sets"; }
std::string set_pin(const std::string& bpffs, const std::string& name) { return set_pin_dir(bpffs) + "/" + name; }

std::vector<uint8_t> set_map_value(const SetElement& element) {
    std::vector<uint8_t> v(kSetMapValueSize, 0);
    const uint32_t len = element.address.prefix_len;
    std::memcpy(v.data(), &len, sizeof len);
    return v;
}

Expected<Fd> create_set_map(const SetDefinition& set, const std::vector<SetElement>& elements) {
    const xdp::MapSpec spec = set_map_spec(set);
    if (elements.size() > set.maxelem)
        return bad_input("set " + set.name + " is full: " + std::to_string(elements.size()) +
                         " elements and maxelem " + std::to_string(set.maxelem));
    auto map = create_map(spec);
    if (!map) return map.error();
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
    entries.reserve(elements.size());
    for (const SetElement& e : elements) entries.push_back({set_map_key(set, e), set_map_value(e)});
    XFW_TRY(put_map_entries(map->get(), spec, entries));
    return map;
}

Expected<Fd> open_set_map(const std::string& bpffs, const SetDefinition& set) {
    const std::string pin = set_pin(bpffs, set.name);
    const int fd = bpf_obj_get(pin.c_str());
    if (fd < 0) {
        if (errno == ENOENT) return Fd();
        return runtime_error("cannot open " + pin + ": " + errno_text(errno));
    }
    Fd map(fd);
    XFW_TRY(check_layout(map.get(), set_map_spec(set), pin));
    return map;
}

Status pin_set_map(const std::string& bpffs, const std::string& name, int map_fd) {
    const std::string dir = set_pin_dir(bpffs);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return runtime_error("cannot create " + dir + ": " + std::strerror(errno));
    const std::string path = set_pin(bpffs, name);
    const std::string tmp = path + "_new";  // bpffs reserves names with dots
    ::unlink(tmp.c_str());
    if (bpf_obj_pin(map_fd, tmp.c_str()) != 0) return runtime_error("cannot pin " + tmp + ": " + errno_text(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return runtime_error("cannot replace " + path + ": " + std::strerror(err));
    }
    return {};
}

Status set_map_add(int map_fd, const SetDefinition& set, const SetElement& element) {
    const auto key = set_map_key(set, element);
    const auto value = set_map_value(element);
    if (bpf_map_update_elem(map_fd, key.data(), value.data(), BPF_ANY) == 0) return {};
    if (errno == E2BIG || errno == ENOSPC)
        return bad_input("set " + set.name + " is full (maxelem " + std::to_string(set.maxelem) + ")");
    return runtime_error("cannot add " + format_set_element(set, element) + " to the map of set " + set.name + ": " +
                         errno_text(errno));
}

Status set_map_delete(int map_fd, const SetDefinition& set, const SetElement& element) {
    const auto key = set_map_key(set, element);
    if (bpf_map_delete_elem(map_fd, key.data()) == 0 || errno == ENOENT) return {};
    return runtime_error("cannot delete " + format_set_element(set, element) + " from the map of set " + set.name +
                         ": " + errno_text(errno));
}

Expected<bool> set_map_contains(int map_fd, const SetDefinition& set, const SetElement& element, bool exact) {
    const auto key = set_map_key(set, element);
    std::vector<uint8_t> value(kSetMapValueSize);
    if (bpf_map_lookup_elem(map_fd, key.data(), value.data()) == 0) {
        if (!exact || !set.is_net()) return true;
        // An LPM lookup finds the longest prefix containing the element's; it is the element
        // itself when that prefix has the element's length (the value).
        uint32_t len = 0;
        std::memcpy(&len, value.data(), sizeof len);
        return len == element.address.prefix_len;
    }
    if (errno == ENOENT) return false;
    return runtime_error("cannot look up " + format_set_element(set, element) + " in set " + set.name + ": " +
                         errno_text(errno));
}

}  // namespace xfw
