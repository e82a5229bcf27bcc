// Readers for what `xfw counters` exports, for tests: an RFC 4180 CSV reader, and a checker
// and parser for the Prometheus text exposition format 0.0.4. Header-only.
//
// Prometheus grammar (https://prometheus.io/docs/instrumenting/exposition_formats/):
//   line     = comment | sample | ""  (lines end with '\n', the last one too)
//   comment  = "# HELP " name " " docstring   ('\\' and '\n' escaped in the docstring)
//            | "# TYPE " name " " ("counter"|"gauge"|"histogram"|"summary"|"untyped")
//            | "#" anything else
//   sample   = name ["{" [label ("," label)* [","]] "}"] " " value [" " timestamp]
//   name     = [a-zA-Z_:][a-zA-Z0-9_:]*     label name = [a-zA-Z_][a-zA-Z0-9_]*
//   label    = labelname "=" '"' (any UTF-8 but '\\', '"', '\n' | "\\\\" | "\\\"" | "\\n")* '"'
//   value    = a Go float (digits, '.', exponent, sign) | "NaN" | "+Inf" | "-Inf"
// Also checked: at most one HELP and one TYPE per family, TYPE before the family's samples,
// a family's samples in one group, no two samples with the same name and label set, no label
// name twice in one sample, no label named with the reserved "__" prefix.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace xfw::test {

struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;  // unescaped values
    std::string value;                           // as written
};

struct PromParse {
    std::vector<PromSample> samples;
    std::map<std::string, std::string> help;  // family -> docstring (unescaped)
    std::map<std::string, std::string> type;  // family -> type
};

// RFC 4180: records end with CRLF, fields are separated by ',', a field starting with '"' runs
// to the next lone '"' ("" is a literal quote) and may hold ',', CR and LF. nullopt (and *why)
// for text that is not RFC 4180 (a bare LF or CR outside quotes, text after a closing quote,
// an unterminated quote, no final CRLF).
inline std::optional<std::vector<std::vector<std::string>>> read_csv(const std::string& text,
                                                                     std::string* why = nullptr) {
    auto fail = [&](const std::string& msg) -> std::optional<std::vector<std::vector<std::string>>> {
        if (why) *why = msg;
        return std::nullopt;
    };
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '"') {
            if (!field.empty()) return fail("quote inside an unquoted field");
            bool closed = false;
            for (++i; i < text.size(); ++i) {
                if (text[i] != '"') {
                    field += text[i];
                } else if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    closed = true;
                    ++i;
                    break;
                }
            }
            if (!closed) return fail("unterminated quoted field");
            if (i < text.size() && text[i] != ',' && text[i] != '\r') return fail("text after a closing quote");
            continue;
        }
        if (text[i] == ',') {
            row.push_back(std::move(field));
            field.clear();
            ++i;
        } else if (text[i] == '\r') {
            if (i + 1 >= text.size() || text[i + 1] != '\n') return fail("CR without LF");
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            i += 2;
        } else if (text[i] == '\n') {
            return fail("LF without CR outside quotes");
        } else {
            field += text[i++];
        }
    }
    if (!field.empty() || !row.empty()) return fail("no CRLF after the last record");
    return rows;
}

namespace prom_detail {

inline bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
inline bool label_start(char c) { return name_start(c) && c != ':'; }
inline bool label_char(char c) { return name_char(c) && c != ':'; }

inline bool valid_metric_name(const std::string& s) {
    if (s.empty() || !name_start(s[0])) return false;
    for (char c : s)
        if (!name_char(c)) return false;
    return true;
}

inline bool valid_value(const std::string& v) {
    static const std::regex re(R"([+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|Inf|NaN))");
    return v == "NaN" || std::regex_match(v, re);
}

inline bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += len;
    }
    return true;
}

// The family a sample name belongs to, given the declared types (histogram/summary suffixes).
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& type) {
    if (type.count(name)) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
            const std::string base = name.substr(0, name.size() - s.size());
            auto it = type.find(base);
            if (it != type.end() && (it->second == "histogram" || it->second == "summary")) return base;
        }
    }
    return name;
}

}  // namespace prom_detail

// Parses and checks `text`; nullopt with *why (naming the line) when it is not valid.
inline std::optional<PromParse> parse_prometheus_text(const std::string& text, std::string* why = nullptr) {
    using namespace prom_detail;
    PromParse out;
    size_t line_no = 0;
    auto fail = [&](const std::string& msg, const std::string& line) -> std::optional<PromParse> {
        if (why) *why = "line " + std::to_string(line_no) + ": " + msg + ": " + line;
        return std::nullopt;
    };
    if (!text.empty() && text.back() != '\n') {
        if (why) *why = "the last line does not end with a newline";
        return std::nullopt;
    }
    if (!valid_utf8(text)) {
        if (why) *why = "not UTF-8";
        return std::nullopt;
    }
    std::set<std::string> finished_families;  // families whose sample group has ended
    std::string current_family;
    std::set<std::string> series;
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (line.empty()) continue;
        if (line[0] == '#') {
            std::istringstream w(line);
            std::string hash, kw, name;
            w >> hash >> kw >> name;
            if (hash != "#" || (kw != "HELP" && kw != "TYPE")) continue;  // a plain comment
            if (line.compare(0, 7 + name.size(), "# " + kw + " " + name) != 0)
                return fail("HELP/TYPE must be \"# KW name ...\" with single spaces", line);
            if (!valid_metric_name(name)) return fail("bad metric name", line);
            std::string rest = line.size() > 7 + name.size() ? line.substr(7 + name.size()) : "";
            if (!rest.empty()) {
                if (rest[0] != ' ') return fail("no space after the name", line);
                rest.erase(0, 1);
            }
            if (finished_families.count(name) || current_family == name)
                return fail(kw + " after the family's samples", line);
            if (kw == "HELP") {
                if (out.help.count(name)) return fail("second HELP", line);
                std::string doc;
                for (size_t i = 0; i < rest.size(); ++i) {
                    if (rest[i] != '\\') {
                        doc += rest[i];
                    } else if (i + 1 < rest.size() && (rest[i + 1] == '\\' || rest[i + 1] == 'n')) {
                        doc += rest[i + 1] == 'n' ? '\n' : '\\';
                        ++i;
                    } else {
                        return fail("bad escape in HELP", line);
                    }
                }
                out.help[name] = doc;
            } else {
                static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
                if (!kTypes.count(rest)) return fail("bad TYPE", line);
                if (out.type.count(name)) return fail("second TYPE", line);
                out.type[name] = rest;
            }
            continue;
        }
        PromSample s;
        size_t i = 0;
        while (i < line.size() && (i == 0 ? name_start(line[i]) : name_char(line[i]))) ++i;
        s.name = line.substr(0, i);
        if (s.name.empty()) return fail("bad metric name", line);
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (true) {
                if (i < line.size() && line[i] == '}') {
                    ++i;
                    break;
                }
                const size_t ls = i;
                while (i < line.size() && (i == ls ? label_start(line[i]) : label_char(line[i]))) ++i;
                const std::string lname = line.substr(ls, i - ls);
                if (lname.empty()) return fail("bad label name", line);
                if (lname.rfind("__", 0) == 0) return fail("reserved label name", line);
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return fail("expected =\"", line);
                i += 2;
                std::string value;
                bool closed = false;
                while (i < line.size()) {
                    const char c = line[i++];
                    if (c == '"') {
                        closed = true;
                        break;
                    }
                    if (c == '\\') {
                        if (i >= line.size()) return fail("bad escape", line);
                        const char e = line[i++];
                        if (e == '\\') value += '\\';
                        else if (e == '"') value += '"';
                        else if (e == 'n') value += '\n';
                        else return fail("bad escape \\" + std::string(1, e), line);
                    } else {
                        value += c;
                    }
                }
                if (!closed) return fail("unterminated label value", line);
                if (s.labels.count(lname)) return fail("label " + lname + " twice", line);
                s.labels[lname] = value;
                if (i < line.size() && line[i] == ',') {
                    ++i;
                } else if (i >= line.size() || line[i] != '}') {
                    return fail("expected , or }", line);
                }
            }
        }
        if (i >= line.size() || line[i] != ' ') return fail("expected a space before the value", line);
        ++i;
        const size_t vs = i;
        while (i < line.size() && line[i] != ' ') ++i;
        s.value = line.substr(vs, i - vs);
        if (!valid_value(s.value)) return fail("bad value", line);
        if (i < line.size()) {
            static const std::regex ts(R"(-?[0-9]+)");
            if (!std::regex_match(line.substr(i + 1), ts)) return fail("bad timestamp", line);
        }
        const std::string family = family_of(s.name, out.type);
        if (family != current_family) {
            if (finished_families.count(family)) return fail("family " + family + " split into two groups", line);
            if (!current_family.empty()) finished_families.insert(current_family);
            current_family = family;
        }
        std::string key = s.name + "{";
        for (const auto& [k, v] : s.labels) key += k + "=" + v + "\x01";
        if (!series.insert(key).second) return fail("duplicate series", line);
        out.samples.push_back(std::move(s));
    }
    return out;
}

}  // namespace xfw::test
