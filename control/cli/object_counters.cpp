// counters --iface IFACE | --map PIN: the counters of an object deployment (`xfw compile -o
// F.o` loaded by `ip link ... xdp|xdpoffload obj F.o`, xdp-loader or bpftool), read from the
// xfw_counters map of the programs attached to IFACE (every XDP mode, including the programs
// behind a libxdp dispatcher) or from a pinned map, and labelled with the ruleset the object
// was compiled from (the stored one, or --rules FILE).
#include "control/cli/commands.hpp"

#include "control/loader.hpp"
#include "control/offload_deploy.hpp"
#include "xdp/plan.hpp"

#include <bpf/bpf.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <boost/program_options.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

// The ids of the xfw_counters maps the program `prog_fd` uses.
std::set<uint32_t> counter_maps_of(int prog_fd) {
    std::set<uint32_t> out;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0 || info.nr_map_ids == 0) return out;
    std::vector<uint32_t> ids(info.nr_map_ids);
    bpf_prog_info again{};
    again.nr_map_ids = info.nr_map_ids;
    again.map_ids = reinterpret_cast<uint64_t>(ids.data());
    len = sizeof(again);
    if (bpf_obj_get_info_by_fd(prog_fd, &again, &len) != 0) return out;
    for (uint32_t id : ids) {
        Fd map(bpf_map_get_fd_by_id(id));
        if (!map.valid()) continue;
        bpf_map_info m{};
        uint32_t mlen = sizeof(m);
        if (bpf_obj_get_info_by_fd(map.get(), &m, &mlen) == 0 && std::string(m.name) == xdp::kCounterMapName)
            out.insert(id);
    }
    return out;
}

// Every xfw_counters map of the XDP programs on `ifname`, in every mode.
Expected<std::set<uint32_t>> counter_maps_on(const std::string& ifname) {
    const uint32_t ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) return bad_input("counters: interface \"" + ifname + "\" does not exist");
    std::set<uint32_t> prog_ids;
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) != 0)
        return runtime_error("counters: cannot query the XDP programs of " + ifname + ": " + errno_text(errno));
    for (uint32_t id : {query.prog_id, query.drv_prog_id, query.skb_prog_id, query.hw_prog_id})
        if (id) prog_ids.insert(id);
    std::set<uint32_t> maps;
    for (uint32_t id : prog_ids) {
        Fd prog(bpf_prog_get_fd_by_id(id));
        if (!prog.valid()) continue;
        for (uint32_t m : counter_maps_of(prog.get())) maps.insert(m);
    }
    // Programs loaded by xdp-loader run behind libxdp's dispatcher.
    xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
    if (mp && !libxdp_get_error(mp)) {
        for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p; p = xdp_multiprog__next_prog(p, mp))
            for (uint32_t m : counter_maps_of(xdp_program__fd(p))) maps.insert(m);
        xdp_multiprog__close(mp);
    }
    if (maps.empty())
        return bad_input("counters: no XDP program on " + ifname + " uses an " + std::string(xdp::kCounterMapName) +
                         " map (is an xfw object attached? see `ip link show dev " + ifname + "`)");
    return maps;
}

}  // namespace

int run_object_counters(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("counters options");
    desc.add_options()
        ("iface", po::value<std::string>(), "interface running an xfw object")
        ("map", po::value<std::string>(), "pinned xfw_counters map of an object deployment")
        ("rules", po::value<std::string>(), "iptables-save file the object was compiled from (default: the stored ruleset)")
        ("json", "print a JSON object")
        ("csv", "print CSV (RFC 4180)")
        ("prometheus", "print the Prometheus text format");
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(desc).style(style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("counters: ") + e.what()));
    }
    if (vm.count("iface") == vm.count("map")) return report(bad_input("counters: give --iface IFACE or --map PIN"));
    if (vm.count("json") + vm.count("csv") + vm.count("prometheus") > 1)
        return report(bad_input("counters: --json, --csv and --prometheus exclude each other"));
    auto state = load_ruleset_source(
        paths, vm.count("rules") ? std::optional(vm["rules"].as<std::string>()) : std::nullopt, "counters");
    if (!state) return report(state.error());
    const uint32_t slots = std::max(state->next_slot, xdp::kFirstRuleSlot);

    std::vector<Fd> maps;
    if (vm.count("map")) {
        const std::string pin = vm["map"].as<std::string>();
        int fd = bpf_obj_get(pin.c_str());
        if (fd < 0) return report(bad_input("counters: cannot open pinned map " + pin + ": " + errno_text(errno)));
        maps.emplace_back(fd);
    } else {
        auto ids = counter_maps_on(vm["iface"].as<std::string>());
        if (!ids) return report(ids.error());
        for (uint32_t id : *ids) {
            int fd = bpf_map_get_fd_by_id(id);
            if (fd < 0) return report(runtime_error("counters: cannot open map id " + std::to_string(id) + ": " + errno_text(errno)));
            maps.emplace_back(fd);
        }
    }
    // Host maps and device maps (native and offloaded programs on one interface) add up.
    std::vector<xdp::CounterValue> sums(slots);
    for (const Fd& map : maps) {
        auto values = read_counter_slots(map.get(), slots);
        if (!values) return report(values.error());
        for (uint32_t s = 0; s < slots; ++s) {
            sums[s].packets += (*values)[s].packets;
            sums[s].bytes += (*values)[s].bytes;
        }
    }
    auto pair = [&](uint32_t slot) { return CounterPair{sums[slot].packets, sums[slot].bytes}; };
    const CounterSnapshot snapshot = make_counter_snapshot(
        state->ruleset, [&](const Rule& r) { return pair(state->slot_of_rule.at(r.id)); }, pair(xdp::kSlotPolicyInput),
        pair(xdp::kSlotError), pair(xdp::kSlotNonIp));
    const std::string text = vm.count("json")         ? format_counters_json(snapshot)
                             : vm.count("csv")        ? format_counters_csv(snapshot)
                             : vm.count("prometheus") ? format_counters_prometheus(snapshot)
                                                      : format_counters_table(snapshot);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitRuntime;
}

}  // namespace xfw::cli
