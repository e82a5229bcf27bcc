// Rate card parsing and exact cost arithmetic (see billing_rates.hpp).
#include "control/billing_rates.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace xfw {

namespace {

constexpr uint64_t kNanosPerUnit = 1'000'000'000ULL;

std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string f;
    while (in >> f) out.push_back(f);
    return out;
}

bool valid_account_name(const std::string& name) {
    if (name.empty()) return false;
    for (unsigned char c : name)
        if (c <= ' ' || c == 0x7f || c == '=' || c == '#') return false;
    return true;
}

}  // namespace

const Rate* RateCard::find(const std::string& account) const {
    if (auto it = accounts.find(account); it != accounts.end()) return &it->second;
    return fallback ? &*fallback : nullptr;
}

Expected<Price> parse_price(const std::string& text) {
    const auto fail = [&](const std::string& why) -> Expected<Price> {
        return bad_input("\"" + text + "\" is not a price: " + why + " (write e.g. 0.40)");
    };
    if (text.empty()) return fail("it is empty");
    const size_t dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    const std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
    if (whole.empty()) return fail("digits are needed before the point");
    if (dot != std::string::npos && frac.empty()) return fail("digits are needed after the point");
    for (char c : whole + frac)
        if (c < '0' || c > '9') return fail("only digits and one decimal point are allowed");
    if (frac.size() > 9) return fail("at most 9 digits after the point");
    // Bounded so that cost_of() stays exact in 128 bits for any 64-bit counts.
    if (whole.size() > 6) return fail("too large (at most 999999.999999999)");
    uint64_t nanos = std::stoull(whole) * kNanosPerUnit;
    std::string padded = frac + std::string(9 - frac.size(), '0');
    nanos += std::stoull(padded);
    return Price{nanos};
}

Expected<RateCard> parse_rate_card(const std::string& text, const std::string& name) {
    RateCard card;
    std::istringstream in(text);
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::string where = name + ":" + std::to_string(line_no) + ": ";
        const std::vector<std::string> fields = fields_of(line);
        if (fields.empty() || fields[0][0] == '#') continue;
        if (fields[0].rfind("account=", 0) != 0)
            return bad_input(where + "\"" + fields[0] + "\": an entry starts with account=NAME");
        const std::string account = fields[0].substr(8);
        if (!valid_account_name(account))
            return bad_input(where + "\"" + fields[0] + "\": the account name is empty or has '=' or '#'");
        std::optional<Price> per_million, per_gb;
        for (size_t i = 1; i < fields.size(); ++i) {
            const std::string& f = fields[i];
            const size_t eq = f.find('=');
            const std::string key = eq == std::string::npos ? f : f.substr(0, eq);
            if (eq == std::string::npos)
                return bad_input(where + "\"" + f + "\": expected per_million_packets=PRICE or per_gb=PRICE");
            std::optional<Price>* slot = key == "per_million_packets" ? &per_million : key == "per_gb" ? &per_gb : nullptr;
            if (!slot)
                return bad_input(where + "\"" + key + "\": unknown field (known: per_million_packets, per_gb)");
            if (*slot) return bad_input(where + key + " is given twice");
            auto price = parse_price(f.substr(eq + 1));
            if (!price) return bad_input(where + key + ": " + price.error().message);
            *slot = *price;
        }
        if (!per_million) return bad_input(where + "account " + account + " has no per_million_packets=PRICE");
        if (!per_gb) return bad_input(where + "account " + account + " has no per_gb=PRICE");
        const Rate rate{*per_million, *per_gb};
        if (account == "default") {
            if (card.fallback) return bad_input(where + "a second account=default entry");
            card.fallback = rate;
        } else if (!card.accounts.emplace(account, rate).second) {
            return bad_input(where + "a second entry for account " + account);
        }
    }
    return card;
}

Expected<RateCard> read_rate_card(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return bad_input("cannot read the rate card " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_rate_card(text.str(), path);
}

Cost cost_of(uint64_t packets, uint64_t bytes, const Rate& rate) {
    // packets * (price per 10^6 packets) = packets * nanos * 10^-9 / 10^6 = packets * nanos * 1000 * 10^-18;
    // bytes * (price per 10^9 bytes)     = bytes * nanos * 10^-9 / 10^9   = bytes * nanos * 10^-18.
    return static_cast<Cost>(packets) * rate.per_million_packets.nanos * 1000u +
           static_cast<Cost>(bytes) * rate.per_gb.nanos;
}

std::string format_cost(Cost cost) {
    const Cost unit = static_cast<Cost>(1'000'000'000'000ULL);  // 10^-6 in 10^-18 units
    const Cost micros = (cost + unit / 2) / unit;
    const Cost whole = micros / 1'000'000u;
    const uint64_t frac = static_cast<uint64_t>(micros % 1'000'000u);
    // `whole` can exceed 64 bits only for absurd prices; print it digit by digit anyway.
    std::string digits;
    Cost w = whole;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(w % 10u)));
        w /= 10u;
    } while (w != 0);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(frac));
    return digits + "." + buf;
}

std::string format_price(Price price) {
    std::string s = std::to_string(price.nanos / kNanosPerUnit);
    uint64_t frac = price.nanos % kNanosPerUnit;
    if (frac == 0) return s;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%09llu", static_cast<unsigned long long>(frac));
    std::string f = buf;
    while (!f.empty() && f.back() == '0') f.pop_back();
    return s + "." + f;
}

}  // namespace xfw
