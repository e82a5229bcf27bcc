// Set definitions and elements under the state directory (layout in set_store.hpp).
#include "control/set_store.hpp"

#include <fcntl.h>
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

namespace {

std::string definitions_path(const std::string& dir) { return dir + "/sets.json"; }
std::string elements_dir(const std::string& dir) { return dir + "/sets"; }
std::string snapshot_path(const std::string& dir, const std::string& name) { return elements_dir(dir) + "/" + name + ".elements"; }
std::string journal_path(const std::string& dir, const std::string& name) { return elements_dir(dir) + "/" + name + ".journal"; }

Status sync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return runtime_error("cannot open " + dir + ": " + std::strerror(errno));
    ::fsync(fd);
    ::close(fd);
    return {};
}

Status write_all(int fd, const std::string& text, const std::string& path) {
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return runtime_error("cannot write " + path + ": " + std::strerror(errno));
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

// Temp file, fsync, rename, directory fsync: a crash leaves the old file or the new one.
Status write_atomically(const std::string& path, const std::string& text) {
    const std::string dir = fs::path(path).parent_path().string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return runtime_error("cannot create " + dir + ": " + ec.message());
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    Status written = write_all(fd, text, tmp);
    if (written && ::fsync(fd) != 0) written = runtime_error("cannot sync " + tmp + ": " + std::strerror(errno));
    ::close(fd);
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return runtime_error("cannot replace " + path + ": " + std::strerror(err));
    }
    return sync_dir(dir);
}

Expected<std::string> read_file(const std::string& path, bool* exists) {
    std::ifstream in(path, std::ios::binary);
    *exists = static_cast<bool>(in);
    if (!in) {
        if (!fs::exists(path)) return std::string();
        return runtime_error("cannot read " + path);
    }
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const char* family_name(Family f) { return f == Family::V6 ? "inet6" : "inet"; }

}  // namespace

Expected<std::vector<SetDefinition>> load_set_definitions(const std::string& state_dir) {
    bool exists = false;
    auto text = read_file(definitions_path(state_dir), &exists);
    if (!text) return text.error();
    std::vector<SetDefinition> out;
    if (!exists) return out;
    try {
        const json j = json::parse(*text);
        for (const json& s : j.at("sets")) {
            SetDefinition d;
            d.name = s.at("name").get<std::string>();
            auto type = parse_set_type(s.at("type").get<std::string>());
            if (!type) throw std::runtime_error("unknown set type " + s.at("type").get<std::string>());
            d.type = *type;
            d.family = s.at("family").get<std::string>() == "inet6" ? Family::V6 : Family::V4;
            d.hashsize = s.at("hashsize").get<uint32_t>();
            d.maxelem = s.at("maxelem").get<uint32_t>();
            out.push_back(std::move(d));
        }
    } catch (const std::exception& e) {
        return runtime_error(definitions_path(state_dir) + " is damaged (" + e.what() +
                             "); restore it from a backup or remove it to start without sets");
    }
    return out;
}

Status save_set_definitions(const std::string& state_dir, const std::vector<SetDefinition>& sets) {
    json list = json::array();
    for (const SetDefinition& d : sets)
        list.push_back({{"name", d.name}, {"type", to_string(d.type)}, {"family", family_name(d.family)},
                        {"hashsize", d.hashsize}, {"maxelem", d.maxelem}});
    return write_atomically(definitions_path(state_dir), json{{"version", 1}, {"sets", list}}.dump(2) + "\n");
}

Expected<std::vector<SetElement>> load_set_elements(const std::string& state_dir, const SetDefinition& set) {
    auto parse_lines = [&](const std::string& path, const std::string& text, auto&& each) -> Status {
        size_t line_no = 0, start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            ++line_no;
            const std::string_view line(text.data() + start, end - start);
            start = end + 1;
            if (line.empty()) continue;
            XFW_TRY(each(line, line_no));
        }
        (void)path;
        return {};
    };
    bool exists = false;
    const std::string snap = snapshot_path(state_dir, set.name);
    auto text = read_file(snap, &exists);
    if (!text) return text.error();
    std::vector<SetElement> elements;
    Status st = parse_lines(snap, *text, [&](std::string_view line, size_t n) -> Status {
        auto e = parse_set_element(set, line);
        if (!e) return runtime_error(snap + ":" + std::to_string(n) + ": " + e.error().message);
        elements.push_back(*e);
        return {};
    });
    if (!st) return st.error();
    const std::string jpath = journal_path(state_dir, set.name);
    auto journal = read_file(jpath, &exists);
    if (!journal) return journal.error();
    std::sort(elements.begin(), elements.end());
    elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
    if (journal->empty()) return elements;
    std::set<SetElement> current(elements.begin(), elements.end());
    st = parse_lines(jpath, *journal, [&](std::string_view line, size_t n) -> Status {
        // A line cut short by a crash is the last one and was never acknowledged: skip it.
        if (line.size() < 2 || (line[0] != '+' && line[0] != '-')) return {};
        auto e = parse_set_element(set, line.substr(1));
        if (!e) return runtime_error(jpath + ":" + std::to_string(n) + ": " + e.error().message);
        if (line[0] == '+') current.insert(*e);
        else current.erase(*e);
        return {};
    });
    if (!st) return st.error();
    return std::vector<SetElement>(current.begin(), current.end());
}

Status write_set_elements(const std::string& state_dir, const SetDefinition& set,
                          const std::vector<SetElement>& elements) {
    std::string text;
    text.reserve(elements.size() * 16);
    for (const SetElement& e : elements) {
        text += format_set_element(set, e);
        text += '\n';
    }
    XFW_TRY(write_atomically(snapshot_path(state_dir, set.name), text));
    // The snapshot holds everything now; an empty journal (not a missing one) would be the same.
    ::unlink(journal_path(state_dir, set.name).c_str());
    return sync_dir(elements_dir(state_dir));
}

Status journal_set_change(const std::string& state_dir, const SetDefinition& set, bool add,
                          const std::vector<SetElement>& elements) {
    if (elements.empty()) return {};
    std::string text;
    for (const SetElement& e : elements) text += (add ? "+" : "-") + format_set_element(set, e) + "\n";
    std::error_code ec;
    fs::create_directories(elements_dir(state_dir), ec);
    const std::string path = journal_path(state_dir, set.name);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot write " + path + ": " + std::strerror(errno));
    Status written = write_all(fd, text, path);
    if (written && ::fsync(fd) != 0) written = runtime_error("cannot sync " + path + ": " + std::strerror(errno));
    ::close(fd);
    XFW_TRY(written);
    // Fold the journal in once replaying it costs more than reading the snapshot.
    struct stat js {}, ss {};
    const bool have_snapshot = ::stat(snapshot_path(state_dir, set.name).c_str(), &ss) == 0;
    if (::stat(path.c_str(), &js) == 0 && js.st_size > (have_snapshot ? ss.st_size : 0) + 64 * 1024) {
        auto all = load_set_elements(state_dir, set);
        if (!all) return all.error();
        return write_set_elements(state_dir, set, *all);
    }
    return {};
}

void remove_set_files(const std::string& state_dir, const std::string& name) {
    ::unlink(journal_path(state_dir, name).c_str());
    ::unlink(snapshot_path(state_dir, name).c_str());
}

}  // namespace xfw
