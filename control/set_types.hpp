// ipset-style sets: what a set is (type, family, limits), its elements in ipset's text syntax,
// and how an element becomes a key of the BPF map that holds the set in the data plane.
//
//   hash:ip        BPF HASH      key: address (4 or 16 bytes)
//   hash:net       BPF LPM_TRIE  key: u32 prefix length | address
//   hash:ip,port   BPF HASH      key: proto | 0 | port (network order) | address
//   hash:net,port  BPF LPM_TRIE  key: u32 prefix length | proto | 0 | port | address, the
//                                proto/port part always fully specified (prefix length 32 + cidr)
//
// The data plane builds the same keys from the packet metadata (xdp/plan.hpp: TestLookup).
#pragma once

#include "control/fd.hpp"
#include "control/ruleset.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"
#include "xdp/plan.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace xfw {

enum class SetType : uint8_t { HashIp, HashNet, HashIpPort, HashNetPort };

const char* to_string(SetType type);
std::optional<SetType> parse_set_type(std::string_view text);

inline constexpr uint32_t kDefaultSetHashsize = 1024;
inline constexpr uint32_t kDefaultSetMaxelem = 65536;
// The largest set xfw creates (a hash map of this many entries takes a few hundred MiB).
inline constexpr uint32_t kMaxSetMaxelem = 1u << 24;

struct SetDefinition {
    std::string name;
    SetType type = SetType::HashIp;
    Family family = Family::V4;  // V4 (ipset "inet") or V6 ("inet6")
    uint32_t hashsize = kDefaultSetHashsize;  // kept for ipset compatibility; BPF maps do not use it
    uint32_t maxelem = kDefaultSetMaxelem;
    bool operator==(const SetDefinition&) const = default;

    bool has_port() const { return type == SetType::HashIpPort || type == SetType::HashNetPort; }
    bool is_net() const { return type == SetType::HashNet || type == SetType::HashNetPort; }
    // Directions a --match-set of this set needs (1 for hash:ip/hash:net, 2 with a port).
    size_t dimensions() const { return has_port() ? 2 : 1; }
    uint8_t address_bits() const { return family == Family::V6 ? 128 : 32; }
};

// "1-31 characters: letters, digits, '_' and '-'" (a bpffs pin name cannot hold '.').
Status check_set_name(std::string_view name);

// One element. A hash:ip element has prefix_len == address_bits; proto/port only with ,port.
struct SetElement {
    Cidr address;
    uint8_t proto = 0;  // tcp or udp for the ,port types
    uint16_t port = 0;
    bool operator==(const SetElement&) const = default;
    auto operator<=>(const SetElement& o) const {
        return std::tie(address.bytes, address.prefix_len, proto, port) <=>
               std::tie(o.address.bytes, o.address.prefix_len, o.proto, o.port);
    }
};

// Parses an element as ipset does for `set`: "10.0.0.1", "10.0.0.0/24", "10.0.0.1,tcp:80",
// "10.0.0.1,80" (tcp), "2001:db8::/64,udp:53". Errors say what is wrong with `text`.
Expected<SetElement> parse_set_element(const SetDefinition& set, std::string_view text);
// The element as `ipset save` prints it (a hash:net /32 prints without "/32").
std::string format_set_element(const SetDefinition& set, const SetElement& element);

// The BPF map holding `set` (no entries; pinned under <bpffs>/sets/NAME).
xdp::MapSpec set_map_spec(const SetDefinition& set);
// The map key of `element` (see the layouts above).
std::vector<uint8_t> set_map_key(const SetDefinition& set, const SetElement& element);
// The key layout the data plane builds for `set`.
xdp::LookupKey set_lookup_key(const SetDefinition& set);
// The value stored with every element: u32 prefix length (the data plane only tests presence).
inline constexpr uint32_t kSetMapValueSize = 4;

// A set a ruleset may reference: its definition and where its map is (the pin, or an open map
// for tests and benchmarks that run without a bpffs).
struct SetBinding {
    SetDefinition definition;
    std::string pin;
    std::shared_ptr<const Fd> map;
};
using SetBindings = std::map<std::string, SetBinding>;

}  // namespace xfw
