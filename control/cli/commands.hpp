// The xfw command-line tool: each sub-command is a function over the control-plane library.
#pragma once

#include "control/counter_export.hpp"
#include "control/firewall.hpp"

#include <optional>
#include <string>
#include <vector>

namespace xfw::cli {

// Exit statuses: 0 success, 1 runtime failure (environment, kernel), 2 bad input (nothing
// changed).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitBadInput = 2;

int report(const Error& error);

// The ruleset a command works on: an iptables-save file when `rules_file` is given, else the
// stored one. Identities are assigned (every rule has a counter slot). Errors name the file
// and line, prefixed with `command`.
Expected<State> load_ruleset_source(const Paths& paths, const std::optional<std::string>& rules_file,
                                    const std::string& command);

// Every rule's counters with its identity: as -L shows them, or the never-reset totals (`raw`).
Expected<CounterSnapshot> read_counter_snapshot(const Paths& paths, bool raw);

int run_rule_command(const Paths& paths, const std::vector<std::string>& args);
int run_save(const Paths& paths, const std::vector<std::string>& args);
int run_restore(const Paths& paths, const std::vector<std::string>& args);
int run_attach(const Paths& paths, const std::vector<std::string>& args);
int run_detach(const Paths& paths, const std::vector<std::string>& args);
int run_status(const Paths& paths, const std::vector<std::string>& args);
int run_reload(const Paths& paths, const std::vector<std::string>& args);
int run_replay(const Paths& paths, const std::vector<std::string>& args);
int run_compile(const Paths& paths, const std::vector<std::string>& args);
int run_check(const Paths& paths, const std::vector<std::string>& args);
// counters --iface IFACE | --map PIN: counters of an object deployment (object_counters.cpp).
int run_object_counters(const Paths& paths, const std::vector<std::string>& args);
int run_counters(const Paths& paths, const std::vector<std::string>& args);
int run_set(const Paths& paths, const std::vector<std::string>& args);
int run_exporter(const Paths& paths, const std::vector<std::string>& args);
int run_policy(const Paths& paths, const std::vector<std::string>& args);
int run_billing(const Paths& paths, const std::vector<std::string>& args);

}  // namespace xfw::cli
