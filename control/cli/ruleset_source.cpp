// Where compile and replay take their ruleset from: a file or the stored state.
#include "control/cli/commands.hpp"

#include "control/policy_compile.hpp"
#include "control/policy_store.hpp"
#include "control/restore_file.hpp"

#include <fstream>
#include <sstream>

namespace xfw::cli {

Expected<State> load_ruleset_source(const Paths& paths, const std::optional<std::string>& rules_file,
                                    const std::string& command) {
    State state;
    if (rules_file) {
        std::ifstream in(*rules_file);
        if (!in) return bad_input(command + ": cannot read " + *rules_file);
        std::stringstream text;
        text << in.rdbuf();
        auto rs = parse_restore(text.str(), Ruleset::empty());
        if (!rs) {
            Error e = rs.error();
            e.message = command + ": " + *rules_file + ": " + e.message;
            return e;
        }
        state.ruleset = std::move(rs).value();
        // Policies come straight from their files (nothing is stored for a file ruleset).
        if (Status st = read_policy_files(state.ruleset); !st) {
            Error e = st.error();
            e.message = command + ": " + *rules_file + ": " + e.message;
            return e;
        }
    } else {
        auto fw = Firewall::open(paths);
        if (!fw) return fw.error();
        state = fw->state();
    }
    assign_identities(state);
    if (Status st = assign_all_policy_slots(state); !st) {
        Error e = st.error();
        e.message = command + ": " + e.message;
        return e;
    }
    return state;
}

}  // namespace xfw::cli
