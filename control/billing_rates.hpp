// Rate cards: what usage costs per account. A plain text file, one entry per line:
//
//   # comment
//   account=acme     per_million_packets=0.40 per_gb=0.05
//   account=default  per_million_packets=0.50 per_gb=0.08
//
// Fields are separated by blanks; `account` comes first, both prices are required, each a
// decimal number from 0 to 999999.999999999 with at most 9 digits after the point (no sign,
// no exponent). A GB is
// 10^9 bytes. `account=default` prices every account without an entry of its own. Blank lines
// and lines starting with '#' are ignored. Anything else, a repeated account or a repeated
// field is an error naming the file and line.
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace xfw {

// A price in billionths of the currency unit (exact: no floating point anywhere).
struct Price {
    uint64_t nanos = 0;
    bool operator==(const Price&) const = default;
};

struct Rate {
    Price per_million_packets;
    Price per_gb;
    bool operator==(const Rate&) const = default;
};

struct RateCard {
    std::map<std::string, Rate> accounts;
    std::optional<Rate> fallback;  // the `default` entry
    // The rate of `account`: its own entry, else the default, else null.
    const Rate* find(const std::string& account) const;
};

// `name` is used in error messages ("FILE:LINE: ...").
Expected<RateCard> parse_rate_card(const std::string& text, const std::string& name);
Expected<RateCard> read_rate_card(const std::string& path);

// "0.40" -> 400000000 nanos; errors say what is wrong with the text.
Expected<Price> parse_price(const std::string& text);

// Cost of usage in 10^-18 of the currency unit: exact for any 64-bit counts and prices.
using Cost = unsigned __int128;
Cost cost_of(uint64_t packets, uint64_t bytes, const Rate& rate);
// A cost rounded half up to 6 decimals: "12.345679".
std::string format_cost(Cost cost);
// A price as written back: "0.4".
std::string format_price(Price price);

}  // namespace xfw
