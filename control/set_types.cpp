// Set types, element syntax (as ipset writes it) and the map keys the data plane looks up.
#include "control/set_types.hpp"

#include "control/rule_parser.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace xfw {

const char* to_string(SetType type) {
    switch (type) {
        case SetType::HashIp: return "hash:ip";
        case SetType::HashNet: return "hash:net";
        case SetType::HashIpPort: return "hash:ip,port";
        case SetType::HashNetPort: return "hash:net,port";
    }
    return "?";
}

std::optional<SetType> parse_set_type(std::string_view text) {
    if (text == "hash:ip") return SetType::HashIp;
    if (text == "hash:net") return SetType::HashNet;
    if (text == "hash:ip,port") return SetType::HashIpPort;
    if (text == "hash:net,port") return SetType::HashNetPort;
    return std::nullopt;
}

Status check_set_name(std::string_view name) {
    if (name.empty() || name.size() > 31)
        return bad_input("set name \"" + std::string(name) + "\": set names are 1-31 characters");
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
            return bad_input("set name \"" + std::string(name) +
                             "\": set names hold letters, digits, '_' and '-' only (the name is also "
                             "the map's pin under the bpffs directory, where '.' is reserved)");
    return {};
}

namespace {

std::optional<uint32_t> parse_number(std::string_view text, uint32_t max) {
    if (text.empty() || text.size() > 10) return std::nullopt;
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v > max) return std::nullopt;
    return v;
}

// Address with an optional "/cidr", of the set's family. hash:ip takes single addresses.
Expected<Cidr> parse_address(const SetDefinition& set, std::string_view text, std::string_view element) {
    const std::string what = "element \"" + std::string(element) + "\"";
    const size_t slash = text.find('/');
    const std::string addr(text.substr(0, slash));
    Cidr c;
    c.family = set.family;
    const int af = set.family == Family::V6 ? AF_INET6 : AF_INET;
    if (inet_pton(af, addr.c_str(), c.bytes.data()) != 1) {
        uint8_t other[16];
        if (inet_pton(af == AF_INET ? AF_INET6 : AF_INET, addr.c_str(), other) == 1)
            return bad_input(what + ": " + addr + " is " + (af == AF_INET ? "IPv6" : "IPv4") + " but set " +
                             set.name + " is family " + (af == AF_INET ? "inet" : "inet6"));
        return bad_input(what + ": \"" + addr + "\" is not an " + (af == AF_INET ? "IPv4" : "IPv6") + " address");
    }
    const uint8_t bits = set.address_bits();
    c.prefix_len = bits;
    if (slash != std::string_view::npos) {
        if (!set.is_net())
            return bad_input(what + ": " + std::string(to_string(set.type)) +
                             " holds single addresses; use a hash:net set for prefixes");
        auto len = parse_number(text.substr(slash + 1), bits);
        if (!len || *len == 0)
            return bad_input(what + ": prefix length \"" + std::string(text.substr(slash + 1)) +
                             "\" out of range 1-" + std::to_string(bits) + " (ipset refuses /0)");
        c.prefix_len = static_cast<uint8_t>(*len);
        // ipset stores the network: host bits are cleared.
        for (int i = 0; i < 16; ++i) {
            const int keep = std::clamp(static_cast<int>(c.prefix_len) - 8 * i, 0, 8);
            c.bytes[static_cast<size_t>(i)] &= static_cast<uint8_t>(0xff00 >> keep);
        }
    }
    return c;
}

}  // namespace

Expected<SetElement> parse_set_element(const SetDefinition& set, std::string_view text) {
    const std::string what = "element \"" + std::string(text) + "\"";
    if (text.empty()) return bad_input("empty element: give an address" + std::string(set.has_port() ? ",proto:port" : ""));
    SetElement e;
    const size_t comma = text.find(',');
    if (!set.has_port() && comma != std::string_view::npos)
        return bad_input(what + ": " + std::string(to_string(set.type)) + " elements are one address" +
                         (set.is_net() ? " or prefix" : "") + ", without \",...\"");
    if (set.has_port() && comma == std::string_view::npos)
        return bad_input(what + ": " + std::string(to_string(set.type)) + " elements are ADDRESS,PROTO:PORT (e.g. " +
                         (set.family == Family::V6 ? "2001:db8::1" : "192.0.2.1") + ",tcp:80)");
    const std::string_view address = text.substr(0, comma);
    if (address.find('-') != std::string_view::npos)
        return bad_input(what + ": address ranges are not supported; add each address (or a prefix to a hash:net set)");
    auto a = parse_address(set, address, text);
    if (!a) return a.error();
    e.address = *a;
    if (!set.has_port()) return e;

    std::string_view port = text.substr(comma + 1);
    std::string_view proto = "tcp";
    if (const size_t colon = port.find(':'); colon != std::string_view::npos) {
        proto = port.substr(0, colon);
        port = port.substr(colon + 1);
    }
    std::string proto_lower(proto);
    for (char& c : proto_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (proto_lower == "tcp") e.proto = proto::kTcp;
    else if (proto_lower == "udp") e.proto = proto::kUdp;
    else
        return bad_input(what + ": protocol \"" + std::string(proto) +
                         "\" is not supported in sets (xfw matches tcp and udp ports)");
    if (port.find('-') != std::string_view::npos)
        return bad_input(what + ": port ranges are not supported; add each port");
    if (auto n = parse_number(port, 65535)) {
        e.port = static_cast<uint16_t>(*n);
    } else if (auto named = names::service_port(port)) {
        e.port = *named;
    } else {
        return bad_input(what + ": \"" + std::string(port) + "\" is not a port (0-65535 or a service name)");
    }
    return e;
}

std::string format_set_element(const SetDefinition& set, const SetElement& element) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(set.family == Family::V6 ? AF_INET6 : AF_INET, element.address.bytes.data(), buf, sizeof buf);
    std::string s = buf;
    if (set.is_net() && element.address.prefix_len != set.address_bits())
        s += "/" + std::to_string(element.address.prefix_len);
    if (set.has_port())
        s += std::string(",") + (element.proto == proto::kUdp ? "udp" : "tcp") + ":" + std::to_string(element.port);
    return s;
}

xdp::MapSpec set_map_spec(const SetDefinition& set) {
    xdp::MapSpec spec;
    spec.name = set.name;
    const uint32_t address = set.address_bits() / 8;
    const uint32_t port = set.has_port() ? 4 : 0;
    if (set.is_net()) {
        spec.type = BPF_MAP_TYPE_LPM_TRIE;
        spec.flags = BPF_F_NO_PREALLOC;  // required for LPM tries
        spec.key_size = 4 + port + address;
    } else {
        spec.type = BPF_MAP_TYPE_HASH;
        spec.key_size = port + address;
        // Preallocated (the default): filling a million elements took 0.62-0.65 s against
        // 1.2-1.4 s with BPF_F_NO_PREALLOC (bench_groups BM_SetHashIp/1000000, fill_ms).
    }
    spec.value_size = kSetMapValueSize;
    spec.max_entries = set.maxelem;
    return spec;
}

std::vector<uint8_t> set_map_key(const SetDefinition& set, const SetElement& element) {
    std::vector<uint8_t> key;
    if (set.is_net()) {
        uint32_t bits = element.address.prefix_len + (set.has_port() ? 32u : 0u);
        const auto* p = reinterpret_cast<const uint8_t*>(&bits);  // host order, as the kernel reads it
        key.insert(key.end(), p, p + 4);
    }
    if (set.has_port()) {
        key.push_back(element.proto);
        key.push_back(0);
        key.push_back(static_cast<uint8_t>(element.port >> 8));
        key.push_back(static_cast<uint8_t>(element.port & 0xff));
    }
    key.insert(key.end(), element.address.bytes.begin(), element.address.bytes.begin() + set.address_bits() / 8);
    return key;
}

xdp::LookupKey set_lookup_key(const SetDefinition& set) {
    using Layout = xdp::LookupKey::Layout;
    xdp::LookupKey k;
    k.v6 = set.family == Family::V6;
    k.layout = set.type == SetType::HashIp        ? Layout::Address
               : set.type == SetType::HashNet     ? Layout::AddressPrefix
               : set.type == SetType::HashIpPort  ? Layout::ProtoPortAddress
                                                  : Layout::ProtoPortAddressPrefix;
    return k;
}

}  // namespace xfw
