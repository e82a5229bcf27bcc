// compile: the stored ruleset (or an iptables-save file) as a standard BPF ELF object, for
// loaders other than xfw (bpftool, ip link ... xdp obj, xdp-loader, libbpf applications).
#include "control/cli/commands.hpp"

#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/restore_file.hpp"
#include "offload/checker.hpp"
#include "xdp/elf_writer.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace po = boost::program_options;

namespace xfw::cli {

namespace {

// Writes `bytes` to a temporary file next to `path`, then renames it over `path`: readers
// never see a partial object, and a failure leaves nothing behind.
Status write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
    const std::filesystem::path target(path);
    std::string dir = target.parent_path().string();
    if (dir.empty()) dir = ".";
    std::string tmpl = dir + "/." + target.filename().string() + ".tmp-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return runtime_error("compile: cannot write " + path + ": " + std::strerror(errno));
    auto fail = [&](const char* what) {
        const int err = errno;
        ::close(fd);
        ::unlink(name.data());
        return runtime_error("compile: cannot write " + path + ": " + what + ": " + std::strerror(err));
    };
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return fail("write");
        done += static_cast<size_t>(w);
    }
    if (::fchmod(fd, 0644) != 0) return fail("fchmod");
    if (::fsync(fd) != 0) return fail("fsync");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(name.data());
        return runtime_error("compile: cannot write " + path + ": close: " + std::strerror(err));
    }
    if (::rename(name.data(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(name.data());
        return runtime_error("compile: cannot write " + path + ": " + std::strerror(err));
    }
    return {};
}

// Stack use of the deepest call chain, frames rounded as the kernel rounds them (32 bytes).
uint32_t program_stack_bytes(const bpf::Program& program, const std::vector<xdp::MapSpec>& maps) {
    offload::NfpProfile any = offload::nfp_profile();
    any.stack_frame_align = 32;
    return offload::check_program(program, maps, any).stack_bytes;
}

}  // namespace

int run_compile(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("compile options");
    desc.add_options()
        ("rules", po::value<std::string>(), "iptables-save file to compile instead of the stored ruleset")
        ("output,o", po::value<std::string>(), "object file to write")
        ("target", po::value<std::string>()->default_value("native"), "native|offload")
        ("profile", po::value<std::string>()->default_value("nfp"), "offload device profile: nfp|netdevsim")
        ("stats", "print the program's instruction count and stack use");
    po::positional_options_description none;  // no positional arguments
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(none).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("compile: ") + e.what()));
    }
    const std::string target = vm["target"].as<std::string>();
    if (target != "native" && target != "offload")
        return report(bad_input("compile: --target \"" + target + "\": expected native or offload"));
    auto profile = offload::profile_by_name(vm["profile"].as<std::string>());
    if (!profile)
        return report(bad_input("compile: --profile \"" + vm["profile"].as<std::string>() +
                                "\": expected nfp or netdevsim"));
    if (!vm.count("output") || vm["output"].as<std::string>().empty())
        return report(bad_input("compile: -o FILE (the object file to write) is required"));
    const std::string output = vm["output"].as<std::string>();
    if (std::filesystem::is_directory(output))
        return report(bad_input("compile: " + output + " is a directory; -o needs a file name"));

    auto loaded = load_ruleset_source(
        paths, vm.count("rules") ? std::optional(vm["rules"].as<std::string>()) : std::nullopt, "compile");
    if (!loaded) return report(loaded.error());
    State state = std::move(loaded).value();
    if (state.next_slot > kCounterMapSlots)
        return report(bad_input("compile: too many rules: the counter map holds " +
                                std::to_string(kCounterMapSlots - xdp::kFirstRuleSlot) + " rules"));

    // Native: the same layout as the pinned map, so counters read the same way. Offload: a
    // shared map of the slots the ruleset uses (the device's memory is small), checked against
    // the profile before anything is written.
    Expected<xdp::GeneratedProgram> generated = runtime_error("internal: no target");
    std::optional<offload::CheckReport> offload_report;
    if (target == "offload") {
        auto program = generate_offload_ruleset(state, counter_slots_needed(state), *profile);
        if (program) {
            offload_report = program->report;
            generated = std::move(program->generated);
        } else {
            generated = program.error();
        }
    } else {
        generated = generate_ruleset(state, kCounterMapSlots, xdp::CounterMode::PerCpu);
    }
    if (!generated) {
        Error e = generated.error();
        e.message = "compile: " + e.message;
        return report(e);
    }
    if (offload_report) {
        const std::string notes = offload_report->format();
        std::fwrite(notes.data(), 1, notes.size(), stderr);
    }
    xdp::ElfOptions options;
    options.subprogram_names = {"xfw_count"};
    auto object = xdp::write_bpf_object(generated->program, generated->maps, options);
    if (!object) return report(object.error());
    if (Status st = write_file_atomically(output, *object); !st) return report(st.error());
    std::printf("wrote %s: program %s in section %s, %zu instructions, map %s (%zu bytes)\n", output.c_str(),
                options.program_name.c_str(), options.section_name.c_str(), generated->program.insns.size(),
                xdp::kCounterMapName, object->size());
    if (vm.count("stats")) {
        const xdp::MapSpec& counters = generated->maps.front();
        std::printf("target %s: %zu instructions, %u bytes of stack, counter map %s of %u entries x %u bytes\n",
                    target.c_str(), generated->program.insns.size(), program_stack_bytes(generated->program, generated->maps),
                    counters.type == BPF_MAP_TYPE_PERCPU_ARRAY ? "PERCPU_ARRAY" : "ARRAY", counters.max_entries,
                    counters.value_size);
    }
    return kExitOk;
}

}  // namespace xfw::cli
