// Live changes of map-backed rule groups (see group_maps.hpp for the protocol and why).
#include "control/group_maps.hpp"

#include "control/loader.hpp"
#include "control/rule_groups.hpp"

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace xfw {

namespace fs = std::filesystem;

namespace {

using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

constexpr uint32_t kGenerationEntry = 0;
constexpr uint32_t kFingerprintEntry = 1;

bool is_group_map(const xdp::MapSpec& m) { return !m.existing() && m.name == kGroupMapName; }

// FNV-1a: a change of layout must change the fingerprint; no adversary picks the programs.
struct Fnv {
    uint64_t h = 0xcbf29ce484222325ull;
    void bytes(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    }
    template <class T> void value(const T& v) { bytes(&v, sizeof v); }
    void text(const std::string& s) {
        value(s.size());
        bytes(s.data(), s.size());
    }
};

Expected<uint64_t> read_u64(int map_fd, uint32_t key) {
    uint64_t value = 0;
    if (bpf_map_lookup_elem(map_fd, &key, &value) != 0)
        return runtime_error("cannot read the group generation map: " + errno_text(errno));
    return value;
}

Status write_u64(int map_fd, uint32_t key, uint64_t value) {
    if (bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) != 0)
        return runtime_error("cannot write the group generation map: " + errno_text(errno));
    return {};
}

std::optional<bpf_map_info> map_info(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::nullopt;
    return info;
}

std::vector<uint32_t> program_map_ids(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return {};
    std::vector<uint32_t> ids(info.nr_map_ids);
    info = bpf_prog_info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uint64_t>(ids.data());
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return {};
    ids.resize(std::min<size_t>(ids.size(), info.nr_map_ids));
    return ids;
}

// The ops that turn `from` into `to` (entries of both generations), split by generation:
// deletes first, so a full preallocated hash never refuses an insert the change makes room for.
void diff(size_t group, bool lpm, Entries from, Entries to, std::vector<LiveGroupChange::Op> (&ops)[2]) {
    std::sort(from.begin(), from.end());
    std::sort(to.begin(), to.end());
    std::vector<LiveGroupChange::Op> deletes[2], writes[2];
    size_t i = 0, j = 0;
    while (i < from.size() || j < to.size()) {
        if (j == to.size() || (i < from.size() && from[i].first < to[j].first)) {
            deletes[key_generation(from[i].first, lpm) & 1].push_back({group, from[i].first, {}});
            ++i;
        } else if (i == from.size() || to[j].first < from[i].first) {
            writes[key_generation(to[j].first, lpm) & 1].push_back({group, to[j].first, to[j].second});
            ++j;
        } else {
            if (from[i].second != to[j].second)
                writes[key_generation(to[j].first, lpm) & 1].push_back({group, to[j].first, to[j].second});
            ++i;
            ++j;
        }
    }
    for (int g = 0; g < 2; ++g) {
        for (auto& op : deletes[g]) ops[g].push_back(std::move(op));
        for (auto& op : writes[g]) ops[g].push_back(std::move(op));
    }
}

}  // namespace

GroupMapIndexes group_map_indexes(const xdp::GeneratedProgram& generated) {
    GroupMapIndexes out;
    for (size_t i = 0; i < generated.maps.size(); ++i) {
        const xdp::MapSpec& m = generated.maps[i];
        if (!m.existing() && m.name == kGroupGenerationMapName) out.generation = i;
        else if (is_group_map(m)) out.groups.push_back(i);
    }
    return out;
}

uint64_t group_layout_fingerprint(const xdp::GeneratedProgram& generated) {
    Fnv f;
    const auto& insns = generated.program.insns;
    f.value(insns.size());
    f.bytes(insns.data(), insns.size() * sizeof(bpf::Insn));
    for (const bpf::MapRelocation& r : generated.program.map_relocations) {
        f.value(r.insn_index);
        f.value(r.map_index);
    }
    for (const xdp::MapSpec& m : generated.maps) {
        f.text(m.name);
        f.text(m.pin);
        f.value(m.type);
        f.value(m.key_size);
        f.value(m.value_size);
        f.value(m.flags);
        if (is_group_map(m) || m.name == kGroupGenerationMapName) continue;
        f.value(m.max_entries);
        for (const auto& [key, value] : m.entries) {
            f.bytes(key.data(), key.size());
            f.bytes(value.data(), value.size());
        }
    }
    // 0 marks maps in the middle of a change; no program may have it.
    return f.h == 0 ? 1 : f.h;
}

void stamp_group_fingerprint(xdp::GeneratedProgram& generated) {
    const auto indexes = group_map_indexes(generated);
    if (!indexes.generation) return;
    std::vector<uint8_t> key(4), value(8);
    const uint32_t entry = kFingerprintEntry;
    const uint64_t fingerprint = group_layout_fingerprint(generated);
    std::memcpy(key.data(), &entry, 4);
    std::memcpy(value.data(), &fingerprint, 8);
    generated.maps[*indexes.generation].entries = {{std::move(key), std::move(value)}};
}

std::string group_pin_dir(const std::string& bpffs) { return bpffs + "/groups"; }

Status pin_group_maps(const std::string& bpffs, const std::vector<Fd>& maps) {
    const std::string dir = group_pin_dir(bpffs);
    if (maps.empty()) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        return {};
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return runtime_error("cannot create " + dir + ": " + std::strerror(errno));
    // The generation map last: a reader that finds it with a matching fingerprint finds the
    // group pins of the same program.
    auto pin = [&](int fd, const std::string& name) -> Status {
        const std::string path = dir + "/" + name, tmp = path + "_new";
        ::unlink(tmp.c_str());
        if (bpf_obj_pin(fd, tmp.c_str()) != 0) return runtime_error("cannot pin " + tmp + ": " + errno_text(errno));
        if (::rename(tmp.c_str(), path.c_str()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            return runtime_error("cannot replace " + path + ": " + std::strerror(err));
        }
        return {};
    };
    for (size_t i = 1; i < maps.size(); ++i) XFW_TRY(pin(maps[i].get(), std::to_string(i - 1)));
    for (size_t i = maps.size() - 1;; ++i) {
        const std::string stale = dir + "/" + std::to_string(i);
        if (::unlink(stale.c_str()) != 0) break;
    }
    return pin(maps[0].get(), "generation");
}

std::optional<LiveGroupChange> LiveGroupChange::prepare(const std::string& bpffs, int running_prog_fd,
                                                        const xdp::GeneratedProgram& running,
                                                        const xdp::GeneratedProgram& next) {
    const auto old_indexes = group_map_indexes(running), new_indexes = group_map_indexes(next);
    if (!new_indexes.generation || !old_indexes.generation || new_indexes.groups.size() != old_indexes.groups.size())
        return std::nullopt;
    const uint64_t fingerprint = group_layout_fingerprint(next);
    if (group_layout_fingerprint(running) != fingerprint) return std::nullopt;

    LiveGroupChange change;
    change.fingerprint_ = fingerprint;
    const std::string dir = group_pin_dir(bpffs);
    const int gen_fd = bpf_obj_get((dir + "/generation").c_str());
    if (gen_fd < 0) return std::nullopt;
    change.generation_map_ = Fd(gen_fd);
    auto stamped = read_u64(gen_fd, kFingerprintEntry);
    auto active = read_u64(gen_fd, kGenerationEntry);
    if (!stamped || *stamped != fingerprint || !active) return std::nullopt;
    change.active_ = static_cast<uint32_t>(*active & 1);

    const std::vector<uint32_t> used = program_map_ids(running_prog_fd);
    auto used_by_program = [&](int fd) {
        const auto info = map_info(fd);
        return info && std::find(used.begin(), used.end(), info->id) != used.end();
    };
    if (!used_by_program(gen_fd)) return std::nullopt;
    for (size_t k = 0; k < new_indexes.groups.size(); ++k) {
        const xdp::MapSpec& before = running.maps[old_indexes.groups[k]];
        const xdp::MapSpec& after = next.maps[new_indexes.groups[k]];
        const int fd = bpf_obj_get((dir + "/" + std::to_string(k)).c_str());
        if (fd < 0) return std::nullopt;
        Fd map(fd);
        const auto info = map_info(fd);
        if (!info || !used_by_program(fd) || info->type != after.type || info->key_size != after.key_size ||
            info->value_size != after.value_size)
            return std::nullopt;
        // Room for the old generation and the new one side by side (between steps 1 and 3).
        const size_t per_generation_before = before.entries.size() / kGroupGenerations;
        const size_t per_generation_after = after.entries.size() / kGroupGenerations;
        if (per_generation_before + per_generation_after > info->max_entries) return std::nullopt;
        const bool lpm = after.type == BPF_MAP_TYPE_LPM_TRIE;
        diff(k, lpm, before.entries, after.entries, change.ops_);
        change.groups_.push_back(std::move(map));
        change.lpm_.push_back(lpm);
    }
    return change;
}

Status LiveGroupChange::apply(uint32_t generation) {
    for (const Op& op : ops_[generation]) {
        const int fd = groups_[op.group].get();
        const int rc = op.value.empty() ? bpf_map_delete_elem(fd, op.key.data())
                                        : bpf_map_update_elem(fd, op.key.data(), op.value.data(), BPF_ANY);
        if (rc != 0 && !(op.value.empty() && errno == ENOENT))
            return runtime_error("cannot change rule group map " + std::to_string(op.group) + ": " +
                                 errno_text(errno));
    }
    return {};
}

Status LiveGroupChange::write_next() {
    XFW_TRY(write_u64(generation_map_.get(), kFingerprintEntry, 0));
    return apply(active_ ^ 1);
}

Status LiveGroupChange::switch_generation() {
    XFW_TRY(write_u64(generation_map_.get(), kGenerationEntry, active_ ^ 1));
    active_ ^= 1;
    return {};
}

Status LiveGroupChange::catch_up() {
    XFW_TRY(wait_for_running_programs());
    XFW_TRY(apply(active_ ^ 1));
    return write_u64(generation_map_.get(), kFingerprintEntry, fingerprint_);
}

Status wait_for_running_programs() {
    auto inner = create_map(xdp::MapSpec{.name = "xfw_grace", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
                                         .value_size = 4, .max_entries = 1});
    if (!inner) return inner.error();
    LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<uint32_t>(inner->get()));
    const int outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xfw_grace", 4, 4, 1, &opts);
    if (outer < 0) return runtime_error("cannot create a map-in-map to wait for running programs: " + errno_text(errno));
    Fd outer_map(outer);
    const uint32_t key = 0;
    const uint32_t inner_fd = static_cast<uint32_t>(inner->get());
    if (bpf_map_update_elem(outer_map.get(), &key, &inner_fd, BPF_ANY) != 0)
        return runtime_error("cannot wait for running programs (map-in-map update): " + errno_text(errno));
    return {};
}

}  // namespace xfw
