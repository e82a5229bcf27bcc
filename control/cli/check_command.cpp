// check: holds a BPF object (xfw's or anyone's) or the stored ruleset against the offload
// profile and lists every violation: `xfw check --target offload [--profile nfp|netdevsim]
// [FILE.o | --rules FILE]`.
#include "control/cli/commands.hpp"

#include "control/compile.hpp"
#include "offload/checker.hpp"
#include "offload/lowering.hpp"
#include "offload/object_reader.hpp"

#include <boost/program_options.hpp>

#include <cstdio>

namespace po = boost::program_options;

namespace xfw::cli {

int run_check(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("check options");
    desc.add_options()
        ("target", po::value<std::string>()->default_value("offload"), "offload (the only checked target)")
        ("profile", po::value<std::string>()->default_value("nfp"), "nfp|netdevsim")
        ("section", po::value<std::string>()->default_value(""), "program section of the object (default: its only one)")
        ("rules", po::value<std::string>(), "check this iptables-save file compiled for offload instead of an object")
        ("object", po::value<std::string>(), "BPF object file");
    po::positional_options_description pos;
    pos.add("object", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("check: ") + e.what()));
    }
    if (vm["target"].as<std::string>() != "offload")
        return report(bad_input("check: --target \"" + vm["target"].as<std::string>() +
                                "\": only offload has rules beyond the kernel verifier's"));
    auto profile = offload::profile_by_name(vm["profile"].as<std::string>());
    if (!profile)
        return report(bad_input("check: --profile \"" + vm["profile"].as<std::string>() + "\": expected nfp or netdevsim"));

    if (vm.count("object")) {
        if (vm.count("rules")) return report(bad_input("check: give an object file or --rules, not both"));
        const std::string path = vm["object"].as<std::string>();
        auto object = offload::read_bpf_object(path, vm["section"].as<std::string>());
        if (!object) return report(object.error());
        const offload::CheckReport result = offload::check_program(object->program, object->maps, *profile);
        const std::string text = result.format();
        std::fwrite(text.data(), 1, text.size(), result.ok() ? stdout : stderr);
        std::printf("%s: section %s, %u instructions, %u bytes of stack: %s for %s (%zu violation%s, %zu note%s)\n",
                    path.c_str(), object->section.c_str(), result.instructions, result.stack_bytes,
                    result.ok() ? "can be offloaded" : "cannot be offloaded", profile->name.c_str(),
                    result.violations.size(), result.violations.size() == 1 ? "" : "s", result.notes.size(),
                    result.notes.size() == 1 ? "" : "s");
        return result.ok() ? kExitOk : kExitBadInput;
    }
    auto loaded = load_ruleset_source(
        paths, vm.count("rules") ? std::optional(vm["rules"].as<std::string>()) : std::nullopt, "check");
    if (!loaded) return report(loaded.error());
    auto program = generate_offload_ruleset(*loaded, counter_slots_needed(*loaded), *profile);
    if (!program) {
        Error e = program.error();
        e.message = "check: " + e.message;
        return report(e);
    }
    const std::string notes = program->report.format();
    std::fwrite(notes.data(), 1, notes.size(), stdout);
    std::printf("ruleset: %u instructions, %u bytes of stack: can be offloaded to %s\n", program->report.instructions,
                program->report.stack_bytes, profile->name.c_str());
    return kExitOk;
}

}  // namespace xfw::cli
