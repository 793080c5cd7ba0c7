// A secondary whose WAL write fails with an I/O error that is not "disk full" (a flaky device,
// a remounted volume): the batch's apply fails and changes nothing, DbSink::Recover() clears
// RocksDB's background error (DB::Resume, or a reopen when RocksDB cannot resume) without a
// restart, and the same batch then applies exactly once, continuing at cursor + 1.
// fault.DiskFull covers ENOSPC on a real tmpfs (RocksDB's own recovery holds that error); here a
// FileSystem wrapper fails the WAL's appends on demand, both as a plain I/O error and as one
// RocksDB marks retryable (which starts its own recovery thread).
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/io_status.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>

#include "../../plugin/src/applier.h"
#include "../../plugin/src/db_events.h"
#include "../../plugin/src/db_sink.h"
#include "../../plugin/src/managed_db.h"
#include "../../plugin/src/wal_group_sync.h"
#include "rocksdr/replicator.h"
#include "support/replicator_cluster_test.h"
#include "support/replicator_test_util.h"

namespace rocksdr::plugin {
namespace {

using replication::WalBatch;
using testing::MakeSpec;
using testing::TempDir;
using testing::WaitFor;
using testing::DumpClosedDb;

// kPlain: RocksDB never resumes from it (Recover reopens the DB). kRetryable: RocksDB's own
// recovery thread takes it (Resume answers Busy meanwhile; Recover leaves the DB to it and fails
// with kIOError until that recovery has cleared the error). kRetryableManual:
// the same with RocksDB's automatic resume off (max_bgerror_resume_count = 0): DB::Resume itself
// clears the error.
enum class Failure { kPlain, kRetryable, kRetryableManual };

// Fails every append to a WAL file (*.log) while armed, and the creation of every file while
// fail_opens (so that a reopen of the DB fails).
struct FaultSwitch {
  std::atomic<bool> armed{false};
  std::atomic<bool> fail_opens{false};
  std::atomic<int> failed{0};
  std::atomic<int> refused_creates{0};  // file creations refused while fail_opens
  Failure kind = Failure::kPlain;

  rocksdb::IOStatus Fail() {
    ++failed;
    rocksdb::IOStatus s = rocksdb::IOStatus::IOError("injected WAL write failure");
    if (kind != Failure::kPlain) s.SetRetryable(true);
    return s;
  }
};

class FailingWal : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingWal(std::unique_ptr<rocksdb::FSWritableFile> f, FaultSwitch* sw)
      : FSWritableFileOwnerWrapper(std::move(f)), sw_(sw) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    if (sw_->armed) return sw_->Fail();
    return target()->Append(data, o, d);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* d) override {
    if (sw_->armed) return sw_->Fail();
    return target()->Append(data, o, v, d);
  }

 private:
  FaultSwitch* sw_;
};

class FailingFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingFs(FaultSwitch* sw) : FileSystemWrapper(rocksdb::FileSystem::Default()), sw_(sw) {}
  const char* Name() const override { return "FailingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    if (sw_->fail_opens) {
      ++sw_->refused_creates;
      return rocksdb::IOStatus::IOError("injected failure creating " + f);
    }
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, d);
    if (s.ok() && f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0) {
      *r = std::make_unique<FailingWal>(std::move(*r), sw_);
    }
    return s;
  }

 private:
  FaultSwitch* sw_;
};

WalBatch Counter(uint64_t seq) {
  rocksdb::WriteBatch wb;
  EXPECT_TRUE(wb.Put("k" + std::to_string(seq), "v" + std::to_string(seq)).ok());
  return WalBatch{seq, 1, wb.Data()};
}

class StorageErrorRecovery : public ::testing::TestWithParam<Failure> {
 protected:
  void SetUp() override {
    sw_.kind = GetParam();
    env_ = rocksdb::NewCompositeEnv(std::make_shared<FailingFs>(&sw_));
    DbSpec spec = MakeSpec(dir_.Sub("s"));
    spec.db_options.env = env_.get();
    if (GetParam() == Failure::kRetryableManual) spec.db_options.max_bgerror_resume_count = 0;
    auto db = ManagedDb::Open(spec);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(Applier::WriteCursor(db_->impl()->base(), db_->impl()->local_cf(), 0, true).ok());
    DbSinkOptions o;
    o.sync = false;
    o.sync_interval = std::chrono::milliseconds(20);
    sink_ = std::make_unique<DbSink>(db_.get(), &db_mu_, o);
    ASSERT_TRUE(sink_->Init().ok());
  }
  void TearDown() override {
    sw_.armed = false;
    if (sink_) {
      sink_->StopSyncThread();
      sink_->Release();
    }
    sink_.reset();
    if (db_ && db_->is_open()) {
      // Not while RocksDB's own recovery from a retryable error still runs (Resume: Busy): in
      // RocksDB 7.8 a Close then can wait forever (facebook/rocksdb#11440; README,
      // Troubleshooting). With the storage working again it ends within its retry interval.
      EXPECT_TRUE(WaitFor([&] { return !db_->impl()->base()->Resume().IsBusy(); }));
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  std::string Get(const std::string& key) {
    std::string v;
    rocksdb::Status s = db_->impl()->base()->Get(rocksdb::ReadOptions(), key, &v);
    return s.ok() ? v : "<" + s.ToString() + ">";
  }

  TempDir dir_;
  FaultSwitch sw_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<ManagedDb> db_;
  std::shared_mutex db_mu_;
  std::unique_ptr<DbSink> sink_;
};

TEST_P(StorageErrorRecovery, TheFailedBatchAppliesExactlyOnceAfterRecoverWithoutARestart) {
  ASSERT_TRUE(sink_->Apply({Counter(1), Counter(2)}).ok());
  ASSERT_TRUE(sink_->Apply({Counter(3)}).ok());
  ASSERT_EQ(sink_->Cursor(), std::optional<uint64_t>(3));

  sw_.armed = true;
  Status failed = sink_->Apply({Counter(4), Counter(5)});
  EXPECT_FALSE(failed.ok());
  EXPECT_GE(sw_.failed.load(), 1);
  // Nothing of the failed frame is visible, and the cursor did not move.
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(3));
  EXPECT_EQ(Get("k4"), "<NotFound: >");
  EXPECT_TRUE(db_->impl()->events()->wal_write_failed());

  // A recovery attempt while the device still fails may succeed (a reopen or RocksDB's resume
  // writes no WAL record) or fail, saying why; either way the cursor stays where it was...
  Status early = sink_->Recover();
  if (!early.ok()) {
    EXPECT_EQ(early.code(), Code::kIOError) << early.ToString();  // kIOError: the client retries
    EXPECT_TRUE(early.message().find("storage failed") != std::string::npos ||
                early.message().find("by itself") != std::string::npos)
        << early.ToString();
  }
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(3));
  sw_.armed = false;
  // ...and once the device works again, Recover (retried as the client's retry loop does: while
  // RocksDB's own recovery thread holds a retryable error, Recover leaves it the DB) brings the
  // secondary back without a restart.
  Status recovered = early;
  const bool back = WaitFor([&] {
    if (!recovered.ok()) recovered = sink_->Recover();
    return recovered.ok();
  });
  ASSERT_TRUE(back) << recovered.ToString() << " (first attempt: " << early.ToString() << ")";
  // The error RocksDB reported is cleared with it (a DB that still recorded one would refuse
  // every WAL sync: WalGroupSync, DbSink::Init).
  EXPECT_FALSE(db_->impl()->events()->wal_write_failed()) << db_->impl()->events()->background_error();
  ASSERT_EQ(sink_->Cursor(), std::optional<uint64_t>(3));

  // The same frame again: it continues at cursor + 1 and applies once.
  ASSERT_TRUE(sink_->Apply({Counter(4), Counter(5)}).ok());
  ASSERT_TRUE(sink_->Apply({Counter(6)}).ok());
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(6));
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(Get("k" + std::to_string(i)), "v" + std::to_string(i)) << i;
  // A batch that does not continue the cursor is still refused after the recovery.
  EXPECT_FALSE(sink_->Apply({Counter(4)}).ok());
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(6));

  // Durable: after a reopen the DB holds exactly batches 1..6 and the cursor 6.
  sink_->StopSyncThread();
  sink_->Release();
  sink_.reset();
  ASSERT_TRUE(db_->Reopen().ok());
  sink_ = std::make_unique<DbSink>(db_.get(), &db_mu_, DbSinkOptions{});
  ASSERT_TRUE(sink_->Init().ok());
  EXPECT_EQ(sink_->Cursor(), std::optional<uint64_t>(6));
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(Get("k" + std::to_string(i)), "v" + std::to_string(i)) << i;
  EXPECT_EQ(Get("k7"), "<NotFound: >");
}

// The primary's group sync (synchronous ack modes) after a write failed in the WAL: it fails,
// saying why, instead of syncing a WAL writer that saw the error (which RocksDB refuses, and
// which aborts the whole process in builds of RocksDB with assertions, such as Debian's). With a
// retryable error RocksDB may already have resumed by itself (a new WAL): then the sync runs.
TEST_P(StorageErrorRecovery, GroupSyncAfterAWalWriteErrorFailsInsteadOfSyncingTheFailedWal) {
  rocksdb::DB* base = db_->impl()->base();
  ASSERT_TRUE(base->Put(rocksdb::WriteOptions(), "before", "1").ok());
  sw_.armed = true;
  EXPECT_FALSE(base->Put(rocksdb::WriteOptions(), "during", "1").ok());
  WalGroupSync sync(base, db_->impl()->events().get());
  rocksdb::Status s = sync.SyncAfter();
  if (GetParam() != Failure::kRetryable) {
    ASSERT_TRUE(db_->impl()->events()->wal_write_failed());
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(s.ToString().find("not syncing the WAL: a write failed"), std::string::npos) << s.ToString();
  } else if (!s.ok()) {
    EXPECT_NE(s.ToString().find("not syncing the WAL: a write failed"), std::string::npos) << s.ToString();
  }
  sw_.armed = false;
}

// Only a failed write stops WAL syncs, until RocksDB clears it: a flush's or a compaction's
// background error leaves the WAL writer sound, and a sync refused for it would stall every
// synchronous write of a primary.
TEST(DbEventsTest, OnlyAFailedWriteStopsWalSyncsUntilTheErrorIsCleared) {
  DbEvents e;
  e.RecordBackgroundError("IO error: flush", /*no_space=*/false, /*in_write_path=*/false);
  EXPECT_FALSE(e.wal_write_failed());
  e.RecordBackgroundError("IO error: WAL", false, true);
  EXPECT_TRUE(e.wal_write_failed());
  e.RecordBackgroundError("IO error: a later flush", false, false);
  EXPECT_TRUE(e.wal_write_failed()) << "a later error of another kind does not clear it";
  e.RecordBackgroundError("", false, false);  // OnErrorRecoveryEnd: cleared
  EXPECT_FALSE(e.wal_write_failed());
  EXPECT_EQ(e.background_error(), "");
}

INSTANTIATE_TEST_SUITE_P(WalAppend, StorageErrorRecovery,
                         ::testing::Values(Failure::kPlain, Failure::kRetryable, Failure::kRetryableManual),
                         [](const ::testing::TestParamInfo<Failure>& i) {
                           switch (i.param) {
                             case Failure::kPlain: return std::string("PlainIOError");
                             case Failure::kRetryable: return std::string("RetryableIOError");
                             case Failure::kRetryableManual: return std::string("RetryableIOErrorWithoutAutoResume");
                           }
                           return std::string("Unknown");
                         });

// A secondary whose storage fails so that even the reopen of its DB fails is left with its DB
// closed, retrying. Promoting it then (the primary site lost meanwhile) is refused with a reason
// that names the DB, the storage failure and what to do — not "the replicator is closed" — and
// changes nothing; once the storage works again the secondary reopens its DB by itself, catches
// up, and the promotion succeeds with every write it had applied.
class StorageFailureBeforePromotion : public testing::ReplicatorClusterTest {
 protected:
  StorageFailureBeforePromotion() : ReplicatorClusterTest("storage-failure-cluster") {}

  // p_: a primary; s1_: its secondary on a FileSystem wrapper (sw_), with storage retries every
  // retry_initial_ms..retry_max_ms; caught up after `keys` writes k0.. into "users".
  void StartCaughtUp(int keys, uint64_t retry_initial_ms = 20, uint64_t retry_max_ms = 100) {
    p_ = OpenNode("p");
    ASSERT_NE(p_, nullptr);
    ASSERT_TRUE(p_->BecomePrimary(Primary()).ok());
    PluginOptions po;
    po.storage_retry_initial_ms = retry_initial_ms;
    po.storage_retry_max_ms = retry_max_ms;
    spec_ = MakeSpec(dir_.Sub("s1"), po);
    spec_.db_options.env = env_.get();
    ro_.sync_apply = false;
    ro_.reconnect_initial_ms = 20;
    ro_.reconnect_cap_ms = 200;
    auto opened = Replicator::Open(spec_, ro_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    s1_ = std::move(*opened);
    ASSERT_TRUE(s1_->BecomeSecondary(Bundle("s1", p_->port())).ok());
    for (int i = 0; i < keys; ++i) Put(p_.get(), "users", "k" + std::to_string(i), "v");
    ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1_.get(), Latest(p_.get())); }));
  }

  // A key of the node-local column family of the closed DB at `path` (nullopt: absent).
  static std::optional<std::string> LocalKey(const std::string& path, std::string_view key) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descs, &handles, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return std::nullopt;
    std::optional<std::string> out;
    for (auto* h : handles) {
      std::string v;
      if (h->GetName() == plugin::kLocalCf && raw->Get(rocksdb::ReadOptions(), h, std::string(key), &v).ok()) out = v;
    }
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    delete raw;
    return out;
  }

  FaultSwitch sw_;
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(std::make_shared<FailingFs>(&sw_));
  DbSpec spec_;
  ReplicatorOptions ro_;
  std::unique_ptr<Replicator> p_, s1_;  // destroyed before env_
};

TEST_F(StorageFailureBeforePromotion, ADbLeftClosedRefusesPromotionWithTheReasonThenRecoversAndPromotes) {
  ASSERT_NO_FATAL_FAILURE(StartCaughtUp(100));
  std::unique_ptr<Replicator>& p = p_;
  std::unique_ptr<Replicator>& s1 = s1_;
  FaultSwitch& sw = sw_;
  const uint64_t applied = *s1->GetStatus().last_sequence_applied;

  // The secondary's storage fails: its apply fails, and so does every reopen of its DB.
  sw.armed = true;
  sw.fail_opens = true;
  Put(p.get(), "users", "during-failure", "v");
  ASSERT_TRUE(WaitFor([&] {
    return s1->GetStatus().primary_link.local_storage_error.find("reopening the secondary's DB") != std::string::npos;
  })) << s1->GetStatus().primary_link.last_error;

  Status refused = s1->Promote(Primary(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find(dir_.Sub("s1") + " is closed"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("local storage failure"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("injected failure creating"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("next storage retry"), std::string::npos) << refused.ToString();

  // The storage works again: without a restart or a new bundle, the secondary reopens its DB,
  // reconnects and applies what it missed.
  sw.fail_opens = false;
  sw.armed = false;
  const uint64_t latest = Latest(p.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), latest); })) << s1->GetStatus().primary_link.last_error;
  EXPECT_GT(latest, applied);
  EXPECT_FALSE(s1->GetStatus().primary_link.local_storage_failed);

  // The primary site is lost; the promotion now succeeds and keeps everything applied.
  ASSERT_TRUE(p->Close().ok());
  p.reset();
  Status promoted = s1->Promote(Primary(1));
  ASSERT_TRUE(promoted.ok()) << promoted.ToString();
  EXPECT_EQ(s1->db()->role(), Role::kPrimary);
  Put(s1.get(), "users", "after-promotion", "yes");
  ASSERT_TRUE(s1->Close().ok());
  s1.reset();
  auto d = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(d["users"].size(), 102u);
  EXPECT_EQ(d["users"]["during-failure"], "v");
  EXPECT_EQ(d["users"]["after-promotion"], "yes");
}

// A promotion that cannot write its epoch marker (the secondary's storage fails at that moment)
// changes nothing: the node is still a secondary of the same epoch, says so, and follows its
// primary again (before, it stayed detached until restarted); once the storage works it catches
// up, and a later promotion succeeds.
TEST_F(StorageFailureBeforePromotion, APromotionThatCannotWriteLeavesTheSecondaryFollowingItsPrimary) {
  ASSERT_NO_FATAL_FAILURE(StartCaughtUp(50));
  std::unique_ptr<Replicator>& p = p_;
  std::unique_ptr<Replicator>& s1 = s1_;
  FaultSwitch& sw = sw_;

  sw.armed = true;
  Status failed = s1->Promote(Primary(1));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("still a DR secondary and follows 127.0.0.1:" + std::to_string(p->port()) + " again"),
            std::string::npos)
      << failed.ToString();
  EXPECT_NE(failed.message().find("injected WAL write failure"), std::string::npos) << failed.ToString();
  EXPECT_EQ(s1->db()->role(), Role::kSecondary);
  EXPECT_EQ(s1->db()->epoch(), 1u);

  // The storage works again: the secondary (its client restarted by the failed promotion)
  // recovers its DB and applies what the primary wrote meanwhile.
  sw.armed = false;
  for (int i = 50; i < 60; ++i) Put(p.get(), "users", "k" + std::to_string(i), "v");
  const uint64_t latest = Latest(p.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s1.get(), latest); })) << s1->GetStatus().primary_link.last_error;

  ASSERT_TRUE(p->Close().ok());
  p.reset();
  Status promoted = s1->Promote(Primary(1));
  ASSERT_TRUE(promoted.ok()) << promoted.ToString();
  EXPECT_EQ(s1->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1->db()->epoch(), 2u);
  ASSERT_TRUE(s1->Close().ok());
  s1.reset();
  auto d = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(d["users"].size(), 60u);
}

// A promotion that fails AFTER its epoch marker (here the DB's reopen cannot create its files) is
// a promotion: the error says the node is the primary at the new epoch and to restart it; the
// role, the epoch, the wiped position and the authorization were written in one batch with the
// marker; once restarted, BecomePrimary (what the sidecar's re-arm sends) starts its server and
// a new secondary gets every write.
TEST_F(StorageFailureBeforePromotion, APromotionWhoseReopenFailsIsAPromotionAndBecomePrimaryReopensIt) {
  // Reopen attempts paced at 1 s, then 2 s: a BecomePrimary right after the failure is answered
  // without an attempt, with time to spare even on a loaded machine.
  ASSERT_NO_FATAL_FAILURE(StartCaughtUp(40, /*retry_initial_ms=*/1000, /*retry_max_ms=*/2000));
  ASSERT_TRUE(p_->Close().ok());
  p_.reset();
  ASSERT_TRUE(s1_->GetStatus().last_sequence_applied.has_value());

  sw_.fail_opens = true;  // appends to the open WAL still work: the marker is written
  Status failed = s1_->Promote(Primary(1));
  ASSERT_FALSE(failed.ok());
  const std::string m = failed.ToString();
  EXPECT_NE(m.find("promoted to DR primary of cluster storage-failure-cluster at epoch 2 (persisted)"),
            std::string::npos) << m;
  EXPECT_NE(m.find("reopening the DB failed"), std::string::npos) << m;
  EXPECT_NE(m.find("BecomePrimary"), std::string::npos) << m;
  EXPECT_NE(m.find("injected failure creating"), std::string::npos) << m;
  // Status, with the DB closed, says what the node now is (the sidecar decides from it).
  ReplicationStatus st = s1_->GetStatus();
  EXPECT_EQ(st.role, Role::kPrimary);
  EXPECT_EQ(st.epoch, 2u);
  EXPECT_EQ(s1_->db(), nullptr);

  // Before the first retry is due, BecomePrimary (what the sidecar's re-arm sends every second)
  // does not try to open the DB: it answers with the last error and when the next attempt is.
  const int creates = sw_.refused_creates.load();
  Status early = s1_->BecomePrimary(Primary(1));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.code(), Code::kUnavailable) << early.ToString();
  EXPECT_NE(early.message().find("closed since the promotion to DR primary at epoch 2"), std::string::npos)
      << early.ToString();
  EXPECT_NE(early.message().find("(last attempt: "), std::string::npos) << early.ToString();
  EXPECT_NE(early.message().find("injected failure creating"), std::string::npos) << early.ToString();
  EXPECT_NE(early.message().find("the next reopen attempt is in "), std::string::npos) << early.ToString();
  EXPECT_EQ(sw_.refused_creates.load(), creates) << "a reopen was attempted before its delay";

  // Once it is due, BecomePrimary tries again; while the cause lasts, it says the DB is still
  // closed and why, and the next delay doubles. Other role changes are refused with what to do;
  // nothing changes.
  Status again;
  ASSERT_TRUE(WaitFor([&] {
    again = s1_->BecomePrimary(Primary(1));
    return again.message().find("reopening it failed again (") != std::string::npos;
  })) << again.ToString();
  EXPECT_EQ(again.code(), Code::kUnavailable) << again.ToString();
  EXPECT_NE(again.message().find("closed since the promotion to DR primary at epoch 2"), std::string::npos)
      << again.ToString();
  EXPECT_NE(again.message().find("injected failure creating"), std::string::npos) << again.ToString();
  EXPECT_NE(again.message().find("the next reopen attempt is in 2000 ms"), std::string::npos) << again.ToString();
  EXPECT_GT(sw_.refused_creates.load(), creates);
  Status demote = s1_->Demote();
  ASSERT_FALSE(demote.ok());
  EXPECT_NE(demote.message().find("the promotion to DR primary at epoch 2 could not reopen it"), std::string::npos)
      << demote.ToString();
  EXPECT_EQ(s1_->db(), nullptr);
  EXPECT_EQ(s1_->GetStatus().role, Role::kPrimary);

  // The cause fixed: the first BecomePrimary once the retry is due reopens the DB and serves,
  // with no restart.
  sw_.fail_opens = false;
  Status recovered;
  ASSERT_TRUE(WaitFor([&] {
    recovered = s1_->BecomePrimary(Primary(1));
    return recovered.ok();
  })) << recovered.ToString();
  ASSERT_NE(s1_->db(), nullptr);
  EXPECT_EQ(s1_->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1_->db()->epoch(), 2u);
  EXPECT_GT(s1_->port(), 0);
  Put(s1_.get(), "users", "after-promotion", "yes");
  std::unique_ptr<Replicator> s2 = OpenNode("s2");
  ASSERT_NE(s2, nullptr);
  ASSERT_TRUE(s2->BecomeSecondary(Bundle("s2", s1_->port(), 2)).ok());
  const uint64_t latest = Latest(s1_.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(s2.get(), latest); })) << s2->GetStatus().primary_link.last_error;
  ASSERT_TRUE(s2->Close().ok());
  s2.reset();
  ASSERT_TRUE(s1_->Close().ok());
  s1_.reset();
  // Everything the promotion persists, persisted together: role, epoch, no position.
  EXPECT_EQ(LocalKey(dir_.Sub("s1"), plugin::kLocalKeyRole), "primary");
  EXPECT_EQ(LocalKey(dir_.Sub("s1"), plugin::kLocalKeyCursor), std::nullopt);
  auto a = DumpClosedDb(dir_.Sub("s1"));
  EXPECT_EQ(a["users"].size(), 41u);
  EXPECT_EQ(testing::DiffDumps(a, DumpClosedDb(dir_.Sub("s2"))), "");

  // Restarting the application also brings it back as this primary.
  auto reopened = Replicator::Open(spec_, ro_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  s1_ = std::move(*reopened);
  EXPECT_EQ(s1_->db()->role(), Role::kPrimary);
  EXPECT_EQ(s1_->db()->epoch(), 2u);
  ASSERT_TRUE(s1_->BecomePrimary(Primary(1)).ok());
  EXPECT_EQ(s1_->db()->epoch(), 2u);
}

}  // namespace
}  // namespace rocksdr::plugin
