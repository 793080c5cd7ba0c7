// ScanBatch's fast path (ScanSimpleBatch, run on every application write) against RocksDB's own
// parser (WriteBatch::Iterate): on random batches of every record kind it handles (column family
// ids that need multi-byte varints, empty and long keys and values, LogData in and out of the
// marker namespace) it must answer, and answer what Iterate says; on every truncation of such a
// batch, a wrong count, and record kinds it does not handle, it must either agree or step aside.
#include <gtest/gtest.h>
#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <random>
#include <string>
#include <vector>

#include "../../plugin/src/batch_scan.h"
#include "../../plugin/src/reserved_cf.h"

namespace rocksdr {
namespace {

using plugin::BatchScan;

class IdHandle : public rocksdb::ColumnFamilyHandle {
 public:
  explicit IdHandle(uint32_t id) : id_(id) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override { return rocksdb::Status::NotSupported(""); }
  const rocksdb::Comparator* GetComparator() const override { return rocksdb::BytewiseComparator(); }

 private:
  uint32_t id_;
  std::string name_ = "id-only";
};

// The oracle: what Iterate reports, counted the way ScanBatch's handler counts.
struct Reference : rocksdb::WriteBatch::Handler {
  uint32_t local, replicated;
  BatchScan s;
  bool other = false;  // a record kind the fast path does not handle
  Reference(uint32_t l, uint32_t r) : local(l), replicated(r) {}
  rocksdb::Status Rec(uint32_t cf) {
    ++s.records;
    if (cf == local) s.has_local_cf = true;
    if (cf == replicated) s.has_replicated_cf = true;
    return rocksdb::Status::OK();
  }
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Rec(cf); }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Rec(cf); }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Rec(cf); }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Rec(cf); }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Rec(cf); }
  rocksdb::Status PutEntityCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    other = true;
    return Rec(cf);
  }
  void LogData(const rocksdb::Slice& blob) override {
    if (blob.starts_with(rocksdb::Slice(plugin::kMarkerPrefix.data(), plugin::kMarkerPrefix.size()))) {
      s.marker_blobs.push_back(blob.ToString());
    }
  }
};

void ExpectSame(const BatchScan& a, const BatchScan& b, const std::string& what) {
  EXPECT_EQ(a.records, b.records) << what;
  EXPECT_EQ(a.has_local_cf, b.has_local_cf) << what;
  EXPECT_EQ(a.has_replicated_cf, b.has_replicated_cf) << what;
  EXPECT_EQ(a.has_2pc, b.has_2pc) << what;
  EXPECT_EQ(a.has_blob_index, b.has_blob_index) << what;
  EXPECT_EQ(a.has_entity, b.has_entity) << what;
  EXPECT_EQ(a.marker_blobs, b.marker_blobs) << what;
}

constexpr uint32_t kLocal = 3, kReplicated = 300;

std::string Bytes(std::mt19937& rng, size_t max) {
  std::string s(std::uniform_int_distribution<size_t>(0, max)(rng), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

rocksdb::WriteBatch RandomBatch(std::mt19937& rng, std::vector<IdHandle>& cfs) {
  rocksdb::WriteBatch wb;
  const int n = std::uniform_int_distribution<int>(0, 6)(rng);
  for (int i = 0; i < n; ++i) {
    IdHandle* cf = &cfs[rng() % cfs.size()];
    const size_t len = rng() % 4 == 0 ? 300 : 20;  // > 127: two-byte length varints
    switch (rng() % 7) {
      case 0: EXPECT_TRUE(wb.Put(cf, Bytes(rng, len), Bytes(rng, len)).ok()); break;
      case 1: EXPECT_TRUE(wb.Delete(cf, Bytes(rng, len)).ok()); break;
      case 2: EXPECT_TRUE(wb.SingleDelete(cf, Bytes(rng, len)).ok()); break;
      case 3: EXPECT_TRUE(wb.DeleteRange(cf, Bytes(rng, len), Bytes(rng, len)).ok()); break;
      case 4: EXPECT_TRUE(wb.Merge(cf, Bytes(rng, len), Bytes(rng, len)).ok()); break;
      case 5: EXPECT_TRUE(wb.PutLogData(std::string(plugin::kMarkerPrefix) + Bytes(rng, len)).ok()); break;
      default: EXPECT_TRUE(wb.PutLogData(Bytes(rng, len)).ok()); break;
    }
  }
  return wb;
}

TEST(BatchScanTest, TheFastPathAnswersSimpleBatchesAsIterateDoes) {
  std::mt19937 rng(20261126);
  std::vector<IdHandle> cfs{IdHandle(0), IdHandle(1), IdHandle(kLocal), IdHandle(127), IdHandle(128),
                            IdHandle(kReplicated), IdHandle(1u << 21)};
  for (int round = 0; round < 2000; ++round) {
    rocksdb::WriteBatch wb = RandomBatch(rng, cfs);
    Reference ref(kLocal, kReplicated);
    ASSERT_TRUE(wb.Iterate(&ref).ok());
    auto fast = plugin::ScanSimpleBatch(wb.Data(), kLocal, kReplicated);
    ASSERT_TRUE(fast.has_value()) << "round " << round << ": only simple records";
    ExpectSame(*fast, ref.s, "round " + std::to_string(round));
    auto full = plugin::ScanBatch(wb, kLocal, kReplicated);
    ASSERT_TRUE(full.ok());
    ExpectSame(*full, ref.s, "ScanBatch, round " + std::to_string(round));
  }
}

TEST(BatchScanTest, MalformedOrOtherBatchesAreLeftToIterate) {
  std::mt19937 rng(7);
  std::vector<IdHandle> cfs{IdHandle(0), IdHandle(kLocal), IdHandle(kReplicated)};
  int truncations = 0;
  for (int round = 0; round < 200; ++round) {
    rocksdb::WriteBatch wb = RandomBatch(rng, cfs);
    const std::string rep = wb.Data();
    // Every truncation: the fast path never accepts what Iterate rejects, and agrees otherwise.
    for (size_t cut = 0; cut < rep.size(); ++cut) {
      const std::string part = rep.substr(0, cut);
      auto fast = plugin::ScanSimpleBatch(part, kLocal, kReplicated);
      if (cut < 12) {
        EXPECT_FALSE(fast.has_value());
        continue;
      }
      rocksdb::WriteBatch truncated(part);
      Reference ref(kLocal, kReplicated);
      const bool parses = truncated.Iterate(&ref).ok();
      if (fast.has_value()) {
        EXPECT_TRUE(parses) << "round " << round << " cut " << cut;
        ExpectSame(*fast, ref.s, "truncated");
      }
      auto full = plugin::ScanBatch(truncated, kLocal, kReplicated);
      EXPECT_EQ(full.ok(), parses) << "round " << round << " cut " << cut;
      ++truncations;
    }
    // A header count that does not match: Iterate says corruption, so must ScanBatch.
    if (wb.Count() > 0) {
      std::string wrong = rep;
      wrong[8] = static_cast<char>(wrong[8] + 1);
      EXPECT_FALSE(plugin::ScanSimpleBatch(wrong, kLocal, kReplicated).has_value());
      EXPECT_FALSE(plugin::ScanBatch(rocksdb::WriteBatch(wrong), kLocal, kReplicated).ok());
    }
  }
  EXPECT_GT(truncations, 1000);
  // A record kind the fast path does not parse (a wide-column entity): Iterate answers.
  rocksdb::WriteBatch entity;
  ASSERT_TRUE(entity.Put("k", "v").ok());
  ASSERT_TRUE(entity.PutEntity(&cfs[1], "e", rocksdb::WideColumns{{"c", "v"}}).ok());
  EXPECT_FALSE(plugin::ScanSimpleBatch(entity.Data(), kLocal, kReplicated).has_value());
  auto full = plugin::ScanBatch(entity, kLocal, kReplicated);
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(full->has_entity);
  EXPECT_TRUE(full->has_local_cf);
  EXPECT_EQ(full->records, 2u);
}

}  // namespace
}  // namespace rocksdr
