// WalTailer over a real RocksDB primary: continuity across many batches (LogData-only, multi-CF,
// WAL rotation), replay equality, needs-bootstrap on purged WAL / ingestion / disableWAL gaps /
// non-boundary positions, local-CF stripping, markers, limits, and WaitForWrites.
#include <gtest/gtest.h>
#include <rocksdb/sst_file_writer.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <map>
#include <set>

#include "../../plugin/src/batch_scan.h"
#include "../../plugin/src/coding.h"
#include "../../plugin/src/marker.h"
#include "../../plugin/src/replicated_db.h"
#include "../../plugin/src/reserved_cf.h"
#include "../../plugin/src/wal_tailer.h"
#include "rocksdr/replication/batch_source.h"
#include "rocksdr/rocksdr.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

using plugin::ReplicatedDBImpl;
using plugin::WalTailer;
using replication::IsNeedsBootstrap;
using replication::WalBatch;

class WalTailerTest : public ::testing::Test {
 protected:
  rocksdb::Options DbOptions() {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.merge_operator = std::make_shared<testing::UInt64AddOperator>();
    o.write_buffer_size = 64 << 10;
    return o;
  }
  void OpenDb(PluginOptions p = PluginOptions()) {
    Status s = Open(DbOptions(), p, path_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ReplicatedDBImpl* impl() { return ReplicatedDBImpl::From(db_.get()); }
  void FlushAll() {
    ASSERT_TRUE(impl()->base()->Flush(rocksdb::FlushOptions(), {db_->DefaultColumnFamily(), impl()->local_cf(),
                                                                 impl()->replicated_cf()}).ok());
  }
  std::unique_ptr<WalTailer> Tailer(uint64_t next) {
    auto r = impl()->NewTailer(next);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // Reads until nothing more is available (or an error); returns the last status.
  Status Drain(WalTailer* t, std::vector<WalBatch>* out, size_t max_bytes = 1 << 20, size_t max_batches = 1000) {
    for (;;) {
      const size_t before = out->size();
      Status s = t->Read(max_bytes, max_batches, out);
      ++reads_;
      if (!s.ok() || out->size() == before) return s;
    }
  }
  static std::vector<plugin::Marker> Markers(const WalBatch& b) {
    rocksdb::WriteBatch wb(b.rep);
    auto scan = plugin::ScanBatch(wb, 999, 999);
    EXPECT_TRUE(scan.ok());
    std::vector<plugin::Marker> out;
    for (auto& blob : scan->marker_blobs) {
      auto m = plugin::DecodeMarker(blob);
      EXPECT_TRUE(m.ok());
      if (m.ok()) out.push_back(*m);
    }
    return out;
  }
  static void ExpectContinuous(const std::vector<WalBatch>& v, uint64_t first) {
    uint64_t expected = first;
    for (const auto& b : v) {
      ASSERT_EQ(b.sequence, expected);
      expected = b.next_sequence();
    }
  }
  using CfContents = std::map<std::string, std::string>;
  static CfContents Dump(rocksdb::DB* d, rocksdb::ColumnFamilyHandle* h) {
    CfContents out;
    std::unique_ptr<rocksdb::Iterator> it(d->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
    return out;
  }
  // Replays `shipped` into a fresh replica whose column families (default, replicated, local, "app")
  // get the primary's ids (the "app" one is checked against `app_id`); `contents` receives the
  // replica's data per column family, in that order. Callers wrap it in ASSERT_NO_FATAL_FAILURE.
  void ReplayIntoReplica(const std::vector<WalBatch>& shipped, uint32_t app_id, std::vector<CfContents>* contents) {
    testing::TempDir rdir;
    rocksdb::Options ro = DbOptions();
    ro.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs = {{rocksdb::kDefaultColumnFamilyName, ro},
                                                          {std::string(plugin::kReplicatedCf), ro},
                                                          {std::string(plugin::kLocalCf), ro},
                                                          {"app", ro}};
    std::vector<rocksdb::ColumnFamilyHandle*> rh;
    rocksdb::DB* replica = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(ro), rdir.Sub("r"), descs, &rh, &replica).ok());
    ASSERT_EQ(rh[3]->GetID(), app_id);
    for (const auto& b : shipped) {
      rocksdb::WriteBatch wb(b.rep);
      ASSERT_TRUE(replica->Write(rocksdb::WriteOptions(), &wb).ok());
    }
    contents->clear();
    for (auto* h : rh) contents->push_back(Dump(replica, h));
    for (auto* h : rh) ASSERT_TRUE(replica->DestroyColumnFamilyHandle(h).ok());
    delete replica;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.Sub("db");
  std::unique_ptr<ReplicatedDB> db_;
  size_t reads_ = 0;
};

TEST_F(WalTailerTest, ContinuityOverManyBatchesWithRotationAndReplay) {
  PluginOptions p;
  p.write_ring_bytes = 0;  // the WAL path across rotations (the ring: the concurrent test below)
  OpenDb(p);
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  rocksdb::ColumnFamilyHandle* app = nullptr;
  ASSERT_TRUE(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(DbOptions()), "app", &app).ok());
  auto tailer = Tailer(1);
  ASSERT_NE(tailer, nullptr);

  std::vector<WalBatch> shipped;
  const rocksdb::WriteOptions wo;
  int flushes = 0;
  const std::string pad(200, 'p');
  for (int i = 0; i < 3000; ++i) {
    const std::string k = "k" + std::to_string(i % 500);
    switch (i % 6) {
      case 0: ASSERT_TRUE(db_->Put(wo, k, pad + std::to_string(i)).ok()); break;
      case 1: {
        rocksdb::WriteBatch wb;
        ASSERT_TRUE(wb.Put(k, "x" + std::to_string(i)).ok());
        ASSERT_TRUE(wb.Put(app, k, pad).ok());
        ASSERT_TRUE(wb.Merge(app, "counter", testing::EncodeU64(1)).ok());
        ASSERT_TRUE(db_->Write(wo, &wb).ok());
        break;
      }
      case 2: {
        rocksdb::WriteBatch wb;  // LogData only: Count 0
        ASSERT_TRUE(wb.PutLogData("app:note:" + std::to_string(i)).ok());
        ASSERT_TRUE(db_->Write(wo, &wb).ok());
        break;
      }
      case 3: ASSERT_TRUE(db_->Delete(wo, "k" + std::to_string((i + 7) % 500)).ok()); break;
      case 4: ASSERT_TRUE(db_->DeleteRange(wo, app, "k1", "k15").ok()); break;
      case 5: ASSERT_TRUE(db_->Merge(wo, app, "counter", testing::EncodeU64(2)).ok()); break;
    }
    if (i % 400 == 399) {
      ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
      ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions(), app).ok());
      ++flushes;
    }
    if (i % 37 == 0) {
      ASSERT_TRUE(Drain(tailer.get(), &shipped, 4096, 16).ok());
    }
  }
  ASSERT_TRUE(Drain(tailer.get(), &shipped, 4096, 16).ok());

  ExpectContinuous(shipped, 1);
  ASSERT_FALSE(shipped.empty());
  EXPECT_EQ(shipped.back().next_sequence(), db_->GetLatestSequenceNumber() + 1);
  EXPECT_EQ(tailer->next_sequence(), db_->GetLatestSequenceNumber() + 1);
  size_t logdata_only = 0;
  for (const auto& b : shipped) logdata_only += b.count == 0 ? 1 : 0;
  EXPECT_GT(logdata_only, 100u) << "LogData-only batches are shipped with count 0";
  // The WAL rotated several times (archived files), yet the iterator is not recreated per read.
  rocksdb::VectorLogPtr files;
  ASSERT_TRUE(db_->GetSortedWalFiles(files).ok());
  EXPECT_GT(files.size(), 3u);
  EXPECT_GE(tailer->iterator_creations(), 2u);
  EXPECT_LT(tailer->iterator_creations(), reads_ / 4) << "creations=" << tailer->iterator_creations()
                                                      << " reads=" << reads_;

  // First shipped batch is the epoch marker; the cf-create marker precedes any write to "app".
  auto m0 = Markers(shipped[0]);
  ASSERT_EQ(m0.size(), 1u);
  EXPECT_EQ(m0[0].kind, plugin::MarkerKind::kEpoch);
  EXPECT_EQ(m0[0].name, "c1");
  auto m1 = Markers(shipped[1]);
  ASSERT_EQ(m1.size(), 1u);
  EXPECT_EQ(m1[0].kind, plugin::MarkerKind::kCfCreate);
  EXPECT_EQ(m1[0].id, app->GetID());
  EXPECT_EQ(m1[0].name, "app");

  // Replay the shipped stream into a replica with the same column-family ids: same data.
  std::vector<CfContents> replica;
  ASSERT_NO_FATAL_FAILURE(ReplayIntoReplica(shipped, app->GetID(), &replica));
  EXPECT_EQ(Dump(db_.get(), db_->DefaultColumnFamily()), replica[0]);
  EXPECT_EQ(Dump(db_.get(), app), replica[3]);
  EXPECT_TRUE(replica[2].empty()) << "node-local records are never shipped";
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(app).ok());
}

TEST_F(WalTailerTest, LocalRecordsAreStrippedAndCountKept) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 5, "c1").ok());
  const uint64_t mixed_seq = db_->GetLatestSequenceNumber() + 1;
  rocksdb::WriteBatch mixed;
  ASSERT_TRUE(mixed.Put("visible", "1").ok());
  ASSERT_TRUE(mixed.Put(impl()->local_cf(), "secret-local", "x").ok());
  ASSERT_TRUE(mixed.Put(impl()->replicated_cf(), "control", "y").ok());
  ASSERT_TRUE(impl()->InternalWrite(rocksdb::WriteOptions(), &mixed).ok());

  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(Drain(tailer.get(), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  // The epoch batch: history/role/epoch/cluster id Puts into kLocalCf stripped, the marker kept.
  EXPECT_EQ(out[0].count, 4u);
  rocksdb::WriteBatch epoch_rep(out[0].rep);
  EXPECT_EQ(epoch_rep.Count(), 0u);
  EXPECT_EQ(Markers(out[0]).size(), 1u);
  // The mixed batch keeps its two shipped records and the primary's count.
  EXPECT_EQ(out[1].sequence, mixed_seq);
  EXPECT_EQ(out[1].count, 3u);
  rocksdb::WriteBatch rep(out[1].rep);
  EXPECT_EQ(rep.Count(), 2u);
  EXPECT_EQ(testing::DecodeU64(rocksdb::Slice(out[1].rep.data(), 8)), mixed_seq) << "header sequence set";
  auto scan = plugin::ScanBatch(rep, impl()->local_cf()->GetID(), impl()->replicated_cf()->GetID());
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->has_local_cf);
  EXPECT_TRUE(scan->has_replicated_cf);
  EXPECT_EQ(out[1].rep.find("secret-local"), std::string::npos);
}

TEST_F(WalTailerTest, PurgedWalNeedsBootstrap) {
  PluginOptions p;
  p.wal_ttl_seconds = 1;
  p.wal_size_limit_mb = 0;
  OpenDb(p);
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  uint64_t oldest = 1;
  for (int round = 0; round < 5 && oldest <= 1; ++round) {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k" + std::to_string(i), "v").ok());
    FlushAll();  // every CF: an unflushed memtable (the local CF's) keeps its WAL alive
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "tick", "v").ok());
    FlushAll();  // archives, then purges archived files older than 1 s
    auto t = WalTailer(impl()->TailerContext(), 1);
    auto o = t.OldestAvailableSequence();
    ASSERT_TRUE(o.ok());
    oldest = *o;
  }
  ASSERT_GT(oldest, 1u) << "the WAL holding sequence 1 was not purged";

  auto r = impl()->NewTailer(1);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsNeedsBootstrap(r.status()));
  EXPECT_NE(r.status().message().find("WAL gap: needed sequence 1, oldest available " + std::to_string(oldest)),
            std::string::npos)
      << r.status().message();

  // A tailer created before the purge finds the gap when it reads.
  WalTailer direct(impl()->TailerContext(), 1);
  std::vector<WalBatch> out;
  Status s = direct.Read(1 << 20, 100, &out);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("WAL gap: needed sequence 1"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(IsNeedsBootstrap(direct.Read(1 << 20, 100, &out))) << "sticky";

  // A position inside the window still works.
  auto ok = impl()->NewTailer(oldest);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(Drain(ok->get(), &out).ok());
  ExpectContinuous(out, oldest);
  EXPECT_EQ(out.back().next_sequence(), db_->GetLatestSequenceNumber() + 1);
}

TEST_F(WalTailerTest, IngestionThroughTheWrapperNeedsBootstrapWithReason) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k" + std::to_string(i), "v").ok());
  const uint64_t marker_seq = db_->GetLatestSequenceNumber() + 1;
  const std::string sst = dir_.Sub("in.sst");
  rocksdb::SstFileWriter w(rocksdb::EnvOptions(), DbOptions());
  ASSERT_TRUE(w.Open(sst).ok());
  ASSERT_TRUE(w.Put("zz", "ingested").ok());
  ASSERT_TRUE(w.Finish().ok());
  ASSERT_TRUE(db_->IngestExternalFile({sst}, rocksdb::IngestExternalFileOptions()).ok());
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "after", "v").ok());

  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(tailer->Read(1 << 20, 1000, &out).ok()) << "what precedes the ingestion is shipped first";
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().next_sequence(), marker_seq);
  Status s = tailer->Read(1 << 20, 1000, &out);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("external file ingestion at sequence " + std::to_string(marker_seq)), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("1 file(s)"), std::string::npos);
  EXPECT_EQ(out.back().next_sequence(), marker_seq) << "nothing after the marker is shipped";
  EXPECT_GE(db_->GetReplicationStatus().external_ingestions, 1u);
}

TEST_F(WalTailerTest, IngestionBypassingTheWrapperIsExplainedByTheListener) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "zz", "memtable").ok());  // overlap: ingestion takes a seqno
  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(Drain(tailer.get(), &out).ok());
  const uint64_t needed = tailer->next_sequence();

  const std::string sst = dir_.Sub("in.sst");
  rocksdb::SstFileWriter w(rocksdb::EnvOptions(), DbOptions());
  ASSERT_TRUE(w.Open(sst).ok());
  ASSERT_TRUE(w.Put("zz", "ingested").ok());
  ASSERT_TRUE(w.Finish().ok());
  ASSERT_TRUE(impl()->base()->IngestExternalFile({sst}, rocksdb::IngestExternalFileOptions()).ok());
  ASSERT_EQ(db_->GetLatestSequenceNumber(), needed) << "the ingestion took one sequence number";
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "after", "v").ok());

  Status s = Drain(tailer.get(), &out);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("WAL gap: needed sequence " + std::to_string(needed) + ", next available " +
                             std::to_string(needed + 1)),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("external file ingestion"), std::string::npos) << s.message();
}

TEST_F(WalTailerTest, DisableWalWritesBehindTheWrapperAreGaps) {
  OpenDb();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "a", "1").ok());
  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(Drain(tailer.get(), &out).ok());
  rocksdb::WriteOptions nowal;
  nowal.disableWAL = true;
  ASSERT_TRUE(impl()->base()->Put(nowal, "hidden", "1").ok());
  // At the tail: the missing sequence has no record and nothing follows yet.
  Status s = tailer->Read(1 << 20, 100, &out);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("WAL gap: needed sequence 2"), std::string::npos) << s.message();

  // Followed by a normal write: the next batch starts later than asked.
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "b", "1").ok());
  WalTailer fresh(impl()->TailerContext(), 2);
  std::vector<WalBatch> out2;
  s = fresh.Read(1 << 20, 100, &out2);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("WAL gap: needed sequence 2, next available 3"), std::string::npos) << s.message();
  EXPECT_TRUE(out2.empty());
}

TEST_F(WalTailerTest, PositionsMustBeBatchBoundariesInsideTheWindow) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  const uint64_t base = db_->GetLatestSequenceNumber();
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put("a", "1").ok());
  ASSERT_TRUE(wb.Put("b", "1").ok());
  ASSERT_TRUE(wb.Put("c", "1").ok());
  ASSERT_TRUE(db_->Write(rocksdb::WriteOptions(), &wb).ok());  // sequences base+1..base+3
  ASSERT_EQ(db_->GetLatestSequenceNumber(), base + 3);

  // The write ring knows the batch: base+2 is inside ONE writer's batch, not a boundary.
  auto inside = impl()->NewTailer(base + 2);
  ASSERT_TRUE(inside.ok());
  std::vector<WalBatch> out;
  Status s = (*inside)->Read(1 << 20, 100, &out);
  EXPECT_TRUE(IsNeedsBootstrap(s)) << s.ToString();
  EXPECT_NE(s.message().find("WAL position " + std::to_string(base + 2) + " is not a batch boundary"),
            std::string::npos)
      << s.message();

  auto ahead = impl()->NewTailer(base + 5);
  ASSERT_FALSE(ahead.ok());
  EXPECT_TRUE(IsNeedsBootstrap(ahead.status()));
  EXPECT_NE(ahead.status().message().find("another history"), std::string::npos);
  EXPECT_EQ(impl()->NewTailer(0).status().code(), Code::kInvalidArgument);

  auto at_end = impl()->NewTailer(base + 4);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE((*at_end)->Read(1 << 20, 100, &out).ok());
  EXPECT_TRUE(out.empty()) << "nothing new yet";
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "d", "1").ok());
  ASSERT_TRUE((*at_end)->Read(1 << 20, 100, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sequence, base + 4);
  EXPECT_EQ((*at_end)->ring_batches(), 1u) << "shipped from the write ring";
  EXPECT_EQ((*at_end)->iterator_creations(), 0u) << "the WAL was not read";
}

// Recycle: the buffers of shipped batches fill the next Reads from the ring (no allocation per
// batch), and what is read stays exactly what was written: the same reps as the WAL's records.
TEST_F(WalTailerTest, RecycledBuffersCarryExactlyTheNextBatches) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());  // the wrapper records in its ring
  const uint64_t first = db_->GetLatestSequenceNumber() + 1;
  auto ring_tailer = Tailer(first);
  ASSERT_NE(ring_tailer, nullptr);
  std::vector<WalBatch> shipped, out;
  std::set<const char*> recycled;
  size_t reused = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      // Sizes vary so that a recycled buffer is sometimes larger, sometimes smaller than the rep.
      const std::string v(10 + (round * 37 + i * 11) % 300, static_cast<char>('a' + i % 26));
      ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k" + std::to_string(round) + "-" + std::to_string(i), v).ok());
    }
    ASSERT_TRUE(Drain(ring_tailer.get(), &out).ok());
    for (const WalBatch& b : out) reused += recycled.count(b.rep.data());
    recycled.clear();
    for (const WalBatch& b : out) {
      shipped.push_back(b);
      recycled.insert(b.rep.data());
    }
    ring_tailer->Recycle(&out);
    EXPECT_TRUE(out.empty()) << "Recycle empties the vector";
  }
  EXPECT_EQ(ring_tailer->wal_batches(), 0u) << "all from the ring";
  EXPECT_GT(reused, 19u * 50 / 2) << "most batches after the first round reuse a shipped batch's buffer";
  // The same history read from the WAL alone (reopened without a ring).
  PluginOptions no_ring;
  no_ring.write_ring_bytes = 0;
  db_.reset();
  OpenDb(no_ring);
  auto wal_tailer = Tailer(first);
  ASSERT_NE(wal_tailer, nullptr);
  std::vector<WalBatch> from_wal;
  ASSERT_TRUE(Drain(wal_tailer.get(), &from_wal).ok());
  ASSERT_EQ(from_wal.size(), shipped.size());
  for (size_t i = 0; i < shipped.size(); ++i) {
    EXPECT_EQ(shipped[i].sequence, from_wal[i].sequence) << i;
    EXPECT_EQ(shipped[i].count, from_wal[i].count) << i;
    EXPECT_EQ(shipped[i].rep, from_wal[i].rep) << i;
  }
}

// A position inside a WAL record that the ring knows nothing about (evicted, another process
// wrote it, no ring) is trusted to be a writer boundary of a group commit: the record is shipped
// from there, trimmed.
TEST_F(WalTailerTest, PositionInsideARecordTheRingDoesNotKnowIsTrimmed) {
  PluginOptions p;
  p.write_ring_bytes = 0;
  OpenDb(p);
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  const uint64_t base = db_->GetLatestSequenceNumber();
  rocksdb::WriteBatch wb;
  ASSERT_TRUE(wb.Put("a", "1").ok());
  ASSERT_TRUE(wb.PutLogData("with-b").ok());
  ASSERT_TRUE(wb.Put("b", "2").ok());
  ASSERT_TRUE(wb.Merge("n", testing::EncodeU64(5)).ok());
  ASSERT_TRUE(db_->Write(rocksdb::WriteOptions(), &wb).ok());
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "z", "9").ok());
  auto tailer = Tailer(base + 2);
  std::vector<WalBatch> out;
  ASSERT_TRUE(Drain(tailer.get(), &out).ok());
  ExpectContinuous(out, base + 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].count, 2u);
  rocksdb::WriteBatch rest(out[0].rep);
  EXPECT_EQ(rest.Count(), 2u);
  EXPECT_EQ(plugin::DecodeFixed64(std::string_view(out[0].rep).substr(0, 8)), base + 2);
  EXPECT_EQ(tailer->trims(), 1u);
  EXPECT_EQ(tailer->ring_batches(), 0u);
  EXPECT_EQ(impl()->GetReplicationStatus().shipping.trims, 1u);
}
TEST_F(WalTailerTest, ReadRespectsLimits) {
  OpenDb();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "key" + std::to_string(i), std::string(80, 'v')).ok());
  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(tailer->Read(1 << 20, 2, &out).ok());
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  ASSERT_TRUE(tailer->Read(250, 100, &out).ok());
  ASSERT_GE(out.size(), 2u);
  size_t before_last = 0;
  for (size_t i = 0; i + 1 < out.size(); ++i) before_last += out[i].rep.size();
  EXPECT_LT(before_last, 250u);
  EXPECT_GE(before_last + out.back().rep.size(), 250u) << "the batch crossing max_bytes is included";
  EXPECT_EQ(out.front().sequence, 3u);
  out.clear();
  ASSERT_TRUE(tailer->Read(1, 100, &out).ok());
  EXPECT_EQ(out.size(), 1u) << "one batch always moves";
}

TEST_F(WalTailerTest, CfDropMarkerFollowsTheLastWrite) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  rocksdb::ColumnFamilyHandle* app = nullptr;
  ASSERT_TRUE(db_->CreateColumnFamily({}, "tmp", &app).ok());
  const uint32_t id = app->GetID();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), app, "k", "v").ok());
  ASSERT_TRUE(db_->DropColumnFamily(app).ok());
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(app).ok());
  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  ASSERT_TRUE(Drain(tailer.get(), &out).ok());
  ASSERT_EQ(out.size(), 4u);  // epoch, cf-create, put, cf-drop
  auto last = Markers(out[3]);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].kind, plugin::MarkerKind::kCfDrop);
  EXPECT_EQ(last[0].id, id);
  EXPECT_EQ(last[0].name, "tmp");
  EXPECT_EQ(out[3].count, 1u) << "a marker owns one sequence number";
}

TEST_F(WalTailerTest, WaitForWritesWakesOnWriteAndTimesOut) {
  OpenDb();
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "a", "1").ok());
  auto tailer = Tailer(2);
  const uint64_t latest = db_->GetLatestSequenceNumber();
  EXPECT_TRUE(tailer->WaitForWrites(latest - 1, std::chrono::seconds(5)));

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(tailer->WaitForWrites(latest, std::chrono::milliseconds(60)));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(55));
  EXPECT_LT(waited, std::chrono::seconds(2));

  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "b", "1").ok());
  });
  t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(tailer->WaitForWrites(latest, std::chrono::seconds(10)));
  const auto woke = std::chrono::steady_clock::now() - t0;
  writer.join();
  EXPECT_LT(woke, std::chrono::seconds(3)) << "woken by the write, not by the timeout";
  std::vector<WalBatch> out;
  ASSERT_TRUE(tailer->Read(1 << 20, 10, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sequence, latest + 1);
}

}  // namespace
}  // namespace rocksdr

namespace rocksdr {
namespace {

TEST_F(WalTailerTest, FollowsConcurrentWritersWithoutGaps) {
  OpenDb();
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  auto tailer = Tailer(1);
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        rocksdb::WriteBatch wb;
        (void)wb.Put("t" + std::to_string(t) + "-" + std::to_string(i), "v");
        if (i % 3 == 0) (void)wb.Put("shared", std::to_string(i));
        EXPECT_TRUE(db_->Write(rocksdb::WriteOptions(), &wb).ok());
      }
    });
  }
  constexpr int kCfs = 10;
  writers.emplace_back([&] {  // column-family changes while the writers run
    for (int i = 0; i < kCfs; ++i) {
      rocksdb::ColumnFamilyHandle* h = nullptr;
      ASSERT_TRUE(db_->CreateColumnFamily({}, "cf" + std::to_string(i), &h).ok());
      ASSERT_TRUE(db_->DropColumnFamily(h).ok());
      ASSERT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
    }
  });
  std::atomic<int> done{0};
  std::thread joiner([&] {
    for (auto& w : writers) w.join();
    done = 1;
  });
  // RocksDB's group commit may merge concurrent batches into one WAL record: count sequence
  // numbers, not batches.
  std::vector<WalBatch> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t before = out.size();
    ASSERT_TRUE(tailer->Read(64 << 10, 256, &out).ok());
    if (done.load() && tailer->next_sequence() == db_->GetLatestSequenceNumber() + 1) break;
    if (out.size() == before) tailer->WaitForWrites(tailer->next_sequence() - 1, std::chrono::milliseconds(100));
  }
  joiner.join();
  ExpectContinuous(out, 1);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().next_sequence(), db_->GetLatestSequenceNumber() + 1);
  uint64_t sequences = 0;
  for (const auto& b : out) sequences += b.count;
  const uint64_t expected =
      4 /* epoch batch: history, role, epoch, cluster id */ + 2 * kCfs /* markers */ + kThreads * (kPerThread + (kPerThread + 2) / 3);
  size_t markers = 0;
  for (const auto& b : out) {
    if (Markers(b).empty()) continue;
    ++markers;
    EXPECT_EQ(rocksdb::WriteBatch(b.rep).Count(), 0u) << "a marker is alone in its WAL record";
  }
  EXPECT_EQ(markers, 1u + 2 * kCfs);
  EXPECT_EQ(sequences, expected);
  EXPECT_EQ(db_->GetLatestSequenceNumber(), expected);
}

}  // namespace
}  // namespace rocksdr

namespace rocksdr {
namespace {

// 8 writer threads through the wrapper (Put, multi-record batches, Merge counters, Delete,
// DeleteRange) ship from the write ring; forced fallbacks to the WAL on the way — writes that
// bypass the wrapper, a small ring that evicts while the tailer sleeps, tailers re-created at
// their position (a reconnect, possibly inside a group-commit record: trimmed) — and the
// shipped stream, replayed into a replica, gives the same data byte for byte.
TEST_F(WalTailerTest, ConcurrentWritersShipFromTheRingWithFallbacksAndReplayIdentically) {
  PluginOptions p;
  p.write_ring_bytes = 512 << 10;
  OpenDb(p);
  ASSERT_TRUE(impl()->SetRole(Role::kPrimary, 1, "c1").ok());
  rocksdb::ColumnFamilyHandle* app = nullptr;
  ASSERT_TRUE(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(DbOptions()), "app", &app).ok());

  constexpr int kThreads = 8, kPerThread = 1200;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const rocksdb::WriteOptions wo;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string k = "t" + std::to_string(t) + "-" + std::to_string(i % 300);
        rocksdb::Status s;
        switch (i % 6) {
          case 0: s = db_->Put(wo, k, std::string(50 + i % 7, 'a' + t)); break;
          case 1: {
            rocksdb::WriteBatch wb;
            (void)wb.Put(k, "batch" + std::to_string(i));
            (void)wb.Merge(app, "counter", testing::EncodeU64(1));
            (void)wb.Put(app, k, std::to_string(i));
            s = db_->Write(wo, &wb);
            break;
          }
          case 2: s = db_->Merge(wo, app, "counter" + std::to_string(t), testing::EncodeU64(i)); break;
          case 3: s = db_->Delete(wo, "t" + std::to_string(t) + "-" + std::to_string((i + 150) % 300)); break;
          case 4: s = db_->DeleteRange(wo, app, "t" + std::to_string(t) + "-1", "t" + std::to_string(t) + "-2"); break;
          case 5:
            if (i % 60 == 5) {  // bypasses the wrapper: only the WAL has it
              s = impl()->base()->Put(wo, "bypass" + std::to_string(t), std::to_string(i));
            } else {
              s = db_->SingleDelete(wo, "never-written-" + std::to_string(t));
            }
            break;
        }
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      running.fetch_sub(1);
    });
  }

  auto tailer = Tailer(1);
  std::vector<WalBatch> out;
  uint64_t reads = 0, reconnects = 0, ring_batches = 0, wal_batches = 0, trims = 0;
  auto account = [&] {
    ring_batches += tailer->ring_batches();
    wal_batches += tailer->wal_batches();
    trims += tailer->trims();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t before = out.size();
    Status s = tailer->Read(16 << 10, 64, &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ++reads;
    if (running.load() == 0 && tailer->next_sequence() == db_->GetLatestSequenceNumber() + 1) break;
    if (reads % 25 == 0) {  // a reconnect at the position reached
      account();
      tailer = Tailer(tailer->next_sequence());
      ASSERT_NE(tailer, nullptr);
      ++reconnects;
    }
    if (reads % 60 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the ring evicts
    if (out.size() == before) tailer->WaitForWrites(tailer->next_sequence() - 1, std::chrono::milliseconds(20));
  }
  account();
  for (auto& w : writers) w.join();
  ASSERT_EQ(tailer->next_sequence(), db_->GetLatestSequenceNumber() + 1) << "did not catch up in time";
  ExpectContinuous(out, 1);
  uint64_t sequences = 0;
  for (const auto& b : out) sequences += b.count;
  EXPECT_EQ(sequences, db_->GetLatestSequenceNumber());
  EXPECT_GT(ring_batches, 0u);
  EXPECT_GT(wal_batches, 0u) << "the bypassing writes can only come from the WAL";
  const ShippingStatus sh = impl()->GetReplicationStatus().shipping;
  EXPECT_EQ(sh.ring_batches, ring_batches);
  EXPECT_EQ(sh.wal_batches, wal_batches);
  EXPECT_EQ(sh.trims, trims);
  EXPECT_GT(sh.ring_misses, 0u);
  std::printf("[ concurrent ] %zu batches: %llu from the ring, %llu from the WAL, %llu trimmed, %llu reconnects, "
              "%llu ring misses, %llu waits, %llu iterator creations\n",
              out.size(), static_cast<unsigned long long>(ring_batches), static_cast<unsigned long long>(wal_batches),
              static_cast<unsigned long long>(trims), static_cast<unsigned long long>(reconnects),
              static_cast<unsigned long long>(sh.ring_misses), static_cast<unsigned long long>(sh.ring_waits),
              static_cast<unsigned long long>(sh.iterator_creations));

  // Replay into a replica with the same column-family ids.
  std::vector<CfContents> replica;
  ASSERT_NO_FATAL_FAILURE(ReplayIntoReplica(out, app->GetID(), &replica));
  const CfContents primary_default = Dump(impl()->base(), db_->DefaultColumnFamily());
  EXPECT_GT(primary_default.size(), 100u);
  EXPECT_EQ(primary_default, replica[0]);
  EXPECT_EQ(Dump(impl()->base(), app), replica[3]);
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(app).ok());
}

}  // namespace
}  // namespace rocksdr
