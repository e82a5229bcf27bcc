// Ledger lines, marks, the snapshot arithmetic and crash-safe appends (see billing_ledger.hpp).
#include "control/billing_ledger.hpp"

#include "control/counter_export.hpp"
#include "control/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

namespace xfw {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kCheckpointName = "ledger.marks";

std::string checkpoint_path(const std::string& dir) { return dir + "/" + kCheckpointName; }

// "<crc> <json>": the JSON text, or why the framing or checksum is wrong.
Expected<std::string_view> unframe(std::string_view line) {
    if (line.size() < 10 || line[8] != ' ')
        return bad_input("not a ledger line (expected 8 hex digits of checksum, a space and a JSON object)");
    const std::string_view sum = line.substr(0, 8);
    for (char c : sum)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return bad_input("not a ledger line (the checksum \"" + std::string(sum) + "\" is not 8 hex digits)");
    const std::string_view body = line.substr(9);
    if (ledger_checksum(body) != sum)
        return bad_input("checksum mismatch (the line was changed or damaged after it was written)");
    return body;
}

std::string frame(const std::string& body) { return ledger_checksum(body) + " " + body + "\n"; }

uint64_t get_u64(const json& j, const char* key) {
    const json& v = j.at(key);
    if (!v.is_number_unsigned()) throw std::runtime_error(std::string("\"") + key + "\" is not a non-negative integer");
    return v.get<uint64_t>();
}

int64_t get_time(const json& j, const char* key) {
    const uint64_t v = get_u64(j, key);
    if (v > static_cast<uint64_t>(INT64_MAX)) throw std::runtime_error(std::string("\"") + key + "\" is out of range");
    return static_cast<int64_t>(v);
}

std::string get_string(const json& j, const char* key) {
    const json& v = j.at(key);
    if (!v.is_string()) throw std::runtime_error(std::string("\"") + key + "\" is not a string");
    return v.get<std::string>();
}

bool get_flag(const json& j, const char* key) {
    if (!j.contains(key)) return false;
    if (!j.at(key).is_boolean()) throw std::runtime_error(std::string("\"") + key + "\" is not true or false");
    return j.at(key).get<bool>();
}

Status write_all(int fd, const std::string& text, const std::string& path) {
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return runtime_error("cannot write " + path + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    return {};
}

void sync_dir(const std::string& dir) {
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

Expected<std::string> read_file_from(const std::string& path, uint64_t offset, bool* missing) {
    *missing = false;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return std::string();
        }
        return runtime_error("cannot read " + path + ": " + std::strerror(errno));
    }
    Fd owned(fd);
    std::string text;
    char buf[1 << 16];
    off_t at = static_cast<off_t>(offset);
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return runtime_error("cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        at += n;
    }
    return text;
}

// Parses complete lines of `text` (which starts at line `first_line`), checking the sequence
// and times. Returns the byte length of the complete lines.
struct Lines {
    std::vector<LedgerRecord> records;
    size_t complete_bytes = 0;
    bool incomplete_tail = false;
};
Expected<Lines> parse_lines(const std::string& text, const std::string& path, uint64_t first_line, int64_t prev_time) {
    Lines out;
    size_t start = 0;
    uint64_t line_no = first_line;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            out.incomplete_tail = true;
            break;
        }
        const std::string where = path + ":" + std::to_string(line_no) + ": ";
        auto record = parse_ledger_line(std::string_view(text).substr(start, end - start));
        if (!record)
            return bad_input(where + record.error().message +
                             "; xfw never rewrites ledger lines: restore the ledger from a backup");
        if (record->seq != line_no)
            return bad_input(where + "sequence number " + std::to_string(record->seq) + " where " +
                             std::to_string(line_no) + " was expected (a line is missing, duplicated or moved); "
                             "restore the ledger from a backup");
        if (record->time < prev_time)
            return bad_input(where + "time " + std::to_string(record->time) + " is before the previous line's (" +
                             std::to_string(prev_time) + "); restore the ledger from a backup");
        prev_time = record->time;
        out.records.push_back(std::move(record).value());
        ++line_no;
        start = end + 1;
    }
    out.complete_bytes = start;
    return out;
}

}  // namespace

std::string ledger_checksum(std::string_view text) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes lengths as uInt: feed large texts in pieces.
    while (!text.empty()) {
        const size_t n = std::min<size_t>(text.size(), 1u << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(n));
        text.remove_prefix(n);
    }
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
    return buf;
}

std::string format_ledger_line(const LedgerRecord& record) {
    json rows = json::array();
    for (const LedgerRow& r : record.rows) {
        json row{{"counter", sanitize_utf8(r.counter)}, {"account", sanitize_utf8(r.account)},
                 {"chain", sanitize_utf8(r.chain)}, {"rule", sanitize_utf8(r.rule)},
                 {"packets", r.packets}, {"bytes", r.bytes}};
        if (r.retired) row["retired"] = true;
        if (r.reset) row["reset"] = true;
        if (!r.generation.empty()) row["generation"] = r.generation;
        rows.push_back(std::move(row));
    }
    json j{{"v", kLedgerFormatVersion}, {"seq", record.seq}, {"time", record.time}, {"prev_time", record.prev_time},
           {"generation", record.generation}, {"rows", std::move(rows)}};
    return frame(j.dump());
}

Expected<LedgerRecord> parse_ledger_line(std::string_view line) {
    auto body = unframe(line);
    if (!body) return body.error();
    LedgerRecord record;
    try {
        const json j = json::parse(*body);
        if (!j.is_object()) throw std::runtime_error("not a JSON object");
        if (get_u64(j, "v") != static_cast<uint64_t>(kLedgerFormatVersion))
            throw std::runtime_error("format version " + j.at("v").dump() + " (this xfw reads version " +
                                     std::to_string(kLedgerFormatVersion) + ")");
        record.seq = get_u64(j, "seq");
        record.time = get_time(j, "time");
        record.prev_time = get_time(j, "prev_time");
        record.generation = get_string(j, "generation");
        const json& rows = j.at("rows");
        if (!rows.is_array()) throw std::runtime_error("\"rows\" is not an array");
        std::set<std::string> seen;
        for (const json& r : rows) {
            if (!r.is_object()) throw std::runtime_error("a row is not a JSON object");
            LedgerRow row;
            row.counter = get_string(r, "counter");
            if (row.counter.empty()) throw std::runtime_error("a row with an empty counter identity");
            if (!seen.insert(row.counter).second) throw std::runtime_error("counter " + row.counter + " appears twice");
            row.account = get_string(r, "account");
            row.chain = get_string(r, "chain");
            row.rule = get_string(r, "rule");
            row.packets = get_u64(r, "packets");
            row.bytes = get_u64(r, "bytes");
            row.retired = get_flag(r, "retired");
            row.reset = get_flag(r, "reset");
            if (r.contains("generation")) row.generation = get_string(r, "generation");
            record.rows.push_back(std::move(row));
        }
    } catch (const std::exception& e) {
        return bad_input(std::string("not a valid ledger record: ") + e.what());
    }
    return record;
}

void apply_ledger_record(CounterMarks& marks, const LedgerRecord& record) {
    for (const LedgerRow& row : record.rows) {
        const std::string& generation = row.generation.empty() ? record.generation : row.generation;
        CounterMark& mark = marks[row.counter];
        // Same map and no reset: usage adds to the mark; otherwise the counter started from zero.
        if (mark.generation != generation || row.reset) mark = {generation, {}};
        mark.value.packets += row.packets;
        mark.value.bytes += row.bytes;
    }
}

Expected<LedgerRecord> make_snapshot_record(const CounterMarks& marks, const std::vector<BillableCounter>& counters,
                                            uint64_t seq, int64_t time, int64_t prev_time,
                                            const std::string& generation) {
    LedgerRecord record;
    record.seq = seq;
    record.time = time;
    record.prev_time = prev_time;
    record.generation = generation;
    std::set<std::string> seen;
    for (const BillableCounter& c : counters) {
        if (!seen.insert(c.identity).second)
            return runtime_error("internal: counter identity " + c.identity + " is listed twice");
        // No map was read: nothing is known about the counter now (its mark stays).
        if (c.generation.empty()) continue;
        LedgerRow row;
        row.counter = c.identity;
        row.account = c.account;
        row.chain = c.chain;
        row.rule = c.description;
        row.retired = c.retired;
        if (c.generation != generation) row.generation = c.generation;
        auto it = marks.find(c.identity);
        if (it == marks.end() || it->second.generation != c.generation) {
            // New counter, or a new map since it was last billed: it has counted from zero.
            row.packets = c.value.packets;
            row.bytes = c.value.bytes;
        } else if (c.value.packets >= it->second.value.packets && c.value.bytes >= it->second.value.bytes) {
            row.packets = c.value.packets - it->second.value.packets;
            row.bytes = c.value.bytes - it->second.value.bytes;
        } else {
            // Went backwards in the same map (written from outside): counted from zero since.
            row.reset = true;
            row.packets = c.value.packets;
            row.bytes = c.value.bytes;
        }
        if (row.packets == 0 && row.bytes == 0 && !row.reset) continue;
        record.rows.push_back(std::move(row));
    }
    return record;
}

std::string ledger_dir(const std::string& state_dir) { return state_dir + "/billing"; }
std::string ledger_path(const std::string& state_dir) { return ledger_dir(state_dir) + "/ledger"; }

Expected<LedgerContents> read_ledger(const std::string& path) {
    bool missing = false;
    auto text = read_file_from(path, 0, &missing);
    if (!text) return text.error();
    auto lines = parse_lines(*text, path, 1, 0);
    if (!lines) return lines.error();
    return LedgerContents{std::move(lines->records), lines->incomplete_tail};
}

Expected<LedgerWriter> LedgerWriter::open(const std::string& state_dir) {
    LedgerWriter w;
    w.dir_ = ledger_dir(state_dir);
    w.path_ = ledger_path(state_dir);

    // The checkpoint: where to start reading, and the marks there.
    uint64_t offset = 0;
    bool missing = false;
    auto cp_text = read_file_from(checkpoint_path(w.dir_), 0, &missing);
    if (!cp_text) return cp_text.error();
    bool have_checkpoint = false;
    if (!missing) {
        std::string why;
        std::string_view line = *cp_text;
        if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        auto body = unframe(line);
        if (!body) {
            why = body.error().message;
        } else {
            try {
                const json j = json::parse(*body);
                if (get_u64(j, "v") != static_cast<uint64_t>(kLedgerFormatVersion)) throw std::runtime_error("version");
                w.last_seq_ = get_u64(j, "seq");
                w.last_time_ = get_time(j, "time");
                offset = get_u64(j, "offset");
                const json& gens = j.at("generations");
                for (const json& m : j.at("marks")) {
                    const uint64_t g = m.at(1).get<uint64_t>();
                    w.marks_[m.at(0).get<std::string>()] = {gens.at(g).get<std::string>(),
                                                           {m.at(2).get<uint64_t>(), m.at(3).get<uint64_t>()}};
                }
                have_checkpoint = true;
            } catch (const std::exception& e) {
                why = e.what();
            }
        }
        if (!have_checkpoint) {
            w.notes_.push_back(checkpoint_path(w.dir_) + " is damaged (" + why + "); rebuilt from the ledger");
            w.marks_.clear();
            w.last_seq_ = 0;
            w.last_time_ = 0;
            offset = 0;
        }
    }

    // With a checkpoint, read from the byte before it: it must be the end of a line.
    auto text = read_file_from(w.path_, offset > 0 ? offset - 1 : 0, &missing);
    if (!text) return text.error();
    if (missing && have_checkpoint && w.last_seq_ > 0)
        return bad_input(w.path_ + " is missing but " + checkpoint_path(w.dir_) + " says it had " +
                         std::to_string(w.last_seq_) + " lines; restore the ledger from a backup (or remove "
                         "both files to start a new ledger)");
    if (offset > 0) {
        if (text->empty() || (*text)[0] != '\n')
            return bad_input(w.path_ + ": the ledger does not match the " + std::to_string(w.last_seq_) +
                             " lines " + checkpoint_path(w.dir_) + " records (lines were cut off or changed); "
                             "restore the ledger from a backup");
        text->erase(0, 1);
    }
    auto lines = parse_lines(*text, w.path_, w.last_seq_ + 1, w.last_time_);
    if (!lines) return lines.error();
    for (const LedgerRecord& r : lines->records) {
        apply_ledger_record(w.marks_, r);
        w.last_seq_ = r.seq;
        w.last_time_ = r.time;
    }
    w.valid_size_ = offset + lines->complete_bytes;
    if (lines->incomplete_tail)
        w.notes_.push_back(w.path_ + ": an incomplete last line (an interrupted snapshot, never billed) was removed");
    return w;
}

Status LedgerWriter::append(const LedgerRecord& record, const std::vector<BillableCounter>& counters) {
    if (record.seq != last_seq_ + 1) return runtime_error("internal: ledger record out of sequence");
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return runtime_error("cannot create " + dir_ + ": " + ec.message());
    const bool is_new = !fs::exists(path_);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
    Fd owned(fd);
    // Cut off an interrupted append (it was never complete, so never billed), then write at the end.
    if (::ftruncate(fd, static_cast<off_t>(valid_size_)) != 0)
        return runtime_error("cannot repair " + path_ + ": " + std::strerror(errno));
    if (::lseek(fd, static_cast<off_t>(valid_size_), SEEK_SET) < 0)
        return runtime_error("cannot seek in " + path_ + ": " + std::strerror(errno));
    const std::string line = format_ledger_line(record);
    if (Status s = write_all(fd, line, path_); !s) {
        (void)::ftruncate(fd, static_cast<off_t>(valid_size_));
        return s;
    }
    if (::fsync(fd) != 0) {
        const int err = errno;
        (void)::ftruncate(fd, static_cast<off_t>(valid_size_));
        return runtime_error("cannot sync " + path_ + ": " + std::strerror(err));
    }
    owned.reset();
    if (is_new) sync_dir(dir_);
    valid_size_ += line.size();
    apply_ledger_record(marks_, record);
    last_seq_ = record.seq;
    last_time_ = record.time;
    // Counters that no longer exist (retired rules billed and forgotten) need no mark: identities
    // are never reused.
    std::set<std::string> alive;
    for (const BillableCounter& c : counters) alive.insert(c.identity);
    std::erase_if(marks_, [&](const auto& entry) { return !alive.count(entry.first); });
    // The record is durable. A crash before the checkpoint is replaced only means the next
    // snapshot reads one more line.
    return write_checkpoint();
}

Status LedgerWriter::write_checkpoint() const {
    std::vector<std::string> generations;
    std::map<std::string, size_t> index;
    json marks = json::array();
    for (const auto& [identity, mark] : marks_) {
        auto [it, added] = index.emplace(mark.generation, generations.size());
        if (added) generations.push_back(mark.generation);
        marks.push_back({identity, it->second, mark.value.packets, mark.value.bytes});
    }
    json j{{"v", kLedgerFormatVersion}, {"seq", last_seq_}, {"time", last_time_}, {"offset", valid_size_},
           {"generations", generations}, {"marks", std::move(marks)}};
    const std::string path = checkpoint_path(dir_);
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    Fd owned(fd);
    XFW_TRY(write_all(fd, frame(j.dump()), tmp));
    if (::fsync(fd) != 0) return runtime_error("cannot sync " + tmp + ": " + std::strerror(errno));
    owned.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return runtime_error("cannot replace " + path + ": " + std::strerror(errno));
    sync_dir(dir_);
    return {};
}

}  // namespace xfw
