// The usage ledger under <state-dir>/billing/: an append-only text file, one snapshot per line,
// each line self-checking:
//
//   <crc32 of the JSON, 8 lower-case hex digits> <JSON object>\n
//
// JSON: {"v":1,"seq":N,"time":T,"prev_time":T0,"generation":G,"rows":[ROW...]} where N is the
// line number (1, 2, ...), T the snapshot's unix time (UTC seconds), T0 the previous snapshot's
// (0 for the first), G the counter map generation read, and each ROW
//   {"counter":ID,"account":A,"chain":C,"rule":SPEC,"packets":P,"bytes":B}
// with the usage of counter ID since the previous snapshot, plus optional "retired":true (a
// removed rule's final counts), "reset":true (the counter went backwards in the same map: the
// usage is its value, counted from zero) and "generation":G2 (the counts were read in another
// map than G: a retired rule's final counts from before a reboot). Counters without usage have
// no row. Lines are appended with one write() and fsync'd; a crash mid-append leaves a last
// line without its newline, which every reader ignores and the next snapshot cuts off.
//
// What each counter had reached when it was last billed (its mark) follows from the ledger:
// replaying the rows gives it. <state-dir>/billing/ledger.marks checkpoints the marks after the
// latest line (same "<crc> <json>" framing, replaced with tmp+fsync+rename) so a snapshot reads
// only what came after it; a missing or damaged checkpoint is rebuilt from the ledger.
#pragma once

#include "control/billing_counters.hpp"
#include "xdp/error.hpp"
#include "xdp/maps.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace xfw {

struct LedgerRow {
    std::string counter;
    std::string account;
    std::string chain;
    std::string rule;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool retired = false;
    bool reset = false;
    std::string generation;  // "" = the record's
    bool operator==(const LedgerRow&) const = default;
};

struct LedgerRecord {
    uint64_t seq = 0;
    int64_t time = 0;
    int64_t prev_time = 0;
    std::string generation;
    std::vector<LedgerRow> rows;
    bool operator==(const LedgerRecord&) const = default;
};

// What a counter had counted, in which counter map, when it was last billed.
struct CounterMark {
    std::string generation;
    xdp::CounterValue value;
};
using CounterMarks = std::map<std::string, CounterMark>;

inline constexpr int kLedgerFormatVersion = 1;

// One ledger line, newline included.
std::string format_ledger_line(const LedgerRecord& record);
// Parses one line (without its newline). The error says what is wrong, without file or line.
Expected<LedgerRecord> parse_ledger_line(std::string_view line);

// The marks after `record`, given those before it.
void apply_ledger_record(CounterMarks& marks, const LedgerRecord& record);

// The snapshot after `marks`: one row per counter whose value moved since its mark (or went
// backwards: a reset). A counter read in another generation than its mark's counted from zero
// in a new map: its whole value is usage. Fails if two counters share an identity.
Expected<LedgerRecord> make_snapshot_record(const CounterMarks& marks, const std::vector<BillableCounter>& counters,
                                            uint64_t seq, int64_t time, int64_t prev_time,
                                            const std::string& generation);

// A whole ledger, checked line by line: checksums, sequence numbers (each line's seq is its line
// number), times that never go back. A last line without a newline is an interrupted append:
// left out, and reported in `incomplete_tail`. Any other fault is a bad-input error naming the
// file and line. A missing file is an empty ledger.
struct LedgerContents {
    std::vector<LedgerRecord> records;
    bool incomplete_tail = false;
};
Expected<LedgerContents> read_ledger(const std::string& path);

std::string ledger_dir(const std::string& state_dir);
std::string ledger_path(const std::string& state_dir);

// The ledger as `billing snapshot` uses it, under the state lock: marks and the last record
// known, an interrupted last line cut off, then one record appended.
class LedgerWriter {
public:
    // Reads the checkpoint and the lines after it (all lines when there is no usable checkpoint).
    // Nothing is written yet: a damaged ledger is reported and left as it is.
    static Expected<LedgerWriter> open(const std::string& state_dir);

    const CounterMarks& marks() const { return marks_; }
    uint64_t last_seq() const { return last_seq_; }
    int64_t last_time() const { return last_time_; }
    // Warnings for the operator (a rebuilt checkpoint, a cut-off line).
    const std::vector<std::string>& notes() const { return notes_; }

    // Cuts off an interrupted last line, appends `record` (its seq must be last_seq() + 1) with
    // fsync, then updates the checkpoint, keeping marks of `counters` only. When this returns an
    // error before the record is durable, the ledger is as it was.
    Status append(const LedgerRecord& record, const std::vector<BillableCounter>& counters);

private:
    LedgerWriter() = default;
    Status write_checkpoint() const;

    std::string dir_, path_;
    CounterMarks marks_;
    uint64_t last_seq_ = 0;
    int64_t last_time_ = 0;
    uint64_t valid_size_ = 0;  // bytes of complete lines
    std::vector<std::string> notes_;
};

// CRC-32 (zlib's) of `text`, as 8 lower-case hex digits.
std::string ledger_checksum(std::string_view text);

}  // namespace xfw
