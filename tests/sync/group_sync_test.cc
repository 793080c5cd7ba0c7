// Group sync on the secondary (DbSink, sync_apply on): the applier writes without syncing and
// one WAL sync covers every frame applied while the previous sync ran (and a burst the receiver
// announced with ApplyGrouped); DurableSequence() — what an ACK reports and ack mode `durable`
// waits for — never passes what a completed sync covered.
// The WAL's syncs are held at a gate (a FileSystem wrapper around the secondary's DB), so the
// test decides when each sync completes; no timing assumptions.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "../../plugin/src/applier.h"
#include "../../plugin/src/db_sink.h"
#include "../../plugin/src/managed_db.h"
#include "../../plugin/src/wal_group_sync.h"
#include "support/replicator_test_util.h"

namespace rocksdr::plugin {
namespace {

using replication::WalBatch;
using testing::MakeSpec;
using testing::TempDir;
using testing::WaitFor;

// Holds every sync of a WAL file (*.log) while armed; counts the syncs started since Arm().
class SyncGate {
 public:
  void Arm() {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = true;
    started_ = 0;
  }
  // Lets the syncs held now complete (later ones are held again while armed).
  void ReleaseHeld() {
    std::lock_guard<std::mutex> l(mu_);
    ++generation_;
    cv_.notify_all();
  }
  void Disarm() {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  void Pass() {
    std::unique_lock<std::mutex> l(mu_);
    if (!armed_) return;
    ++started_;
    ++held_;
    const uint64_t g = generation_;
    cv_.wait(l, [&] { return !armed_ || generation_ != g; });
    --held_;
  }
  int held() const {
    std::lock_guard<std::mutex> l(mu_);
    return held_;
  }
  int started() const {
    std::lock_guard<std::mutex> l(mu_);
    return started_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  uint64_t generation_ = 0;
  int held_ = 0;
  int started_ = 0;
};

class GatedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  GatedFile(std::unique_ptr<rocksdb::FSWritableFile> f, SyncGate* gate)
      : FSWritableFileOwnerWrapper(std::move(f)), gate_(gate) {}
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    gate_->Pass();
    return target()->Sync(o, d);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    gate_->Pass();
    return target()->Fsync(o, d);
  }

 private:
  SyncGate* gate_;
};

class GatedFs : public rocksdb::FileSystemWrapper {
 public:
  GatedFs(SyncGate* gate) : FileSystemWrapper(rocksdb::FileSystem::Default()), gate_(gate) {}
  const char* Name() const override { return "GatedFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, d);
    if (s.ok() && f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0) {
      *r = std::make_unique<GatedFile>(std::move(*r), gate_);
    }
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
    rocksdb::IOStatus s = target()->ReuseWritableFile(f, old, o, r, d);
    if (s.ok()) *r = std::make_unique<GatedFile>(std::move(*r), gate_);
    return s;
  }

 private:
  SyncGate* gate_;
};

// WalGroupSync (the primary's own WAL sync in synchronous ack modes, run after shipping began):
// SyncAfter() never returns on a sync that started before the call — a write made while a sync
// runs is covered only by the next one.
TEST(WalGroupSyncTest, ACallReturnsOnlyAfterASyncThatStartedAfterIt) {
  SyncGate gate;
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(std::make_shared<GatedFs>(&gate));
  TempDir dir;
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.env = env.get();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opts, dir.Sub("db"), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  WalGroupSync sync(db.get());

  gate.Arm();
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "a", "1").ok());
  std::atomic<bool> a_done{false}, b_done{false};
  std::thread a([&] {
    EXPECT_TRUE(sync.SyncAfter().ok());
    a_done = true;
  });
  ASSERT_TRUE(WaitFor([&] { return gate.held() == 1; })) << "A's sync never reached the WAL file";
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "b", "2").ok());  // written while A's sync runs
  std::thread b([&] {
    EXPECT_TRUE(sync.SyncAfter().ok());
    b_done = true;
  });
  gate.ReleaseHeld();  // A's sync completes; B needs another one
  ASSERT_TRUE(WaitFor([&] { return a_done.load() && gate.held() == 1 && gate.started() == 2; }))
      << "B did not start a second sync (started " << gate.started() << ")";
  EXPECT_FALSE(b_done.load()) << "B returned on a sync that started before its call";
  gate.Disarm();
  a.join();
  b.join();
  EXPECT_TRUE(b_done.load());
  EXPECT_EQ(sync.syncs(), 2u);
}

// One Put into the default column family, consuming sequence `seq`.
WalBatch OnePut(uint64_t seq) {
  rocksdb::WriteBatch wb;
  EXPECT_TRUE(wb.Put("k" + std::to_string(seq), "v").ok());
  return WalBatch{seq, 1, wb.Data()};
}

class GroupSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = rocksdb::NewCompositeEnv(std::make_shared<GatedFs>(&gate_));
    DbSpec spec = MakeSpec(dir_.Sub("s"));
    spec.db_options.env = env_.get();
    auto db = ManagedDb::Open(spec);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(Applier::WriteCursor(db_->impl()->base(), db_->impl()->local_cf(), 0, true).ok());
    DbSinkOptions o;
    o.sync = true;
    o.max_sync_defer = max_sync_defer_;
    sink_ = std::make_unique<DbSink>(db_.get(), &db_mu_, o);
    ASSERT_TRUE(sink_->Init().ok());
    ASSERT_EQ(sink_->Cursor(), std::optional<uint64_t>(0));
    sink_->SetDurableListener([this] { ++notified_; });
  }
  void TearDown() override {
    gate_.Disarm();
    if (sink_) {
      sink_->SetDurableListener(nullptr);
      sink_->StopSyncThread();
      sink_->Release();
    }
    sink_.reset();
    if (db_) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  // Long enough that a burst's end always comes first here (GroupSyncShortDeferTest: short).
  std::chrono::microseconds max_sync_defer_{std::chrono::seconds(60)};
  TempDir dir_;
  SyncGate gate_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<ManagedDb> db_;
  std::shared_mutex db_mu_;
  std::unique_ptr<DbSink> sink_;
  std::atomic<int> notified_{0};
};

TEST_F(GroupSyncTest, DurableIsOnlyWhatACompletedSyncCoveredAndOneSyncCoversSeveralFrames) {
  gate_.Arm();
  ASSERT_TRUE(sink_->Apply({OnePut(1)}).ok());
  // The sync thread syncs at once for frame 1 and is held at the gate.
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  // Frames arriving meanwhile are applied without waiting for the disk...
  ASSERT_TRUE(sink_->Apply({OnePut(2)}).ok());
  ASSERT_TRUE(sink_->Apply({OnePut(3), OnePut(4)}).ok());
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(4));
  // ...but none of them is durable until a sync completed.
  EXPECT_EQ(sink_->DurableSequence(), 0u);
  EXPECT_EQ(notified_.load(), 0);

  // The first sync completes: it covered frame 1 only (the cursor when it started).
  gate_.ReleaseHeld();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 1; }));
  EXPECT_EQ(notified_.load(), 1);
  // The next sync covers frames 2..4 together; until it completes they are not durable.
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1 && gate_.started() == 2; }));
  EXPECT_EQ(sink_->DurableSequence(), 1u);

  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 4; }));
  EXPECT_EQ(notified_.load(), 2);
  // Two syncs for three frames; nothing left to sync.
  EXPECT_EQ(gate_.started(), 2);
  EXPECT_LE(sink_->DurableSequence(), *sink_->Cursor());
}

TEST_F(GroupSyncTest, OneSyncPerAppliedFrameWhenIdleAndAReplacedListenerIsNotCalled) {
  gate_.Arm();
  ASSERT_TRUE(sink_->Apply({OnePut(1)}).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 1; }));
  // A listener replaced by nullptr is not called again.
  sink_->SetDurableListener(nullptr);
  gate_.Arm();
  ASSERT_TRUE(sink_->Apply({OnePut(2)}).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 2; }));
  EXPECT_EQ(notified_.load(), 1);
  EXPECT_EQ(gate_.started(), 1);
}

// A burst (ApplyGrouped: the receiver already holds the frames behind this one): the sync waits
// for the apply that ends the burst and then covers all of it — one sync, not one for the first
// frame and another for the rest — and durable is still only what that sync covered.
TEST_F(GroupSyncTest, ABurstOfFramesIsCoveredByOneSync) {
  gate_.Arm();
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(1)}, /*more_waiting=*/true).ok());
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(2), OnePut(3)}, /*more_waiting=*/true).ok());
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(4)}, /*more_waiting=*/false).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  EXPECT_EQ(gate_.started(), 1);
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(4));
  EXPECT_EQ(sink_->DurableSequence(), 0u);  // applied, not synced yet
  EXPECT_EQ(notified_.load(), 0);
  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 4; }));
  EXPECT_EQ(notified_.load(), 1);
  EXPECT_EQ(gate_.started(), 1);  // the burst's four frames, one sync

  // A frame applied while a sync runs is taken by the next sync, burst or not.
  gate_.Arm();
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(5)}, false).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(6)}, true).ok());
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(7)}, false).ok());
  gate_.ReleaseHeld();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 5; }));
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1 && gate_.started() == 2; }));
  EXPECT_EQ(sink_->DurableSequence(), 5u);  // 6 and 7 wait for the second sync to complete
  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 7; }));
  EXPECT_LE(sink_->DurableSequence(), *sink_->Cursor());
}

// The sink bounds the wait for a burst itself: a burst whose end never comes (the connection
// dropped mid-burst) is still synced, after max_sync_defer.
class GroupSyncShortDeferTest : public GroupSyncTest {
 protected:
  GroupSyncShortDeferTest() { max_sync_defer_ = std::chrono::microseconds(1000); }
};

TEST_F(GroupSyncShortDeferTest, ABurstWhoseEndNeverComesIsStillSynced) {
  gate_.Arm();
  ASSERT_TRUE(sink_->ApplyGrouped({OnePut(1)}, /*more_waiting=*/true).ok());
  ASSERT_TRUE(WaitFor([&] { return gate_.held() == 1; }));
  EXPECT_EQ(sink_->DurableSequence(), 0u);
  gate_.Disarm();
  ASSERT_TRUE(WaitFor([&] { return sink_->DurableSequence() == 1; }));
  EXPECT_EQ(notified_.load(), 1);
  EXPECT_EQ(gate_.started(), 1);
}

}  // namespace
}  // namespace rocksdr::plugin
