// Section framing scan of a Wasm binary (see module_scan.hpp).
#include "wasm-policy/module_scan.hpp"

#include <algorithm>

namespace xfw::wasm {

namespace {

constexpr const char* kBucketsSection = "xfw.buckets";

struct Reader {
    std::span<const uint8_t> bytes;
    size_t pos = 0;
    size_t end = 0;
    std::string error;

    bool fail(const std::string& what) {
        if (error.empty()) error = what + " at byte " + std::to_string(pos);
        return false;
    }
    bool byte(uint8_t& out) {
        if (pos >= end) return fail("unexpected end of data");
        out = bytes[pos++];
        return true;
    }
    bool leb(uint64_t& out, unsigned max_bits) {
        out = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (shift >= max_bits + 7) return fail("LEB128 number too long");
            uint8_t b;
            if (!byte(b)) return false;
            out |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
        if (max_bits < 64 && (out >> max_bits)) return fail("LEB128 number out of range");
        return true;
    }
    bool u32(uint32_t& out) {
        uint64_t v;
        if (!leb(v, 32)) return false;
        out = static_cast<uint32_t>(v);
        return true;
    }
    bool name(std::string& out) {
        uint32_t len;
        if (!u32(len)) return false;
        if (len > end - pos) return fail("name runs past the end of its section");
        out.assign(reinterpret_cast<const char*>(bytes.data() + pos), len);
        pos += len;
        return true;
    }
    bool limits(MemoryLimits& out, bool is_memory) {
        uint8_t flags;
        if (!byte(flags)) return false;
        if (flags & ~0x07) return fail("unknown limits flags");
        out.shared = flags & 0x02;
        out.memory64 = is_memory && (flags & 0x04);
        if (!leb(out.initial_pages, out.memory64 ? 64 : 32)) return false;
        if (flags & 0x01) {
            uint64_t max;
            if (!leb(max, out.memory64 ? 64 : 32)) return false;
            out.max_pages = max;
        }
        return true;
    }
};

}  // namespace

Expected<ModuleScan> scan_module(std::span<const uint8_t> bytes) {
    static const uint8_t kMagic[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    if (bytes.size() < 8 || !std::equal(kMagic, kMagic + 4, bytes.begin()))
        return bad_input("not a WebAssembly binary (it does not start with \\0asm); compile the policy "
                         "to .wasm first (wat2wasm, clang --target=wasm32, asc)");
    if (!std::equal(kMagic + 4, kMagic + 8, bytes.begin() + 4))
        return bad_input("unsupported WebAssembly binary version (only version 1 is supported)");
    ModuleScan scan;
    Reader r{bytes, 8, bytes.size()};
    auto framing_error = [&] { return bad_input("malformed WebAssembly binary: " + r.error); };
    int last_id = 0;
    while (r.pos < bytes.size()) {
        uint8_t id;
        uint32_t size;
        if (!r.byte(id) || !r.u32(size)) return framing_error();
        if (size > bytes.size() - r.pos) {
            r.fail("section " + std::to_string(id) + " of " + std::to_string(size) +
                   " bytes runs past the end of the file (truncated?)");
            return framing_error();
        }
        const size_t section_end = r.pos + size;
        Reader s{bytes, r.pos, section_end};
        if (id != 0) {
            // Known section ids in their required order (12, data count, sits before code).
            static const int kOrder[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
            if (id > 13) {
                r.fail("unknown section id " + std::to_string(id));
                return framing_error();
            }
            if (kOrder[id] <= last_id) {
                r.fail("section " + std::to_string(id) + " out of order or repeated");
                return framing_error();
            }
            last_id = kOrder[id];
        }
        switch (id) {
            case 0: {  // custom
                std::string name;
                if (!s.name(name)) return bad_input("malformed WebAssembly binary: " + s.error);
                if (name == kBucketsSection) {
                    if (scan.buckets_section)
                        return bad_input("the module has two \"xfw.buckets\" custom sections; keep one");
                    scan.buckets_section.emplace(reinterpret_cast<const char*>(bytes.data() + s.pos),
                                                 section_end - s.pos);
                }
                break;
            }
            case 2: {  // imports
                uint32_t count;
                if (!s.u32(count)) return bad_input("malformed import section: " + s.error);
                for (uint32_t i = 0; i < count; ++i) {
                    ImportEntry entry;
                    uint8_t kind;
                    if (!s.name(entry.module) || !s.name(entry.name) || !s.byte(kind))
                        return bad_input("malformed import section: " + s.error);
                    entry.kind = kind;
                    uint64_t ignored;
                    uint8_t b;
                    MemoryLimits limits;
                    bool ok = true;
                    switch (kind) {
                        case 0: ok = s.leb(ignored, 32); break;
                        case 1: ok = s.byte(b) && s.limits(limits, false); break;
                        case 2: ok = s.limits(limits, true); break;
                        case 3: ok = s.byte(b) && s.byte(b); break;
                        case 4: ok = s.byte(b) && s.leb(ignored, 32); break;
                        default: ok = s.fail("unknown import kind " + std::to_string(kind));
                    }
                    if (!ok) return bad_input("malformed import section: " + s.error);
                    scan.imports.push_back(std::move(entry));
                }
                break;
            }
            case 4: scan.has_tables = true; break;
            case 5: {  // memory
                uint32_t count;
                if (!s.u32(count)) return bad_input("malformed memory section: " + s.error);
                scan.memory_count = count;
                if (count >= 1) {
                    MemoryLimits limits;
                    if (!s.limits(limits, true)) return bad_input("malformed memory section: " + s.error);
                    scan.memory = limits;
                }
                break;
            }
            case 8: scan.has_start = true; break;
            case 9: scan.has_elements = true; break;
            case 12: scan.has_data_count = true; break;
            case 13: scan.has_tags = true; break;
            default: break;
        }
        r.pos = section_end;
    }
    return scan;
}

}  // namespace xfw::wasm
