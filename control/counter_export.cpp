// Formatting of `xfw counters` snapshots: text table, JSON, CSV and Prometheus text format.
#include "control/counter_export.hpp"

#include "control/rule_printer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <variant>

namespace xfw {

namespace {

bool is_word_separator(char c) { return c == ' ' || c == '\t' || c == ',' || c == ';'; }

// Length of the well-formed UTF-8 sequence at text[i], 0 if there is none (overlong forms,
// surrogates and code points above U+10FFFF are not well-formed).
size_t utf8_sequence_length(const std::string& text, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + len > text.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    return len;
}

std::string text_table_line(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
                            const std::vector<bool>& right) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
        if (i) line += "  ";
        const size_t pad = i + 1 < cells.size() && widths[i] > cells[i].size() ? widths[i] - cells[i].size() : 0;
        if (right[i]) line.append(pad, ' ');
        line += cells[i];
        if (!right[i]) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
}

// Rows aligned in columns (widest cell per column), `right` saying which columns align right.
std::string text_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
    std::vector<size_t> widths(right.size(), 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::string out;
    for (const auto& row : rows) out += text_table_line(row, widths, right);
    return out;
}

std::string pair_text(const CounterPair& p) {
    return std::to_string(p.packets) + " packets, " + std::to_string(p.bytes) + " bytes";
}

}  // namespace

std::string parse_account(const std::string& comment) {
    static const std::string kKey = "account=";
    size_t i = 0;
    while (i < comment.size()) {
        while (i < comment.size() && is_word_separator(comment[i])) ++i;
        size_t end = i;
        while (end < comment.size() && !is_word_separator(comment[end])) ++end;
        if (end - i >= kKey.size() && comment.compare(i, kKey.size(), kKey) == 0)
            return comment.substr(i + kKey.size(), end - i - kKey.size());
        i = end;
    }
    return "";
}

std::string rule_account(const Rule& rule) {
    for (const MatchModule& m : rule.matches)
        if (const auto* c = std::get_if<CommentMatch>(&m)) {
            std::string account = parse_account(c->text);
            if (!account.empty()) return account;
        }
    return "";
}

CounterSnapshot make_counter_snapshot(const Ruleset& rs,
                                      const std::function<CounterPair(const Rule&)>& rule_counts,
                                      CounterPair input_policy, CounterPair errors, CounterPair non_ip) {
    CounterSnapshot s;
    for (const Chain* c : chains_in_listing_order(rs)) {
        for (size_t i = 0; i < c->rules.size(); ++i) {
            const Rule& r = c->rules[i];
            const CounterPair counts = rule_counts ? rule_counts(r) : CounterPair{};
            s.rules.push_back(CounterRow{c->name, static_cast<uint32_t>(i + 1), r.id, format_rule_spec(r),
                                         rule_account(r), counts.packets, counts.bytes});
        }
    }
    const Chain* input = rs.find(kInputChain);
    s.input_policy = input && input->policy == Target::Kind::Drop ? "DROP" : "ACCEPT";
    s.input_policy_counts = input_policy;
    s.errors = errors;
    s.non_ip = non_ip;
    return s;
}

std::string format_counters_table(const CounterSnapshot& s) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"CHAIN", "NUM", "ID", "ACCOUNT", "PACKETS", "BYTES", "RULE"});
    for (const CounterRow& r : s.rules)
        rows.push_back({r.chain, std::to_string(r.num), std::to_string(r.id), r.account.empty() ? "-" : r.account,
                        std::to_string(r.packets), std::to_string(r.bytes), r.spec});
    std::string out = text_table(rows, {false, true, true, false, true, true, false});
    out += "\n";
    if (!s.policy_counters.empty()) {
        rows.assign(1, {"CHAIN", "NUM", "ID", "POLICY", "COUNTER", "PACKETS", "BYTES"});
        for (const PolicyCounterRow& p : s.policy_counters)
            rows.push_back({p.chain, std::to_string(p.num), std::to_string(p.id), std::to_string(p.policy),
                            p.trap ? "traps" : "bucket " + p.bucket, std::to_string(p.packets),
                            std::to_string(p.bytes)});
        out += text_table(rows, {false, true, true, true, false, true, true});
        out += "\n";
    }
    out += "INPUT policy " + s.input_policy + ": " + pair_text(s.input_policy_counts) + "\n";
    out += "malformed headers: " + pair_text(s.errors) + "\n";
    out += "non-IP frames: " + pair_text(s.non_ip) + "\n";
    return out;
}

std::string format_counters_json(const CounterSnapshot& s) {
    using Json = nlohmann::ordered_json;
    Json j;
    j["rules"] = Json::array();
    for (const CounterRow& r : s.rules)
        j["rules"].push_back(Json{{"chain", r.chain},
                                  {"num", r.num},
                                  {"id", r.id},
                                  {"spec", r.spec},
                                  {"account", r.account},
                                  {"packets", r.packets},
                                  {"bytes", r.bytes}});
    j["policy"] = Json{{kInputChain, Json{{"target", s.input_policy},
                                          {"packets", s.input_policy_counts.packets},
                                          {"bytes", s.input_policy_counts.bytes}}}};
    // Only rulesets with Wasm policies have these; other exports keep their exact shape.
    if (!s.policy_counters.empty()) j["policy_counters"] = Json::array();
    for (const PolicyCounterRow& p : s.policy_counters) {
        Json row{{"chain", p.chain}, {"num", p.num}, {"id", p.id}, {"policy", p.policy},
                 {"counter", p.trap ? "traps" : "bucket"}};
        if (!p.trap) {
            row["bucket"] = p.bucket;
            row["account"] = p.account;
        }
        row["packets"] = p.packets;
        row["bytes"] = p.bytes;
        j["policy_counters"].push_back(std::move(row));
    }
    j["errors"] = Json{{"packets", s.errors.packets}, {"bytes", s.errors.bytes}};
    j["non_ip"] = Json{{"packets", s.non_ip.packets}, {"bytes", s.non_ip.bytes}};
    return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string csv_field(const std::string& field) {
    if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
    std::string out = "\"";
    for (char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string format_counters_csv(const CounterSnapshot& s) {
    std::string out = "chain,num,id,account,packets,bytes,spec\r\n";
    for (const CounterRow& r : s.rules) {
        out += csv_field(r.chain) + "," + std::to_string(r.num) + "," + std::to_string(r.id) + "," +
               csv_field(r.account) + "," + std::to_string(r.packets) + "," + std::to_string(r.bytes) + "," +
               csv_field(r.spec) + "\r\n";
    }
    // Policy counters as rows of their rule, the spec column saying which counter it is.
    for (const PolicyCounterRow& p : s.policy_counters) {
        const std::string what = "policy " + std::to_string(p.policy) + (p.trap ? " traps" : " bucket " + p.bucket);
        out += csv_field(p.chain) + "," + std::to_string(p.num) + "," + std::to_string(p.id) + "," +
               csv_field(p.account) + "," + std::to_string(p.packets) + "," + std::to_string(p.bytes) + "," +
               csv_field(what) + "\r\n";
    }
    return out;
}

std::string sanitize_utf8(const std::string& text) {
    // Rule text is nearly always ASCII: copied as it is (a scrape sanitises every rule's spec).
    if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        return text;
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t len = utf8_sequence_length(text, i);
        if (len == 0) {
            out += "\xef\xbf\xbd";  // U+FFFD
            ++i;
        } else {
            out.append(text, i, len);
            i += len;
        }
    }
    return out;
}

std::string prometheus_label_value(const std::string& value) {
    if (std::all_of(value.begin(), value.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x80 && c != '\\' && c != '"' && c != '\n';
        }))
        return value;
    std::string out;
    out.reserve(value.size() + 8);
    for (char c : sanitize_utf8(value)) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_counters_prometheus(const CounterSnapshot& s) {
    std::string out;
    auto family = [&](const std::string& name, const std::string& help) {
        out += "# HELP " + name + " " + help + "\n";
        out += "# TYPE " + name + " counter\n";
    };
    auto rule_labels = [](const CounterRow& r) {
        return "{chain=\"" + prometheus_label_value(r.chain) + "\",num=\"" + std::to_string(r.num) + "\",id=\"" +
               std::to_string(r.id) + "\",account=\"" + prometheus_label_value(r.account) + "\",rule=\"" +
               prometheus_label_value(r.spec) + "\"}";
    };
    const std::string never_reset = " Raw count: never reset by xfw -Z.";
    // Each rule's labels once, for both families.
    std::vector<std::string> labels_of_rule;
    labels_of_rule.reserve(s.rules.size());
    size_t label_bytes = 0;
    for (const CounterRow& r : s.rules) label_bytes += labels_of_rule.emplace_back(rule_labels(r)).size();
    out.reserve(2 * label_bytes + 64 * s.rules.size() + 4096);

    family("xfw_rule_packets_total", "Packets matched by each rule since the rule was created." + never_reset);
    for (size_t i = 0; i < s.rules.size(); ++i)
        ((out += "xfw_rule_packets_total") += labels_of_rule[i]).append(" ").append(std::to_string(s.rules[i].packets)) += "\n";
    family("xfw_rule_bytes_total",
           "Bytes (whole frames) matched by each rule since the rule was created." + never_reset);
    for (size_t i = 0; i < s.rules.size(); ++i)
        ((out += "xfw_rule_bytes_total") += labels_of_rule[i]).append(" ").append(std::to_string(s.rules[i].bytes)) += "\n";

    family("xfw_policy_packets_total", "Packets that reached the end of a built-in chain (its policy applied)." +
                                           never_reset);
    out += "xfw_policy_packets_total{chain=\"INPUT\"} " + std::to_string(s.input_policy_counts.packets) + "\n";
    family("xfw_policy_bytes_total", "Bytes of the packets that got a built-in chain's policy." + never_reset);
    out += "xfw_policy_bytes_total{chain=\"INPUT\"} " + std::to_string(s.input_policy_counts.bytes) + "\n";

    if (!s.policy_counters.empty()) {
        auto labels = [](const PolicyCounterRow& p) {
            std::string l = "{chain=\"" + prometheus_label_value(p.chain) + "\",num=\"" + std::to_string(p.num) +
                            "\",id=\"" + std::to_string(p.id) + "\",policy=\"" + std::to_string(p.policy) + "\"";
            if (!p.trap)
                l += ",bucket=\"" + prometheus_label_value(p.bucket) + "\",account=\"" +
                     prometheus_label_value(p.account) + "\"";
            return l + "}";
        };
        for (const bool bytes : {false, true}) {
            const std::string name = bytes ? "xfw_wasm_bucket_bytes_total" : "xfw_wasm_bucket_packets_total";
            family(name, std::string(bytes ? "Bytes" : "Packets") +
                             " a rule's Wasm policy counted into each of its buckets." + never_reset);
            for (const PolicyCounterRow& p : s.policy_counters)
                if (!p.trap) out += name + labels(p) + " " + std::to_string(bytes ? p.bytes : p.packets) + "\n";
        }
        family("xfw_wasm_trap_packets_total",
               "Packets whose Wasm policy run trapped (dropped; see docs/policy-abi.md)." + never_reset);
        for (const PolicyCounterRow& p : s.policy_counters)
            if (p.trap) out += "xfw_wasm_trap_packets_total" + labels(p) + " " + std::to_string(p.packets) + "\n";
    }

    family("xfw_malformed_packets_total",
           "Packets with malformed or truncated headers (counted, then judged by the rules)." + never_reset);
    out += "xfw_malformed_packets_total " + std::to_string(s.errors.packets) + "\n";
    family("xfw_malformed_bytes_total", "Bytes of the packets with malformed or truncated headers." + never_reset);
    out += "xfw_malformed_bytes_total " + std::to_string(s.errors.bytes) + "\n";

    family("xfw_non_ip_packets_total", "Non-IP frames (ARP, LLDP...), passed without filtering." + never_reset);
    out += "xfw_non_ip_packets_total " + std::to_string(s.non_ip.packets) + "\n";
    family("xfw_non_ip_bytes_total", "Bytes of the non-IP frames." + never_reset);
    out += "xfw_non_ip_bytes_total " + std::to_string(s.non_ip.bytes) + "\n";
    return out;
}

}  // namespace xfw
