// DbSink: the secondary's replication::BatchSink over RocksDB — batches go through the Applier
// (shipped records + new cursor in one WriteBatch, consecutive batches grouped), bootstrap
// checkpoints through the CheckpointInstaller (staging directory -> atomic swap), with the DB
// closed and reopened around the swap (ManagedDb).
//
// Bootstrap: BeginBootstrap starts an incremental install next to the DB directory while the
// DB stays open with its old data (so until CommitBootstrap, Cursor() is the old position, or
// nullopt for a wiped secondary); CommitBootstrap takes the owner's DB lock exclusively, drops
// the Applier, closes the DB, commits the install (the installed DB gets this node's role,
// epoch and cluster id, and the checkpoint's exact sequence as cursor), reopens it and builds
// a new Applier. If the commit fails the old DB is reopened (CheckpointInstaller::Recover
// decides which one survives a crash in the middle).
//
// Threading: the SecondaryClient calls the BatchSink methods from its one I/O thread; Cursor(),
// DurableSequence(), SetDurableListener(), bootstrap() and needs_bootstrap() may be called from
// any thread. The durable listener runs on the sink's sync thread. Init,
// Release and WipeCursor only while no client uses the sink.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>

#include "applier.h"
#include "apply_gate.h"
#include "checkpoint_installer.h"
#include "managed_db.h"
#include "rocksdr/replication/batch_sink.h"
#include "rocksdr/replication_status.h"

namespace rocksdr::plugin {

struct DbSinkOptions {
  // See ReplicatorOptions::sync_apply / sync_interval_ms. Either way the applier writes without
  // syncing and a background thread syncs the WAL (DB::SyncWAL runs concurrently with the
  // applier's writes, so the apply thread never waits for the disk) and advances
  // DurableSequence() to the cursor read BEFORE that sync started (only what the sync covered).
  // sync: group sync — the thread syncs as soon as something was applied; batches applied while
  // a sync runs are covered by the next one (one fsync per group of frames, not per frame).
  // Without sync: every sync_interval.
  bool sync = true;
  std::chrono::milliseconds sync_interval{100};
  // Group sync: the longest a sync waits for the frames the client said are right behind
  // (ApplyGrouped with more_waiting) before it starts anyway. Default: 1 ms.
  std::chrono::microseconds max_sync_defer{1000};
  // Node-local keys written into an installed checkpoint (role, epoch, cluster id). Called on
  // the I/O thread at BeginBootstrap. The node's own "sidecar/" and "control/" keys
  // (reserved_cf.h) are carried over from the replaced DB by CommitBootstrap in any case.
  std::function<std::map<std::string, std::string>()> local_keys;
  // PluginOptions::auto_rebootstrap: false makes MayRebootstrap refuse, so a secondary that
  // holds a position is never replaced by a checkpoint without an operator's request.
  bool auto_rebootstrap = true;
};

class DbSink : public replication::BatchSink {
 public:
  // `db` and `db_mu` belong to the owner (Replicator) and outlive the sink.
  DbSink(ManagedDb* db, std::shared_mutex* db_mu, DbSinkOptions options);
  ~DbSink() override;

  // Opens the Applier on the (open) DB. Errors: Applier::Open's.
  Status Init();
  // Destroys the Applier (before the owner closes the DB).
  void Release();
  // Stops the background WAL sync thread (idempotent). Call before taking the owner's DB lock
  // exclusively for good (Close); the destructor calls it too.
  void StopSyncThread();
  // Deletes the persisted cursor: the next HELLO asks for a bootstrap (BecomeSecondary).
  // REQUIRES: Release() called, DB open.
  Status WipeCursor();
  // The same in two steps, for a caller that commits the deletion with other writes (Promote,
  // with its epoch marker): AddCursorWipe adds it to `batch`; once that batch is written,
  // ForgetCursor drops the position held in memory. REQUIRES: Release() called, DB open.
  Status AddCursorWipe(rocksdb::WriteBatch* batch);
  void ForgetCursor();

  // --- replication::BatchSink
  std::optional<uint64_t> Cursor() override;
  std::string History() override;
  Status Apply(const std::vector<replication::WalBatch>& batches) override;
  uint64_t DurableSequence() override;
  bool SetDurableListener(std::function<void()> listener) override;
  // With sync and more_waiting: the next group sync waits (at most max_sync_defer) for an
  // apply without more_waiting before it starts, so it covers the frames right behind.
  Status ApplyGrouped(const std::vector<replication::WalBatch>& batches, bool more_waiting) override;
  Status MayRebootstrap(const std::string& reason) override;
  Status BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) override;
  Status BeginFile(const std::string& name, uint64_t size) override;
  Status WriteFileChunk(uint64_t offset, std::string_view data) override;
  Status FinishFile(uint32_t crc32c) override;
  Status CommitBootstrap() override;
  void AbortBootstrap() override;
  // After a local storage failure (disk full, an I/O error): discards a failed install's
  // staging files, reopens the DB if a failed install left it closed, clears RocksDB's
  // background error (DB::Resume: flushes the memtables and switches to a new WAL; when Resume
  // fails — the disk still full, RocksDB's "no space" recovery holding the error, or an error
  // RocksDB never resumes from, such as a WAL write's plain I/O error — reopens the DB instead,
  // under the exclusive DB lock; that fails, leaving it closed, while the storage still fails;
  // while RocksDB's own recovery from a retryable I/O error runs, fails with kIOError and
  // leaves the DB open for RocksDB to finish) and reopens the Applier on the persisted cursor.
  // Called on the client's thread only.
  Status Recover() override;
  std::string StorageLocation() override;

  // Thread-safe snapshots for status.
  BootstrapProgress bootstrap() const;
  std::optional<std::string> needs_bootstrap() const;
  std::optional<uint64_t> applied_epoch() const;  // epoch recorded by the Applier
  // The consistency check's gate in front of Apply (apply_gate.h).
  ApplyGate& gate() { return gate_; }
  // Column families the stream created since the Applier was opened (their handles belong to
  // it). REQUIRES: the apply thread parked by gate() or no client running.
  std::vector<rocksdb::ColumnFamilyHandle*> StreamCreatedColumnFamilies() const {
    return applier_ ? applier_->created_column_families() : std::vector<rocksdb::ColumnFamilyHandle*>();
  }
  uint64_t batches_applied() const { return batches_applied_.load(); }

 private:
  void Publish();  // copies the Applier's positions into the atomics
  // Apply without the gate; more_waiting as for ApplyGrouped.
  Status ApplyNow(const std::vector<replication::WalBatch>& batches, bool more_waiting);
  // This node's "sidecar/" and "control/" keys of kLocalCf. REQUIRES: DB open, owner's lock held.
  Result<std::map<std::string, std::string>> CarriedLocalKeys();
  void SyncLoop();  // background WAL sync (group sync, or every sync_interval)
  // One WAL sync covering the cursor as it is now; true if DurableSequence() advanced.
  bool SyncOnce();

  ManagedDb* const db_;
  std::shared_mutex* const db_mu_;
  const DbSinkOptions options_;

  ApplyGate gate_{[this] { return Cursor(); }};
  std::unique_ptr<Applier> applier_;       // I/O thread (or owner while no client runs)
  std::unique_ptr<CheckpointInstaller> installer_;
  std::string current_file_;

  std::atomic<uint64_t> cursor_plus_one_{0};
  std::atomic<uint64_t> durable_{0};
  // Periodic sync only (sync off): serializes the applier's WAL writes with SyncOnce's WAL
  // sync. A sync that runs on a WAL writer whose append just failed (ENOSPC) trips an
  // assertion of Debian's librocksdb (built with assertions) and aborts the process; with one
  // sync per sync_interval the applier waits at most one sync. Order: db_mu_, then wal_mu_.
  std::mutex wal_mu_;
  std::atomic<bool> apply_failed_{false};  // an Apply failed since Init: SyncLoop no longer syncs
  std::atomic<bool> sync_failed_{false};   // a WAL sync failed: Apply refuses (sync_error_)
  std::atomic<uint64_t> batches_applied_{0};
  std::atomic<uint64_t> epoch_plus_one_{0};

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_stop_ = false;  // GUARDED_BY(sync_mu_)
  bool sync_wanted_ = false;  // GUARDED_BY(sync_mu_): applied since the last sync started
  bool sync_deferred_ = false;  // GUARDED_BY(sync_mu_): the last apply said more frames follow
  std::thread sync_thread_;

  std::mutex listener_mu_;                 // held while the listener runs (see BatchSink)
  std::function<void()> durable_listener_; // GUARDED_BY(listener_mu_)

  mutable std::mutex mu_;
  BootstrapProgress progress_;                 // GUARDED_BY(mu_)
  std::optional<std::string> needs_bootstrap_; // GUARDED_BY(mu_)
  std::string sync_error_;                     // GUARDED_BY(mu_)
};

}  // namespace rocksdr::plugin
