// Writes a generated program as a standard relocatable BPF ELF object, laid out as clang
// leaves one, so libbpf-based loaders (bpftool, ip link ... xdp obj, xdp-loader,
// bpf_object__open_file) load it unchanged:
//
//   xdp        the entry function (symbol `program_name`, STT_FUNC GLOBAL)
//   .text      the bpf-to-bpf subprograms (libbpf only accepts callees in .text), one
//              STT_FUNC LOCAL symbol each; calls from `xdp` carry R_BPF_64_32 relocations
//   .relxdp / .rel.text
//              R_BPF_64_64 relocations of each map ld_imm64 (imm 0, src_reg 0) to its map
//   .maps      BTF-defined maps (`__uint(type, ...)`, key_size, value_size, max_entries)
//   license    "GPL"
//   .BTF       types: the map structs and variables, FUNCs for the entry and subprograms
//   .BTF.ext   func_info for every function (the kernel needs it for freplace, i.e. for the
//              libxdp dispatcher), and line_info: each source span's origin ("INPUT rule 3")
//              as the "source line", so `bpftool prog dump xlated` shows where code came from
#pragma once

#include "xdp/emitter.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace xfw::xdp {

struct ElfOptions {
    std::string program_name = "xfw_prog";  // entry function symbol
    std::string section_name = "xdp";       // program section (libbpf derives the type from it)
    std::string license = "GPL";
    std::string source_name = "xfw";  // the "file name" of the line info
    // Names of the subprograms (.text functions) in the order they appear; missing ones are
    // called <program_name>_sub<N>.
    std::vector<std::string> subprogram_names;
};

// The object file's bytes. Fails (runtime_error) when libelf/libbpf fail, and (bad_input)
// when the program cannot be split into an entry function and .text subprograms (a jump
// across a function boundary, a relocation that does not point at an ld_imm64, a map index
// without a MapSpec).
Expected<std::vector<uint8_t>> write_bpf_object(const bpf::Program& program, const std::vector<MapSpec>& maps,
                                                const ElfOptions& options = {});

}  // namespace xfw::xdp
