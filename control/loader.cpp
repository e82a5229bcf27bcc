// Program and map loading with libbpf's low-level API (the programs are built in memory, so
// there is no bpf_object to open).
#include "control/loader.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <regex>
#include <sstream>

namespace xfw {

std::string errno_text(int err) {
    if (err < 0) err = -err;
    std::string text = std::strerror(err);
    if (err == EPERM || err == EACCES)
        text += " (xfw needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)";
    return text;
}

Expected<Fd> create_map(const xdp::MapSpec& spec, uint32_t offload_ifindex) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = spec.flags, .map_ifindex = offload_ifindex);
    int fd = bpf_map_create(spec.type, spec.name.substr(0, BPF_OBJ_NAME_LEN - 1).c_str(), spec.key_size,
                            spec.value_size, spec.max_entries, &opts);
    if (fd < 0)
        return runtime_error("cannot create map " + spec.name + ": " + errno_text(errno));
    return Fd(fd);
}

namespace {

// The verifier log names the failing instruction as "N: (..) ..." near its end; find the last
// such index so the error can say which rule the instruction came from.
std::optional<uint32_t> last_instruction_in_log(const std::string& log) {
    static const std::regex insn_line(R"((?:^|\n)(\d+): \()");
    std::optional<uint32_t> last;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), insn_line); it != std::sregex_iterator(); ++it)
        last = static_cast<uint32_t>(std::stoul((*it)[1].str()));
    return last;
}

std::string log_tail(const std::string& log, size_t lines) {
    std::vector<std::string> all;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
        out += "  " + all[i] + "\n";
    return out;
}

}  // namespace

Expected<Fd> load_xdp_program(const bpf::Program& program, const std::vector<int>& map_fds,
                              const LoadOptions& options) {
    std::vector<bpf::Insn> insns = program.insns;
    for (const bpf::MapRelocation& r : program.map_relocations) {
        if (r.map_index >= map_fds.size()) return runtime_error("internal: map relocation without a map");
        insns.at(r.insn_index).imm = map_fds[r.map_index];
    }
    std::string name = options.name.substr(0, BPF_OBJ_NAME_LEN - 1);
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_ifindex = options.offload_ifindex);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name.c_str(), "GPL", insns.data(), insns.size(), &opts);
    if (fd >= 0) return Fd(fd);
    int err = errno;
    // EACCES/EINVAL: the verifier refused; ENOMEM/E2BIG/ERANGE: the program is too large for
    // it (e.g. a jump it cannot patch). Both deserve the verifier's own words.
    if (err != EACCES && err != EINVAL && err != ENOMEM && err != E2BIG && err != ERANGE)
        return runtime_error("cannot load the XDP program: " + errno_text(err));

    // Load again with the log on, to explain the refusal.
    std::string log(1 << 22, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, log_opts, .prog_ifindex = options.offload_ifindex, .log_level = 1,
                .log_size = static_cast<uint32_t>(log.size()), .log_buf = log.data());
    fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name.c_str(), "GPL", insns.data(), insns.size(), &log_opts);
    if (fd >= 0) return Fd(fd);  // refused once, accepted with the log on: take it
    log.resize(std::strlen(log.c_str()));
    std::string where;
    if (auto insn = last_instruction_in_log(log); insn && !program.origin_of(*insn).empty())
        where = " at instruction " + std::to_string(*insn) + " (" + program.origin_of(*insn) + ")";
    return bad_input("the kernel verifier refused the program" + where + ": " + errno_text(err) +
                     "\n" + log_tail(log, 12));
}

Expected<uint32_t> test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat,
                            uint32_t* duration_ns) {
    std::vector<uint8_t> out(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
        return runtime_error("BPF_PROG_TEST_RUN failed: " + errno_text(errno));
    if (duration_ns) *duration_ns = opts.duration;
    return opts.retval;
}

}  // namespace xfw
