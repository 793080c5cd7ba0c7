// DbSink; see db_sink.h.
#include "db_sink.h"

#include <rocksdb/iterator.h>

#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "reserved_cf.h"
#include "rocksdr/replication/thread_name.h"

namespace rocksdr::plugin {

DbSink::DbSink(ManagedDb* db, std::shared_mutex* db_mu, DbSinkOptions options)
    : db_(db), db_mu_(db_mu), options_(std::move(options)) {
  sync_thread_ = std::thread([this] {
    replication::SetThreadName(replication::kThreadSync);
    SyncLoop();
  });
}

DbSink::~DbSink() {
  StopSyncThread();
  if (installer_) installer_->Abort();
  Release();
}

void DbSink::StopSyncThread() {
  if (!sync_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    sync_stop_ = true;
  }
  sync_cv_.notify_all();
  sync_thread_.join();
}

bool DbSink::SetDurableListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> l(listener_mu_);
  durable_listener_ = std::move(listener);
  return options_.sync && durable_listener_ != nullptr;
}

void DbSink::SyncLoop() {
  std::unique_lock<std::mutex> l(sync_mu_);
  while (!sync_stop_) {
    if (options_.sync) {
      // Group sync: start as soon as something was applied. What is applied while this sync
      // runs sets sync_wanted_ again and is covered by the next one.
      sync_cv_.wait(l, [&] { return sync_stop_ || sync_wanted_; });
      // The client holds frames right behind the last apply (ApplyGrouped): let it apply them
      // first, so that this sync covers them too (bounded by max_sync_defer).
      if (sync_deferred_) {
        sync_cv_.wait_for(l, options_.max_sync_defer, [&] { return sync_stop_ || !sync_deferred_; });
        sync_deferred_ = false;
      }
    } else {
      sync_cv_.wait_for(l, options_.sync_interval);
    }
    if (sync_stop_) break;
    sync_wanted_ = false;
    l.unlock();
    const bool failed_before = sync_failed_.load();
    if (SyncOnce() || sync_failed_.load() != failed_before) {  // advanced, or stopped by an error
      std::lock_guard<std::mutex> ll(listener_mu_);
      if (durable_listener_) durable_listener_();
    }
    l.lock();
  }
}

bool DbSink::SyncOnce() {
  // Shared: the owner closes or swaps the DB only under the exclusive lock.
  std::shared_lock<std::shared_mutex> db_lock(*db_mu_);
  std::unique_lock<std::mutex> wal(wal_mu_, std::defer_lock);  // see ApplyNow
  if (!options_.sync) wal.lock();
  // Read before the sync: the batches up to here were written to the WAL (DB::Write returned)
  // before Publish, so the sync covers them; later ones may not be covered and wait for the
  // next sync. Durable is never reported beyond what a completed sync covered.
  const auto cursor = Cursor();
  // Not after a failed apply or sync, nor while RocksDB holds the error of any other failed
  // write (DbEvents::wal_write_failed): a WAL writer that saw an error (ENOSPC) must not be synced again (RocksDB
  // refuses it, and builds with assertions, such as Debian's, abort).
  if (!db_->is_open() || !cursor || *cursor <= durable_.load() || apply_failed_.load() ||
      sync_failed_.load() || (db_->impl()->events() && db_->impl()->events()->wal_write_failed())) {
    return false;
  }
  rocksdb::Status s = db_->impl()->base()->FlushWAL(/*sync=*/true);
  if (!s.ok()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      sync_error_ = "syncing the secondary's WAL (up to sequence " + std::to_string(*cursor) +
                    ") failed: " + s.ToString();
    }
    sync_failed_.store(true);
    return false;
  }
  uint64_t d = durable_.load();
  bool advanced = false;
  while (d < *cursor && !(advanced = durable_.compare_exchange_weak(d, *cursor))) {
  }
  return advanced;
}

Status DbSink::Init() {
  applier_.reset();
  if (!db_->is_open()) return Status::FailedPrecondition("the DB is closed");
  ApplierOptions ao;
  ao.sync = false;  // the sync thread syncs (group sync), see DbSinkOptions::sync
  ManagedDb* m = db_;
  ao.cf_options = [m](const std::string& name) { return m->CfOptions(name); };
  auto a = Applier::Open(db_->impl()->base(), db_->impl()->local_cf(), db_->AllHandles(), ao);
  if (!a.ok()) return a.status().WithContext("opening the applier");
  applier_ = std::move(*a);
  apply_failed_.store(false);
  sync_failed_.store(false);
  {
    std::lock_guard<std::mutex> l(mu_);
    needs_bootstrap_.reset();
    sync_error_.clear();
  }
  Publish();
  // What the DB holds at open may be an unsynced tail recovered from the OS's cache (after a
  // kill -9 of this process): sync it before calling it durable. Not while the DB holds the
  // error of a write that failed outside the applier (e.g. a promotion's epoch marker):
  // its WAL writer saw the error, and syncing it aborts builds of RocksDB with assertions
  // (Debian's); the first apply then fails and Recover clears the error.
  const bool may_sync = !db_->impl()->events() || !db_->impl()->events()->wal_write_failed();
  rocksdb::Status synced =
      may_sync ? db_->impl()->base()->FlushWAL(/*sync=*/true) : rocksdb::Status::Incomplete("background error");
  durable_.store(synced.ok() ? applier_->applied_sequence().value_or(0) : 0);
  return Status::OK();
}

void DbSink::Release() { applier_.reset(); }

Status DbSink::AddCursorWipe(rocksdb::WriteBatch* batch) {
  if (applier_) return Status::FailedPrecondition("WipeCursor while the applier is open");
  if (!db_->is_open()) return Status::FailedPrecondition("the DB is closed");
  rocksdb::Status s =
      batch->Delete(db_->impl()->local_cf(), rocksdb::Slice(kLocalKeyCursor.data(), kLocalKeyCursor.size()));
  if (!s.ok()) return Status::Internal("building the deletion of the secondary's position: " + s.ToString());
  return Status::OK();
}

void DbSink::ForgetCursor() {
  cursor_plus_one_.store(0);
  durable_.store(0);
}

Status DbSink::WipeCursor() {
  rocksdb::WriteBatch batch;
  ROCKSDR_RETURN_IF_ERROR(AddCursorWipe(&batch));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->impl()->base()->Write(wo, &batch);
  if (!s.ok()) return Status::IOError("wiping the secondary's position: " + s.ToString());
  ForgetCursor();
  return Status::OK();
}

void DbSink::Publish() {
  if (!applier_) return;
  auto c = applier_->applied_sequence();
  cursor_plus_one_.store(c ? *c + 1 : 0, std::memory_order_release);
  auto e = applier_->epoch();
  epoch_plus_one_.store(e ? *e + 1 : 0);
}

std::optional<uint64_t> DbSink::Cursor() {
  const uint64_t v = cursor_plus_one_.load(std::memory_order_acquire);
  return v == 0 ? std::nullopt : std::optional<uint64_t>(v - 1);
}

std::string DbSink::History() {
  std::shared_lock<std::shared_mutex> lock(*db_mu_);  // the owner closes or swaps the DB exclusively
  if (!db_->is_open()) return std::string();
  Result<std::string> h = db_->impl()->state_store()->ReadHistory();
  if (!h.ok()) {
    // Unknown: the primary then decides on the epoch alone (PROTOCOL.md "History ids").
    spdlog::warn("rocksdr: reading this secondary's history id: {}; sending none", h.status().ToString());
    return std::string();
  }
  return *h;
}

uint64_t DbSink::DurableSequence() { return durable_.load(); }

Status DbSink::Apply(const std::vector<replication::WalBatch>& batches) {
  return ApplyGrouped(batches, /*more_waiting=*/false);
}

Status DbSink::ApplyGrouped(const std::vector<replication::WalBatch>& batches, bool more_waiting) {
  return gate_.Run(batches, [this, more_waiting](const std::vector<replication::WalBatch>& b) {
    return ApplyNow(b, more_waiting);
  });
}

Status DbSink::ApplyNow(const std::vector<replication::WalBatch>& batches, bool more_waiting) {
  if (!applier_) return Status::FailedPrecondition("the secondary's applier is not open");
  if (sync_failed_.load()) {
    std::lock_guard<std::mutex> l(mu_);
    return Status::IOError(sync_error_);
  }
  Status s;
  {
    // Periodic sync (sync off): the sync thread never syncs the WAL while this write may fail
    // on it (wal_mu_); a failed write is marked before the sync thread looks again.
    std::unique_lock<std::mutex> wal(wal_mu_, std::defer_lock);
    if (!options_.sync) wal.lock();
    s = applier_->Apply(batches);
    if (!s.ok()) apply_failed_.store(true);  // the session ends; SyncLoop stays off the WAL
  }
  Publish();
  if (s.ok()) {
    batches_applied_.fetch_add(batches.size());
    if (options_.sync) {  // wake the group sync (else: SyncLoop's interval advances durable)
      bool wake = true;
      {
        std::lock_guard<std::mutex> l(sync_mu_);
        sync_wanted_ = true;
        // More frames follow: the sync thread waits for them (woken once per burst, to start
        // its bound); the apply that ends the burst wakes it again.
        wake = !more_waiting || !sync_deferred_;
        sync_deferred_ = more_waiting;
      }
      if (wake) sync_cv_.notify_one();
    }
  }
  if (applier_->needs_bootstrap()) {
    std::lock_guard<std::mutex> l(mu_);
    needs_bootstrap_ = *applier_->needs_bootstrap();
  }
  return s;
}

Status DbSink::MayRebootstrap(const std::string& reason) {
  if (options_.auto_rebootstrap) return Status::OK();
  const auto cursor = Cursor();
  const std::string why = "needs bootstrap: " + reason +
                          "; automatic re-bootstrap is off (auto_rebootstrap: false): this secondary keeps its "
                          "data at sequence " + (cursor ? std::to_string(*cursor) : std::string("(none)")) +
                          " and stops replicating until an operator requests a bootstrap "
                          "(Replicator::RequestBootstrap, control op request_bootstrap)";
  std::lock_guard<std::mutex> l(mu_);
  needs_bootstrap_ = why;
  return Status::FailedPrecondition(why);
}

Result<std::map<std::string, std::string>> DbSink::CarriedLocalKeys() {
  // Bounded so that a runaway store cannot make the install hold it all in memory.
  constexpr uint64_t kMaxCarriedBytes = uint64_t{64} << 20;
  std::map<std::string, std::string> out;
  uint64_t bytes = 0;
  for (std::string_view prefix : {kLocalSidecarPrefix, kLocalControlPrefix}) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->impl()->base()->NewIterator(rocksdb::ReadOptions(), db_->impl()->local_cf()));
    const rocksdb::Slice p(prefix.data(), prefix.size());
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
      bytes += it->key().size() + it->value().size();
      if (bytes > kMaxCarriedBytes) {
        return Status::ResourceExhausted("this node's sidecar/control keys exceed 64 MiB; they cannot be carried over "
                                         "a bootstrap install (clean up the sidecar's local store)");
      }
      out.emplace(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) return Status::IOError("reading this node's local keys: " + it->status().ToString());
  }
  return out;
}

Status DbSink::BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) {
  if (installer_) installer_->Abort();
  InstallerOptions io;
  io.db_options = db_->spec().db_options;
  ManagedDb* m = db_;
  io.cf_options = [m](const std::string& name) { return m->CfOptions(name); };
  if (options_.local_keys) io.local_keys = options_.local_keys();
  io.progress = [this, sequence](const InstallProgress& p) {
    std::lock_guard<std::mutex> l(mu_);
    progress_.active = true;
    progress_.checkpoint_sequence = sequence;
    progress_.files_done = p.files_done;
    progress_.files_total = p.files_total;
    progress_.bytes_done = p.bytes_done;
    progress_.bytes_total = p.bytes_total;
  };
  installer_ = std::make_unique<CheckpointInstaller>(db_->spec().path, std::move(io));
  Status s = installer_->BeginIncremental(sequence, file_count, total_bytes);
  if (!s.ok()) {
    installer_.reset();
    return s.WithContext("starting the bootstrap install");
  }
  current_file_.clear();
  return Status::OK();
}

Status DbSink::BeginFile(const std::string& name, uint64_t size) {
  if (!installer_) return Status::FailedPrecondition("FILE_BEGIN without a bootstrap in progress");
  ROCKSDR_RETURN_IF_ERROR(installer_->AddFile(name, size));
  current_file_ = name;
  return Status::OK();
}

Status DbSink::WriteFileChunk(uint64_t offset, std::string_view data) {
  if (!installer_ || current_file_.empty()) return Status::FailedPrecondition("FILE_CHUNK outside a file");
  return installer_->WriteChunk(current_file_, offset, data);
}

Status DbSink::FinishFile(uint32_t crc32c) {
  if (!installer_ || current_file_.empty()) return Status::FailedPrecondition("FILE_END outside a file");
  Status s = installer_->FinishFile(current_file_, crc32c);
  current_file_.clear();
  return s;
}

Status DbSink::CommitBootstrap() {
  if (!installer_) return Status::FailedPrecondition("BOOTSTRAP_END without a bootstrap in progress");
  std::unique_lock<std::shared_mutex> lock(*db_mu_);
  // Read under the exclusive lock: nothing (the control socket included) writes them until the
  // new DB is open.
  auto carried = db_->is_open() ? CarriedLocalKeys() : Result<std::map<std::string, std::string>>(
                                                            std::map<std::string, std::string>());
  if (!carried.ok()) {
    AbortBootstrap();
    return carried.status();
  }
  applier_.reset();
  Status closed = db_->Close();
  Result<uint64_t> seq = closed.ok() ? installer_->Commit(*carried) : Result<uint64_t>(closed);
  installer_.reset();
  current_file_.clear();
  Status reopened = db_->Reopen();  // the new DB, or the old one when the commit failed
  {
    std::lock_guard<std::mutex> l(mu_);
    progress_.active = false;
    if (seq.ok()) ++progress_.bootstraps;
  }
  if (!reopened.ok()) return reopened.WithContext("reopening the DB after the bootstrap install");
  Status init = Init();
  if (!seq.ok()) return seq.status().WithContext("installing the bootstrap checkpoint");
  if (!init.ok()) return init;
  if (Cursor() != std::optional<uint64_t>(*seq)) {
    return Status::Internal("after the install the cursor is not the checkpoint's sequence " + std::to_string(*seq));
  }
  return Status::OK();
}

void DbSink::AbortBootstrap() {
  if (installer_) installer_->Abort();
  installer_.reset();
  current_file_.clear();
  std::lock_guard<std::mutex> l(mu_);
  progress_.active = false;
}

Status DbSink::Recover() {
  // The session aborted the install already; the staging directory goes in any case (the next
  // attempt starts afresh: HELLO with the cursor as persisted, none after a wiped join).
  AbortBootstrap();
  if (!db_->is_open()) {
    // A failed install could not reopen the DB (CommitBootstrap, on this thread). Exclusive:
    // nothing else may use the DB while it is opened.
    std::unique_lock<std::shared_mutex> lock(*db_mu_);
    if (!db_->is_open()) {
      Status s = db_->Reopen();
      if (!s.ok()) return s.WithContext("reopening the secondary's DB at " + db_->spec().path);
    }
  }
  rocksdb::Status r;
  {
    std::shared_lock<std::shared_mutex> lock(*db_mu_);
    if (!db_->is_open()) return Status::Unavailable("the secondary's DB is closed");
    // OK at once when there is no background error. Otherwise RocksDB flushes the memtables and
    // switches to a new WAL (a batch half-written to the failed WAL is never replayed), and
    // fails, still read-only, while the flush cannot be written.
    r = db_->impl()->base()->Resume();
  }
  if (r.IsBusy() && !db_->impl()->events()->background_error_is_no_space()) {
    // RocksDB resumes the DB by itself (a retryable I/O error: its recovery thread retries every
    // bgerror_resume_retry_interval). Do not close the DB meanwhile: in RocksDB 7.8 a Close
    // while that thread retries can wait forever (facebook/rocksdb#11440). The next attempt
    // finds the error cleared (Resume: OK) once the storage works again.
    return Status::IOError("RocksDB is resuming the secondary's DB at " + db_->spec().path +
                           " by itself after a retryable I/O error (DB::Resume: " + r.ToString() +
                           "); trying again later");
  }
  if (!r.ok()) {
    // Resume could not clear the error. Either RocksDB's own "no space" recovery holds it (Busy:
    // its SstFileManager polls every 5 s until write_buffer_size bytes are free, which a small
    // volume never has; a Close cancels that recovery), or RocksDB will not resume from it at
    // all: a WAL write that failed with an I/O error that is neither "no space" nor retryable
    // stays the DB's error until it is reopened (fault.StorageErrorRecovery). Reopen: the WAL
    // is replayed up to its last complete record (a batch half-written to it is not), so the DB
    // holds exactly the batches whose cursor it holds. A reopen that fails (the disk still full
    // or failing) leaves the DB closed; the next attempt reopens it (above).
    applier_.reset();
    std::unique_lock<std::shared_mutex> lock(*db_mu_);
    Status s = db_->Reopen();
    if (!s.ok()) {
      return Status::IOError("reopening the secondary's DB at " + db_->spec().path + " after its storage failed (" +
                             r.ToString() + "): " + s.message());
    }
  }
  std::shared_lock<std::shared_mutex> lock(*db_mu_);
  if (!db_->is_open()) return Status::Unavailable("the secondary's DB is closed");
  // The applier (and the sync flags) start over from the persisted cursor: the failed batch's
  // cursor update was in the same WriteBatch as its records, so neither is in the DB.
  return Init().WithContext("reopening the applier after the storage failure");
}

std::string DbSink::StorageLocation() { return db_->spec().path; }

BootstrapProgress DbSink::bootstrap() const {
  std::lock_guard<std::mutex> l(mu_);
  return progress_;
}

std::optional<std::string> DbSink::needs_bootstrap() const {
  std::lock_guard<std::mutex> l(mu_);
  return needs_bootstrap_;
}

std::optional<uint64_t> DbSink::applied_epoch() const {
  const uint64_t v = epoch_plus_one_.load();
  return v == 0 ? std::nullopt : std::optional<uint64_t>(v - 1);
}

}  // namespace rocksdr::plugin
