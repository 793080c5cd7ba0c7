// WriteRing (the primary's recent batches in memory) and DropLeadingSequences (shipping a
// group-commit WAL record from inside): eviction by bytes, out-of-order inserts, missing
// entries, count-0 entries, Inside, the wait for in-flight writers, and exact cuts of merged
// batches (LogData, DeleteRange, several column families), checked record by record.
#include <gtest/gtest.h>
#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../plugin/src/batch_scan.h"
#include "../../plugin/src/coding.h"
#include "../../plugin/src/write_ring.h"

namespace rocksdr {
namespace {

using plugin::RingEntryRef;
using plugin::WriteRing;

// A batch of `n` puts whose header says `seq` (as after DB::Write), values of `value_bytes`.
rocksdb::WriteBatch Written(uint64_t seq, int n, size_t value_bytes = 10, const std::string& tag = "k") {
  rocksdb::WriteBatch wb;
  for (int i = 0; i < n; ++i) EXPECT_TRUE(wb.Put(tag + std::to_string(seq) + "-" + std::to_string(i), std::string(value_bytes, 'v')).ok());
  std::string rep = wb.Data();
  rep.replace(0, 8, plugin::EncodeFixed64(seq));
  return rocksdb::WriteBatch(std::move(rep));
}

rocksdb::WriteBatch LogDataOnly(uint64_t seq, const std::string& blob) {
  rocksdb::WriteBatch wb;
  EXPECT_TRUE(wb.PutLogData(blob).ok());
  std::string rep = wb.Data();
  rep.replace(0, 8, plugin::EncodeFixed64(seq));
  return rocksdb::WriteBatch(std::move(rep));
}

void Record(WriteRing* ring, const rocksdb::WriteBatch& wb) { ring->Finish(ring->BeginWrite(), &wb, nullptr); }

std::vector<uint64_t> Seqs(const std::vector<plugin::RingEntryRef>& v) {
  std::vector<uint64_t> out;
  for (const auto& e : v) out.push_back(e->sequence);
  return out;
}

TEST(WriteRingTest, TakesTheRunThatContinuesExactlyAtThePosition) {
  WriteRing ring(1 << 20);
  Record(&ring, Written(10, 1));
  Record(&ring, Written(11, 3));
  Record(&ring, Written(14, 1));
  Record(&ring, Written(16, 1));  // 15 is missing (a write that bypassed the wrapper)
  std::vector<plugin::RingEntryRef> out;
  ring.Take(10, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{10, 11, 14})) << "stops where no entry starts";
  EXPECT_EQ(out[1]->count, 3u);
  EXPECT_EQ(out[1]->rep, Written(11, 3).Data()) << "the rep as written, header included";
  out.clear();
  ring.Take(12, 0, 0, 1 << 20, 100, &out);
  EXPECT_TRUE(out.empty()) << "12 is inside the batch at 11: no entry starts there";
  ring.Take(15, 0, 0, 1 << 20, 100, &out);
  EXPECT_TRUE(out.empty());
  ring.Take(16, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{16}));
  out.clear();
  ring.Take(10, 0, 0, 1 << 20, 2, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{10, 11})) << "max_entries";
  out.clear();
  ring.Take(10, 0, 0, 1, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{10})) << "max_bytes: the entry crossing it is included";

  EXPECT_TRUE(ring.Inside(12));
  EXPECT_TRUE(ring.Inside(13));
  EXPECT_FALSE(ring.Inside(11));
  EXPECT_FALSE(ring.Inside(14));
  EXPECT_FALSE(ring.Inside(15)) << "unknown: not provably inside";
}

TEST(WriteRingTest, OutOfOrderFinishesAreSortedBySequence) {
  WriteRing ring(1 << 20);
  const uint64_t t1 = ring.BeginWrite(), t2 = ring.BeginWrite(), t3 = ring.BeginWrite();
  auto b1 = Written(5, 2), b2 = Written(7, 1), b3 = Written(8, 4);
  ring.Finish(t3, &b3, nullptr);  // the last of a write group finishes first
  ring.Finish(t1, &b1, nullptr);
  std::vector<plugin::RingEntryRef> out;
  ring.Take(5, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{5})) << "7 is not there yet";
  ring.Finish(t2, &b2, nullptr);
  out.clear();
  ring.Take(5, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{5, 7, 8}));
  // A failed write (nullptr) records nothing; a duplicate start is ignored.
  const uint64_t t4 = ring.BeginWrite();
  ring.Finish(t4, nullptr, nullptr);
  Record(&ring, Written(7, 1, 10, "other"));
  out.clear();
  ring.Take(7, 0, 0, 1 << 20, 100, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->rep, b2.Data());
  EXPECT_EQ(ring.Stats().entries, 3u);
}

TEST(WriteRingTest, EvictsTheOldestByBytesAndKeepsNoHugeBatch) {
  const size_t per_entry = Written(10, 1, 100).Data().size() + WriteRing::kEntryOverhead;
  WriteRing ring(per_entry * 10);
  for (uint64_t s = 10; s <= 34; ++s) Record(&ring, Written(s, 1, 100));  // same key length
  const auto st = ring.Stats();
  EXPECT_EQ(st.entries, 10u);
  EXPECT_LE(st.bytes, st.capacity_bytes);
  EXPECT_EQ(st.inserted, 25u);
  EXPECT_EQ(st.evicted, 15u);
  std::vector<plugin::RingEntryRef> out;
  ring.Take(24, 0, 0, 1 << 20, 100, &out);
  EXPECT_TRUE(out.empty()) << "evicted";
  ring.Take(25, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(out.size(), 10u);
  // Larger than capacity/8: not kept, counted.
  Record(&ring, Written(35, 1, per_entry * 2));
  EXPECT_EQ(ring.Stats().not_kept, 1u);
  out.clear();
  ring.Take(35, 0, 0, 1 << 20, 100, &out);
  EXPECT_TRUE(out.empty());
}

TEST(WriteRingTest, TakenEntriesOutliveTheirEvictionAndKeepTheWritersScan) {
  // Entries are one allocation each, counted by RingEntryRef: a tailer's copies stay valid after
  // the ring dropped them (evicted several at once, more than Finish releases after its lock),
  // and the last copy frees them (ASan/LSan: no use after free, no leak).
  const size_t per_entry = Written(10, 1, 100).Data().size() + WriteRing::kEntryOverhead;
  WriteRing ring(per_entry * 80);
  plugin::BatchScan scan;
  scan.records = 1;
  scan.marker_blobs.push_back("scan-of-10");
  {
    auto wb = Written(10, 1, 100);
    ring.Finish(ring.BeginWrite(), &wb, &scan);
  }
  for (uint64_t s = 11; s <= 89; ++s) Record(&ring, Written(s, 1, 100));  // the ring is full
  ASSERT_EQ(ring.Stats().evicted, 0u);
  std::vector<plugin::RingEntryRef> out;
  ring.Take(10, 0, 0, 1 << 20, 10, &out);
  ASSERT_EQ(out.size(), 10u);
  ASSERT_TRUE(out[0]->scan.has_value()) << "the scan the writer passed is kept with the entry";
  EXPECT_EQ(out[0]->scan->marker_blobs, std::vector<std::string>{"scan-of-10"});
  EXPECT_FALSE(out[1]->scan.has_value()) << "no scan given: unknown";
  RingEntryRef copy = out[3];
  RingEntryRef moved = std::move(out[4]);
  EXPECT_FALSE(out[4]);
  out[5] = out[5];  // self-assignment keeps the entry
  out[6] = std::move(out[6]);
  RingEntryRef reassigned = out[7];
  reassigned = out[8];
  // One large batch (capacity/8) evicts about ten entries at once, the ten taken among them.
  const auto big = Written(90, 1, per_entry * 10 - 64);
  ASSERT_LE(big.Data().size(), per_entry * 10) << "kept (not larger than capacity/8)";
  Record(&ring, big);
  EXPECT_GE(ring.Stats().evicted, 10u);
  std::vector<plugin::RingEntryRef> again;
  ring.Take(10, 0, 0, 1 << 20, 100, &again);
  EXPECT_TRUE(again.empty()) << "evicted from the ring";
  EXPECT_EQ(out[0]->rep, Written(10, 1, 100).Data());
  EXPECT_EQ(out[0]->scan->marker_blobs.size(), 1u);
  EXPECT_EQ(copy->rep, Written(13, 1, 100).Data());
  EXPECT_EQ(moved->rep, Written(14, 1, 100).Data());
  EXPECT_EQ(out[5]->rep, Written(15, 1, 100).Data());
  EXPECT_EQ(out[6]->rep, Written(16, 1, 100).Data());
  EXPECT_EQ(reassigned->sequence, 18u);
  EXPECT_EQ(out[9]->rep, Written(19, 1, 100).Data());
  // Later writes evict entries nobody holds and reuse their allocations (or not, when a batch
  // is larger): every kept rep stays exactly as written, the held ones included.
  for (uint64_t s = 91; s <= 400; ++s) Record(&ring, Written(s, 1, s % 3 == 0 ? 300 : 100));
  again.clear();
  ring.Take(361, 0, 0, 1 << 20, 40, &again);
  ASSERT_EQ(again.size(), 40u);
  for (const auto& e : again) {
    EXPECT_EQ(e->rep, Written(e->sequence, 1, e->sequence % 3 == 0 ? 300 : 100).Data()) << e->sequence;
    EXPECT_FALSE(e->scan.has_value()) << "a reused entry does not keep its former scan";
  }
  EXPECT_EQ(out[0]->rep, Written(10, 1, 100).Data());
  EXPECT_EQ(out[9]->rep, Written(19, 1, 100).Data());
  out.clear();
  EXPECT_EQ(copy->sequence, 13u) << "a copy outlives the vector it was copied from";
  EXPECT_EQ(copy->rep, Written(13, 1, 100).Data());
}

// A tailer's position hint (Take's last argument) only saves the search: whatever the ring did
// meanwhile (out-of-order inserts that shift entries, evictions, count-0 entries, a tailer that
// jumps as after reading the WAL), Take hands out exactly what it hands out without one.
TEST(WriteRingTest, PositionHintNeverChangesWhatTakeHandsOut) {
  const size_t per_entry = Written(1, 1, 40).Data().size() + WriteRing::kEntryOverhead;
  WriteRing ring(per_entry * 300);
  std::mt19937_64 rng(20261127);
  uint64_t next_write = 1, pos = 1, hint = 0, zero_seq = 0, zero_id = 0;
  size_t compared = 0, nonempty = 0;
  std::vector<uint64_t> starts;  // batch boundaries written so far
  for (int round = 0; round < 3000; ++round) {
    // 1-4 concurrent writers that finish in a random order (inserts behind the back).
    const int n = 1 + static_cast<int>(rng() % 4);
    std::vector<std::pair<uint64_t, rocksdb::WriteBatch>> group;
    for (int w = 0; w < n; ++w) {
      const int count = 1 + static_cast<int>(rng() % 3);
      if (rng() % 10 == 0) group.emplace_back(ring.BeginWrite(), LogDataOnly(next_write, "blob"));
      group.emplace_back(ring.BeginWrite(), Written(next_write, count, 40));
      starts.push_back(next_write);
      next_write += static_cast<uint64_t>(count);
    }
    std::shuffle(group.begin(), group.end(), rng);
    for (auto& [ticket, wb] : group) ring.Finish(ticket, &wb, nullptr);
    // A jump to a batch boundary, as after reading the WAL or a reconnect: mostly a recent one.
    if (rng() % 50 == 0) pos = starts[starts.size() - 1 - rng() % std::min<size_t>(starts.size(), 400)];
    for (int take = 0; take < 3; ++take) {
      std::vector<RingEntryRef> with, without;
      const size_t max_entries = 1 + rng() % 80;
      const size_t max_bytes = rng() % 2 ? (1 << 20) : 200;
      ring.Take(pos, zero_seq, zero_id, max_bytes, max_entries, &without);
      ring.Take(pos, zero_seq, zero_id, max_bytes, max_entries, &with, &hint);
      ASSERT_EQ(Seqs(with), Seqs(without)) << "round " << round << ", position " << pos;
      for (size_t i = 0; i < with.size(); ++i) ASSERT_EQ(with[i].get(), without[i].get()) << round;
      ++compared;
      if (!with.empty()) ++nonempty;
      for (const auto& e : with) {
        if (e->count == 0) {
          zero_seq = e->sequence;
          zero_id = e->id;
        } else {
          pos = e->sequence + e->count;
        }
      }
    }
  }
  EXPECT_GT(ring.Stats().evicted, 1000u) << "the ring evicted while the tailer followed it";
  EXPECT_GT(nonempty, compared / 3) << "the tailer mostly found its position in the ring";
}

TEST(WriteRingTest, CountZeroEntriesGoBeforeTheBatchOfTheirSequenceOnce) {
  WriteRing ring(1 << 20);
  Record(&ring, Written(3, 1));
  Record(&ring, LogDataOnly(4, "note-a"));
  Record(&ring, LogDataOnly(4, "note-b"));
  std::vector<plugin::RingEntryRef> out;
  ring.Take(4, 0, 0, 1 << 20, 100, &out);
  ASSERT_EQ(out.size(), 2u) << "count-0 entries are taken even before their sequence is written";
  EXPECT_EQ(out[0]->count, 0u);
  const uint64_t last_zero = out[1]->id;
  Record(&ring, Written(4, 2));
  out.clear();
  ring.Take(4, 4, last_zero, 1 << 20, 100, &out);
  ASSERT_EQ(out.size(), 1u) << "the count-0 entries already taken are not repeated";
  EXPECT_EQ(out[0]->count, 2u);
  out.clear();
  ring.Take(3, 0, 0, 1 << 20, 100, &out);
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{3, 4, 4, 4}));
  EXPECT_FALSE(ring.Inside(4));
  EXPECT_TRUE(ring.Inside(5));
}

TEST(WriteRingTest, WaitForReturnsAtOnceWithoutWritersAndWaitsForOneInFlight) {
  WriteRing ring(1 << 20);
  bool waited = true;
  EXPECT_FALSE(ring.WaitFor(1, WriteRing::Clock::now() + std::chrono::hours(1), &waited))
      << "no writer in flight: the entry will never come (must not wait an hour)";
  EXPECT_FALSE(waited);

  const uint64_t ticket = ring.BeginWrite();  // a writer between DB::Write and Finish
  std::atomic<bool> finished{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto wb = Written(1, 1);
    ring.Finish(ticket, &wb, nullptr);
    finished = true;
  });
  EXPECT_TRUE(ring.WaitFor(1, WriteRing::Clock::now() + std::chrono::hours(1), &waited));
  EXPECT_TRUE(waited);
  writer.join();
  EXPECT_TRUE(finished.load());

  // A writer that finishes with something else: the wait ends when it finishes, without the entry.
  const uint64_t t2 = ring.BeginWrite();
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto wb = Written(7, 1);
    ring.Finish(t2, &wb, nullptr);
  });
  EXPECT_FALSE(ring.WaitFor(2, WriteRing::Clock::now() + std::chrono::hours(1), &waited));
  other.join();
  // A position older than everything kept is not waited for (a tailer catching up from the WAL).
  const uint64_t t_old = ring.BeginWrite();
  EXPECT_FALSE(ring.WaitFor(0, WriteRing::Clock::now() + std::chrono::hours(1), &waited));
  EXPECT_FALSE(waited);
  ring.Finish(t_old, nullptr, nullptr);
  // A writer in flight that never records sequence 2: false at the deadline.
  const uint64_t t3 = ring.BeginWrite();
  EXPECT_FALSE(ring.WaitFor(2, WriteRing::Clock::now() + std::chrono::milliseconds(30), &waited));
  EXPECT_TRUE(waited);
  ring.Finish(t3, nullptr, nullptr);
}

// --- DropLeadingSequences

std::vector<std::string> Records(const std::string& rep) {
  struct H : rocksdb::WriteBatch::Handler {
    std::vector<std::string> out;
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
      out.push_back("put:" + std::to_string(cf) + ":" + k.ToString() + "=" + v.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
      out.push_back("del:" + std::to_string(cf) + ":" + k.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& b, const rocksdb::Slice& e) override {
      out.push_back("range:" + std::to_string(cf) + ":" + b.ToString() + ".." + e.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
      out.push_back("merge:" + std::to_string(cf) + ":" + k.ToString() + "=" + v.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
      out.push_back("sdel:" + std::to_string(cf) + ":" + k.ToString());
      return rocksdb::Status::OK();
    }
    void LogData(const rocksdb::Slice& b) override { out.push_back("log:" + b.ToString()); }
  } h;
  rocksdb::WriteBatch wb(rep);
  EXPECT_TRUE(wb.Iterate(&h).ok());
  return h.out;
}

class IdHandle : public rocksdb::ColumnFamilyHandle {
 public:
  explicit IdHandle(uint32_t id) : id_(id) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override { return rocksdb::Status::NotSupported(""); }
  const rocksdb::Comparator* GetComparator() const override { return rocksdb::BytewiseComparator(); }

 private:
  uint32_t id_;
  std::string name_;
};

TEST(DropLeadingSequencesTest, CutsAMergedGroupRecordExactlyAfterTheShippedWriters) {
  // What RocksDB writes for a group of three writers: A = [Put, LogData], B = [LogData, Delete
  // (cf 3), DeleteRange], C = [Merge (cf 3), SingleDelete], records concatenated, one header.
  IdHandle cf3(3);
  rocksdb::WriteBatch merged;
  ASSERT_TRUE(merged.Put("a", "1").ok());
  ASSERT_TRUE(merged.PutLogData("after-a").ok());
  ASSERT_TRUE(merged.PutLogData("before-b").ok());
  ASSERT_TRUE(merged.Delete(&cf3, "b").ok());
  ASSERT_TRUE(merged.DeleteRange("c", "d").ok());
  ASSERT_TRUE(merged.Merge(&cf3, "m", "x").ok());
  ASSERT_TRUE(merged.SingleDelete("s").ok());
  std::string rep = merged.Data();
  rep.replace(0, 8, plugin::EncodeFixed64(100));
  rocksdb::WriteBatch wal_record(rep);
  ASSERT_EQ(wal_record.Count(), 5u);

  // A (sequence 100) was shipped: cut after one sequence. LogData after the cut goes with B.
  auto cut = plugin::DropLeadingSequences(wal_record, 1, 101);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  rocksdb::WriteBatch rest(*cut);
  EXPECT_EQ(rest.Count(), 4u);
  EXPECT_EQ(plugin::DecodeFixed64(std::string_view(*cut).substr(0, 8)), 101u);
  EXPECT_EQ(Records(*cut), (std::vector<std::string>{"log:after-a", "log:before-b", "del:3:b", "range:0:c..d",
                                                     "merge:3:m=x", "sdel:0:s"}));
  // A and B shipped: only C remains, byte for byte the tail of the record.
  cut = plugin::DropLeadingSequences(wal_record, 3, 103);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(Records(*cut), (std::vector<std::string>{"merge:3:m=x", "sdel:0:s"}));
  EXPECT_EQ(rocksdb::WriteBatch(*cut).Count(), 2u);
  rocksdb::WriteBatch c_alone;
  ASSERT_TRUE(c_alone.Merge(&cf3, "m", "x").ok());
  ASSERT_TRUE(c_alone.SingleDelete("s").ok());
  EXPECT_EQ(cut->substr(12), c_alone.Data().substr(12)) << "records copied byte for byte";

  // Nothing to cut, or everything: refused.
  EXPECT_EQ(plugin::DropLeadingSequences(wal_record, 0, 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(plugin::DropLeadingSequences(wal_record, 5, 105).status().code(), Code::kInvalidArgument);
  // A record whose header promises more than it holds cannot be cut exactly.
  std::string lying = rep;
  lying[8] = 9;  // count 9, five records
  EXPECT_EQ(plugin::DropLeadingSequences(rocksdb::WriteBatch(lying), 6, 106).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace rocksdr
