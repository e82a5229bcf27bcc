// compile: the stored ruleset (or an iptables-save file) as a standard BPF ELF object, for
// loaders other than xfw (bpftool, ip link ... xdp obj, xdp-loader, libbpf applications).
#include "control/cli/commands.hpp"

#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/restore_file.hpp"
#include "xdp/elf_writer.hpp"
#include "xdp/plan.hpp"

#include <boost/program_options.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

}  // namespace

int run_compile(const Paths& paths, const std::vector<std::string>& args) {
    po::options_description desc("compile options");
    desc.add_options()
        ("rules", po::value<std::string>(), "iptables-save file to compile instead of the stored ruleset")
        ("output,o", po::value<std::string>(), "object file to write");
    po::positional_options_description none;  // no positional arguments
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(none).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return report(bad_input(std::string("compile: ") + e.what()));
    }
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

    // The same layout as the pinned map, so counters read the same way.
    auto generated = generate_ruleset(state, kCounterMapSlots, xdp::CounterMode::PerCpu);
    if (!generated) {
        Error e = generated.error();
        e.message = "compile: " + e.message;
        return report(e);
    }
    xdp::ElfOptions options;
    options.subprogram_names = {"xfw_count"};
    auto object = xdp::write_bpf_object(generated->program, generated->maps, options);
    if (!object) return report(object.error());
    if (Status st = write_file_atomically(output, *object); !st) return report(st.error());
    std::printf("wrote %s: program %s in section %s, %zu instructions, map %s (%zu bytes)\n", output.c_str(),
                options.program_name.c_str(), options.section_name.c_str(), generated->program.insns.size(),
                xdp::kCounterMapName, object->size());
    return kExitOk;
}

}  // namespace xfw::cli
