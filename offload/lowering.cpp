// Offload lowering: counter layout choice, generation, mandatory check.
#include "offload/lowering.hpp"

namespace xfw::offload {

Expected<xdp::CodegenOptions> codegen_options(uint32_t slots, const NfpProfile& profile) {
    xdp::CodegenOptions options;
    // The NFP has no per-CPU storage: one shared ARRAY, updated with atomic adds (the only
    // atomic it implements), never read by the program itself.
    options.counters = xdp::CounterMode::SharedAtomic;
    options.counters_per_entry = 1;
    const uint32_t value = sizeof(xdp::CounterValue);
    if (profile.max_map_entries && slots > profile.max_map_entries) {
        // Fewer entries than slots: pack consecutive slots into one value.
        const uint32_t per_entry = (slots + profile.max_map_entries - 1) / profile.max_map_entries;
        const uint32_t value_size = per_entry * value;
        if (value_size > profile.max_value_size || value_size + 8 > profile.max_elem_size)
            return bad_input("the ruleset needs " + std::to_string(slots) + " counter slots of " +
                             std::to_string(value) + " bytes; " + profile.name + " holds " +
                             std::to_string(profile.max_map_entries) + " entries of at most " +
                             std::to_string(profile.max_value_size) + " bytes per map; use fewer rules");
        options.counters_per_entry = per_entry;
    }
    return options;
}

Expected<OffloadProgram> generate_for_offload(const xdp::Plan& plan, const NfpProfile& profile) {
    auto options = codegen_options(plan.counter_slots, profile);
    if (!options) return options.error();
    auto generated = xdp::generate(plan, *options);
    if (!generated) return generated.error();
    CheckReport report = check_program(generated->program, generated->maps, profile);
    if (!report.ok())
        return bad_input("the program cannot be offloaded to " + profile.name + " (" +
                         std::to_string(report.violations.size()) + " violation" +
                         (report.violations.size() == 1 ? "" : "s") + "):\n" + report.format());
    return OffloadProgram{std::move(generated).value(), std::move(report), *options};
}

}  // namespace xfw::offload
