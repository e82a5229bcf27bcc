// Reads a BPF ELF object (xfw's own or clang's) back into a bpf::Program and map specs, without
// a kernel, so the checker can hold any object against a profile: `xfw check --target offload
// FILE.o`. The program section and the .text subprograms are joined as libbpf joins them,
// relocations become map relocations, and the line info (which xfw's objects fill with each
// instruction's origin, "INPUT:3") becomes the program's source spans.
#pragma once

#include "xdp/emitter.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <string>
#include <vector>

namespace xfw::offload {

struct ObjectProgram {
    std::string section;  // the program's ELF section ("xdp")
    bpf::Program program;
    std::vector<xdp::MapSpec> maps;  // libbpf's view of the object's maps, global data included
};

// `section` empty: the object's only program section (an error when there are several).
Expected<ObjectProgram> read_bpf_object(const std::string& path, const std::string& section = "");

}  // namespace xfw::offload
