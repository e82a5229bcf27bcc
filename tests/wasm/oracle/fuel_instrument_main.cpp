// xfw-wasm-fuel [--charge-import-calls] [--keep-going] IN.wasm OUT.wasm [IN OUT ...]: the fuel
// rewrite of fuel_instrument.hpp as a command, for run_policy.mjs. A module it cannot rewrite is
// reported on stderr as "xfw-wasm-fuel: IN: why" and makes the exit status 2; --keep-going goes
// on with the other modules.
#include "tests/wasm/oracle/fuel_instrument.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    xfw::test::FuelInstrumentOptions options;
    bool keep_going = false;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--charge-import-calls") == 0) options.charge_import_calls = true;
        else if (std::strcmp(argv[i], "--keep-going") == 0) keep_going = true;
        else paths.push_back(argv[i]);
    }
    if (paths.empty() || paths.size() % 2 != 0) {
        std::fprintf(stderr, "usage: %s [--charge-import-calls] [--keep-going] IN.wasm OUT.wasm [IN OUT ...]\n", argv[0]);
        return 2;
    }
    int status = 0;
    for (size_t p = 0; p < paths.size(); p += 2) {
        const std::string& in_path = paths[p];
        const std::string& out_path = paths[p + 1];
        std::ifstream in(in_path, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "xfw-wasm-fuel: %s: cannot read the file\n", in_path.c_str());
            status = 2;
            if (!keep_going) return status;
            continue;
        }
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto out = xfw::test::instrument_fuel(bytes, options);
        if (!out) {
            std::fprintf(stderr, "xfw-wasm-fuel: %s: %s\n", in_path.c_str(), out.error().message.c_str());
            status = 2;
            if (!keep_going) return status;
            continue;
        }
        std::ofstream o(out_path, std::ios::binary | std::ios::trunc);
        o.write(reinterpret_cast<const char*>(out->data()), static_cast<std::streamsize>(out->size()));
        if (!o) {
            std::fprintf(stderr, "xfw-wasm-fuel: %s: cannot write %s\n", in_path.c_str(), out_path.c_str());
            return 1;
        }
    }
    return status;
}
