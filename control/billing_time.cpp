// Parsing and printing billing times (see billing_time.hpp).
#include "control/billing_time.hpp"

#include <ctime>

namespace xfw {

namespace {

// Upper bound: 9999-12-31T23:59:59Z.
constexpr int64_t kLatest = 253402300799;

bool digits(const std::string& s, size_t at, size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), without the C library's time zone.
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

Expected<int64_t> parse_billing_time(const std::string& text) {
    const auto fail = [&](const std::string& why) -> Expected<int64_t> {
        return bad_input("\"" + text + "\" is not a time: " + why +
                         " (write unix seconds, YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ / +HH:MM as in RFC 3339)");
    };
    if (text.empty()) return fail("it is empty");
    if (text.find_first_not_of("0123456789") == std::string::npos) {
        if (text.size() > 12) return fail("too large");
        const int64_t v = std::stoll(text);
        if (v > kLatest) return fail("after the year 9999");
        return v;
    }
    int y = 0, mo = 0, d = 0;
    if (!digits(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, &mo) ||
        text[7] != '-' || !digits(text, 8, 2, &d))
        return fail("the date must be YYYY-MM-DD");
    if (y < 1970) return fail("before 1970");
    if (mo < 1 || mo > 12) return fail("month " + std::to_string(mo) + " does not exist");
    if (d < 1 || d > days_in_month(y, mo)) return fail("day " + std::to_string(d) + " does not exist in that month");
    int h = 0, mi = 0, s = 0;
    int64_t offset = 0;
    if (text.size() > 10) {
        if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return fail("'T' must follow the date");
        if (!digits(text, 11, 2, &h) || text.size() < 19 || text[13] != ':' || !digits(text, 14, 2, &mi) ||
            text[16] != ':' || !digits(text, 17, 2, &s))
            return fail("the time of day must be HH:MM:SS");
        if (h > 23 || mi > 59 || s > 59) return fail("the time of day is out of range");
        const std::string zone = text.substr(19);
        if (zone == "Z" || zone == "z") {
            offset = 0;
        } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
            int oh = 0, om = 0;
            if (!digits(zone, 1, 2, &oh) || !digits(zone, 4, 2, &om) || oh > 23 || om > 59)
                return fail("the offset must be +HH:MM or -HH:MM");
            offset = (oh * 3600 + om * 60) * (zone[0] == '-' ? -1 : 1);
        } else if (zone.empty()) {
            return fail("a time of day needs 'Z' (UTC) or an offset such as +01:00");
        } else if (zone[0] == '.' || zone[0] == ',') {
            return fail("fractions of a second are not accepted");
        } else {
            return fail("\"" + zone + "\" is not 'Z' or an offset such as +01:00");
        }
    }
    const int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    if (t < 0) return fail("before 1970-01-01T00:00:00Z");
    if (t > kLatest) return fail("after the year 9999");
    return t;
}

std::string format_billing_time(int64_t unix_seconds) {
    const time_t t = static_cast<time_t>(unix_seconds);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace xfw
