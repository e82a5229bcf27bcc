// `xfw set ...`: ipset-style sets (create, add, del, test, flush, list, destroy, save, restore).
#include "control/cli/commands.hpp"

#include "control/set_catalog.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace xfw::cli {

namespace {

constexpr const char* kSetUsage =
    "usage: xfw set create NAME hash:ip|hash:net|hash:ip,port|hash:net,port [family inet|inet6]\n"
    "                      [hashsize N] [maxelem N] [-exist]\n"
    "       xfw set add|del NAME ELEMENT [-exist]\n"
    "       xfw set test NAME ELEMENT\n"
    "       xfw set flush [NAME] | destroy [NAME]\n"
    "       xfw set list [NAME] [-n|-name] [-t|-terse]\n"
    "       xfw set save [NAME] | restore [-exist] [FILE|-]";

bool is_exist_flag(const std::string& a) { return a == "-exist" || a == "--exist" || a == "-!"; }

// Removes -exist flags from `args`; tells whether there was one.
bool take_exist(std::vector<std::string>& args) {
    const size_t before = args.size();
    std::erase_if(args, is_exist_flag);
    return args.size() != before;
}

Error usage(const std::string& why) { return bad_input("set: " + why + "\n" + kSetUsage); }

// After a set's map had to be made afresh, programs still hold the old one: rebuild them.
Status reload_if_recreated(Firewall& fw, const SetCatalog& catalog) {
    for (const std::string& name : catalog.recreated())
        if (!rules_using_set(fw.state().ruleset, name).empty()) return fw.reload();
    return {};
}

}  // namespace

int run_set(const Paths& paths, const std::vector<std::string>& all_args) {
    if (all_args.empty()) return report(usage("missing sub-command"));
    const std::string verb = all_args[0];
    std::vector<std::string> args(all_args.begin() + 1, all_args.end());
    const bool exist = take_exist(args);
    auto fw = Firewall::open(paths);
    if (!fw) return report(fw.error());
    auto catalog = SetCatalog::open(paths, fw->state().ruleset);
    if (!catalog) return report(catalog.error());
    auto done = [&](Status st) {
        if (st) st = reload_if_recreated(*fw, *catalog);
        return st ? kExitOk : report(st.error());
    };
    auto need = [&](size_t min, size_t max, const char* form) -> Status {
        if (args.size() < min || args.size() > max) return usage(std::string("usage: xfw set ") + form);
        return {};
    };
    if (exist && verb != "create" && verb != "add" && verb != "del" && verb != "restore")
        return report(usage("-exist applies to create, add, del and restore"));

    if (verb == "create" || verb == "n" || verb == "-N") {
        if (Status st = need(2, 64, "create NAME TYPE [OPTIONS]"); !st) return report(st.error());
        auto def = parse_set_create(args[0], args[1], std::vector<std::string>(args.begin() + 2, args.end()));
        if (!def) return report(Error{"set create: " + def.error().message, def.error().exit_code});
        return done(catalog->create(*def, exist));
    }
    if (verb == "add" || verb == "del") {
        if (Status st = need(2, 2, verb == "add" ? "add NAME ELEMENT" : "del NAME ELEMENT"); !st) return report(st.error());
        Status st = verb == "add" ? catalog->add(args[0], args[1], exist) : catalog->del(args[0], args[1], exist);
        if (!st) return report(Error{"set " + verb + ": " + st.error().message, st.error().exit_code});
        return done({});
    }
    if (verb == "test") {
        if (Status st = need(2, 2, "test NAME ELEMENT"); !st) return report(st.error());
        auto in = catalog->test(args[0], args[1]);
        if (!in) return report(Error{"set test: " + in.error().message, in.error().exit_code});
        if (Status st = reload_if_recreated(*fw, *catalog); !st) return report(st.error());
        std::printf("%s is %sin set %s.\n", args[1].c_str(), *in ? "" : "NOT ", args[0].c_str());
        return *in ? kExitOk : kExitRuntime;  // ipset: 1 when not in the set
    }
    if (verb == "flush" || verb == "destroy") {
        if (Status st = need(0, 1, verb == "flush" ? "flush [NAME]" : "destroy [NAME]"); !st) return report(st.error());
        std::optional<std::string> name;
        if (!args.empty()) name = args[0];
        Status st = verb == "flush" ? catalog->flush(name) : catalog->destroy(name);
        if (!st) return report(Error{"set " + verb + ": " + st.error().message, st.error().exit_code});
        return done({});
    }
    if (verb == "list") {
        bool names_only = false, terse = false;
        std::optional<std::string> name;
        for (const std::string& a : args) {
            if (a == "-n" || a == "-name") names_only = true;
            else if (a == "-t" || a == "-terse") terse = true;
            else if (!a.empty() && a[0] == '-') return report(usage("list: unknown option \"" + a + "\""));
            else if (name) return report(usage("list takes at most one set name"));
            else name = a;
        }
        if (name && !catalog->find(*name))
            return report(bad_input("set list: the set with the given name does not exist: " + *name));
        std::string out;
        for (const SetDefinition& d : catalog->definitions()) {
            if (name && d.name != *name) continue;
            if (names_only) {
                out += d.name + "\n";
                continue;
            }
            auto text = catalog->list(d, terse);
            if (!text) return report(text.error());
            out += text.value();
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        return kExitOk;
    }
    if (verb == "save") {
        if (Status st = need(0, 1, "save [NAME]"); !st) return report(st.error());
        std::optional<std::string> name;
        if (!args.empty()) name = args[0];
        auto text = catalog->save(name);
        if (!text) return report(Error{"set save: " + text.error().message, text.error().exit_code});
        std::fwrite(text->data(), 1, text->size(), stdout);
        return kExitOk;
    }
    if (verb == "restore") {
        if (Status st = need(0, 1, "restore [-exist] [FILE|-]"); !st) return report(st.error());
        std::stringstream text;
        if (args.empty() || args[0] == "-") {
            text << std::cin.rdbuf();
        } else {
            std::ifstream in(args[0]);
            if (!in) return report(bad_input("set restore: cannot read " + args[0]));
            text << in.rdbuf();
        }
        Status st = catalog->restore(text.str(), exist);
        if (!st) return report(Error{"set restore: " + st.error().message, st.error().exit_code});
        return done({});
    }
    return report(usage("unknown sub-command \"" + verb + "\""));
}

}  // namespace xfw::cli
