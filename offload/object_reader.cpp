// Object reading: libbpf (bpf_object__open_file, no kernel) for the maps as loaders see them,
// libelf for the instructions and relocations, libbpf's BTF parser for the line info strings.
#include "offload/object_reader.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

namespace xfw::offload {

namespace {

struct ElfSection {
    std::string name;
    GElf_Shdr hdr{};
    std::vector<uint8_t> data;
};

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};
struct BtfCloser {
    void operator()(struct btf* b) const { btf__free(b); }
};

bool is_ld_imm64(const bpf::Insn& i) { return i.code == (BPF_LD | BPF_DW | BPF_IMM); }

Expected<std::vector<ElfSection>> read_sections(const std::string& path, std::vector<GElf_Sym>& symbols) {
    if (elf_version(EV_CURRENT) == EV_NONE) return runtime_error("libelf is unusable");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bad_input("cannot open " + path + ": " + std::strerror(errno));
    std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_begin(fd, ELF_C_READ, nullptr), elf_end);
    auto close_fd = std::unique_ptr<int, void (*)(int*)>(new int(fd), [](int* f) {
        ::close(*f);
        delete f;
    });
    GElf_Ehdr ehdr;
    if (!elf || elf_kind(elf.get()) != ELF_K_ELF || !gelf_getehdr(elf.get(), &ehdr))
        return bad_input(path + " is not an ELF file");
    if (ehdr.e_machine != 247 /* EM_BPF */) return bad_input(path + " is an ELF file, but not a BPF object");
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return bad_input(path + ": no section name table");
    std::vector<ElfSection> out;
    out.push_back({});  // index 0
    for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
        ElfSection s;
        gelf_getshdr(scn, &s.hdr);
        const char* name = elf_strptr(elf.get(), shstrndx, s.hdr.sh_name);
        s.name = name ? name : "";
        if (s.hdr.sh_type != SHT_NOBITS)
            if (Elf_Data* d = elf_getdata(scn, nullptr); d && d->d_buf)
                s.data.assign(static_cast<uint8_t*>(d->d_buf), static_cast<uint8_t*>(d->d_buf) + d->d_size);
        if (s.hdr.sh_type == SHT_SYMTAB) {
            Elf_Data* d = elf_getdata(scn, nullptr);
            const size_t count = s.hdr.sh_entsize ? s.hdr.sh_size / s.hdr.sh_entsize : 0;
            for (size_t k = 0; d && k < count; ++k) {
                GElf_Sym sym;
                if (gelf_getsym(d, static_cast<int>(k), &sym)) symbols.push_back(sym);
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<bpf::Insn> insns_of(const ElfSection& s) {
    std::vector<bpf::Insn> out(s.data.size() / sizeof(bpf::Insn));
    if (!out.empty()) std::memcpy(out.data(), s.data.data(), out.size() * sizeof(bpf::Insn));
    return out;
}

// line_info of .BTF.ext: per section, records {insn_off, file_name_off, line_off, line_col}.
void read_line_info(const std::string& path, const std::vector<ElfSection>& sections, const std::string& prog_section,
                    uint32_t text_base, std::vector<bpf::SourceSpan>& spans) {
    const ElfSection* ext = nullptr;
    for (const ElfSection& s : sections)
        if (s.name == ".BTF.ext") ext = &s;
    if (!ext || ext->data.size() < 32) return;
    std::unique_ptr<struct btf, BtfCloser> btf(btf__parse_elf(path.c_str(), nullptr));
    if (!btf || libbpf_get_error(btf.get())) {
        btf.release();
        return;
    }
    auto u32_at = [&](size_t off) -> uint32_t {
        uint32_t v = 0;
        if (off + 4 <= ext->data.size()) std::memcpy(&v, ext->data.data() + off, 4);
        return v;
    };
    const uint32_t hdr_len = u32_at(4), line_off = u32_at(16), line_len = u32_at(20);
    size_t at = hdr_len + line_off;
    const size_t end = at + line_len;
    if (line_len < 4 || end > ext->data.size()) return;
    const uint32_t rec_size = u32_at(at);
    at += 4;
    while (at + 8 <= end && rec_size >= 16) {
        const char* sec = btf__str_by_offset(btf.get(), u32_at(at));
        const uint32_t count = u32_at(at + 4);
        at += 8;
        const std::string sec_name = sec ? sec : "";
        const bool prog = sec_name == prog_section, text = sec_name == ".text";
        for (uint32_t k = 0; k < count && at + rec_size <= end; ++k, at += rec_size) {
            if (!prog && !text) continue;
            const char* line = btf__str_by_offset(btf.get(), u32_at(at + 8));
            const uint32_t insn = u32_at(at) / 8 + (text ? text_base : 0);
            spans.push_back({insn, line ? line : ""});
        }
    }
    std::stable_sort(spans.begin(), spans.end(),
                     [](const bpf::SourceSpan& a, const bpf::SourceSpan& b) { return a.first_insn < b.first_insn; });
}

}  // namespace

Expected<ObjectProgram> read_bpf_object(const std::string& path, const std::string& section) {
    // Maps as libbpf sees them (BTF-defined or legacy, global data as internal maps).
    LIBBPF_OPTS(bpf_object_open_opts, open_opts);
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_file(path.c_str(), &open_opts));
    if (!obj || libbpf_get_error(obj.get())) {
        const long err = libbpf_get_error(obj.get());
        obj.release();
        return bad_input("cannot open BPF object " + path + ": " + std::strerror(static_cast<int>(err < 0 ? -err : EINVAL)));
    }
    ObjectProgram out;
    std::map<std::string, uint32_t> map_index;
    bpf_map* map;
    bpf_object__for_each_map(map, obj.get()) {
        xdp::MapSpec spec;
        spec.name = bpf_map__name(map);
        spec.type = bpf_map__type(map);
        spec.key_size = bpf_map__key_size(map);
        spec.value_size = bpf_map__value_size(map);
        spec.max_entries = bpf_map__max_entries(map);
        spec.flags = bpf_map__map_flags(map);
        map_index[spec.name] = static_cast<uint32_t>(out.maps.size());
        out.maps.push_back(spec);
    }

    std::vector<GElf_Sym> symbols;
    auto sections = read_sections(path, symbols);
    if (!sections) return sections.error();
    // The program section: an executable section other than .text.
    size_t prog = 0, text = 0;
    std::vector<std::string> candidates;
    for (size_t k = 1; k < sections->size(); ++k) {
        const ElfSection& s = (*sections)[k];
        if (s.hdr.sh_type != SHT_PROGBITS || !(s.hdr.sh_flags & SHF_EXECINSTR) || s.data.empty()) continue;
        if (s.name == ".text") {
            text = k;
            continue;
        }
        candidates.push_back(s.name);
        if (section.empty() ? prog == 0 : s.name == section) prog = k;
    }
    if (!section.empty() && prog == 0)
        return bad_input(path + " has no program section \"" + section + "\"");
    if (prog == 0) return bad_input(path + " holds no program");
    if (section.empty() && candidates.size() > 1) {
        std::string list;
        for (const std::string& c : candidates) list += (list.empty() ? "" : ", ") + c;
        return bad_input(path + " holds several programs (" + list + "); name one with --section");
    }
    out.section = (*sections)[prog].name;
    std::vector<bpf::Insn> insns = insns_of((*sections)[prog]);
    const uint32_t text_base = static_cast<uint32_t>(insns.size());
    if (text) {
        std::vector<bpf::Insn> t = insns_of((*sections)[text]);
        insns.insert(insns.end(), t.begin(), t.end());
    }

    // Relocations of the program section and of .text.
    for (size_t k = 1; k < sections->size(); ++k) {
        const ElfSection& s = (*sections)[k];
        if (s.hdr.sh_type != SHT_REL || (s.hdr.sh_info != prog && (text == 0 || s.hdr.sh_info != text))) continue;
        const uint32_t base = s.hdr.sh_info == prog ? 0 : text_base;
        const size_t count = s.data.size() / sizeof(Elf64_Rel);
        for (size_t r = 0; r < count; ++r) {
            Elf64_Rel rel;
            std::memcpy(&rel, s.data.data() + r * sizeof(Elf64_Rel), sizeof(rel));
            const uint32_t at = base + static_cast<uint32_t>(rel.r_offset / 8);
            const uint32_t sym_index = static_cast<uint32_t>(ELF64_R_SYM(rel.r_info));
            if (at >= insns.size() || sym_index >= symbols.size())
                return bad_input(path + ": relocation outside the program");
            const GElf_Sym& sym = symbols[sym_index];
            bpf::Insn& in = insns[at];
            const std::string target_section =
                sym.st_shndx < sections->size() ? (*sections)[sym.st_shndx].name : std::string();
            if (in.code == (BPF_JMP | BPF_CALL)) {
                // A call into .text: the target is the symbol's offset plus imm + 1 instructions.
                const int64_t target = text_base + static_cast<int64_t>(sym.st_value / 8) + in.imm + 1;
                in.imm = static_cast<int32_t>(target - at - 1);
                in.src_reg = BPF_PSEUDO_CALL;
                continue;
            }
            if (!is_ld_imm64(in)) return bad_input(path + ": relocation at instruction " + std::to_string(at) +
                                                   " that is neither a call nor an ld_imm64");
            if (target_section == ".maps" || target_section == "maps") {
                // The symbol's name is the map's name.
                std::string name;
                for (size_t k2 = 1; k2 < sections->size(); ++k2)
                    if ((*sections)[k2].hdr.sh_type == SHT_STRTAB && (*sections)[k2].name == ".strtab" &&
                        sym.st_name < (*sections)[k2].data.size())
                        name = reinterpret_cast<const char*>((*sections)[k2].data.data() + sym.st_name);
                auto it = map_index.find(name);
                if (it == map_index.end()) return bad_input(path + ": instruction " + std::to_string(at) +
                                                            " refers to an unknown map \"" + name + "\"");
                in.src_reg = BPF_PSEUDO_MAP_FD;
                out.program.map_relocations.push_back({at, it->second});
            } else if (target_section.rfind(".data", 0) == 0 || target_section.rfind(".rodata", 0) == 0 ||
                       target_section.rfind(".bss", 0) == 0) {
                in.src_reg = BPF_PSEUDO_MAP_VALUE;  // global data: the checker names it
            } else if (target_section == ".text" || target_section == out.section) {
                in.src_reg = BPF_PSEUDO_FUNC;  // a function's address (callback)
            }
        }
    }
    out.program.insns = std::move(insns);
    read_line_info(path, *sections, out.section, text_base, out.program.spans);
    return out;
}

}  // namespace xfw::offload
