// In-process end-to-end replication: a primary DB under a mixed workload (Put, Delete,
// SingleDelete, Merge counters, DeleteRange, a column family created midway through its marker)
// is tailed with WalTailer into two secondaries through the Applier — one following from the
// start, one bootstrapped from a checkpoint taken while writes continue — and every column family
// is compared key by key. A second test stops and reopens a secondary mid-stream.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "../../plugin/src/applier.h"
#include "../../plugin/src/checkpoint_installer.h"
#include "../../plugin/src/checkpoint_source.h"
#include "../../plugin/src/wal_tailer.h"
#include "../../plugin/src/write_notifier.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr::plugin {
namespace {

using testing::EncodeU64;
using testing::TempDir;
using testing::TestDb;

// One secondary: its DB, its Applier, and its tailer on the primary.
struct Follower {
  Follower(const std::string& path, rocksdb::DB* primary, uint32_t local_id, uint32_t replicated_id,
           WriteNotifier* notifier, bool fresh)
      : db(path, {"users", "counters"}) {
    if (fresh) {
      EXPECT_TRUE(Applier::WriteCursor(db.db(), db.local(), 0, true).ok());
    }
    ctx.base = primary;
    ctx.local_cf_id = local_id;
    ctx.replicated_cf_id = replicated_id;
    ctx.notifier = notifier;
    Attach();
  }
  void Attach() {
    ApplierOptions o;
    o.sync = false;
    auto a = Applier::Open(db.db(), db.local(), db.handles(), o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    applier = std::move(*a);
    ASSERT_TRUE(applier->applied_sequence().has_value());
    auto t = WalTailer::Open(ctx, *applier->applied_sequence() + 1);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tailer = std::move(*t);
  }
  void Detach() {
    tailer.reset();
    applier.reset();
  }
  // Applies what the primary has now. Returns the number of batches applied.
  size_t Pump() {
    size_t n = 0;
    while (true) {
      std::vector<replication::WalBatch> out;
      Status s = tailer->Read(1 << 20, 4096, &out);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || out.empty()) return n;
      s = applier->Apply(out);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) return n;
      n += out.size();
    }
  }

  TestDb db;
  WalTailerContext ctx;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<WalTailer> tailer;
};

// ~ops operations in batches of 1..8, over cf "users", "counters", the replicated CF, and "late"
// (created via its marker when a third of the work is done).
void Workload(TestDb& p, int ops, uint32_t seed, std::atomic<int>* progress) {
  std::mt19937 rng(seed);
  rocksdb::ColumnFamilyHandle* users = p.cf("users");
  rocksdb::ColumnFamilyHandle* counters = p.cf("counters");
  rocksdb::ColumnFamilyHandle* repl = p.cf(std::string(kReplicatedCf));
  rocksdb::ColumnFamilyHandle* late = nullptr;
  int done = 0;
  int sd = 0;  // keys put once, then single-deleted
  auto key = [&](int range) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%06d", static_cast<int>(rng() % range));
    return std::string(buf);
  };
  while (done < ops) {
    if (late == nullptr && done >= ops / 3) late = p.CreateCfWithMarker("late");
    rocksdb::WriteBatch wb;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i, ++done) {
      const unsigned r = rng() % 100;
      rocksdb::ColumnFamilyHandle* cf = (late != nullptr && r % 2 == 0) ? late : users;
      rocksdb::Status s;
      if (r < 40) {
        s = wb.Put(cf, key(50000), std::to_string(rng()));
      } else if (r < 55) {
        s = wb.Delete(cf, key(50000));
      } else if (r < 62) {
        s = wb.Put(users, "sd" + std::to_string(sd), "once");
        if (s.ok() && sd > 0) s = wb.SingleDelete(users, "sd" + std::to_string(sd - 1));
        ++sd;
      } else if (r < 92) {
        s = wb.Merge(counters, "c" + std::to_string(rng() % 500), EncodeU64(1 + rng() % 9));
      } else if (r < 94) {
        const std::string a = key(50000);
        s = wb.DeleteRange(cf, a, a + "~z");  // a handful of keys
      } else {
        s = wb.Put(repl, "token" + std::to_string(rng() % 100), std::to_string(rng()));
      }
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE(p.db()->Write(rocksdb::WriteOptions(), &wb).ok());
    if (progress) progress->store(done, std::memory_order_relaxed);
  }
}

void ExpectSameData(TestDb& primary, TestDb& secondary, const std::string& label) {
  for (const char* name : {"default", "users", "counters", "late", "__rocksdr_replicated"}) {
    ASSERT_NE(secondary.cf(name), nullptr) << label << ": missing cf " << name;
    EXPECT_EQ(secondary.cf(name)->GetID(), primary.cf(name)->GetID()) << label << " " << name;
    const auto want = primary.Dump(name);
    const auto got = secondary.Dump(name);
    EXPECT_EQ(got.size(), want.size()) << label << " " << name;
    EXPECT_TRUE(got == want) << label << ": cf " << name << " differs";
  }
  EXPECT_FALSE(primary.Dump("counters").empty());
  EXPECT_FALSE(primary.Dump("late").empty());
}

TEST(ReplicationE2eInproc, TwoSecondariesOneBootstrappedMidwayConverge) {
  TempDir dir;
  TestDb primary(dir.Sub("primary"), {"users", "counters"});
  WriteNotifier notifier;
  const uint32_t local_id = primary.local()->GetID();
  const uint32_t repl_id = primary.cf(std::string(kReplicatedCf))->GetID();
  Follower a(dir.Sub("sec-a"), primary.db(), local_id, repl_id, &notifier, /*fresh=*/true);
  std::unique_ptr<Follower> b;

  constexpr int kOps = 200000;
  std::atomic<int> progress{0};
  std::thread writer([&] { Workload(primary, kOps, 42, &progress); });
  // Secondary A follows while the writer runs.
  while (progress.load() < kOps / 2) {
    a.Pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Secondary B: checkpoint now, writes continue meanwhile.
  auto info = CreateBootstrapCheckpoint(primary.db(), dir.Sub("cp"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_GT(progress.load(), kOps / 2 - 1);
  {
    InstallerOptions o;
    o.db_options = rocksdb::DBOptions(TestDb::DefaultOptions());
    o.cf_options = [](const std::string&) { return rocksdb::ColumnFamilyOptions(TestDb::DefaultOptions()); };
    CheckpointInstaller inst(dir.Sub("sec-b"), o);
    ASSERT_TRUE(inst.Begin(info->sequence, info->files, info->total_bytes).ok());
    for (size_t i = 0; i < info->files.size(); ++i) {
      std::string buf;
      uint64_t off = 0;
      uint32_t crc = 0;
      do {
        ASSERT_TRUE(ReadCheckpointChunk(*info, i, off, 256 << 10, &buf).ok());
        ASSERT_TRUE(inst.WriteChunk(info->files[i].name, off, buf).ok());
        crc = CheckpointInstaller::Crc32cExtend(crc, buf);
        off += buf.size();
      } while (!buf.empty());
      ASSERT_TRUE(inst.FinishFile(info->files[i].name, crc).ok());
    }
    auto seq = inst.Commit();
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    EXPECT_EQ(*seq, info->sequence);
  }
  ASSERT_TRUE(RemoveCheckpoint(dir.Sub("cp")).ok());
  b = std::make_unique<Follower>(dir.Sub("sec-b"), primary.db(), local_id, repl_id, &notifier, /*fresh=*/false);
  EXPECT_EQ(b->applier->applied_sequence(), info->sequence);
  while (progress.load() < kOps) {
    a.Pump();
    b->Pump();
  }
  writer.join();
  a.Pump();
  b->Pump();
  const uint64_t last = primary.db()->GetLatestSequenceNumber();
  EXPECT_EQ(a.applier->applied_sequence(), last);
  EXPECT_EQ(b->applier->applied_sequence(), last);
  ASSERT_TRUE(a.applier->SyncWal().ok());
  EXPECT_EQ(a.applier->durable_sequence(), last);
  // Reopen both so that column families created by the Appliers get handles in TestDb.
  a.Detach();
  a.db.Reopen();
  b->Detach();
  b->db.Reopen();
  ExpectSameData(primary, a.db, "secondary A");
  ExpectSameData(primary, b->db, "secondary B");
}

TEST(ReplicationE2eInproc, SecondaryResumesAfterCloseAndReopen) {
  TempDir dir;
  TestDb primary(dir.Sub("primary"), {"users", "counters"});
  WriteNotifier notifier;
  Workload(primary, 30000, 7, nullptr);
  const uint64_t last = primary.db()->GetLatestSequenceNumber();
  Follower f(dir.Sub("sec"), primary.db(), primary.local()->GetID(),
             primary.cf(std::string(kReplicatedCf))->GetID(), &notifier, /*fresh=*/true);
  // Apply roughly half, in small reads.
  while (f.applier->applied_sequence().value_or(0) < last / 2) {
    std::vector<replication::WalBatch> out;
    ASSERT_TRUE(f.tailer->Read(4096, 16, &out).ok());
    ASSERT_FALSE(out.empty());
    ASSERT_TRUE(f.applier->Apply(out).ok());
  }
  const auto half = f.applier->applied_sequence();
  f.Detach();
  f.db.Reopen();
  f.Attach();
  EXPECT_EQ(f.applier->applied_sequence(), half);
  f.Pump();
  EXPECT_EQ(f.applier->applied_sequence(), last);
  f.Detach();
  f.db.Reopen();
  ExpectSameData(primary, f.db, "resumed secondary");
}

}  // namespace
}  // namespace rocksdr::plugin
