// BPF ELF object writer: section layout in elf_writer.hpp; the bytes are produced by libelf
// (into a memfd, then read back) and the type information by libbpf's BTF writer.
#include "xdp/elf_writer.hpp"

#include <bpf/btf.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#ifndef EM_BPF
#define EM_BPF 247
#endif

namespace xfw::xdp {

namespace {

constexpr uint32_t kRelBpf64_64 = 1;   // R_BPF_64_64: ld_imm64 of a map
constexpr uint32_t kRelBpf64_32 = 10;  // R_BPF_64_32: bpf-to-bpf call

bool is_ld_imm64(const bpf::Insn& i) { return i.code == (BPF_LD | BPF_IMM | BPF_DW); }
bool is_pseudo_call(const bpf::Insn& i) {
    return i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL;
}
bool is_local_jump(const bpf::Insn& i) {
    const uint8_t cls = BPF_CLASS(i.code);
    if (cls != BPF_JMP && cls != BPF_JMP32) return false;
    const uint8_t op = BPF_OP(i.code);
    return op != BPF_CALL && op != BPF_EXIT;
}

std::string libbpf_error(const char* what, long err) {
    return std::string("writing BPF object: ") + what + ": " + std::strerror(static_cast<int>(err < 0 ? -err : err));
}

struct BtfDeleter {
    void operator()(struct btf* b) const { btf__free(b); }
};
struct ElfDeleter {
    void operator()(Elf* e) const { elf_end(e); }
};
struct FdCloser {
    int fd = -1;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

// One function of the object: the entry (in the program section) or a subprogram (.text).
struct Function {
    std::string name;
    uint32_t first = 0, end = 0;  // instruction range in the generated program
    bool entry = false;
};

struct Reloc {
    uint32_t offset;  // bytes into the section
    uint32_t symbol;
    uint32_t type;
};

// A line_info record: the origin of the code from `insn` on ("INPUT rule 3"), shown by
// `bpftool prog dump xlated` and in verifier logs.
struct LineEntry {
    uint32_t insn = 0;
    std::string text;
    uint32_t line = 0;
    uint32_t text_off = 0;  // in the BTF string table
};

// The BTF of the object and the type ids the rest of the writer needs.
struct BtfBuild {
    std::unique_ptr<struct btf, BtfDeleter> btf;
    std::vector<int> func_ids;  // per Function
    uint32_t prog_sec_name = 0, text_sec_name = 0, file_name = 0;
};

Expected<BtfBuild> build_btf(const std::vector<MapSpec>& maps, const std::vector<uint32_t>& map_offsets,
                             uint32_t maps_size, const std::vector<Function>& functions,
                             std::vector<LineEntry>& lines, const ElfOptions& options) {
    BtfBuild out;
    out.btf.reset(btf__new_empty());
    if (!out.btf) return runtime_error(libbpf_error("btf__new_empty", errno));
    struct btf* b = out.btf.get();
    auto check = [](int id, const char* what) -> Expected<int> {
        if (id < 0) return runtime_error(libbpf_error(what, id));
        return id;
    };
#define XFW_BTF(var, call)                        \
    int var;                                      \
    {                                             \
        auto r_ = check((call), #call);           \
        if (!r_) return r_.error();               \
        var = *r_;                                \
    }
    XFW_BTF(int_id, btf__add_int(b, "int", 4, BTF_INT_SIGNED));
    XFW_BTF(array_index_id, btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0));
    XFW_BTF(u32_base, btf__add_int(b, "unsigned int", 4, 0));
    XFW_BTF(u32_id, btf__add_typedef(b, "__u32", u32_base));
    XFW_BTF(u64_base, btf__add_int(b, "unsigned long long", 8, 0));
    XFW_BTF(u64_id, btf__add_typedef(b, "__u64", u64_base));

    // __uint(name, value): a pointer to an array of `value` ints.
    auto uint_field = [&](uint32_t value) -> Expected<int> {
        int arr = btf__add_array(b, array_index_id, int_id, value);
        if (arr < 0) return runtime_error(libbpf_error("btf__add_array", arr));
        int ptr = btf__add_ptr(b, arr);
        if (ptr < 0) return runtime_error(libbpf_error("btf__add_ptr", ptr));
        return ptr;
    };

    std::vector<int> map_vars;
    std::vector<uint32_t> map_sizes;
    for (const MapSpec& m : maps) {
        std::vector<std::pair<const char*, uint32_t>> fields = {{"type", static_cast<uint32_t>(m.type)},
                                                                {"key_size", m.key_size},
                                                                {"value_size", m.value_size},
                                                                {"max_entries", m.max_entries}};
        if (m.flags) fields.emplace_back("map_flags", m.flags);
        std::vector<int> field_types;
        for (const auto& [name, value] : fields) {
            auto t = uint_field(value);
            if (!t) return t.error();
            field_types.push_back(*t);
        }
        const uint32_t size = static_cast<uint32_t>(fields.size() * 8);
        XFW_BTF(st, btf__add_struct(b, nullptr, size));
        for (size_t i = 0; i < fields.size(); ++i) {
            int err = btf__add_field(b, fields[i].first, field_types[i], static_cast<uint32_t>(i * 64), 0);
            if (err) return runtime_error(libbpf_error("btf__add_field", err));
        }
        XFW_BTF(var, btf__add_var(b, m.name.c_str(), BTF_VAR_GLOBAL_ALLOCATED, st));
        map_vars.push_back(var);
        map_sizes.push_back(size);
    }
    XFW_BTF(char_id, btf__add_int(b, "char", 1, BTF_INT_SIGNED));
    XFW_BTF(license_arr, btf__add_array(b, array_index_id, char_id, static_cast<uint32_t>(options.license.size() + 1)));
    XFW_BTF(license_var, btf__add_var(b, "LICENSE", BTF_VAR_GLOBAL_ALLOCATED, license_arr));

    // int xfw_prog(struct xdp_md *ctx)
    XFW_BTF(xdp_md, btf__add_struct(b, "xdp_md", 24));
    static const char* const kXdpMdFields[] = {"data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index",
                                               "egress_ifindex"};
    for (uint32_t i = 0; i < 6; ++i) {
        int err = btf__add_field(b, kXdpMdFields[i], u32_id, i * 32, 0);
        if (err) return runtime_error(libbpf_error("btf__add_field", err));
    }
    XFW_BTF(ctx_ptr, btf__add_ptr(b, xdp_md));
    XFW_BTF(entry_proto, btf__add_func_proto(b, int_id));
    if (int err = btf__add_func_param(b, "ctx", ctx_ptr)) return runtime_error(libbpf_error("btf__add_func_param", err));
    // Subprograms take their arguments in R1-R5: static __u64 name(__u64 r1, ..., __u64 r5).
    // (Static functions are verified in the caller's context; the prototype is informative.)
    XFW_BTF(sub_proto, btf__add_func_proto(b, u64_id));
    for (const char* p : {"r1", "r2", "r3", "r4", "r5"})
        if (int err = btf__add_func_param(b, p, u64_id)) return runtime_error(libbpf_error("btf__add_func_param", err));
    for (const Function& f : functions) {
        XFW_BTF(fn, btf__add_func(b, f.name.c_str(), f.entry ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC,
                                  f.entry ? entry_proto : sub_proto));
        out.func_ids.push_back(fn);
    }

    if (!maps.empty()) {
        XFW_BTF(maps_sec, btf__add_datasec(b, ".maps", maps_size));
        (void)maps_sec;
        for (size_t i = 0; i < maps.size(); ++i) {
            int err = btf__add_datasec_var_info(b, map_vars[i], map_offsets[i], map_sizes[i]);
            if (err) return runtime_error(libbpf_error("btf__add_datasec_var_info", err));
        }
    }
    XFW_BTF(license_sec, btf__add_datasec(b, "license", static_cast<uint32_t>(options.license.size() + 1)));
    (void)license_sec;
    if (int err = btf__add_datasec_var_info(b, license_var, 0, static_cast<uint32_t>(options.license.size() + 1)))
        return runtime_error(libbpf_error("btf__add_datasec_var_info", err));

    XFW_BTF(prog_sec_name, btf__add_str(b, options.section_name.c_str()));
    XFW_BTF(text_sec_name, btf__add_str(b, ".text"));
    XFW_BTF(file_name, btf__add_str(b, options.source_name.c_str()));
    for (LineEntry& l : lines) {
        XFW_BTF(off, btf__add_str(b, l.text.c_str()));
        l.text_off = static_cast<uint32_t>(off);
    }
#undef XFW_BTF
    out.file_name = static_cast<uint32_t>(file_name);
    out.prog_sec_name = static_cast<uint32_t>(prog_sec_name);
    out.text_sec_name = static_cast<uint32_t>(text_sec_name);
    return out;
}

// .BTF.ext: func_info (records {insn_off in bytes, type_id}) and line_info (records
// {insn_off, file_name_off, line_off, line_col}), each per section: the entry's, then .text.
std::vector<uint8_t> build_btf_ext(const BtfBuild& btf, const std::vector<Function>& functions,
                                   const std::vector<LineEntry>& lines, uint32_t text_base) {
    std::vector<uint32_t> func_info;
    func_info.push_back(8);  // record size
    func_info.push_back(btf.prog_sec_name);
    func_info.push_back(1);
    func_info.push_back(0);
    func_info.push_back(static_cast<uint32_t>(btf.func_ids[0]));
    if (functions.size() > 1) {
        func_info.push_back(btf.text_sec_name);
        func_info.push_back(static_cast<uint32_t>(functions.size() - 1));
        for (size_t i = 1; i < functions.size(); ++i) {
            func_info.push_back((functions[i].first - text_base) * 8);
            func_info.push_back(static_cast<uint32_t>(btf.func_ids[i]));
        }
    }
    std::vector<uint32_t> line_info;
    line_info.push_back(16);  // record size
    auto add_lines = [&](uint32_t sec_name, uint32_t first, uint32_t end) {
        std::vector<const LineEntry*> in;
        for (const LineEntry& l : lines)
            if (l.insn >= first && l.insn < end) in.push_back(&l);
        if (in.empty()) return;
        line_info.push_back(sec_name);
        line_info.push_back(static_cast<uint32_t>(in.size()));
        for (const LineEntry* l : in) {
            line_info.push_back((l->insn - first) * 8);
            line_info.push_back(btf.file_name);
            line_info.push_back(l->text_off);
            line_info.push_back(l->line << 10);
        }
    };
    const uint32_t end = functions.back().end;
    add_lines(btf.prog_sec_name, 0, text_base);
    add_lines(btf.text_sec_name, text_base, end);
    const uint32_t hdr_len = 32;
    const uint32_t func_len = static_cast<uint32_t>(func_info.size() * 4);
    const uint32_t line_len = static_cast<uint32_t>(line_info.size() * 4);
    struct {
        uint16_t magic;
        uint8_t version;
        uint8_t flags;
        uint32_t hdr_len;
        uint32_t func_info_off, func_info_len;
        uint32_t line_info_off, line_info_len;
        uint32_t core_relo_off, core_relo_len;
    } hdr{BTF_MAGIC, BTF_VERSION, 0, hdr_len, 0, func_len, func_len, line_len, func_len + line_len, 0};
    static_assert(sizeof(hdr) == 32);
    std::vector<uint8_t> out(sizeof(hdr) + func_len + line_len);
    std::memcpy(out.data(), &hdr, sizeof(hdr));
    std::memcpy(out.data() + sizeof(hdr), func_info.data(), func_len);
    std::memcpy(out.data() + sizeof(hdr) + func_len, line_info.data(), line_len);
    return out;
}

}  // namespace

Expected<std::vector<uint8_t>> write_bpf_object(const bpf::Program& program, const std::vector<MapSpec>& maps,
                                                const ElfOptions& options) {
    const std::vector<bpf::Insn>& in = program.insns;
    const uint32_t n = static_cast<uint32_t>(in.size());
    if (n == 0) return bad_input("writing BPF object: the program is empty");
    if (options.program_name.empty() || options.section_name.empty())
        return bad_input("writing BPF object: program and section names must not be empty");

    // Instruction starts (the second half of an ld_imm64 is not one) and call targets.
    std::vector<bool> starts(n, false);
    std::set<uint32_t> targets;
    for (uint32_t i = 0; i < n; ++i) {
        starts[i] = true;
        if (is_ld_imm64(in[i])) {
            if (i + 1 >= n) return bad_input("writing BPF object: truncated ld_imm64 at instruction " + std::to_string(i));
            ++i;
            continue;
        }
        if (is_pseudo_call(in[i])) {
            const int64_t t = int64_t{i} + in[i].imm + 1;
            if (t <= 0 || t >= int64_t{n})
                return bad_input("writing BPF object: call at instruction " + std::to_string(i) +
                                 " targets instruction " + std::to_string(t) + ", outside the program");
            targets.insert(static_cast<uint32_t>(t));
        }
    }

    // Functions: the entry up to the first call target, then one subprogram per target.
    std::vector<Function> functions;
    const uint32_t split = targets.empty() ? n : *targets.begin();
    functions.push_back({options.program_name, 0, split, true});
    {
        uint32_t k = 0;
        for (auto it = targets.begin(); it != targets.end(); ++it, ++k) {
            auto next = std::next(it);
            std::string name = k < options.subprogram_names.size() ? options.subprogram_names[k]
                                                                     : options.program_name + "_sub" + std::to_string(k);
            functions.push_back({name, *it, next == targets.end() ? n : *next, false});
        }
    }
    auto function_of = [&](uint32_t insn) -> size_t {
        size_t f = 0;
        while (f + 1 < functions.size() && insn >= functions[f + 1].first) ++f;
        return f;
    };
    for (uint32_t t : targets)
        if (!starts[t]) return bad_input("writing BPF object: a call targets the middle of an ld_imm64");
    for (uint32_t i = 0; i < n; ++i) {
        if (!starts[i] || !is_local_jump(in[i])) continue;
        const int64_t t = int64_t{i} + in[i].off + 1;
        if (t < 0 || t >= int64_t{n} || function_of(static_cast<uint32_t>(t)) != function_of(i))
            return bad_input("writing BPF object: the jump at instruction " + std::to_string(i) +
                             " leaves its function (" + functions[function_of(i)].name + ")");
    }

    // Instructions of the two sections, with map and call relocations.
    std::vector<bpf::Insn> prog_insns(in.begin(), in.begin() + split);
    std::vector<bpf::Insn> text_insns(in.begin() + split, in.end());
    auto insn_at = [&](uint32_t index) -> bpf::Insn& {
        return index < split ? prog_insns[index] : text_insns[index - split];
    };

    // Symbol table layout: 0 null, 1 section xdp, 2 section .text (if any), local subprogram
    // functions, then globals: entry function, maps, LICENSE.
    const bool has_text = functions.size() > 1;
    const uint32_t sym_prog_section = 1;
    const uint32_t sym_text_section = 2;
    const uint32_t first_sub_sym = has_text ? 3 : 2;
    const uint32_t first_global = first_sub_sym + static_cast<uint32_t>(functions.size() - 1);
    const uint32_t sym_entry = first_global;
    const uint32_t first_map_sym = sym_entry + 1;
    const uint32_t sym_license = first_map_sym + static_cast<uint32_t>(maps.size());

    std::vector<Reloc> prog_relocs, text_relocs;
    for (const bpf::MapRelocation& r : program.map_relocations) {
        if (r.insn_index + 1 >= n || !starts[r.insn_index] || !is_ld_imm64(in[r.insn_index]))
            return bad_input("writing BPF object: map relocation at instruction " + std::to_string(r.insn_index) +
                             " is not an ld_imm64");
        if (r.map_index >= maps.size())
            return bad_input("writing BPF object: instruction " + std::to_string(r.insn_index) + " uses map " +
                             std::to_string(r.map_index) + ", but only " + std::to_string(maps.size()) +
                             " maps are described");
        bpf::Insn& lo = insn_at(r.insn_index);
        lo.src_reg = 0;  // as clang leaves it: libbpf sets BPF_PSEUDO_MAP_FD and the fd
        lo.imm = 0;
        insn_at(r.insn_index + 1).imm = 0;
        Reloc rel{0, first_map_sym + r.map_index, kRelBpf64_64};
        if (r.insn_index < split) {
            rel.offset = r.insn_index * 8;
            prog_relocs.push_back(rel);
        } else {
            rel.offset = (r.insn_index - split) * 8;
            text_relocs.push_back(rel);
        }
    }
    for (uint32_t i = 0; i < split; ++i) {
        if (!starts[i] || !is_pseudo_call(in[i])) continue;
        // Relative to the start of .text, as clang emits calls of static functions.
        const uint32_t t = static_cast<uint32_t>(int64_t{i} + in[i].imm + 1);
        prog_insns[i].imm = static_cast<int32_t>(t - split) - 1;
        prog_relocs.push_back({i * 8, sym_text_section, kRelBpf64_32});
    }
    // Calls inside .text keep their relative offsets (libbpf needs no relocation for them).
    std::sort(prog_relocs.begin(), prog_relocs.end(), [](const Reloc& a, const Reloc& b) { return a.offset < b.offset; });
    std::sort(text_relocs.begin(), text_relocs.end(), [](const Reloc& a, const Reloc& b) { return a.offset < b.offset; });

    // .maps contents: each map a zeroed struct of __uint fields (pointers).
    std::vector<uint32_t> map_offsets;
    uint32_t maps_size = 0;
    for (const MapSpec& m : maps) {
        if (m.name.empty()) return bad_input("writing BPF object: a map has no name");
        map_offsets.push_back(maps_size);
        maps_size += m.flags ? 40 : 32;
    }
    std::vector<uint8_t> maps_data(maps_size, 0);
    std::string license_data = options.license;
    license_data.push_back('\0');

    // Line info: one record where each source span starts, and one at every function's start
    // (the kernel needs those), in instruction order.
    std::map<uint32_t, LineEntry> line_map;
    for (size_t k = 0; k < program.spans.size(); ++k) {
        const bpf::SourceSpan& sp = program.spans[k];
        if (sp.first_insn < n && starts[sp.first_insn])
            line_map[sp.first_insn] = {sp.first_insn, sp.origin, static_cast<uint32_t>(k + 1), 0};
    }
    for (const Function& f : functions)
        if (!line_map.count(f.first)) {
            std::string origin = program.origin_of(f.first);
            line_map[f.first] = {f.first, origin.empty() ? f.name : origin, 0, 0};
        }
    std::vector<LineEntry> lines;
    for (auto& [insn, l] : line_map) lines.push_back(std::move(l));

    auto btf = build_btf(maps, map_offsets, maps_size, functions, lines, options);
    if (!btf) return btf.error();
    uint32_t btf_size = 0;
    const void* btf_raw = btf__raw_data(btf->btf.get(), &btf_size);
    if (!btf_raw) return runtime_error(libbpf_error("btf__raw_data", errno));
    std::vector<uint8_t> btf_data(static_cast<const uint8_t*>(btf_raw), static_cast<const uint8_t*>(btf_raw) + btf_size);
    std::vector<uint8_t> btf_ext_data = build_btf_ext(*btf, functions, lines, split);

    // String table (section and symbol names share it, as in clang's objects).
    std::string strtab(1, '\0');
    std::map<std::string, uint32_t> str_offsets;
    auto str = [&](const std::string& s) -> uint32_t {
        auto it = str_offsets.find(s);
        if (it != str_offsets.end()) return it->second;
        const uint32_t off = static_cast<uint32_t>(strtab.size());
        strtab += s;
        strtab.push_back('\0');
        str_offsets.emplace(s, off);
        return off;
    };

    if (elf_version(EV_CURRENT) == EV_NONE) return runtime_error("writing BPF object: libelf is unusable");
    FdCloser mem{::memfd_create("xfw-bpf-object", MFD_CLOEXEC)};
    if (mem.fd < 0) return runtime_error(std::string("writing BPF object: memfd_create: ") + std::strerror(errno));
    std::unique_ptr<Elf, ElfDeleter> elf(elf_begin(mem.fd, ELF_C_WRITE, nullptr));
    if (!elf) return runtime_error(std::string("writing BPF object: elf_begin: ") + elf_errmsg(-1));
    auto elf_fail = [](const char* what) {
        return runtime_error(std::string("writing BPF object: ") + what + ": " + elf_errmsg(-1));
    };
    if (!gelf_newehdr(elf.get(), ELFCLASS64)) return elf_fail("gelf_newehdr");
    GElf_Ehdr ehdr;
    if (!gelf_getehdr(elf.get(), &ehdr)) return elf_fail("gelf_getehdr");
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_OSABI] = ELFOSABI_NONE;
    ehdr.e_type = ET_REL;
    ehdr.e_machine = EM_BPF;
    ehdr.e_version = EV_CURRENT;

    // Sections, in order; the data buffers must outlive elf_update().
    struct SectionSpec {
        std::string name;
        uint32_t type;
        uint64_t flags;
        uint64_t align;
        uint64_t entsize;
        const void* data;
        size_t size;
        Elf_Type data_type;
    };
    std::vector<std::vector<uint8_t>> owned;
    auto add_section = [&](const SectionSpec& s, uint32_t link, uint32_t info) -> Expected<size_t> {
        Elf_Scn* scn = elf_newscn(elf.get());
        if (!scn) return elf_fail("elf_newscn");
        Elf_Data* d = elf_newdata(scn);
        if (!d) return elf_fail("elf_newdata");
        d->d_buf = const_cast<void*>(s.data);
        d->d_size = s.size;
        d->d_align = s.align;
        d->d_type = s.data_type;
        d->d_off = 0;
        d->d_version = EV_CURRENT;
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) return elf_fail("gelf_getshdr");
        sh.sh_name = str(s.name);
        sh.sh_type = s.type;
        sh.sh_flags = s.flags;
        sh.sh_addralign = s.align;
        sh.sh_entsize = s.entsize;
        sh.sh_link = link;
        sh.sh_info = info;
        if (!gelf_update_shdr(scn, &sh)) return elf_fail("gelf_update_shdr");
        return elf_ndxscn(scn);
    };

    // Section indexes are known in advance: 1 .strtab, 2 xdp, [3 .text], then the rest.
    const size_t idx_strtab = 1;
    const size_t idx_prog = 2;
    size_t next = 3;
    const size_t idx_text = has_text ? next++ : 0;
    const size_t idx_prog_rel = prog_relocs.empty() ? 0 : next++;
    const size_t idx_text_rel = text_relocs.empty() ? 0 : next++;
    const size_t idx_license = next++;
    const size_t idx_maps = maps.empty() ? 0 : next++;
    const size_t idx_btf = next++;
    const size_t idx_btf_ext = next++;
    const size_t idx_symtab = next++;

    // Symbols.
    std::vector<Elf64_Sym> syms(sym_license + 1);
    std::memset(syms.data(), 0, syms.size() * sizeof(Elf64_Sym));
    syms[sym_prog_section].st_info = ELF64_ST_INFO(STB_LOCAL, STT_SECTION);
    syms[sym_prog_section].st_shndx = static_cast<uint16_t>(idx_prog);
    if (has_text) {
        syms[sym_text_section].st_info = ELF64_ST_INFO(STB_LOCAL, STT_SECTION);
        syms[sym_text_section].st_shndx = static_cast<uint16_t>(idx_text);
    }
    for (size_t f = 1; f < functions.size(); ++f) {
        Elf64_Sym& s = syms[first_sub_sym + f - 1];
        s.st_name = str(functions[f].name);
        s.st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC);
        s.st_shndx = static_cast<uint16_t>(idx_text);
        s.st_value = (functions[f].first - split) * 8ull;
        s.st_size = (functions[f].end - functions[f].first) * 8ull;
    }
    syms[sym_entry].st_name = str(options.program_name);
    syms[sym_entry].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    syms[sym_entry].st_shndx = static_cast<uint16_t>(idx_prog);
    syms[sym_entry].st_size = split * 8ull;
    for (size_t m = 0; m < maps.size(); ++m) {
        Elf64_Sym& s = syms[first_map_sym + m];
        s.st_name = str(maps[m].name);
        s.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
        s.st_shndx = static_cast<uint16_t>(idx_maps);
        s.st_value = map_offsets[m];
        s.st_size = maps[m].flags ? 40 : 32;
    }
    syms[sym_license].st_name = str("LICENSE");
    syms[sym_license].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
    syms[sym_license].st_shndx = static_cast<uint16_t>(idx_license);
    syms[sym_license].st_size = license_data.size();

    auto rel_bytes = [](const std::vector<Reloc>& rels) {
        std::vector<Elf64_Rel> out;
        for (const Reloc& r : rels) out.push_back({r.offset, ELF64_R_INFO(r.symbol, r.type)});
        return out;
    };
    const std::vector<Elf64_Rel> prog_rel = rel_bytes(prog_relocs), text_rel = rel_bytes(text_relocs);

    // Every name goes into the string table before it is written.
    for (const std::string& s : {std::string(".strtab"), options.section_name, std::string(".text"),
                                 ".rel" + options.section_name, std::string(".rel.text"), std::string("license"),
                                 std::string(".maps"), std::string(".BTF"), std::string(".BTF.ext"),
                                 std::string(".symtab")})
        str(s);

    struct Planned {
        size_t index;
        SectionSpec spec;
        uint32_t link, info;
    };
    std::vector<Planned> plan;
    plan.push_back({idx_strtab, {".strtab", SHT_STRTAB, 0, 1, 0, strtab.data(), strtab.size(), ELF_T_BYTE}, 0, 0});
    plan.push_back({idx_prog,
                    {options.section_name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 8, 0, prog_insns.data(),
                     prog_insns.size() * sizeof(bpf::Insn), ELF_T_BYTE},
                    0, 0});
    if (has_text)
        plan.push_back({idx_text,
                        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 8, 0, text_insns.data(),
                         text_insns.size() * sizeof(bpf::Insn), ELF_T_BYTE},
                        0, 0});
    if (idx_prog_rel)
        plan.push_back({idx_prog_rel,
                        {".rel" + options.section_name, SHT_REL, SHF_INFO_LINK, 8, sizeof(Elf64_Rel), prog_rel.data(),
                         prog_rel.size() * sizeof(Elf64_Rel), ELF_T_REL},
                        static_cast<uint32_t>(idx_symtab), static_cast<uint32_t>(idx_prog)});
    if (idx_text_rel)
        plan.push_back({idx_text_rel,
                        {".rel.text", SHT_REL, SHF_INFO_LINK, 8, sizeof(Elf64_Rel), text_rel.data(),
                         text_rel.size() * sizeof(Elf64_Rel), ELF_T_REL},
                        static_cast<uint32_t>(idx_symtab), static_cast<uint32_t>(idx_text)});
    plan.push_back({idx_license,
                    {"license", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 1, 0, license_data.data(), license_data.size(),
                     ELF_T_BYTE},
                    0, 0});
    if (idx_maps)
        plan.push_back({idx_maps,
                        {".maps", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8, 0, maps_data.data(), maps_data.size(),
                         ELF_T_BYTE},
                        0, 0});
    plan.push_back({idx_btf, {".BTF", SHT_PROGBITS, 0, 4, 0, btf_data.data(), btf_data.size(), ELF_T_BYTE}, 0, 0});
    plan.push_back(
        {idx_btf_ext, {".BTF.ext", SHT_PROGBITS, 0, 4, 0, btf_ext_data.data(), btf_ext_data.size(), ELF_T_BYTE}, 0, 0});
    plan.push_back({idx_symtab,
                    {".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), syms.data(), syms.size() * sizeof(Elf64_Sym),
                     ELF_T_SYM},
                    static_cast<uint32_t>(idx_strtab), first_global});
    std::sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) { return a.index < b.index; });
    for (const Planned& p : plan) {
        auto idx = add_section(p.spec, p.link, p.info);
        if (!idx) return idx.error();
        if (*idx != p.index) return runtime_error("writing BPF object: internal: section index mismatch");
    }
    // The string table is complete now (add_section only looks names up): refresh its size.
    {
        Elf_Scn* scn = elf_getscn(elf.get(), idx_strtab);
        Elf_Data* d = scn ? elf_getdata(scn, nullptr) : nullptr;
        if (!d) return elf_fail("elf_getdata");
        d->d_buf = strtab.data();
        d->d_size = strtab.size();
    }
    ehdr.e_shstrndx = static_cast<uint16_t>(idx_strtab);
    if (!gelf_update_ehdr(elf.get(), &ehdr)) return elf_fail("gelf_update_ehdr");
    if (elf_update(elf.get(), ELF_C_WRITE) < 0) return elf_fail("elf_update");
    elf.reset();

    const off_t size = ::lseek(mem.fd, 0, SEEK_END);
    if (size < 0) return runtime_error(std::string("writing BPF object: lseek: ") + std::strerror(errno));
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t r = ::pread(mem.fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return runtime_error(std::string("writing BPF object: reading back: ") + std::strerror(errno));
        done += static_cast<size_t>(r);
    }
    return bytes;
}

}  // namespace xfw::xdp
