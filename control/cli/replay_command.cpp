// replay: a pcap through the stored ruleset (or a rules file) with BPF_PROG_TEST_RUN.
#include "control/cli/commands.hpp"

#include "control/replay.hpp"
#include "control/restore_file.hpp"
#include "control/rule_printer.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace po = boost::program_options;

namespace xfw::cli {

int run_replay(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("replay options");
    desc.add_options()
        ("pcap", po::value<std::string>(), "capture to replay (Ethernet)")
        ("rules", po::value<std::string>(), "iptables-save file to use instead of the stored ruleset")
        ("json", "print a JSON object");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("replay: ") + e.what()));
    }
    if (!vm.count("pcap")) return report(bad_input("replay: --pcap FILE is required"));

    auto loaded = load_ruleset_source(
        paths, vm.count("rules") ? std::optional(vm["rules"].as<std::string>()) : std::nullopt, "replay");
    if (!loaded) return report(loaded.error());
    State state = std::move(loaded).value();

    auto frames = read_pcap_frames(vm["pcap"].as<std::string>());
    if (!frames) return report(frames.error());
    auto result = replay_frames(state, *frames);
    if (!result) return report(result.error());

    auto slot_value = [&](uint32_t slot) {
        return slot < result->slots.size() ? result->slots[slot] : xdp::CounterValue{};
    };
    const Chain* input = state.ruleset.find(kInputChain);
    if (vm.count("json")) {
        nlohmann::json j;
        j["packets"] = result->packets;
        j["verdicts"] = nlohmann::json::object();
        for (const auto& [name, n] : result->verdicts) j["verdicts"][name] = n;
        j["rules"] = nlohmann::json::array();
        for (const Chain* c : chains_in_listing_order(state.ruleset))  // the order -L prints
            for (size_t i = 0; i < c->rules.size(); ++i) {
                auto v = slot_value(state.slot_of_rule.at(c->rules[i].id));
                j["rules"].push_back({{"chain", c->name}, {"num", i + 1}, {"spec", format_rule_spec(c->rules[i])},
                                      {"packets", v.packets}, {"bytes", v.bytes}});
            }
        auto pol = slot_value(xdp::kSlotPolicyInput);
        j["policy"] = {{kInputChain, {{"target", input && input->policy == Target::Kind::Drop ? "DROP" : "ACCEPT"},
                                      {"packets", pol.packets}, {"bytes", pol.bytes}}}};
        auto err = slot_value(xdp::kSlotError), nonip = slot_value(xdp::kSlotNonIp);
        j["errors"] = {{"packets", err.packets}, {"bytes", err.bytes}};
        j["non_ip"] = {{"packets", nonip.packets}, {"bytes", nonip.bytes}};
        std::printf("%s\n", j.dump(2).c_str());
        return kExitOk;
    }
    std::printf("packets: %llu\n", static_cast<unsigned long long>(result->packets));
    for (const auto& [name, n] : result->verdicts)
        std::printf("  %-12s %llu\n", name.c_str(), static_cast<unsigned long long>(n));
    std::fputs(format_listing(state.ruleset, std::nullopt, ListOptions{true, true, true, true},
                              [&](const Rule& r) -> std::pair<uint64_t, uint64_t> {
                                  auto v = slot_value(state.slot_of_rule.at(r.id));
                                  return {v.packets, v.bytes};
                              },
                              [&](const std::string& chain) -> std::pair<uint64_t, uint64_t> {
                                  if (chain != kInputChain) return {0, 0};
                                  auto v = slot_value(xdp::kSlotPolicyInput);
                                  return {v.packets, v.bytes};
                              })
                   .c_str(),
               stdout);
    auto err = slot_value(xdp::kSlotError), nonip = slot_value(xdp::kSlotNonIp);
    std::printf("\nmalformed headers: %llu packets, %llu bytes\nnon-IP (passed): %llu packets, %llu bytes\n",
                static_cast<unsigned long long>(err.packets), static_cast<unsigned long long>(err.bytes),
                static_cast<unsigned long long>(nonip.packets), static_cast<unsigned long long>(nonip.bytes));
    return kExitOk;
}

}  // namespace xfw::cli
