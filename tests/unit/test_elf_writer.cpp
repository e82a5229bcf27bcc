// BPF ELF object writer: the bytes parsed back with libelf (sections, symbols, relocations),
// libbpf's BTF parser (.BTF) and libbpf's object reader (bpf_object__open_mem, no kernel).
#include "xdp/elf_writer.hpp"

#include "control/compile.hpp"
#include "control/counter_map.hpp"
#include "control/restore_file.hpp"
#include "xdp/emitter.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

namespace xfw::xdp {
namespace {

using namespace xfw::bpf;

// entry: r1 = 9; r2 = 0; call count; r0 = XDP_PASS; exit
// count: *(u32*)(r10-8) = r1; r1 = map; r2 = r10 - 8; call map_lookup_elem; if r0 == 0 goto out;
//        r1 = 1; lock *(u64*)(r0) += r1; out: r0 = 0; exit
Program sample_program() {
    Emitter e;
    Label count = e.new_label(), out = e.new_label();
    e.emit(mov64_imm(R1, 9));
    e.emit(mov64_imm(R2, 0));
    e.call(count);
    e.emit(mov64_imm(R0, XDP_PASS));
    e.emit(exit_insn());
    e.bind(count);
    e.emit(stx(BPF_W, R10, R1, -8));
    e.load_map(R1, 0);
    e.emit(mov64_reg(R2, R10));
    e.emit(alu64_imm(BPF_ADD, R2, -8));
    e.emit(call_helper(BPF_FUNC_map_lookup_elem));
    e.jump_if_imm(BPF_JEQ, R0, 0, out);
    e.emit(mov64_imm(R1, 1));
    e.emit(atomic_add(BPF_DW, R0, R1, 0));
    e.bind(out);
    e.emit(mov64_imm(R0, 0));
    e.emit(exit_insn());
    auto p = e.finish();
    EXPECT_TRUE(p.ok());
    return std::move(p).value();
}

std::vector<MapSpec> sample_maps() { return {counter_map_spec(65536, CounterMode::PerCpu)}; }

struct Section {
    GElf_Shdr hdr{};
    std::vector<uint8_t> data;
    size_t index = 0;
};

// The object parsed back: sections by name, symbols, relocations by section name.
struct ParsedObject {
    GElf_Ehdr ehdr{};
    std::map<std::string, Section> sections;
    std::map<size_t, std::string> section_names;
    struct Symbol {
        std::string name;
        GElf_Sym sym;
    };
    std::vector<Symbol> symbols;
    std::map<std::string, std::vector<GElf_Rel>> relocations;  // by target section name
    size_t symtab_first_global = 0;

    const Symbol* symbol(const std::string& name) const {
        for (const auto& s : symbols)
            if (s.name == name) return &s;
        return nullptr;
    }
};

ParsedObject parse(std::vector<uint8_t> bytes) {
    ParsedObject out;
    elf_version(EV_CURRENT);
    Elf* elf = elf_memory(reinterpret_cast<char*>(bytes.data()), bytes.size());
    EXPECT_NE(elf, nullptr) << elf_errmsg(-1);
    if (!elf) return out;
    EXPECT_EQ(elf_kind(elf), ELF_K_ELF);
    EXPECT_NE(gelf_getehdr(elf, &out.ehdr), nullptr);
    size_t shstrndx = 0;
    EXPECT_EQ(elf_getshdrstrndx(elf, &shstrndx), 0);
    std::vector<std::pair<size_t, GElf_Shdr>> rels;
    Elf_Scn* scn = nullptr;
    Elf_Data* symdata = nullptr;
    GElf_Shdr symhdr{};
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
        Section s;
        gelf_getshdr(scn, &s.hdr);
        s.index = elf_ndxscn(scn);
        const std::string name = elf_strptr(elf, shstrndx, s.hdr.sh_name);
        Elf_Data* d = elf_getdata(scn, nullptr);
        if (d && d->d_buf) s.data.assign(static_cast<uint8_t*>(d->d_buf), static_cast<uint8_t*>(d->d_buf) + d->d_size);
        if (s.hdr.sh_type == SHT_SYMTAB) {
            symdata = d;
            symhdr = s.hdr;
            out.symtab_first_global = s.hdr.sh_info;
        }
        out.section_names[s.index] = name;
        out.sections[name] = s;
    }
    if (symdata) {
        const size_t n = symhdr.sh_size / sizeof(Elf64_Sym);
        for (size_t i = 0; i < n; ++i) {
            GElf_Sym sym;
            gelf_getsym(symdata, static_cast<int>(i), &sym);
            out.symbols.push_back({elf_strptr(elf, symhdr.sh_link, sym.st_name), sym});
        }
    }
    scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
        GElf_Shdr h;
        gelf_getshdr(scn, &h);
        if (h.sh_type != SHT_REL) continue;
        Elf_Data* d = elf_getdata(scn, nullptr);
        std::vector<GElf_Rel> v;
        for (size_t i = 0; i < h.sh_size / sizeof(Elf64_Rel); ++i) {
            GElf_Rel r;
            gelf_getrel(d, static_cast<int>(i), &r);
            v.push_back(r);
        }
        out.relocations[out.section_names[h.sh_info]] = v;
        EXPECT_EQ(out.section_names[h.sh_link], ".symtab");
    }
    elf_end(elf);
    return out;
}

TEST(ElfWriter, SectionsSymbolsAndRelocationsAreLaidOutAsClangDoes) {
    const Program program = sample_program();
    auto bytes = write_bpf_object(program, sample_maps());
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ParsedObject o = parse(*bytes);

    EXPECT_EQ(o.ehdr.e_ident[EI_CLASS], ELFCLASS64);
    EXPECT_EQ(o.ehdr.e_ident[EI_DATA], ELFDATA2LSB);
    EXPECT_EQ(o.ehdr.e_type, ET_REL);
    EXPECT_EQ(o.ehdr.e_machine, EM_BPF);

    for (const char* name : {"xdp", ".text", ".relxdp", ".rel.text", "license", ".maps", ".BTF", ".BTF.ext", ".symtab"})
        EXPECT_TRUE(o.sections.count(name)) << name;
    const Section& xdp = o.sections["xdp"];
    const Section& text = o.sections[".text"];
    EXPECT_EQ(xdp.hdr.sh_type, SHT_PROGBITS);
    EXPECT_EQ(xdp.hdr.sh_flags, SHF_ALLOC | SHF_EXECINSTR);
    EXPECT_EQ(text.hdr.sh_flags, SHF_ALLOC | SHF_EXECINSTR);
    // Entry: instructions 0-4; the subprogram (the call target) goes to .text.
    ASSERT_EQ(xdp.data.size(), 5 * sizeof(Insn));
    ASSERT_EQ(text.data.size(), (program.insns.size() - 5) * sizeof(Insn));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(o.sections["license"].data.data())), "GPL");
    EXPECT_EQ(o.sections["license"].hdr.sh_flags, SHF_ALLOC | SHF_WRITE);
    EXPECT_EQ(o.sections[".maps"].data.size(), 32u);
    EXPECT_EQ(o.sections[".maps"].hdr.sh_flags, SHF_ALLOC | SHF_WRITE);

    Insn xdp_insns[5];
    std::memcpy(xdp_insns, xdp.data.data(), sizeof xdp_insns);
    EXPECT_EQ(xdp_insns[2].code, BPF_JMP | BPF_CALL);
    EXPECT_EQ(xdp_insns[2].src_reg, BPF_PSEUDO_CALL);
    EXPECT_EQ(xdp_insns[2].imm, -1);  // .text + 0, as clang emits it
    std::vector<Insn> text_insns(text.data.size() / sizeof(Insn));
    std::memcpy(text_insns.data(), text.data.data(), text.data.size());
    // The map load: ld_imm64 with src_reg 0, imm 0 (libbpf fills in the map).
    EXPECT_EQ(text_insns[1].code, BPF_LD | BPF_IMM | BPF_DW);
    EXPECT_EQ(text_insns[1].src_reg, 0);
    EXPECT_EQ(text_insns[1].imm, 0);
    EXPECT_EQ(text_insns[2].imm, 0);
    // The rest of the code is unchanged.
    for (size_t i = 0; i < text_insns.size(); ++i)
        if (i != 1 && i != 2) {
            EXPECT_EQ(std::memcmp(&text_insns[i], &program.insns[5 + i], sizeof(Insn)), 0) << i;
        }

    // Symbols: locals before globals; the entry is a global function, the map a global object.
    const auto* prog = o.symbol("xfw_prog");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(GELF_ST_TYPE(prog->sym.st_info), STT_FUNC);
    EXPECT_EQ(GELF_ST_BIND(prog->sym.st_info), STB_GLOBAL);
    EXPECT_EQ(prog->sym.st_shndx, xdp.index);
    EXPECT_EQ(prog->sym.st_value, 0u);
    EXPECT_EQ(prog->sym.st_size, 5 * sizeof(Insn));
    const auto* sub = o.symbol("xfw_prog_sub0");
    ASSERT_NE(sub, nullptr);
    EXPECT_EQ(GELF_ST_TYPE(sub->sym.st_info), STT_FUNC);
    EXPECT_EQ(GELF_ST_BIND(sub->sym.st_info), STB_LOCAL);
    EXPECT_EQ(sub->sym.st_shndx, text.index);
    EXPECT_EQ(sub->sym.st_size, text.data.size());
    const auto* map = o.symbol("xfw_counters");
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(GELF_ST_TYPE(map->sym.st_info), STT_OBJECT);
    EXPECT_EQ(GELF_ST_BIND(map->sym.st_info), STB_GLOBAL);
    EXPECT_EQ(map->sym.st_shndx, o.sections[".maps"].index);
    EXPECT_EQ(map->sym.st_size, 32u);
    for (size_t i = 0; i < o.symbols.size(); ++i)
        EXPECT_EQ(GELF_ST_BIND(o.symbols[i].sym.st_info) == STB_LOCAL, i < o.symtab_first_global) << o.symbols[i].name;

    // Relocations: the call against the .text section symbol, the map load against the map.
    ASSERT_EQ(o.relocations["xdp"].size(), 1u);
    const GElf_Rel call = o.relocations["xdp"][0];
    EXPECT_EQ(call.r_offset, 2 * sizeof(Insn));
    EXPECT_EQ(GELF_R_TYPE(call.r_info), 10u);  // R_BPF_64_32
    const auto& call_sym = o.symbols.at(GELF_R_SYM(call.r_info)).sym;
    EXPECT_EQ(GELF_ST_TYPE(call_sym.st_info), STT_SECTION);
    EXPECT_EQ(call_sym.st_shndx, text.index);
    ASSERT_EQ(o.relocations[".text"].size(), 1u);
    const GElf_Rel ld = o.relocations[".text"][0];
    EXPECT_EQ(ld.r_offset, 1 * sizeof(Insn));
    EXPECT_EQ(GELF_R_TYPE(ld.r_info), 1u);  // R_BPF_64_64
    EXPECT_EQ(o.symbols.at(GELF_R_SYM(ld.r_info)).name, "xfw_counters");
}

// The __uint(name, value) encoding: value is the nr_elems of the array the member points to.
uint32_t uint_member(const struct btf* btf, const struct btf_type* st, const char* name) {
    const struct btf_member* m = btf_members(st);
    for (uint16_t i = 0; i < btf_vlen(st); ++i, ++m) {
        if (std::strcmp(btf__name_by_offset(btf, m->name_off), name) != 0) continue;
        const struct btf_type* ptr = btf__type_by_id(btf, m->type);
        if (!ptr || !btf_is_ptr(ptr)) return UINT32_MAX - 1;
        const struct btf_type* arr = btf__type_by_id(btf, ptr->type);
        if (!arr || !btf_is_array(arr)) return UINT32_MAX - 1;
        return btf_array(arr)->nelems;
    }
    return UINT32_MAX;
}

TEST(ElfWriter, BtfDescribesTheMapAndTheFunctions) {
    auto bytes = write_bpf_object(sample_program(), sample_maps());
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ParsedObject o = parse(*bytes);
    const Section& sec = o.sections[".BTF"];
    struct btf* btf = btf__new(sec.data.data(), static_cast<uint32_t>(sec.data.size()));
    ASSERT_NE(btf, nullptr);
    ASSERT_EQ(libbpf_get_error(btf), 0);

    const int var = btf__find_by_name_kind(btf, "xfw_counters", BTF_KIND_VAR);
    ASSERT_GT(var, 0);
    const struct btf_type* vt = btf__type_by_id(btf, var);
    EXPECT_EQ(btf_var(vt)->linkage, BTF_VAR_GLOBAL_ALLOCATED);
    const struct btf_type* st = btf__type_by_id(btf, vt->type);
    ASSERT_TRUE(btf_is_struct(st));
    EXPECT_EQ(st->name_off, 0u);  // anonymous
    EXPECT_EQ(uint_member(btf, st, "type"), static_cast<uint32_t>(BPF_MAP_TYPE_PERCPU_ARRAY));
    EXPECT_EQ(uint_member(btf, st, "key_size"), 4u);
    EXPECT_EQ(uint_member(btf, st, "value_size"), sizeof(CounterValue));
    EXPECT_EQ(uint_member(btf, st, "max_entries"), 65536u);

    const int maps_sec = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
    ASSERT_GT(maps_sec, 0);
    const struct btf_type* ds = btf__type_by_id(btf, maps_sec);
    ASSERT_EQ(btf_vlen(ds), 1);
    EXPECT_EQ(btf_var_secinfos(ds)[0].type, static_cast<uint32_t>(var));
    EXPECT_EQ(btf_var_secinfos(ds)[0].offset, 0u);
    EXPECT_EQ(btf_var_secinfos(ds)[0].size, 32u);

    const int fn = btf__find_by_name_kind(btf, "xfw_prog", BTF_KIND_FUNC);
    ASSERT_GT(fn, 0);
    const struct btf_type* ft = btf__type_by_id(btf, fn);
    EXPECT_EQ(btf_vlen(ft), BTF_FUNC_GLOBAL);  // a FUNC's vlen is its linkage
    const struct btf_type* proto = btf__type_by_id(btf, ft->type);
    ASSERT_TRUE(btf_is_func_proto(proto));
    ASSERT_EQ(btf_vlen(proto), 1);
    const struct btf_type* arg = btf__type_by_id(btf, btf_params(proto)[0].type);
    ASSERT_TRUE(btf_is_ptr(arg));
    EXPECT_STREQ(btf__name_by_offset(btf, btf__type_by_id(btf, arg->type)->name_off), "xdp_md");
    const int sub = btf__find_by_name_kind(btf, "xfw_prog_sub0", BTF_KIND_FUNC);
    ASSERT_GT(sub, 0);
    EXPECT_EQ(btf_vlen(btf__type_by_id(btf, sub)), BTF_FUNC_STATIC);
    btf__free(btf);

    // .BTF.ext: func_info for xdp (xfw_prog at 0) and .text (the subprogram at 0).
    const Section& ext = o.sections[".BTF.ext"];
    ASSERT_GE(ext.data.size(), 32u);
    uint32_t words[8];
    std::memcpy(words, ext.data.data(), sizeof words);
    EXPECT_EQ(words[0] & 0xffff, static_cast<uint32_t>(BTF_MAGIC));
    EXPECT_EQ(words[1], 32u);  // hdr_len
    const uint32_t func_off = 32 + words[2], func_len = words[3];
    ASSERT_EQ(func_len, 4u * (1 + 4 + 4));  // record size, two sections of one record
    std::vector<uint32_t> fi(func_len / 4);
    std::memcpy(fi.data(), ext.data.data() + func_off, func_len);
    EXPECT_EQ(fi[0], 8u);                                   // record size
    EXPECT_EQ(fi[2], 1u);                                   // xdp: one function
    EXPECT_EQ(fi[3], 0u);                                   // at offset 0
    EXPECT_EQ(fi[4], static_cast<uint32_t>(fn));
    EXPECT_EQ(fi[5 + 1], 1u);                               // .text: one function
    EXPECT_EQ(fi[5 + 3], static_cast<uint32_t>(sub));

    // line_info: every function starts with a record (the kernel requires it).
    const uint32_t line_off = 32 + words[4], line_len = words[5];
    ASSERT_GE(line_len, 4u * (1 + 2 * (2 + 4)));
    std::vector<uint32_t> li(line_len / 4);
    std::memcpy(li.data(), ext.data.data() + line_off, line_len);
    EXPECT_EQ(li[0], 16u);  // record size
    EXPECT_EQ(li[1], fi[1]);  // xdp
    ASSERT_GE(li[2], 1u);
    EXPECT_EQ(li[3], 0u);  // at the entry
    const size_t text_at = 3 + 4 * li[2];
    ASSERT_LT(text_at + 2, li.size());
    EXPECT_EQ(li[text_at], fi[5]);  // .text
    EXPECT_EQ(li[text_at + 2], 0u);  // at the subprogram
}

TEST(ElfWriter, LineInfoCarriesTheSourceSpans) {
    Emitter e;
    e.set_origin("parser");
    e.emit(mov64_imm(R0, XDP_PASS));
    e.set_origin("INPUT rule 1");
    e.emit(mov64_imm(R0, XDP_DROP));
    e.emit(exit_insn());
    auto p = e.finish();
    ASSERT_TRUE(p.ok());
    auto bytes = write_bpf_object(*p, {});
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ParsedObject o = parse(*bytes);
    struct btf* btf = btf__new(o.sections[".BTF"].data.data(), static_cast<uint32_t>(o.sections[".BTF"].data.size()));
    ASSERT_EQ(libbpf_get_error(btf), 0);
    const Section& ext = o.sections[".BTF.ext"];
    uint32_t words[8];
    std::memcpy(words, ext.data.data(), sizeof words);
    std::vector<uint32_t> li(words[5] / 4);
    std::memcpy(li.data(), ext.data.data() + 32 + words[4], words[5]);
    ASSERT_EQ(li.size(), 3u + 2 * 4);
    EXPECT_STREQ(btf__name_by_offset(btf, li[1]), "xdp");
    EXPECT_EQ(li[3], 0u);
    EXPECT_STREQ(btf__name_by_offset(btf, li[4]), "xfw");
    EXPECT_STREQ(btf__name_by_offset(btf, li[5]), "parser");
    EXPECT_EQ(li[7], sizeof(Insn));
    EXPECT_STREQ(btf__name_by_offset(btf, li[9]), "INPUT rule 1");
    btf__free(btf);
}

TEST(ElfWriter, LibbpfOpensTheObject) {
    auto bytes = write_bpf_object(sample_program(), sample_maps());
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    struct bpf_object* obj = bpf_object__open_mem(bytes->data(), bytes->size(), nullptr);
    ASSERT_EQ(libbpf_get_error(obj), 0);
    int programs = 0;
    struct bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        ++programs;
        EXPECT_STREQ(bpf_program__name(prog), "xfw_prog");
        EXPECT_STREQ(bpf_program__section_name(prog), "xdp");
        EXPECT_EQ(bpf_program__type(prog), BPF_PROG_TYPE_XDP);
    }
    EXPECT_EQ(programs, 1);
    struct bpf_map* map = bpf_object__find_map_by_name(obj, "xfw_counters");
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(bpf_map__type(map), BPF_MAP_TYPE_PERCPU_ARRAY);
    EXPECT_EQ(bpf_map__key_size(map), 4u);
    EXPECT_EQ(bpf_map__value_size(map), sizeof(CounterValue));
    EXPECT_EQ(bpf_map__max_entries(map), 65536u);
    bpf_object__close(obj);
}

TEST(ElfWriter, ACompiledRulesetOpensInLibbpf) {
    auto rs = parse_restore("*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport 53 -j ACCEPT\n"
                            "-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n",
                            Ruleset::empty());
    ASSERT_TRUE(rs.ok()) << rs.error().message;
    State state;
    state.ruleset = std::move(rs).value();
    assign_identities(state);
    auto generated = generate_ruleset(state, kCounterMapSlots, CounterMode::PerCpu);
    ASSERT_TRUE(generated.ok()) << generated.error().message;
    ElfOptions options;
    options.subprogram_names = {"xfw_count"};
    auto bytes = write_bpf_object(generated->program, generated->maps, options);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ParsedObject o = parse(*bytes);
    ASSERT_NE(o.symbol("xfw_count"), nullptr);
    // Every map load has a relocation; every call from the entry has one too.
    size_t ld = 0;
    for (const auto& [sec, rels] : o.relocations)
        for (const GElf_Rel& r : rels) ld += GELF_R_TYPE(r.r_info) == 1;
    EXPECT_EQ(ld, generated->program.map_relocations.size());
    EXPECT_EQ(o.sections["xdp"].data.size() + o.sections[".text"].data.size(),
              generated->program.insns.size() * sizeof(Insn));

    struct bpf_object* obj = bpf_object__open_mem(bytes->data(), bytes->size(), nullptr);
    ASSERT_EQ(libbpf_get_error(obj), 0);
    struct bpf_program* prog = bpf_object__find_program_by_name(obj, "xfw_prog");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(bpf_program__insn_cnt(prog), o.sections["xdp"].data.size() / sizeof(Insn));
    bpf_object__close(obj);
}

TEST(ElfWriter, RefusesJumpsAcrossFunctionsAndUnknownMaps) {
    {
        // A jump from the entry into the subprogram.
        Program p = sample_program();
        p.insns[1] = make(BPF_JMP | BPF_JA, 0, 0, 4, 0);  // 1 -> 6 (inside the subprogram)
        auto bytes = write_bpf_object(p, sample_maps());
        ASSERT_FALSE(bytes.ok());
        EXPECT_NE(bytes.error().message.find("leaves its function"), std::string::npos) << bytes.error().message;
    }
    {
        auto bytes = write_bpf_object(sample_program(), {});
        ASSERT_FALSE(bytes.ok());
        EXPECT_NE(bytes.error().message.find("uses map 0"), std::string::npos) << bytes.error().message;
    }
    {
        Program p = sample_program();
        p.map_relocations[0].insn_index = 0;
        auto bytes = write_bpf_object(p, sample_maps());
        ASSERT_FALSE(bytes.ok());
        EXPECT_NE(bytes.error().message.find("not an ld_imm64"), std::string::npos) << bytes.error().message;
    }
}

TEST(ElfWriter, ProgramWithoutSubprogramsHasNoTextSection) {
    Emitter e;
    e.emit(mov64_imm(R0, XDP_DROP));
    e.emit(exit_insn());
    auto p = e.finish();
    ASSERT_TRUE(p.ok());
    auto bytes = write_bpf_object(*p, {});
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    ParsedObject o = parse(*bytes);
    EXPECT_FALSE(o.sections.count(".text"));
    EXPECT_FALSE(o.sections.count(".maps"));
    EXPECT_EQ(o.sections["xdp"].data.size(), 2 * sizeof(Insn));
    struct bpf_object* obj = bpf_object__open_mem(bytes->data(), bytes->size(), nullptr);
    ASSERT_EQ(libbpf_get_error(obj), 0);
    EXPECT_NE(bpf_object__find_program_by_name(obj, "xfw_prog"), nullptr);
    bpf_object__close(obj);
}

}  // namespace
}  // namespace xfw::xdp
