// Random integer-only Wasm policy modules for the differential test (test_wasm_differential.cpp),
// built with binaryen's C builder API from a seed: the same seed always gives the same module.
//
// A module imports the whole xfw ABI, has one page of memory (sometimes starting at 0 pages so
// memory.grow has work to do), data segments, mutable and immutable i32/i64 globals, up to three
// helper functions that call only helpers defined before them (no recursion), and exports the
// policy "filter" () -> i32. Bodies use every MVP integer instruction: i32/i64 arithmetic,
// bitwise ops, shifts and rotates (counts include 31/32/63/64 and negatives), clz/ctz/popcnt,
// eqz, signed and unsigned div/rem (with operands that provoke the divide-by-zero and overflow
// traps), extend/wrap, every comparison, select, locals (get/set/tee), globals, blocks with
// values, if/else, loops (bounded by a counter, some long enough to exhaust the fuel), br, br_if,
// br_table, return, unreachable, direct calls, loads and stores of every width with in-range and
// out-of-range addresses and offsets, memory.size and memory.grow, packet loads at offsets in and
// out of the frame, pkt_len, ifindex, and count() with valid and invalid buckets. Constants are
// drawn mostly from edge values (0, 1, -1, INT_MIN, INT_MAX, 31, 32, 63, 64, ...).
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace xfw::test {

struct GeneratedModule {
    uint64_t seed = 0;
    std::vector<uint8_t> wasm;
    std::string wat;                       // binaryen's text form, for reproducing a failure
    uint32_t fuel = 65536;                 // run it with this much fuel per packet
    std::optional<uint32_t> buckets_flag;  // --buckets N (when the module has no xfw.buckets)
    uint32_t bucket_count = 0;             // from the section or the flag
    std::set<std::string> instructions;    // Wasm instruction names the module contains
};

// Builds and validates (binaryen) the module of `seed`. An error means a generator bug.
Expected<GeneratedModule> generate_module(uint64_t seed);

// Every instruction name generate_module can emit, for coverage checks.
const std::set<std::string>& generator_instruction_names();

}  // namespace xfw::test
