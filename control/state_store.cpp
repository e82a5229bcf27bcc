// State persistence: JSON with each rule stored as its iptables-save text (the parser and
// printer round-trip exactly, so the rule model needs no second serialisation) and its account,
// so that commands reading counters can take the rules as text without parsing them.
#include "control/state_store.hpp"

#include "control/rule_parser.hpp"
#include "control/restore_file.hpp"
#include "control/rule_printer.hpp"
#include "xdp/plan.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace xfw {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(AttachMode mode) {
    switch (mode) {
        case AttachMode::Native: return "native";
        case AttachMode::Generic: return "generic";
        case AttachMode::Offload: return "offload";
    }
    return "?";
}

std::optional<AttachMode> parse_attach_mode(const std::string& text) {
    if (text == "native" || text == "drv") return AttachMode::Native;
    if (text == "generic" || text == "skb") return AttachMode::Generic;
    if (text == "offload" || text == "hw") return AttachMode::Offload;
    return std::nullopt;
}

namespace {

Status ensure_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return runtime_error("cannot create state directory " + dir + ": " + ec.message() +
                                 " (choose another with --state-dir)");
    return {};
}

const char* policy_name(Target::Kind k) { return k == Target::Kind::Drop ? "DROP" : "ACCEPT"; }

}  // namespace

Expected<StateLock> StateLock::acquire(const std::string& state_dir) {
    XFW_TRY(ensure_dir(state_dir));
    std::string path = state_dir + "/lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot open " + path + ": " + std::strerror(errno));
    Fd owned(fd);
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) return runtime_error("cannot lock " + path + ": " + std::strerror(errno));
    }
    return StateLock(std::move(owned));
}

namespace {

// The whole file in one read (nlohmann's stream input reads a character at a time); nullopt
// when there is no file.
Expected<std::optional<std::string>> read_whole_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>();
        return runtime_error("cannot read " + path + ": " + std::strerror(errno));
    }
    Fd owned(fd);
    std::string text;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) text.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return runtime_error("cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    return std::optional<std::string>(std::move(text));
}

Expected<Rule> parse_stored_rule(const std::string& path, const std::string& spec) {
    auto tokens = split_restore_line_checked(spec);
    if (!tokens) return runtime_error(path + ": rule \"" + spec + "\": " + tokens.error().message);
    auto rule = parse_rule(*tokens);
    if (!rule) return runtime_error(path + ": rule \"" + spec + "\": " + rule.error().message);
    return rule;
}

}  // namespace

Expected<State> load_state(const std::string& state_dir, RuleForm form) {
    const std::string path = state_dir + "/state.json";
    State state;
    auto text = read_whole_file(path);
    if (!text) return text.error();
    if (!*text) return state;
    try {
        const json j = json::parse(**text);
        state.ruleset.chains.clear();
        if (form == RuleForm::Text) state.stored_rules.emplace();
        static const json kNoPolicies = json::array();
        for (const json& c : j.at("chains")) {
            Chain chain;
            chain.name = c.at("name").get<std::string>();
            chain.builtin = c.at("builtin").get<bool>();
            chain.policy = c.value("policy", "ACCEPT") == "DROP" ? Target::Kind::Drop : Target::Kind::Accept;
            std::vector<StoredRule> stored;
            for (const json& r : c.at("rules")) {
                const std::string& spec = r.at("spec").get_ref<const std::string&>();
                const uint64_t id = r.at("id").get<uint64_t>();
                state.slot_of_rule[id] = r.at("slot").get<uint32_t>();
                const auto found = r.find("policies");
                const json& policies = found == r.end() ? kNoPolicies : *found;
                for (const json& p : policies)
                    if (p.contains("trap_slot"))
                        state.policy_slots[id].push_back(
                            {p.at("trap_slot").get<uint32_t>(), p.at("bucket_base").get<uint32_t>(),
                             p.at("bucket_count").get<uint32_t>(),
                             p.at("bucket_names").get<std::vector<std::string>>()});
                if (form == RuleForm::Text) {
                    StoredRule sr{id, spec, {}, {}};
                    if (auto account = r.find("account"); account != r.end()) {
                        sr.account = account->get<std::string>();
                    } else {
                        // State written before accounts were stored: the rule says it.
                        auto rule = parse_stored_rule(path, spec);
                        if (!rule) return rule.error();
                        sr.account = rule_account(*rule);
                    }
                    for (const json& p : policies) sr.digests.push_back(p.at("digest").get<std::string>());
                    stored.push_back(std::move(sr));
                    continue;
                }
                auto rule = parse_stored_rule(path, spec);
                if (!rule) return rule.error();
                rule->id = id;
                auto rule_policies = rule->policies();
                if (policies.size() != rule_policies.size())
                    return runtime_error(path + ": rule \"" + spec + "\" has " + std::to_string(rule_policies.size()) +
                                         " policies but " + std::to_string(policies.size()) + " stored digests");
                for (size_t k = 0; k < rule_policies.size(); ++k)
                    rule_policies[k]->digest = policies[k].at("digest").get<std::string>();
                chain.rules.push_back(std::move(rule).value());
            }
            state.ruleset.chains.push_back(std::move(chain));
            if (state.stored_rules) state.stored_rules->push_back(std::move(stored));
        }
        state.next_slot = j.at("next_slot").get<uint32_t>();
        state.next_rule_id = j.at("next_rule_id").get<uint64_t>();
        state.free_slots = j.at("free_slots").get<std::vector<uint32_t>>();
        for (const json& a : j.at("attachments")) {
            auto mode = parse_attach_mode(a.at("mode").get<std::string>());
            if (!mode) return runtime_error(path + ": unknown attach mode");
            state.attachments.push_back({a.at("ifname").get<std::string>(), *mode});
        }
        for (const json& z : j.at("zero_baseline"))
            state.zero_baseline[z.at(0).get<uint32_t>()] = {z.at(1).get<uint64_t>(), z.at(2).get<uint64_t>()};
        // Billing fields: absent in state written by earlier versions.
        for (const json& b : j.value("slot_base", json::array()))
            state.slot_base[b.at(0).get<uint32_t>()] = {b.at(1).get<uint64_t>(), b.at(2).get<uint64_t>()};
        state.counter_generation = j.value("counter_generation", std::string());
        for (const json& r : j.value("retired", json::array())) {
            RetiredRule rr;
            rr.id = r.at("id").get<uint64_t>();
            rr.counter = r.value("counter", std::string());
            rr.account = r.at("account").get<std::string>();
            rr.chain = r.at("chain").get<std::string>();
            rr.spec = r.at("spec").get<std::string>();
            rr.retired_at = r.at("retired_at").get<int64_t>();
            if (r.contains("slot")) rr.slot = r.at("slot").get<uint32_t>();
            rr.generation = r.at("generation").get<std::string>();
            rr.final = {r.at("packets").get<uint64_t>(), r.at("bytes").get<uint64_t>()};
            state.retired.push_back(std::move(rr));
        }
    } catch (const json::exception& e) {
        return runtime_error(path + " is damaged (" + e.what() + "); restore it from a backup or remove it "
                             "to start from an empty ruleset");
    }
    return state;
}

Status save_state(const std::string& state_dir, const State& state) {
    XFW_TRY(ensure_dir(state_dir));
    json j;
    j["version"] = 1;
    j["chains"] = json::array();
    // The account is stored beside the rule's text so that reading counters needs no parse.
    auto rule_json = [&](uint64_t id, const std::string& spec, const std::string& account,
                         const std::vector<std::string>& digests) {
        json rule{{"id", id}, {"slot", state.slot_of_rule.at(id)}, {"spec", spec}, {"account", account}};
        if (!digests.empty()) {
            rule["policies"] = json::array();
            const auto slots = state.policy_slots.find(id);
            for (size_t k = 0; k < digests.size(); ++k) {
                json p{{"digest", digests[k]}};
                if (slots != state.policy_slots.end() && k < slots->second.size()) {
                    const PolicySlots& ps = slots->second[k];
                    p["trap_slot"] = ps.trap;
                    p["bucket_base"] = ps.bucket_base;
                    p["bucket_count"] = ps.bucket_count;
                    p["bucket_names"] = ps.bucket_names;
                }
                rule["policies"].push_back(std::move(p));
            }
        }
        return rule;
    };
    for (size_t i = 0; i < state.ruleset.chains.size(); ++i) {
        const Chain& c = state.ruleset.chains[i];
        json chain{{"name", c.name}, {"builtin", c.builtin}, {"policy", policy_name(c.policy)}, {"rules", json::array()}};
        if (state.stored_rules) {
            for (const StoredRule& r : (*state.stored_rules)[i])
                chain["rules"].push_back(rule_json(r.id, r.spec, r.account, r.digests));
        } else {
            for (const Rule& r : c.rules) {
                std::vector<std::string> digests;
                for (const PolicyRef* p : r.policies()) digests.push_back(p->digest);
                chain["rules"].push_back(rule_json(r.id, format_rule_spec(r), rule_account(r), digests));
            }
        }
        j["chains"].push_back(std::move(chain));
    }
    j["next_slot"] = state.next_slot;
    j["next_rule_id"] = state.next_rule_id;
    j["free_slots"] = state.free_slots;
    j["attachments"] = json::array();
    for (const Attachment& a : state.attachments)
        j["attachments"].push_back({{"ifname", a.ifname}, {"mode", to_string(a.mode)}});
    j["zero_baseline"] = json::array();
    for (const auto& [slot, v] : state.zero_baseline) j["zero_baseline"].push_back({slot, v.packets, v.bytes});
    j["slot_base"] = json::array();
    for (const auto& [slot, v] : state.slot_base) j["slot_base"].push_back({slot, v.packets, v.bytes});
    j["counter_generation"] = state.counter_generation;
    j["retired"] = json::array();
    for (const RetiredRule& r : state.retired) {
        json rr{{"id", r.id}, {"account", r.account}, {"chain", r.chain}, {"spec", r.spec},
                {"retired_at", r.retired_at}, {"generation", r.generation},
                {"packets", r.final.packets}, {"bytes", r.final.bytes}};
        if (!r.counter.empty()) rr["counter"] = r.counter;
        if (r.slot) rr["slot"] = *r.slot;
        j["retired"].push_back(std::move(rr));
    }

    const std::string path = state_dir + "/state.json";
    const std::string tmp = path + ".tmp";
    const std::string text = j.dump(1) + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    Fd owned(fd);
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) return runtime_error("cannot sync " + tmp + ": " + std::strerror(errno));
    owned.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return runtime_error("cannot replace " + path + ": " + std::strerror(errno));
    // Make the rename itself durable.
    if (int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

std::vector<CounterRow> listed_rules(const State& state) {
    std::vector<CounterRow> out;
    for (const Chain* c : chains_in_listing_order(state.ruleset)) {
        if (state.stored_rules) {
            const auto& rules = (*state.stored_rules)[static_cast<size_t>(c - state.ruleset.chains.data())];
            for (size_t i = 0; i < rules.size(); ++i)
                out.push_back({c->name, static_cast<uint32_t>(i + 1), rules[i].id, rules[i].spec, rules[i].account});
            continue;
        }
        for (size_t i = 0; i < c->rules.size(); ++i)
            out.push_back({c->name, static_cast<uint32_t>(i + 1), c->rules[i].id, format_rule_spec(c->rules[i]),
                           rule_account(c->rules[i])});
    }
    return out;
}

const PolicySlots& assign_policy_slots(State& state, uint64_t rule_id, size_t index,
                                       std::vector<std::string> bucket_names) {
    auto& slots = state.policy_slots[rule_id];
    if (slots.size() > index && slots[index].bucket_count == bucket_names.size()) {
        slots[index].bucket_names = std::move(bucket_names);
        return slots[index];
    }
    if (slots.size() <= index) slots.resize(index + 1);
    PolicySlots& ps = slots[index];
    ps.trap = std::max(state.next_slot, xdp::kFirstRuleSlot);
    ps.bucket_base = ps.trap + 1;
    ps.bucket_count = static_cast<uint32_t>(bucket_names.size());
    ps.bucket_names = std::move(bucket_names);
    state.next_slot = ps.bucket_base + ps.bucket_count;
    return ps;
}

void drop_stale_policy_slots(State& state) {
    std::map<uint64_t, size_t> policy_count;
    for (const Chain& c : state.ruleset.chains)
        for (const Rule& r : c.rules) policy_count[r.id] = r.policies().size();
    auto release = [&](const PolicySlots& ps) {
        for (uint32_t slot = ps.trap; slot < ps.bucket_base + ps.bucket_count; ++slot) {
            state.zero_baseline.erase(slot);
            state.free_slots.push_back(slot);
        }
    };
    for (auto it = state.policy_slots.begin(); it != state.policy_slots.end();) {
        auto live = policy_count.find(it->first);
        const size_t keep = live == policy_count.end() ? 0 : live->second;
        for (size_t k = keep; k < it->second.size(); ++k) release(it->second[k]);
        if (keep == 0) {
            it = state.policy_slots.erase(it);
            continue;
        }
        if (it->second.size() > keep) it->second.resize(keep);
        ++it;
    }
}

void carry_identities(const Ruleset& current, Ruleset& next) {
    std::set<uint64_t> taken;
    for (const Chain& c : next.chains)
        for (const Rule& r : c.rules)
            if (r.id != 0) taken.insert(r.id);
    for (Chain& c : next.chains) {
        const Chain* old = current.find(c.name);
        if (!old) continue;
        // First unused equal rule: duplicates pair up in order, moved rules are still found.
        for (Rule& r : c.rules) {
            if (r.id != 0) continue;
            for (const Rule& candidate : old->rules) {
                if (candidate == r && !taken.count(candidate.id)) {
                    r.id = candidate.id;
                    taken.insert(r.id);
                    break;
                }
            }
        }
    }
}

std::vector<uint32_t> assign_identities(State& state) {
    std::set<uint64_t> live;
    for (Chain& c : state.ruleset.chains)
        for (Rule& r : c.rules)
            if (r.id != 0) live.insert(r.id);
    // Release slots of rules that are gone (reused only by a later transaction, so the program
    // being replaced can no longer be counting into them).
    std::vector<uint32_t> released;
    for (auto it = state.slot_of_rule.begin(); it != state.slot_of_rule.end();) {
        if (live.count(it->first)) {
            ++it;
            continue;
        }
        released.push_back(it->second);
        state.zero_baseline.erase(it->second);
        it = state.slot_of_rule.erase(it);
    }
    std::vector<uint32_t> fresh;
    for (Chain& c : state.ruleset.chains)
        for (Rule& r : c.rules) {
            if (r.id != 0) continue;
            r.id = state.next_rule_id++;
            uint32_t slot;
            if (!state.free_slots.empty()) {
                slot = state.free_slots.front();
                state.free_slots.erase(state.free_slots.begin());
            } else {
                slot = std::max(state.next_slot, xdp::kFirstRuleSlot);
                state.next_slot = slot + 1;
            }
            state.slot_of_rule[r.id] = slot;
            fresh.push_back(slot);
        }
    state.free_slots.insert(state.free_slots.end(), released.begin(), released.end());
    return fresh;
}

}  // namespace xfw
