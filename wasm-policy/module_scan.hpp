// A scan of a Wasm binary's section framing, before binaryen reads it. binaryen's C API ends the
// process on a malformed binary and exposes neither the memory limits, the start function nor
// custom sections; this scan gives truncated or foreign files a precise error and extracts the
// facts the policy ABI needs. It reads section headers and the few small sections below, not
// code: everything else is binaryen's job.
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xfw::wasm {

struct ImportEntry {
    std::string module;
    std::string name;
    uint8_t kind = 0;  // 0 function, 1 table, 2 memory, 3 global, 4 tag
};

struct MemoryLimits {
    uint64_t initial_pages = 0;
    std::optional<uint64_t> max_pages;
    bool shared = false;
    bool memory64 = false;
};

struct ModuleScan {
    std::vector<ImportEntry> imports;
    std::optional<MemoryLimits> memory;  // defined (not imported) memory
    uint32_t memory_count = 0;           // defined memories
    bool has_start = false;
    bool has_tables = false;
    bool has_elements = false;
    bool has_data_count = false;  // bulk memory
    bool has_tags = false;        // exceptions
    std::optional<std::string> buckets_section;  // payload of the "xfw.buckets" custom section
};

Expected<ModuleScan> scan_module(std::span<const uint8_t> bytes);

}  // namespace xfw::wasm
