// Times on the billing command line and in reports. Accepted (all UTC unless an offset says
// otherwise):
//   1767225600                  unix seconds
//   2026-01-01                  midnight UTC of that day
//   2026-01-01T00:00:00Z        RFC 3339 / ISO 8601, 'T' or a blank between date and time,
//   2026-01-01T01:00:00+01:00   'Z' or a numeric offset (+HH:MM / -HH:MM); no fractions
#pragma once

#include "xdp/error.hpp"

#include <cstdint>
#include <string>

namespace xfw {

// Errors name the text and the accepted forms.
Expected<int64_t> parse_billing_time(const std::string& text);
// RFC 3339 in UTC: "2026-01-01T00:00:00Z".
std::string format_billing_time(int64_t unix_seconds);

}  // namespace xfw
