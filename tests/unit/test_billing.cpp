// Unit tests of billing: ledger lines and their checks, the snapshot arithmetic (deltas, new
// maps, resets, retired rules), crash-safe appends and checkpoints, rate cards, times, report
// arithmetic and formats, and the retired-rule / slot hand-over bookkeeping.
#include "control/billing_counters.hpp"
#include "control/billing_ledger.hpp"
#include "control/billing_rates.hpp"
#include "control/billing_report.hpp"
#include "control/billing_retire.hpp"
#include "control/billing_time.hpp"
#include "control/rule_parser.hpp"
#include "control/restore_file.hpp"
#include "control/rule_printer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace xfw {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

struct TmpDir {
    std::string path;
    TmpDir() {
        std::string t = (fs::temp_directory_path() / "xfw-billing-unit-XXXXXX").string();
        path = ::mkdtemp(t.data());
    }
    ~TmpDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

BillableCounter counter(const std::string& id, const std::string& account, uint64_t p, uint64_t b,
                        const std::string& gen = "G1", bool retired = false) {
    BillableCounter c;
    c.identity = id;
    c.account = account;
    c.chain = "INPUT";
    c.description = "-p udp -j ACCEPT";
    c.generation = gen;
    c.value = {p, b};
    c.retired = retired;
    return c;
}

LedgerRecord sample_record() {
    LedgerRecord r;
    r.seq = 1;
    r.time = 1767225600;
    r.prev_time = 0;
    r.generation = "boot/7";
    LedgerRow row;
    row.counter = "rule:3";
    row.account = "acme";
    row.chain = "INPUT";
    row.rule = "-p udp --dport 53 -m comment --comment \"account=acme\" -j ACCEPT";
    row.packets = 12;
    row.bytes = 1200;
    r.rows.push_back(row);
    row.counter = "rule:4";
    row.retired = true;
    row.reset = true;
    row.generation = "boot/6";
    r.rows.push_back(row);
    return r;
}

// ---- ledger lines --------------------------------------------------------------------------

TEST(LedgerLine, RoundTripsAndEndsWithOneNewline) {
    const LedgerRecord r = sample_record();
    const std::string line = format_ledger_line(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(line.substr(0, 8), ledger_checksum(line.substr(9, line.size() - 10)));
    auto back = parse_ledger_line(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, r);
}

TEST(LedgerLine, EveryChangedByteIsCaught) {
    const std::string line = format_ledger_line(sample_record());
    const std::string body = line.substr(0, line.size() - 1);
    for (size_t i = 0; i < body.size(); ++i) {
        std::string bad = body;
        bad[i] = bad[i] == '7' ? '8' : '7';
        EXPECT_FALSE(parse_ledger_line(bad).ok()) << "byte " << i;
    }
}

TEST(LedgerLine, ErrorsSayWhatIsWrong) {
    auto e = parse_ledger_line("hello");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("not a ledger line"), std::string::npos);
    std::string line = format_ledger_line(sample_record());
    line[20] = line[20] == 'x' ? 'y' : 'x';
    e = parse_ledger_line(line.substr(0, line.size() - 1));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("checksum mismatch"), std::string::npos);
    // A well-framed line with a wrong version, a negative count, a missing field.
    for (const std::string& body : {std::string(R"({"v":2,"seq":1,"time":1,"prev_time":0,"generation":"","rows":[]})"),
                                    std::string(R"({"v":1,"seq":1,"time":1,"prev_time":0,"generation":"","rows":[{"counter":"rule:1","account":"","chain":"","rule":"","packets":-1,"bytes":0}]})"),
                                    std::string(R"({"v":1,"seq":1,"time":1,"generation":"","rows":[]})")}) {
        auto r = parse_ledger_line(ledger_checksum(body) + " " + body);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_NE(r.error().message.find("not a valid ledger record"), std::string::npos) << r.error().message;
    }
}

// ---- snapshot arithmetic -----------------------------------------------------------------

TEST(SnapshotRecord, DeltasSinceTheMarkAndOnlyCountersThatMoved) {
    CounterMarks marks{{"rule:1", {"G1", {10, 1000}}}, {"rule:2", {"G1", {5, 500}}}};
    auto r = make_snapshot_record(marks, {counter("rule:1", "acme", 15, 1600), counter("rule:2", "beta", 5, 500),
                                          counter("rule:3", "acme", 2, 100)},
                                  4, 100, 90, "G1");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rows.size(), 2u);
    EXPECT_EQ(r->rows[0].counter, "rule:1");
    EXPECT_EQ(r->rows[0].packets, 5u);
    EXPECT_EQ(r->rows[0].bytes, 600u);
    EXPECT_EQ(r->rows[1].counter, "rule:3");  // new: its whole value
    EXPECT_EQ(r->rows[1].packets, 2u);
    EXPECT_FALSE(r->rows[1].reset);
    apply_ledger_record(marks, *r);
    EXPECT_EQ(marks["rule:1"].value.packets, 15u);
    EXPECT_EQ(marks["rule:3"].value.bytes, 100u);
}

TEST(SnapshotRecord, ANewMapCountsFromZeroAndABackwardsCounterIsAReset) {
    CounterMarks marks{{"rule:1", {"G1", {10, 1000}}}, {"rule:2", {"G1", {5, 500}}}};
    // New generation: the value is all usage, never value - mark (which would be negative).
    auto r = make_snapshot_record(marks, {counter("rule:1", "a", 3, 300, "G2")}, 2, 100, 90, "G2");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rows.size(), 1u);
    EXPECT_EQ(r->rows[0].packets, 3u);
    EXPECT_FALSE(r->rows[0].reset);
    EXPECT_EQ(r->rows[0].generation, "");  // same as the record's
    // Same generation, lower value (bytes only): a reset, billed from zero, flagged.
    r = make_snapshot_record(marks, {counter("rule:2", "a", 6, 400, "G1")}, 2, 100, 90, "G1");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rows.size(), 1u);
    EXPECT_TRUE(r->rows[0].reset);
    EXPECT_EQ(r->rows[0].packets, 6u);
    EXPECT_EQ(r->rows[0].bytes, 400u);
    CounterMarks after = marks;
    apply_ledger_record(after, *r);
    EXPECT_EQ(after["rule:2"].value.packets, 6u);
    EXPECT_EQ(after["rule:2"].value.bytes, 400u);
    // A reset to zero still gives a row, so the mark follows the counter down.
    r = make_snapshot_record(marks, {counter("rule:2", "a", 0, 0, "G1")}, 2, 100, 90, "G1");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rows.size(), 1u);
    EXPECT_TRUE(r->rows[0].reset);
}

TEST(SnapshotRecord, RetiredCountsFromAnOlderMapAreBilledAgainstTheirOwnMark) {
    CounterMarks marks{{"rule:9", {"G1", {10, 1000}}}};
    auto r = make_snapshot_record(marks, {counter("rule:9", "acme", 14, 1400, "G1", true)}, 5, 100, 90, "G2");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->rows.size(), 1u);
    EXPECT_EQ(r->rows[0].packets, 4u);
    EXPECT_TRUE(r->rows[0].retired);
    EXPECT_EQ(r->rows[0].generation, "G1");
    apply_ledger_record(marks, *r);
    EXPECT_EQ(marks["rule:9"].generation, "G1");
    EXPECT_EQ(marks["rule:9"].value.packets, 14u);
    // Billed again: nothing.
    r = make_snapshot_record(marks, {counter("rule:9", "acme", 14, 1400, "G1", true)}, 6, 100, 90, "G2");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->rows.empty());
}

TEST(SnapshotRecord, NoMapReadMeansNoUsageAndMarksStay) {
    CounterMarks marks{{"rule:1", {"G1", {10, 1000}}}};
    auto r = make_snapshot_record(marks, {counter("rule:1", "a", 0, 0, "")}, 2, 100, 90, "");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->rows.empty());
}

TEST(SnapshotRecord, DuplicateIdentitiesAreRefused) {
    auto r = make_snapshot_record({}, {counter("rule:1", "a", 1, 1), counter("rule:1", "a", 1, 1)}, 1, 1, 0, "G");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("rule:1"), std::string::npos);
}

// Random walks of counters through new maps and resets: the sum of billed usage equals what
// was counted in every map, minus only what a map held when it was replaced after the last
// snapshot (the documented cost of a reset), and replaying the ledger gives the same marks.
TEST(SnapshotRecord, RandomHistoriesBillEveryCountOnce) {
    std::mt19937_64 rng(20261122);
    for (int trial = 0; trial < 200; ++trial) {
        CounterMarks marks, replayed;
        uint64_t gen = 1, value = 0, counted = 0, lost = 0, billed = 0, since_snapshot = 0;
        for (int step = 0; step < 40; ++step) {
            const int what = static_cast<int>(rng() % 10);
            if (what < 6) {
                const uint64_t n = rng() % 50;
                value += n;
                counted += n;
                since_snapshot += n;
            } else if (what == 6) {  // a reboot: the map's unsnapshotted counts are lost
                ++gen;
                lost += since_snapshot;
                since_snapshot = 0;
                value = 0;
            } else {
                const std::string g = "G" + std::to_string(gen);
                auto r = make_snapshot_record(marks, {counter("rule:1", "a", value, value * 100, g)},
                                              static_cast<uint64_t>(step), step + 1, step, g);
                ASSERT_TRUE(r.ok());
                for (const LedgerRow& row : r->rows) billed += row.packets;
                apply_ledger_record(marks, *r);
                auto parsed = parse_ledger_line(format_ledger_line(*r).substr(0, format_ledger_line(*r).size() - 1));
                ASSERT_TRUE(parsed.ok());
                apply_ledger_record(replayed, *parsed);
                since_snapshot = 0;
            }
        }
        EXPECT_EQ(billed + since_snapshot + lost, counted) << "trial " << trial;
        for (const auto& [id, m] : marks) {
            EXPECT_EQ(replayed[id].generation, m.generation);
            EXPECT_EQ(replayed[id].value.packets, m.value.packets);
        }
    }
}

// ---- reading and appending ------------------------------------------------------------------

std::string ledger_of(int n) {
    std::string text;
    for (int i = 1; i <= n; ++i) {
        LedgerRecord r = sample_record();
        r.seq = static_cast<uint64_t>(i);
        r.time += i;
        r.prev_time = i == 1 ? 0 : r.time - 1;
        text += format_ledger_line(r);
    }
    return text;
}

TEST(LedgerFile, ReadsEveryLineAndIgnoresAnInterruptedLastOne) {
    TmpDir d;
    const std::string path = d.path + "/ledger";
    auto empty = read_ledger(path);
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->records.empty());
    const std::string full = ledger_of(3);
    spit(path, full + ledger_of(4).substr(full.size(), 40));
    auto c = read_ledger(path);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->records.size(), 3u);
    EXPECT_TRUE(c->incomplete_tail);
}

TEST(LedgerFile, DamageNamesTheFileAndLine) {
    TmpDir d;
    const std::string path = d.path + "/ledger";
    const std::string text = ledger_of(4);
    std::vector<size_t> ends;
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') ends.push_back(i);
    struct Case {
        std::string what, text, want;
    };
    const std::string line2 = text.substr(ends[0] + 1, ends[1] - ends[0]);
    std::string edited = text;
    edited.replace(edited.find("\"packets\":12", ends[1]), 12, "\"packets\":13");
    const std::vector<Case> cases = {
        {"line 2 removed", text.substr(0, ends[0] + 1) + text.substr(ends[1] + 1), path + ":2: sequence number 3"},
        {"line 2 twice", text.substr(0, ends[1] + 1) + line2 + text.substr(ends[1] + 1), path + ":3: sequence number 2"},
        {"cut in the middle of line 2", text.substr(0, ends[0] + 30) + text.substr(ends[1] + 1), path + ":2: "},
        {"number edited on line 3", edited, path + ":3: checksum mismatch"},
        {"blank line", text.substr(0, ends[0] + 1) + "\n" + text.substr(ends[0] + 1), path + ":2: not a ledger line"},
    };
    for (const Case& c : cases) {
        spit(path, c.text);
        auto r = read_ledger(path);
        ASSERT_FALSE(r.ok()) << c.what;
        EXPECT_EQ(r.error().exit_code, 2) << c.what;
        EXPECT_EQ(r.error().message.rfind(c.want, 0), 0u) << c.what << ": " << r.error().message;
    }
}

TEST(LedgerWriter, AppendsReopensFromTheCheckpointAndRepairsAnInterruptedLine) {
    TmpDir d;
    std::vector<BillableCounter> counters = {counter("rule:1", "acme", 10, 1000)};
    {
        auto w = LedgerWriter::open(d.path);
        ASSERT_TRUE(w.ok()) << w.error().message;
        EXPECT_EQ(w->last_seq(), 0u);
        auto r = make_snapshot_record(w->marks(), counters, 1, 100, 0, "G1");
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(w->append(*r, counters).ok());
    }
    const std::string path = ledger_path(d.path);
    // An append killed half-way.
    {
        std::ofstream out(path, std::ios::binary | std::ios::app);
        out << "1234abcd {\"v\":1,\"seq\":2,";
    }
    counters[0].value = {15, 1500};
    {
        auto w = LedgerWriter::open(d.path);
        ASSERT_TRUE(w.ok()) << w.error().message;
        EXPECT_EQ(w->last_seq(), 1u);
        EXPECT_EQ(w->marks().at("rule:1").value.packets, 10u);
        ASSERT_EQ(w->notes().size(), 1u);
        auto r = make_snapshot_record(w->marks(), counters, 2, 200, 100, "G1");
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(w->append(*r, counters).ok());
    }
    auto all = read_ledger(path);
    ASSERT_TRUE(all.ok()) << all.error().message;
    ASSERT_EQ(all->records.size(), 2u);
    EXPECT_FALSE(all->incomplete_tail);
    EXPECT_EQ(all->records[1].rows.at(0).packets, 5u);
    // Without the checkpoint (or with a damaged one) the marks are rebuilt from the ledger.
    for (const std::string& damage : {std::string("remove"), std::string("garble")}) {
        const std::string cp = ledger_dir(d.path) + "/ledger.marks";
        const std::string saved = slurp(cp);
        if (damage == "remove") fs::remove(cp);
        else spit(cp, "0000 not json\n");
        auto w = LedgerWriter::open(d.path);
        ASSERT_TRUE(w.ok()) << w.error().message;
        EXPECT_EQ(w->last_seq(), 2u) << damage;
        EXPECT_EQ(w->marks().at("rule:1").value.packets, 15u) << damage;
        EXPECT_EQ(w->notes().size(), damage == "garble" ? 1u : 0u);
        spit(cp, saved);
    }
    // Marks of counters that are gone are not kept.
    {
        auto w = LedgerWriter::open(d.path);
        ASSERT_TRUE(w.ok());
        std::vector<BillableCounter> other = {counter("rule:2", "beta", 1, 1)};
        auto r = make_snapshot_record(w->marks(), other, 3, 300, 200, "G1");
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(w->append(*r, other).ok());
        EXPECT_EQ(w->marks().count("rule:1"), 0u);
    }
}

TEST(LedgerWriter, ALedgerThatLostLinesIsRefusedAndLeftAlone) {
    TmpDir d;
    std::vector<BillableCounter> counters = {counter("rule:1", "acme", 10, 1000)};
    for (int i = 1; i <= 3; ++i) {
        auto w = LedgerWriter::open(d.path);
        ASSERT_TRUE(w.ok());
        counters[0].value.packets += 1;
        auto r = make_snapshot_record(w->marks(), counters, w->last_seq() + 1, 100 * i, w->last_time(), "G1");
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(w->append(*r, counters).ok());
    }
    const std::string path = ledger_path(d.path);
    const std::string text = slurp(path);
    const std::string shorter = text.substr(0, text.rfind('\n', text.size() - 2) + 1);  // last line gone
    spit(path, shorter);
    auto w = LedgerWriter::open(d.path);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().exit_code, 2);
    EXPECT_NE(w.error().message.find(path), std::string::npos) << w.error().message;
    EXPECT_EQ(slurp(path), shorter);
    fs::remove(path);
    w = LedgerWriter::open(d.path);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.error().message.find("is missing"), std::string::npos) << w.error().message;
}

// ---- rate cards -------------------------------------------------------------------------------

TEST(RateCard, ParsesEntriesCommentsAndTheDefault) {
    auto card = parse_rate_card("# prices\n\naccount=acme per_million_packets=0.40 per_gb=0.05\r\n"
                                "  account=default   per_gb=1 per_million_packets=0.000000001  # x\n",
                                "rates.txt");
    ASSERT_FALSE(card.ok());  // "# x" is not a field
    card = parse_rate_card("# prices\n\naccount=acme per_million_packets=0.40 per_gb=0.05\r\n"
                           "  account=default   per_gb=1 per_million_packets=0.000000001\n",
                           "rates.txt");
    ASSERT_TRUE(card.ok()) << card.error().message;
    ASSERT_NE(card->find("acme"), nullptr);
    EXPECT_EQ(card->find("acme")->per_million_packets.nanos, 400000000u);
    EXPECT_EQ(card->find("acme")->per_gb.nanos, 50000000u);
    ASSERT_NE(card->find("other"), nullptr);
    EXPECT_EQ(card->find("other")->per_million_packets.nanos, 1u);
    EXPECT_EQ(card->find("other")->per_gb.nanos, 1000000000u);
    auto no_default = parse_rate_card("account=acme per_million_packets=1 per_gb=2\n", "r");
    ASSERT_TRUE(no_default.ok());
    EXPECT_EQ(no_default->find("beta"), nullptr);
}

TEST(RateCard, EveryMistakeNamesTheFileAndLine) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"acme per_million_packets=1 per_gb=1", "r.txt:2: \"acme\": an entry starts with account=NAME"},
        {"account= per_million_packets=1 per_gb=1", "r.txt:2: \"account=\": the account name is empty"},
        {"account=a per_million_packets=1", "r.txt:2: account a has no per_gb=PRICE"},
        {"account=a per_gb=1", "r.txt:2: account a has no per_million_packets=PRICE"},
        {"account=a per_million_packets=1 per_gb=1 per_gb=2", "r.txt:2: per_gb is given twice"},
        {"account=a per_million_packets=1 per_gb=1 per_tb=2", "r.txt:2: \"per_tb\": unknown field"},
        {"account=a per_million_packets=1 per_gb", "r.txt:2: \"per_gb\": expected per_million_packets=PRICE"},
        {"account=a per_million_packets=-1 per_gb=1", "r.txt:2: per_million_packets: \"-1\" is not a price"},
        {"account=a per_million_packets=1e3 per_gb=1", "r.txt:2: per_million_packets: \"1e3\" is not a price"},
        {"account=a per_million_packets=.5 per_gb=1", "r.txt:2: per_million_packets: \".5\" is not a price"},
        {"account=a per_million_packets=5. per_gb=1", "r.txt:2: per_million_packets: \"5.\" is not a price"},
        {"account=a per_million_packets=0.1234567891 per_gb=1", "r.txt:2: per_million_packets: \"0.1234567891\""},
        {"account=a per_million_packets=1 per_gb=", "r.txt:2: per_gb: \"\" is not a price"},
        {"account=a per_million_packets=1 per_gb=1.2.3", "r.txt:2: per_gb: \"1.2.3\" is not a price"},
        {"account=acme per_million_packets=1 per_gb=1", "r.txt:2: a second entry for account acme"},
    };
    for (const auto& [line, want] : cases) {
        auto card = parse_rate_card("account=acme per_million_packets=1 per_gb=1\n" + line + "\n", "r.txt");
        ASSERT_FALSE(card.ok()) << line;
        EXPECT_EQ(card.error().exit_code, 2);
        EXPECT_EQ(card.error().message.rfind(want, 0), 0u) << line << " -> " << card.error().message;
    }
    auto twice = parse_rate_card("account=default per_million_packets=1 per_gb=1\naccount=default "
                                 "per_million_packets=1 per_gb=1\n", "r.txt");
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().message, "r.txt:2: a second account=default entry");
    auto missing = read_rate_card("/nonexistent/rates.txt");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("/nonexistent/rates.txt"), std::string::npos);
}

TEST(RateCard, CostsAreExact) {
    const Rate rate{*parse_price("0.40"), *parse_price("0.05")};
    // 2.5 million packets at 0.40 = 1.00; 3 GB at 0.05 = 0.15.
    EXPECT_EQ(format_cost(cost_of(2'500'000, 3'000'000'000ULL, rate)), "1.150000");
    // One packet at 0.40 per million = 0.0000004: rounds to 0.000000; 2 packets -> 0.000001 (half up).
    EXPECT_EQ(format_cost(cost_of(1, 0, rate)), "0.000000");
    EXPECT_EQ(format_cost(cost_of(3, 0, rate)), "0.000001");
    // The largest counts do not overflow.
    const Rate big{*parse_price("999999.999999999"), *parse_price("999999.999999999")};
    EXPECT_EQ(format_cost(cost_of(UINT64_MAX, 0, big)), "18446744073709533168.255926");
    EXPECT_EQ(format_cost(cost_of(UINT64_MAX, UINT64_MAX, big)), "18465190817783242701.424182");
    EXPECT_FALSE(parse_price("1000000").ok());
    EXPECT_EQ(format_price(*parse_price("0.40")), "0.4");
    EXPECT_EQ(format_price(*parse_price("7")), "7");
}

// ---- times ----------------------------------------------------------------------------------

TEST(BillingTime, AcceptedForms) {
    EXPECT_EQ(*parse_billing_time("0"), 0);
    EXPECT_EQ(*parse_billing_time("1767225600"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2026-01-01"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2026-01-01T00:00:00Z"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2026-01-01 00:00:00z"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2026-01-01T01:30:00+01:30"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2025-12-31T19:00:00-05:00"), 1767225600);
    EXPECT_EQ(*parse_billing_time("2024-02-29T12:00:00Z"), 1709208000);
    EXPECT_EQ(format_billing_time(1767225600), "2026-01-01T00:00:00Z");
}

TEST(BillingTime, MistakesAreNamed) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "it is empty"},
        {"yesterday", "the date must be YYYY-MM-DD"},
        {"2026-13-01", "month 13 does not exist"},
        {"2025-02-29", "day 29 does not exist"},
        {"2026-01-01T00:00:00", "needs 'Z' (UTC) or an offset"},
        {"2026-01-01T24:00:00Z", "out of range"},
        {"2026-01-01T00:00:00.5Z", "fractions of a second"},
        {"2026-01-01T00:00:00+0100", "is not 'Z' or an offset"},
        {"2026-01-01T00:00Z", "HH:MM:SS"},
        {"1969-12-31", "before 1970"},
        {"99999999999999", "too large"},
        {"-5", "the date must be"},
    };
    for (const auto& [text, want] : cases) {
        auto t = parse_billing_time(text);
        ASSERT_FALSE(t.ok()) << text;
        EXPECT_EQ(t.error().exit_code, 2);
        EXPECT_NE(t.error().message.find(want), std::string::npos) << text << " -> " << t.error().message;
        EXPECT_NE(t.error().message.find("\"" + text + "\""), std::string::npos) << t.error().message;
    }
}

// ---- reports ----------------------------------------------------------------------------------

std::vector<LedgerRecord> report_records() {
    std::vector<LedgerRecord> out;
    auto rec = [&](uint64_t seq, int64_t time, const std::string& gen, std::vector<LedgerRow> rows) {
        LedgerRecord r;
        r.seq = seq;
        r.time = time;
        r.prev_time = out.empty() ? 0 : out.back().time;
        r.generation = gen;
        r.rows = std::move(rows);
        out.push_back(r);
    };
    auto row = [](const std::string& c, const std::string& a, uint64_t p, uint64_t b) {
        LedgerRow r;
        r.counter = c;
        r.account = a;
        r.chain = "INPUT";
        r.rule = "spec of " + c;
        r.packets = p;
        r.bytes = b;
        return r;
    };
    rec(1, 1000, "G1", {row("rule:10", "acme", 1'000'000, 1'000'000'000), row("rule:9", "acme", 1, 100)});
    rec(2, 2000, "G1", {row("rule:2", "beta", 500'000, 2'000'000'000), row("policy:INPUT", "", 7, 700)});
    rec(3, 3000, "G2", {row("rule:10", "acme", 1'000'000, 1'000'000'000)});
    return out;
}

TEST(Report, SumsThePeriodPerAccountAndCounter) {
    const auto records = report_records();
    auto all = summarize_usage(records, std::nullopt, std::nullopt);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->snapshots, 3u);
    EXPECT_EQ(all->resets, 1u);  // G1 -> G2
    ASSERT_EQ(all->lines.size(), 4u);
    EXPECT_EQ(all->lines[0].account, "");
    EXPECT_EQ(all->lines[1].counter, "rule:9");  // numbers in order: 9 before 10
    EXPECT_EQ(all->lines[2].counter, "rule:10");
    EXPECT_EQ(all->lines[2].packets, 2'000'000u);
    // [1000, 3000): the first two snapshots; [2000, ...): the last two.
    auto part = summarize_usage(records, 1000, 3000);
    ASSERT_TRUE(part.ok());
    EXPECT_EQ(part->snapshots, 2u);
    EXPECT_EQ(part->resets, 0u);
    auto late = summarize_usage(records, 2000, std::nullopt);
    ASSERT_TRUE(late.ok());
    EXPECT_EQ(late->covers_from, 1000);
    EXPECT_EQ(late->resets, 1u);
    uint64_t acme = 0;
    for (const UsageLine& l : late->lines)
        if (l.account == "acme") acme += l.packets;
    EXPECT_EQ(acme, 1'000'000u);
}

TEST(Report, PricesWithTheRateCardInEveryFormat) {
    auto usage = summarize_usage(report_records(), std::nullopt, std::nullopt);
    ASSERT_TRUE(usage.ok());
    auto card = parse_rate_card("account=acme per_million_packets=0.40 per_gb=0.05\n"
                                "account=default per_million_packets=1 per_gb=0.10\n", "rates");
    ASSERT_TRUE(card.ok());
    auto json_text = format_usage_report(*usage, &*card, "rates", ReportFormat::Json);
    ASSERT_TRUE(json_text.ok());
    auto j = nlohmann::json::parse(*json_text);
    ASSERT_EQ(j["accounts"].size(), 3u);
    EXPECT_TRUE(j["accounts"][0]["cost"].is_null());  // no account: not priced
    // acme: 2000001 packets * 0.40/M = 0.8000004, 2000000100 bytes * 0.05/GB = 0.100000005.
    EXPECT_EQ(j["accounts"][1]["account"], "acme");
    EXPECT_EQ(j["accounts"][1]["packets"], 2'000'001u);
    EXPECT_EQ(j["accounts"][1]["cost"], "0.900000");
    // beta (default rate): 0.5 + 0.2.
    EXPECT_EQ(j["accounts"][2]["cost"], "0.700000");
    EXPECT_EQ(j["total"]["cost"], "1.600000");
    EXPECT_EQ(j["total"]["packets"], 2'500'008u);

    auto csv = format_usage_report(*usage, &*card, "rates", ReportFormat::Csv);
    ASSERT_TRUE(csv.ok());
    EXPECT_EQ(csv->substr(0, csv->find("\r\n")), "account,counter,chain,rule,packets,bytes,cost");
    EXPECT_NE(csv->find("acme,rule:10,INPUT,spec of rule:10,2000000,2000000000,0.900000\r\n"), std::string::npos) << *csv;
    EXPECT_NE(csv->find("acme,total,,,2000001,2000000100,0.900000\r\n"), std::string::npos) << *csv;
    EXPECT_NE(csv->find(",policy:INPUT,INPUT,spec of policy:INPUT,7,700,\r\n"), std::string::npos) << *csv;

    auto table = format_usage_report(*usage, &*card, "rates", ReportFormat::Table);
    ASSERT_TRUE(table.ok());
    EXPECT_NE(table->find("Counter resets in this period: 1"), std::string::npos) << *table;
    EXPECT_NE(table->find("1.600000"), std::string::npos) << *table;

    auto unpriced = parse_rate_card("account=acme per_million_packets=1 per_gb=1\n", "cards/r.txt");
    auto refused = format_usage_report(*usage, &*unpriced, "cards/r.txt", ReportFormat::Table);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().exit_code, 2);
    EXPECT_EQ(refused.error().message, "cards/r.txt has no entry for account beta and no account=default entry");
    auto unpriced_report = format_usage_report(*usage, nullptr, "", ReportFormat::Json);
    ASSERT_TRUE(unpriced_report.ok());
    EXPECT_TRUE(nlohmann::json::parse(*unpriced_report)["total"]["cost"].is_null());
}

TEST(Report, IdentityOrder) {
    EXPECT_TRUE(counter_identity_less("rule:9", "rule:10"));
    EXPECT_FALSE(counter_identity_less("rule:10", "rule:9"));
    EXPECT_TRUE(counter_identity_less("bucket:3:a", "rule:1"));
    EXPECT_TRUE(counter_identity_less("rule:1", "rule:1:x"));
    EXPECT_FALSE(counter_identity_less("rule:1", "rule:01"));
    EXPECT_FALSE(counter_identity_less("rule:01", "rule:1"));
}

// ---- retired rules and slot hand-over ---------------------------------------------------------

Rule rule_from(const std::string& spec) {
    auto tokens = split_restore_line_checked(spec);
    EXPECT_TRUE(tokens.ok());
    auto r = parse_rule(*tokens);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return *r;
}

TEST(Retire, RemovedRulesKeepTheirCountsAndAReusedSlotStartsFromZero) {
    State s;
    Rule a = rule_from("-p udp --dport 1 -m comment --comment account=acme -j ACCEPT");
    Rule b = rule_from("-p udp --dport 2 -j DROP");
    s.ruleset.find("INPUT")->rules = {a, b};
    assign_identities(s);
    ASSERT_TRUE(adopt_counter_generation(s, "G1"));
    const uint64_t id_a = s.ruleset.find("INPUT")->rules[0].id;
    const uint32_t slot_a = s.slot_of_rule.at(id_a);
    std::vector<xdp::CounterValue> raw(slot_a + 2);
    raw[slot_a] = {7, 700};

    // Delete a: retired with its counts and its slot.
    Ruleset next = s.ruleset;
    next.find("INPUT")->rules.erase(next.find("INPUT")->rules.begin());
    auto gone = removed_rules(s, next, 1234);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].account, "acme");
    EXPECT_EQ(gone[0].chain, "INPUT");
    s.ruleset = next;
    EXPECT_TRUE(assign_identities(s).empty());
    retire_rules(s, gone, raw, "G1");
    ASSERT_EQ(s.retired.size(), 1u);
    EXPECT_EQ(s.retired[0].final.packets, 7u);
    EXPECT_EQ(s.retired[0].slot, slot_a);
    EXPECT_EQ(s.retired[0].retired_at, 1234);

    // In-flight packets after the swap raise the final count; a lower read never lowers it.
    raw[slot_a] = {9, 900};
    EXPECT_TRUE(refresh_retired(s, raw, "G1"));
    EXPECT_EQ(s.retired[0].final.packets, 9u);
    EXPECT_FALSE(refresh_retired(s, raw, "G2"));  // another map says nothing about this slot

    // A new rule gets slot_a: the retired rule's count is final and the new rule starts at 0.
    s.ruleset.find("INPUT")->rules.push_back(rule_from("-p tcp -j ACCEPT"));
    raw[slot_a] = {10, 1000};
    const auto fresh = assign_identities(s);
    ASSERT_EQ(fresh, std::vector<uint32_t>{slot_a});
    hand_over_slots(s, fresh, raw, "G1");
    EXPECT_EQ(s.retired[0].final.packets, 10u);
    EXPECT_FALSE(s.retired[0].slot);
    EXPECT_EQ(slot_value(s, raw, slot_a).packets, 0u);
    raw[slot_a] = {13, 1300};
    EXPECT_EQ(slot_value(s, raw, slot_a).packets, 3u);
    EXPECT_EQ(slot_value(s, raw, slot_a).bytes, 300u);
    EXPECT_FALSE(refresh_retired(s, raw, "G1"));  // no longer its slot
    EXPECT_EQ(s.retired[0].final.packets, 10u);

    // A new map: bases and baselines go, retired counts stay.
    s.zero_baseline[slot_a] = {11, 1100};
    EXPECT_TRUE(adopt_counter_generation(s, "G2"));
    EXPECT_TRUE(s.slot_base.empty());
    EXPECT_TRUE(s.zero_baseline.empty());
    EXPECT_EQ(s.retired[0].final.packets, 10u);
    EXPECT_FALSE(adopt_counter_generation(s, "G2"));
}

TEST(Retire, PolicyTrapsAndBucketsAreRetiredWithTheirRuleAndTheirSlotsReusedFromABase) {
    State s;
    Rule metered = rule_from("-p udp -m wasm --policy /etc/xfw/meter.wasm -m comment --comment account=acme -j ACCEPT");
    s.ruleset.find("INPUT")->rules = {metered};
    assign_identities(s);
    ASSERT_TRUE(adopt_counter_generation(s, "G1"));
    const uint64_t id = s.ruleset.find("INPUT")->rules[0].id;
    const uint32_t rule_slot = s.slot_of_rule.at(id);
    const PolicySlots& ps = assign_policy_slots(s, id, 0, {"tenant_acme", "tenant_globex"});
    const uint32_t trap = ps.trap, acme = ps.bucket_base, globex = ps.bucket_base + 1;
    EXPECT_EQ(trap_counter_identity(id, 0), "trap:" + std::to_string(id));
    EXPECT_EQ(bucket_counter_identity(id, 0, "a:b"), "bucket:" + std::to_string(id) + ":a:b");
    EXPECT_EQ(bucket_counter_identity(id, 1, "x"), "bucket:" + std::to_string(id) + "/2:x");

    // The live counters: the rule's policy counters follow it, buckets billed to their names.
    const std::string spec = format_rule_spec(s.ruleset.find("INPUT")->rules[0]);
    auto live = rule_policy_counters(s, id, spec);
    ASSERT_EQ(live.size(), 3u);
    EXPECT_EQ(live[0].identity, "trap:" + std::to_string(id));
    EXPECT_EQ(live[0].account, "");
    EXPECT_EQ(live[0].slot, trap);
    EXPECT_EQ(live[1].identity, "bucket:" + std::to_string(id) + ":tenant_acme");
    EXPECT_EQ(live[1].account, "tenant_acme");
    EXPECT_EQ(live[1].description, "policy 1 bucket tenant_acme: " + spec);
    EXPECT_EQ(live[2].slot, globex);

    std::vector<xdp::CounterValue> raw(s.next_slot + 1);
    raw[rule_slot] = {10, 1000};
    raw[trap] = {1, 60};
    raw[acme] = {6, 600};
    raw[globex] = {3, 300};

    // Deleting the rule retires all four counters under their own identities.
    Ruleset next = s.ruleset;
    next.find("INPUT")->rules.clear();
    auto gone = removed_rules(s, next, 50);
    ASSERT_EQ(gone.size(), 4u);
    EXPECT_EQ(retired_counter_identity(gone[0]), "rule:" + std::to_string(id));
    EXPECT_EQ(retired_counter_identity(gone[2]), "bucket:" + std::to_string(id) + ":tenant_acme");
    EXPECT_EQ(gone[2].account, "tenant_acme");
    EXPECT_EQ(gone[2].slot, acme);
    s.ruleset = next;
    EXPECT_TRUE(assign_identities(s).empty());
    drop_stale_policy_slots(s);
    EXPECT_TRUE(s.policy_slots.empty());
    for (uint32_t slot : {trap, acme, globex})
        EXPECT_NE(std::find(s.free_slots.begin(), s.free_slots.end(), slot), s.free_slots.end()) << slot;
    retire_rules(s, gone, raw, "G1");
    ASSERT_EQ(s.retired.size(), 4u);
    EXPECT_EQ(s.retired[2].final.packets, 6u);

    // Frames the replaced program counted into a bucket while it was swapped out.
    raw[acme] = {8, 800};
    EXPECT_TRUE(refresh_retired(s, raw, "G1"));
    EXPECT_EQ(s.retired[2].final.packets, 8u);

    // The snapshot bills each retired counter once, under its identity.
    CounterMarks marks;
    std::vector<BillableCounter> billed;
    for (const RetiredRule& r : s.retired) billed.push_back(retired_billable_counter(r));
    auto record = make_snapshot_record(marks, billed, 1, 100, 0, "G1");
    ASSERT_TRUE(record.ok()) << record.error().message;
    ASSERT_EQ(record->rows.size(), 4u);
    EXPECT_EQ(record->rows[2].counter, "bucket:" + std::to_string(id) + ":tenant_acme");
    EXPECT_EQ(record->rows[2].packets, 8u);

    // New rules take the released slots in a later transaction: each starts from the slot's
    // value at the hand-over, and the retired bucket's count is final.
    for (int i = 0; i < 4; ++i) s.ruleset.find("INPUT")->rules.push_back(rule_from("-p tcp --dport " + std::to_string(i + 1) + " -j DROP"));
    raw[acme] = {9, 900};
    const auto fresh = assign_identities(s);
    ASSERT_EQ(fresh.size(), 4u);
    EXPECT_NE(std::find(fresh.begin(), fresh.end(), acme), fresh.end());
    hand_over_slots(s, fresh, raw, "G1");
    EXPECT_EQ(s.retired[2].final.packets, 9u);
    EXPECT_FALSE(s.retired[2].slot);
    EXPECT_EQ(slot_value(s, raw, acme).packets, 0u);
    raw[acme] = {12, 1200};
    EXPECT_EQ(slot_value(s, raw, acme).packets, 3u);
}

TEST(Retire, StateKeepsRetiredRulesBasesAndGeneration) {
    char tmpl[] = "/tmp/xfw-billing-state-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    State s;
    s.ruleset.find("INPUT")->rules = {rule_from("-p udp -j ACCEPT")};
    assign_identities(s);
    s.counter_generation = "boot/12";
    s.slot_base[3] = {4, 400};
    RetiredRule r;
    r.id = 77;
    r.account = "acme";
    r.chain = "INPUT";
    r.spec = "-p tcp -j DROP";
    r.retired_at = 99;
    r.slot = 9;
    r.generation = "boot/12";
    r.final = {5, 500};
    s.retired = {r};
    r.slot.reset();
    r.id = 78;
    s.retired.push_back(r);
    r.counter = "bucket:78:tenant_acme";
    s.retired.push_back(r);
    ASSERT_TRUE(save_state(dir, s).ok());
    auto back = load_state(dir);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->counter_generation, "boot/12");
    EXPECT_EQ(back->slot_base.at(3).packets, 4u);
    ASSERT_EQ(back->retired.size(), 3u);
    EXPECT_EQ(retired_counter_identity(back->retired[1]), "rule:78");
    EXPECT_EQ(retired_counter_identity(back->retired[2]), "bucket:78:tenant_acme");
    EXPECT_EQ(back->retired[0].slot, 9u);
    EXPECT_FALSE(back->retired[1].slot);
    EXPECT_EQ(back->retired[1].final.bytes, 500u);
    EXPECT_EQ(back->retired[0].spec, "-p tcp -j DROP");
    fs::remove_all(dir);
}

// state.json as the previous version wrote it: no stored accounts, no retired counter
// identities. It loads in both forms, and a state read as text saves back to the same rules.
TEST(StateFile, PreviousVersionLoadsParsedAndAsTextAndTextSavesBackUnchanged) {
    TmpDir dir;
    spit(dir.path + "/state.json", R"({
 "chains": [
  {"builtin": true, "name": "INPUT", "policy": "DROP", "rules": [
    {"id": 3, "slot": 8, "spec": "-p udp -m udp --dport 53 -m comment --comment \"account=acme dns\" -j ACCEPT"},
    {"id": 4, "slot": 9, "spec": "-p udp -m wasm --policy /etc/xfw/meter.wasm --buckets 2 -j ACCEPT",
     "policies": [{"digest": "d1", "trap_slot": 10, "bucket_base": 11, "bucket_count": 2, "bucket_names": ["b0", "b1"]}]}]},
  {"builtin": true, "name": "FORWARD", "policy": "ACCEPT", "rules": []},
  {"builtin": true, "name": "OUTPUT", "policy": "ACCEPT", "rules": []},
  {"builtin": false, "name": "web", "policy": "ACCEPT", "rules": [{"id": 5, "slot": 13, "spec": "-p tcp -j DROP"}]}],
 "next_slot": 14, "next_rule_id": 6, "free_slots": [], "attachments": [{"ifname": "eth0", "mode": "native"}],
 "zero_baseline": [[8, 1, 2]], "slot_base": [], "counter_generation": "boot/7",
 "retired": [{"id": 2, "account": "beta", "chain": "INPUT", "spec": "-j DROP", "retired_at": 1, "slot": 12,
              "generation": "boot/7", "packets": 5, "bytes": 500}],
 "version": 1
})");
    auto parsed = load_state(dir.path, RuleForm::Parsed);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    auto text = load_state(dir.path, RuleForm::Text);
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_FALSE(parsed->stored_rules);
    ASSERT_TRUE(text->stored_rules);
    EXPECT_TRUE(text->ruleset.find("INPUT")->rules.empty());
    EXPECT_EQ(listed_rules(*text), listed_rules(*parsed));
    ASSERT_EQ(listed_rules(*text).size(), 3u);
    EXPECT_EQ(listed_rules(*text)[0].account, "acme");
    EXPECT_EQ(listed_rules(*text)[2].chain, "web");
    EXPECT_EQ(text->policy_slots, parsed->policy_slots);
    EXPECT_EQ(text->policy_slots.at(4).at(0).bucket_base, 11u);
    EXPECT_EQ(retired_counter_identity(text->retired.at(0)), "rule:2");
    EXPECT_EQ(text->zero_baseline.at(8).bytes, 2u);

    // Saved from the text form and read back parsed: the same rules, digests and slots.
    ASSERT_TRUE(save_state(dir.path, *text).ok());
    auto again = load_state(dir.path, RuleForm::Parsed);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->ruleset, parsed->ruleset);
    EXPECT_EQ(again->ruleset.find("INPUT")->rules[1].policies()[0]->digest, "d1");
    EXPECT_EQ(again->slot_of_rule, parsed->slot_of_rule);
    EXPECT_EQ(again->policy_slots, parsed->policy_slots);
    EXPECT_EQ(again->attachments.size(), 1u);
    EXPECT_EQ(listed_rules(*again), listed_rules(*parsed));
    // The account is now stored, so the text form no longer needs a parse for it.
    EXPECT_NE(slurp(dir.path + "/state.json").find("\"account\": \"acme\""), std::string::npos);
}

// A damaged rule in the state is named whichever form reads it.
TEST(StateFile, ADamagedRuleIsNamedInBothForms) {
    TmpDir dir;
    spit(dir.path + "/state.json", R"({"chains": [{"builtin": true, "name": "INPUT", "policy": "ACCEPT",
 "rules": [{"id": 1, "slot": 8, "spec": "-p udp --dport"}]}], "next_slot": 9, "next_rule_id": 2,
 "free_slots": [], "attachments": [], "zero_baseline": []})");
    for (RuleForm form : {RuleForm::Parsed, RuleForm::Text}) {
        auto st = load_state(dir.path, form);
        ASSERT_FALSE(st.ok());
        EXPECT_NE(st.error().message.find("rule \"-p udp --dport\""), std::string::npos) << st.error().message;
    }
}

}  // namespace
}  // namespace xfw
