// ipset save/restore text (format in set_save_format.hpp).
#include "control/set_save_format.hpp"

#include <charconv>

namespace xfw {

std::string format_set_create(const SetDefinition& set) {
    return "create " + set.name + " " + to_string(set.type) + " family " +
           (set.family == Family::V6 ? "inet6" : "inet") + " hashsize " + std::to_string(set.hashsize) +
           " maxelem " + std::to_string(set.maxelem);
}

std::string format_set_save(const SetDefinition& set, const std::vector<SetElement>& elements) {
    std::string out = format_set_create(set) + "\n";
    out.reserve(out.size() + elements.size() * (set.name.size() + 20));
    for (const SetElement& e : elements) {
        out += "add ";
        out += set.name;
        out += ' ';
        out += format_set_element(set, e);
        out += '\n';
    }
    return out;
}

namespace {

std::optional<uint64_t> parse_u64(std::string_view text, int base = 10) {
    if (text.empty()) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
}

}  // namespace

Expected<SetDefinition> parse_set_create(const std::string& name, const std::string& type,
                                         const std::vector<std::string>& options) {
    XFW_TRY(check_set_name(name));
    SetDefinition d;
    d.name = name;
    auto t = parse_set_type(type);
    if (!t) {
        if (type.rfind("hash:", 0) == 0 || type.rfind("bitmap:", 0) == 0 || type.rfind("list:", 0) == 0)
            return bad_input("set type \"" + type +
                             "\" is not supported (xfw has hash:ip, hash:net, hash:ip,port and hash:net,port)");
        return bad_input("\"" + type + "\" is not a set type (hash:ip, hash:net, hash:ip,port or hash:net,port)");
    }
    d.type = *t;
    for (size_t i = 0; i < options.size(); ++i) {
        const std::string& opt = options[i];
        auto value = [&]() -> Expected<std::string> {
            if (i + 1 >= options.size()) return bad_input("option \"" + opt + "\" needs a value");
            return options[++i];
        };
        if (opt == "family") {
            auto v = value();
            if (!v) return v.error();
            if (*v == "inet" || *v == "ipv4") d.family = Family::V4;
            else if (*v == "inet6" || *v == "ipv6") d.family = Family::V6;
            else return bad_input("\"family " + *v + "\": the family is inet or inet6");
        } else if (opt == "hashsize" || opt == "maxelem" || opt == "bucketsize") {
            auto v = value();
            if (!v) return v.error();
            auto n = parse_u64(*v);
            if (opt == "maxelem") {
                if (!n || *n == 0 || *n > kMaxSetMaxelem)
                    return bad_input("\"maxelem " + *v + "\": maxelem is 1-" + std::to_string(kMaxSetMaxelem));
                d.maxelem = static_cast<uint32_t>(*n);
            } else if (opt == "hashsize") {
                // ipset rounds the initial hash size to a power of two, at least 64.
                if (!n || *n == 0 || *n > (1u << 31))
                    return bad_input("\"hashsize " + *v + "\": hashsize is 1-2147483648");
                uint64_t h = 64;
                while (h < *n) h <<= 1;
                d.hashsize = static_cast<uint32_t>(h);
            } else if (!n || *n < 2 || *n > 12) {
                return bad_input("\"bucketsize " + *v + "\": bucketsize is 2-12");
            }
        } else if (opt == "initval") {
            // ipset's hash seed: meaningless for a BPF map, accepted so real save files restore.
            auto v = value();
            if (!v) return v.error();
            if (v->rfind("0x", 0) != 0 || !parse_u64(v->substr(2), 16))
                return bad_input("\"initval " + *v + "\": initval is a hexadecimal number such as 0x1a2b3c4d");
        } else if (opt == "timeout" || opt == "counters" || opt == "comment" || opt == "skbinfo" ||
                   opt == "forceadd" || opt == "netmask" || opt == "nomatch") {
            return bad_input("option \"" + opt + "\" is not supported by xfw sets (elements have no timeouts, "
                             "counters, comments or skb info; addresses are not masked)");
        } else {
            return bad_input("unknown option \"" + opt + "\" (xfw sets take family, hashsize, maxelem)");
        }
    }
    return d;
}

Expected<std::vector<SetRestoreCommand>> parse_set_restore(std::string_view text) {
    std::vector<SetRestoreCommand> out;
    size_t line_no = 0, start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        ++line_no;
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::vector<std::string> words;
        for (size_t i = 0; i < line.size();) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
            size_t j = i;
            while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
            if (j > i) words.emplace_back(line.substr(i, j - i));
            i = j;
        }
        if (words.empty() || words[0][0] == '#') continue;
        auto fail = [&](const std::string& why) {
            return bad_input("line " + std::to_string(line_no) + " \"" + std::string(line) + "\": " + why);
        };
        SetRestoreCommand c;
        c.line = line_no;
        std::erase_if(words, [&](const std::string& w) {
            if (w != "-exist" && w != "-!" && w != "--exist") return false;
            c.exist = true;
            return true;
        });
        if (words.empty()) continue;
        const std::string verb = words[0];
        if (verb == "create" || verb == "-N" || verb == "n") {
            if (words.size() < 3) return fail("create needs a name and a type (create NAME hash:ip ...)");
            auto d = parse_set_create(words[1], words[2], std::vector<std::string>(words.begin() + 3, words.end()));
            if (!d) return fail(d.error().message);
            c.kind = SetRestoreCommand::Kind::Create;
            c.set = words[1];
            c.definition = std::move(d).value();
        } else if (verb == "add" || verb == "-A" || verb == "a" || verb == "del" || verb == "-D" || verb == "d") {
            const bool add = verb == "add" || verb == "-A" || verb == "a";
            if (words.size() < 3) return fail(std::string(add ? "add" : "del") + " needs a set name and an element");
            if (words.size() > 3)
                return fail("element options (\"" + words[3] +
                            "\") are not supported by xfw sets (no timeouts, counters, comments or nomatch)");
            c.kind = add ? SetRestoreCommand::Kind::Add : SetRestoreCommand::Kind::Del;
            c.set = words[1];
            c.element = words[2];
        } else if (verb == "flush" || verb == "-F" || verb == "destroy" || verb == "-X" || verb == "x") {
            if (words.size() > 2) return fail("takes at most one set name");
            c.kind = (verb == "flush" || verb == "-F") ? SetRestoreCommand::Kind::Flush : SetRestoreCommand::Kind::Destroy;
            if (words.size() == 2) c.set = words[1];
        } else if (verb == "COMMIT") {
            continue;  // ipset accepts it as the end of a block; every xfw restore is one block
        } else {
            return fail("unknown command \"" + verb + "\" (a restore file holds create, add, del, flush, destroy)");
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace xfw
