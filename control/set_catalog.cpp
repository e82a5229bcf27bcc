// Set operations: definitions and elements on disk, elements in pinned maps, kept in step.
#include "control/set_catalog.hpp"

#include "control/set_maps.hpp"
#include "control/set_store.hpp"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace xfw {

namespace fs = std::filesystem;

namespace {

bool is_bpffs(const std::string& path) {
    struct statfs st {};
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

const char* family_name(Family f) { return f == Family::V6 ? "inet6" : "inet"; }

std::string describe(const SetDefinition& d) {
    return std::string(to_string(d.type)) + " family " + family_name(d.family) + " hashsize " +
           std::to_string(d.hashsize) + " maxelem " + std::to_string(d.maxelem);
}

}  // namespace

Expected<SetBindings> load_set_bindings(const Paths& paths) {
    auto defs = load_set_definitions(paths.state_dir);
    if (!defs) return defs.error();
    SetBindings out;
    for (SetDefinition& d : *defs) {
        SetBinding b;
        b.pin = set_pin(paths.bpffs, d.name);
        b.definition = std::move(d);
        out.emplace(b.definition.name, std::move(b));
    }
    return out;
}

Expected<std::vector<std::string>> ensure_set_maps(const Paths& paths, const SetBindings& sets) {
    std::vector<std::string> made;
    for (const auto& [name, binding] : sets) {
        auto map = open_set_map(paths.bpffs, binding.definition);
        if (!map) return map.error();
        if (map->valid()) continue;
        auto elements = load_set_elements(paths.state_dir, binding.definition);
        if (!elements) return elements.error();
        auto fresh = create_set_map(binding.definition, *elements);
        if (!fresh) return fresh.error();
        XFW_TRY(pin_set_map(paths.bpffs, name, fresh->get()));
        made.push_back(name);
    }
    return made;
}

std::vector<std::string> rules_using_set(const Ruleset& ruleset, const std::string& name) {
    std::vector<std::string> out;
    for (const Chain& c : ruleset.chains)
        for (size_t i = 0; i < c.rules.size(); ++i)
            for (const MatchModule& m : c.rules[i].matches)
                if (const auto* s = std::get_if<SetMatch>(&m); s && s->name == name) {
                    out.push_back(c.name + " rule " + std::to_string(i + 1));
                    break;
                }
    return out;
}

Expected<SetCatalog> SetCatalog::open(const Paths& paths, const Ruleset& ruleset) {
    SetCatalog c(paths, ruleset);
    auto defs = load_set_definitions(paths.state_dir);
    if (!defs) return defs.error();
    c.definitions_ = std::move(defs).value();
    return c;
}

const SetDefinition* SetCatalog::find(const std::string& name) const {
    for (const SetDefinition& d : definitions_)
        if (d.name == name) return &d;
    return nullptr;
}

Expected<const SetDefinition*> SetCatalog::existing(const std::string& name) const {
    if (const SetDefinition* d = find(name)) return d;
    XFW_TRY(check_set_name(name));
    return bad_input("the set with the given name does not exist: " + name + " (see `xfw set list -n`)");
}

Status SetCatalog::check_bpffs() const {
    if (is_bpffs(paths_.bpffs)) return {};
    const std::string parent = fs::path(paths_.bpffs).parent_path().string();
    if (!is_bpffs(parent))
        return runtime_error("no BPF filesystem at " + parent + ": mount one with `mount -t bpf bpf " + parent +
                             "`, or pass --bpffs DIR with DIR inside a mounted bpffs");
    if (::mkdir(paths_.bpffs.c_str(), 0700) != 0 && errno != EEXIST)
        return runtime_error("cannot create " + paths_.bpffs + ": " + std::strerror(errno));
    return {};
}

Expected<Fd> SetCatalog::map_of(const SetDefinition& set) {
    XFW_TRY(check_bpffs());
    auto map = open_set_map(paths_.bpffs, set);
    if (!map) return map.error();
    if (map->valid()) return map;
    // The bpffs lost it (a reboot): rebuild it from the stored elements.
    auto elements = load_set_elements(paths_.state_dir, set);
    if (!elements) return elements.error();
    auto fresh = create_set_map(set, *elements);
    if (!fresh) return fresh.error();
    XFW_TRY(pin_set_map(paths_.bpffs, set.name, fresh->get()));
    recreated_.push_back(set.name);
    return fresh;
}

Status SetCatalog::create(const SetDefinition& definition, bool exist) {
    if (const SetDefinition* old = find(definition.name)) {
        if (exist && *old == definition) return {};
        return bad_input("set " + definition.name + " already exists (" + describe(*old) + ")" +
                         (exist ? " with a different definition" : "") + "; destroy it first or pick another name");
    }
    XFW_TRY(check_bpffs());
    auto map = create_set_map(definition, {});
    if (!map) return map.error();
    XFW_TRY(write_set_elements(paths_.state_dir, definition, {}));
    std::vector<SetDefinition> next = definitions_;
    next.push_back(definition);
    if (Status st = pin_set_map(paths_.bpffs, definition.name, map->get()); !st) {
        remove_set_files(paths_.state_dir, definition.name);
        return st;
    }
    if (Status st = save_set_definitions(paths_.state_dir, next); !st) {
        ::unlink(set_pin(paths_.bpffs, definition.name).c_str());
        remove_set_files(paths_.state_dir, definition.name);
        return st;
    }
    definitions_ = std::move(next);
    return {};
}

Status SetCatalog::destroy_one(const SetDefinition& set) {
    std::vector<SetDefinition> next;
    for (const SetDefinition& d : definitions_)
        if (d.name != set.name) next.push_back(d);
    XFW_TRY(save_set_definitions(paths_.state_dir, next));
    ::unlink(set_pin(paths_.bpffs, set.name).c_str());
    remove_set_files(paths_.state_dir, set.name);
    definitions_ = std::move(next);
    return {};
}

Status SetCatalog::destroy(const std::optional<std::string>& name) {
    std::vector<SetDefinition> victims;
    if (name) {
        auto d = existing(*name);
        if (!d) return d.error();
        victims.push_back(**d);
    } else {
        victims = definitions_;
    }
    for (const SetDefinition& d : victims)
        if (auto users = rules_using_set(*ruleset_, d.name); !users.empty())
            return bad_input("set " + d.name + " is in use by " + users.front() +
                             (users.size() > 1 ? " and " + std::to_string(users.size() - 1) + " other rules" : "") +
                             " (-m set --match-set " + d.name + "); delete those rules first");
    for (const SetDefinition& d : victims) XFW_TRY(destroy_one(d));
    return {};
}

Status SetCatalog::flush_one(const SetDefinition& set) {
    auto map = map_of(set);
    if (!map) return map.error();
    // Empty the map in place: the running program holds this map, not the pin.
    const xdp::MapSpec spec = set_map_spec(set);
    std::vector<uint8_t> key(spec.key_size), next(spec.key_size);
    while (bpf_map_get_next_key(map->get(), nullptr, next.data()) == 0) {
        if (bpf_map_delete_elem(map->get(), next.data()) != 0 && errno != ENOENT)
            return runtime_error("cannot flush set " + set.name + ": " + std::strerror(errno));
    }
    return write_set_elements(paths_.state_dir, set, {});
}

Status SetCatalog::flush(const std::optional<std::string>& name) {
    if (name) {
        auto d = existing(*name);
        if (!d) return d.error();
        return flush_one(**d);
    }
    for (const SetDefinition& d : definitions_) XFW_TRY(flush_one(d));
    return {};
}

Status SetCatalog::add(const std::string& name, const std::string& text, bool exist) {
    auto d = existing(name);
    if (!d) return d.error();
    const SetDefinition& set = **d;
    auto element = parse_set_element(set, text);
    if (!element) return element.error();
    auto map = map_of(set);
    if (!map) return map.error();
    auto present = set_map_contains(map->get(), set, *element, true);
    if (!present) return present.error();
    if (*present) {
        if (exist) return {};
        return bad_input("element " + format_set_element(set, *element) + " cannot be added to set " + name +
                         ": it is already added (use -exist to ignore)");
    }
    XFW_TRY(set_map_add(map->get(), set, *element));
    if (Status st = journal_set_change(paths_.state_dir, set, true, {*element}); !st) {
        (void)set_map_delete(map->get(), set, *element);
        return st;
    }
    return {};
}

Status SetCatalog::del(const std::string& name, const std::string& text, bool exist) {
    auto d = existing(name);
    if (!d) return d.error();
    const SetDefinition& set = **d;
    auto element = parse_set_element(set, text);
    if (!element) return element.error();
    auto map = map_of(set);
    if (!map) return map.error();
    auto present = set_map_contains(map->get(), set, *element, true);
    if (!present) return present.error();
    if (!*present) {
        if (exist) return {};
        return bad_input("element " + format_set_element(set, *element) + " cannot be deleted from set " + name +
                         ": it is not added (use -exist to ignore)");
    }
    XFW_TRY(set_map_delete(map->get(), set, *element));
    if (Status st = journal_set_change(paths_.state_dir, set, false, {*element}); !st) {
        (void)set_map_add(map->get(), set, *element);
        return st;
    }
    return {};
}

Expected<bool> SetCatalog::test(const std::string& name, const std::string& text) {
    auto d = existing(name);
    if (!d) return d.error();
    const SetDefinition& set = **d;
    auto element = parse_set_element(set, text);
    if (!element) return element.error();
    auto map = map_of(set);
    if (!map) return map.error();
    const bool exact_prefix = set.is_net() && text.substr(0, text.find(',')).find('/') != std::string::npos;
    return set_map_contains(map->get(), set, *element, exact_prefix);
}

Expected<std::vector<SetElement>> SetCatalog::elements(const SetDefinition& set) const {
    return load_set_elements(paths_.state_dir, set);
}

Expected<std::string> SetCatalog::list(const SetDefinition& set, bool terse) const {
    auto all = elements(set);
    if (!all) return all.error();
    std::string out = "Name: " + set.name + "\nType: " + to_string(set.type) + "\nHeader: family " +
                      family_name(set.family) + " hashsize " + std::to_string(set.hashsize) + " maxelem " +
                      std::to_string(set.maxelem) + "\nReferences: " +
                      std::to_string(rules_using_set(*ruleset_, set.name).size()) + "\nNumber of entries: " +
                      std::to_string(all->size()) + "\n";
    if (terse) return out;
    out += "Members:\n";
    for (const SetElement& e : *all) out += format_set_element(set, e) + "\n";
    return out;
}

Expected<std::string> SetCatalog::save(const std::optional<std::string>& name) const {
    std::string out;
    for (const SetDefinition& d : definitions_) {
        if (name && d.name != *name) continue;
        auto all = elements(d);
        if (!all) return all.error();
        out += format_set_save(d, *all);
    }
    if (name && !find(*name)) {
        auto d = existing(*name);
        return d.error();
    }
    return out;
}

Status SetCatalog::restore(std::string_view text, bool exist_all) {
    auto commands = parse_set_restore(text);
    if (!commands) return commands.error();

    // Run the whole file on a model of the sets first: every error is found before anything
    // changes.
    struct Model {
        SetDefinition definition;
        bool existed = false;     // in the catalog before the restore
        bool replaced = false;    // destroyed (and maybe created again) by the file
        bool alive = true;
        std::set<SetElement> elements;
        bool loaded = false;
    };
    std::map<std::string, Model> model;
    std::vector<std::string> created_order;  // new sets are listed in the order the file creates them
    auto touch = [&](const std::string& name) -> Expected<Model*> {
        auto it = model.find(name);
        if (it == model.end()) {
            const SetDefinition* d = find(name);
            if (!d) return static_cast<Model*>(nullptr);
            it = model.emplace(name, Model{*d, true, false, true, {}, false}).first;
        }
        Model& m = it->second;
        if (m.alive && m.existed && !m.replaced && !m.loaded) {
            auto all = load_set_elements(paths_.state_dir, m.definition);
            if (!all) return all.error();
            m.elements.insert(all->begin(), all->end());
            m.loaded = true;
        }
        return m.alive ? &m : nullptr;
    };
    auto line_error = [](const SetRestoreCommand& c, const std::string& why) {
        return bad_input("restore line " + std::to_string(c.line) + ": " + why + "; nothing was changed");
    };
    for (const SetRestoreCommand& c : *commands) {
        const bool exist = exist_all || c.exist;
        using K = SetRestoreCommand::Kind;
        if (c.kind == K::Create) {
            auto m = touch(c.set);
            if (!m) return m.error();
            if (*m) {
                if (exist && (*m)->definition == c.definition) continue;
                return line_error(c, "set " + c.set + " already exists (" + describe((*m)->definition) + ")");
            }
            if (!find(c.set) && std::find(created_order.begin(), created_order.end(), c.set) == created_order.end())
                created_order.push_back(c.set);
            Model& slot = model[c.set];
            const bool existed = slot.existed || find(c.set) != nullptr;
            slot = Model{c.definition, existed, existed, true, {}, true};
        } else if (c.kind == K::Add || c.kind == K::Del) {
            auto m = touch(c.set);
            if (!m) return m.error();
            if (!*m) return line_error(c, "the set with the given name does not exist: " + c.set);
            Model& s = **m;
            auto e = parse_set_element(s.definition, c.element);
            if (!e) return line_error(c, e.error().message);
            if (c.kind == K::Add) {
                if (!s.elements.insert(*e).second && !exist)
                    return line_error(c, "element " + c.element + " is already in set " + c.set);
                if (s.elements.size() > s.definition.maxelem)
                    return line_error(c, "set " + c.set + " is full (maxelem " + std::to_string(s.definition.maxelem) + ")");
            } else if (s.elements.erase(*e) == 0 && !exist) {
                return line_error(c, "element " + c.element + " is not in set " + c.set);
            }
        } else {
            std::vector<std::string> names;
            if (!c.set.empty()) names.push_back(c.set);
            else {
                for (const SetDefinition& d : definitions_) names.push_back(d.name);
                for (const auto& [n, m] : model)
                    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
            }
            for (const std::string& n : names) {
                auto m = touch(n);
                if (!m) return m.error();
                if (!*m) {
                    if (!c.set.empty()) return line_error(c, "the set with the given name does not exist: " + n);
                    continue;
                }
                if (c.kind == K::Flush) {
                    (*m)->elements.clear();
                    continue;
                }
                if (auto users = rules_using_set(*ruleset_, n); !users.empty())
                    return line_error(c, "set " + n + " is in use by " + users.front() + "; delete those rules first");
                (*m)->alive = false;
                (*m)->replaced = (*m)->existed;
                (*m)->elements.clear();
            }
        }
    }
    // A set in use whose definition the file changes would no longer fit its rules' programs.
    for (const auto& [name, m] : model)
        if (m.existed && m.alive && m.replaced && !(m.definition == *find(name)))
            if (auto users = rules_using_set(*ruleset_, name); !users.empty())
                return bad_input("restore: set " + name + " is in use by " + users.front() +
                                 " and cannot be recreated with another definition; nothing was changed");

    XFW_TRY(check_bpffs());
    std::vector<SetDefinition> next;
    for (const SetDefinition& d : definitions_) {
        auto it = model.find(d.name);
        if (it == model.end()) next.push_back(d);
        else if (it->second.alive) next.push_back(it->second.definition);
    }
    for (const std::string& name : created_order)
        if (const Model& m = model.at(name); m.alive) next.push_back(m.definition);

    for (auto& [name, m] : model) {
        const SetDefinition* old = find(name);
        if (!m.alive) {
            if (old) {
                ::unlink(set_pin(paths_.bpffs, name).c_str());
                remove_set_files(paths_.state_dir, name);
            }
            continue;
        }
        std::vector<SetElement> final_elements(m.elements.begin(), m.elements.end());
        if (!old || !(m.definition == *old)) {
            // A new map filled in one go (batched): the fast path for big blocklists.
            auto map = create_set_map(m.definition, final_elements);
            if (!map) return map.error();
            XFW_TRY(write_set_elements(paths_.state_dir, m.definition, final_elements));
            XFW_TRY(pin_set_map(paths_.bpffs, name, map->get()));
            continue;
        }
        // Same set, new contents: update the live map in place (the running program keeps it).
        auto before = load_set_elements(paths_.state_dir, *old);
        if (!before) return before.error();
        std::vector<SetElement> added, removed;
        std::set_difference(final_elements.begin(), final_elements.end(), before->begin(), before->end(),
                            std::back_inserter(added));
        std::set_difference(before->begin(), before->end(), final_elements.begin(), final_elements.end(),
                            std::back_inserter(removed));
        if (added.empty() && removed.empty()) continue;
        auto map = map_of(m.definition);
        if (!map) return map.error();
        for (const SetElement& e : removed) XFW_TRY(set_map_delete(map->get(), m.definition, e));
        std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
        for (const SetElement& e : added)
            entries.push_back({set_map_key(m.definition, e), set_map_value(e)});
        xdp::MapSpec spec = set_map_spec(m.definition);
        XFW_TRY(put_map_entries(map->get(), spec, entries));
        XFW_TRY(write_set_elements(paths_.state_dir, m.definition, final_elements));
    }
    XFW_TRY(save_set_definitions(paths_.state_dir, next));
    definitions_ = std::move(next);
    return {};
}

}  // namespace xfw
