// ReplicatedDBImpl: the DB wrapper behind rocksdr::ReplicatedDB (see rocksdr/rocksdr.h for the
// behaviour the application sees) and the internal API the rest of the plugin uses:
// the applier (base DB, local CF, handles by id, adopting handles it creates), the transport
// (tailers, status), and the control plane (SetRole, InternalWrite).
//
// Locking: fence_mu_ is held shared by every application write and InternalWrite (check +
// write + notify) and exclusively by SetRole, column-family create/drop and the marker phase of
// an ingestion. So no application write straddles a role change, and every marker batch is
// ALONE in its WAL record: RocksDB's group commit merges concurrent batches into one WAL
// record, and a marker merged with application records would reach the applier as one batch.
// ddl_mu_ serializes markers with the operations they describe. cf_mu_ guards the handle registry. Reads take no lock (role_ is atomic).
//
// Write ring (write_ring.h): on a primary, every batch the wrapper writes itself — application
// Write, Put/Delete/SingleDelete/DeleteRange/Merge (built as a one-record WriteBatch, as
// DB::Put does), InternalWrite and markers — is recorded in ring_ after DB::Write returns OK,
// before the notifier wakes the tailers, so they ship it from memory. Timestamped and
// wide-column single writes, state_store writes and anything written to the base DB are read
// from the WAL by the tailers instead.
//
// Who may include: plugin/src only. Threading: every method may be called from any thread.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ack_tracker.h"
#include "db_events.h"
#include "fence_mutex.h"
#include "marker.h"
#include "rocksdr/rocksdr.h"
#include "state_store.h"
#include "wal_tailer.h"
#include "write_notifier.h"
#include "wal_group_sync.h"
#include "write_ring.h"

namespace rocksdr::plugin {

class ReplicatedDBImpl : public ReplicatedDB {
 public:
  struct Parts {
    rocksdb::DB* base = nullptr;                          // owned by the wrapper from construction
    PluginOptions options;
    rocksdb::ColumnFamilyHandle* replicated_cf = nullptr;  // owned
    rocksdb::ColumnFamilyHandle* local_cf = nullptr;       // owned
    std::vector<rocksdb::ColumnFamilyHandle*> app_handles; // not owned (the application's)
    std::shared_ptr<DbEvents> events;
    bool listener_attached = false;
    NodeState state;                                       // as loaded from kLocalCf
  };
  explicit ReplicatedDBImpl(Parts parts);
  ~ReplicatedDBImpl() override;

  static ReplicatedDBImpl* From(ReplicatedDB* db) { return static_cast<ReplicatedDBImpl*>(db); }

  // --- rocksdr::ReplicatedDB
  Role role() const override { return role_.load(); }
  uint64_t epoch() const override { return epoch_.load(); }
  std::string cluster_id() const override;
  const PluginOptions& plugin_options() const override { return options_; }
  ReplicationStatus GetReplicationStatus() override;

  // --- internal API
  rocksdb::DB* base() const { return db_; }
  rocksdb::ColumnFamilyHandle* local_cf() const { return local_cf_; }
  rocksdb::ColumnFamilyHandle* replicated_cf() const { return replicated_cf_; }
  WriteNotifier* notifier() { return &notifier_; }
  const std::shared_ptr<DbEvents>& events() const { return events_; }
  StateStore* state_store() { return &state_store_; }
  // Synchronous replication's wait (fed by the runtime's PrimaryServer; see ack_tracker.h).
  AckTracker* ack_tracker() { return &ack_tracker_; }

  // A live handle for column family `id` (application's, reserved, created through the wrapper
  // or adopted), or nullptr. The handle stays valid until dropped+destroyed by its owner.
  rocksdb::ColumnFamilyHandle* CfHandleById(uint32_t id);
  // Takes ownership of a handle the plugin created on the base DB (the applier's cf-create).
  void AdoptCfHandle(rocksdb::ColumnFamilyHandle* handle);
  // Forgets `handle` and destroys it if the wrapper owns it (after the applier's cf-drop).
  Status ReleaseCfHandle(rocksdb::ColumnFamilyHandle* handle);

  // Changes and persists this node's role, epoch and cluster id (one synced batch). Becoming
  // primary, or changing epoch/cluster id as primary, writes an epoch marker in that batch:
  // the first record of the new history. Errors: kFailedPrecondition when the epoch would go
  // down within the same cluster; kInvalidArgument for a malformed cluster id; write errors.
  // `also`, if given, adds the caller's own local-state writes to that same batch (Promote wipes
  // the cursor and records how it authorizes secondaries with its epoch marker): all or nothing.
  Status SetRole(Role role, uint64_t epoch, const std::string& cluster_id,
                 const std::function<Status(rocksdb::WriteBatch*)>& also = {});

  // Writes a batch on behalf of rocksdr itself (e.g. control state in kReplicatedCf): not
  // refused by role (it still waits for role changes and markers) and allowed to name reserved column families; disableWAL still refused.
  // Wakes tailers.
  rocksdb::Status InternalWrite(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch);

  // Write fence of a superseded primary (invariant 4): while set, application writes, column
  // family changes and ingestions are refused with NotSupported(reason); reads are served.
  // Set by the replication runtime when it learns of a newer epoch; cleared by a role change
  // (SetRole) or ClearWriteFence (operator re-enable). Persisted (kLocalKeyFence, synced): a
  // fenced primary that restarts is fenced again at open. Sets the flag, then waits for the writes
  // in flight (takes the fence exclusively once): none is accepted after it returns. The in-memory fence is set first, so
  // writes are refused even when persisting fails (the error says so).
  Status SetWriteFence(const std::string& reason);
  Status ClearWriteFence();
  std::optional<std::string> write_fence() const;

  // Held while a bootstrap checkpoint is made: waits for the ingestions in progress and holds
  // off new ones. The ingest marker is written BEFORE the files are ingested, so a checkpoint
  // made when a tailer reaches the marker would otherwise miss the files — with no sequence gap
  // to show it when they take no global sequence number.
  std::unique_lock<std::shared_mutex> BlockIngestions() { return std::unique_lock<std::shared_mutex>(ingest_mu_); }

  // A tailer positioned at next_sequence (see WalTailer::Open).
  Result<std::unique_ptr<WalTailer>> NewTailer(uint64_t next_sequence);
  WalTailerContext TailerContext();

  // This opening of the DB, for SourceProvider::UntrustedPositionReason (a primary that lost an
  // unsynced WAL tail in a crash): the latest sequence when the wrapper was built (Open: what
  // RocksDB recovered; Attach: what the application's DB held at the attach), and the ids of the
  // secondaries that follow this opening. Any thread.
  uint64_t open_sequence() const { return open_sequence_; }
  bool FollowsThisOpening(const std::string& secondary_id) const;
  void MarkFollowsThisOpening(const std::string& secondary_id);

  // --- rocksdb::DB (fenced / marked overrides)
  using rocksdb::StackableDB::Put;
  rocksdb::Status Put(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                      const rocksdb::Slice& v) override;
  rocksdb::Status Put(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                      const rocksdb::Slice& ts, const rocksdb::Slice& v) override;
  using rocksdb::StackableDB::PutEntity;
  rocksdb::Status PutEntity(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                            const rocksdb::WideColumns& columns) override;
  using rocksdb::StackableDB::Delete;
  rocksdb::Status Delete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                         const rocksdb::Slice& k) override;
  rocksdb::Status Delete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                         const rocksdb::Slice& ts) override;
  using rocksdb::StackableDB::SingleDelete;
  rocksdb::Status SingleDelete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                               const rocksdb::Slice& k) override;
  rocksdb::Status SingleDelete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                               const rocksdb::Slice& k, const rocksdb::Slice& ts) override;
  using rocksdb::StackableDB::DeleteRange;
  rocksdb::Status DeleteRange(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                              const rocksdb::Slice& b, const rocksdb::Slice& e) override;
  rocksdb::Status DeleteRange(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                              const rocksdb::Slice& b, const rocksdb::Slice& e, const rocksdb::Slice& ts) override;
  using rocksdb::StackableDB::Merge;
  rocksdb::Status Merge(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                        const rocksdb::Slice& v) override;
  rocksdb::Status Write(const rocksdb::WriteOptions& o, rocksdb::WriteBatch* updates) override;

  using rocksdb::StackableDB::Get;
  rocksdb::Status Get(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                      rocksdb::PinnableSlice* v) override;
  using rocksdb::StackableDB::GetEntity;
  rocksdb::Status GetEntity(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                            rocksdb::PinnableWideColumns* columns) override;
  using rocksdb::StackableDB::GetMergeOperands;
  rocksdb::Status GetMergeOperands(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                   const rocksdb::Slice& k, rocksdb::PinnableSlice* operands,
                                   rocksdb::GetMergeOperandsOptions* gmo, int* n) override;
  using rocksdb::StackableDB::MultiGet;
  std::vector<rocksdb::Status> MultiGet(const rocksdb::ReadOptions& o,
                                        const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                                        const std::vector<rocksdb::Slice>& keys,
                                        std::vector<std::string>* values) override;
  void MultiGet(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf, const size_t n,
                const rocksdb::Slice* keys, rocksdb::PinnableSlice* values, rocksdb::Status* statuses,
                const bool sorted_input = false) override;
  using rocksdb::StackableDB::KeyMayExist;
  bool KeyMayExist(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& k,
                   std::string* value, bool* value_found = nullptr) override;
  using rocksdb::StackableDB::NewIterator;
  rocksdb::Iterator* NewIterator(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf) override;
  rocksdb::Status NewIterators(const rocksdb::ReadOptions& o, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                               std::vector<rocksdb::Iterator*>* iterators) override;
  const rocksdb::Snapshot* GetSnapshot() override;

  rocksdb::Status CreateColumnFamily(const rocksdb::ColumnFamilyOptions& o, const std::string& name,
                                     rocksdb::ColumnFamilyHandle** handle) override;
  rocksdb::Status CreateColumnFamilies(const rocksdb::ColumnFamilyOptions& o, const std::vector<std::string>& names,
                                       std::vector<rocksdb::ColumnFamilyHandle*>* handles) override;
  rocksdb::Status CreateColumnFamilies(const std::vector<rocksdb::ColumnFamilyDescriptor>& descs,
                                       std::vector<rocksdb::ColumnFamilyHandle*>* handles) override;
  rocksdb::Status DropColumnFamily(rocksdb::ColumnFamilyHandle* cf) override;
  rocksdb::Status DropColumnFamilies(const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) override;
  rocksdb::Status DestroyColumnFamilyHandle(rocksdb::ColumnFamilyHandle* cf) override;
  using rocksdb::StackableDB::CreateColumnFamilyWithImport;
  rocksdb::Status CreateColumnFamilyWithImport(const rocksdb::ColumnFamilyOptions& o, const std::string& name,
                                               const rocksdb::ImportColumnFamilyOptions& io,
                                               const rocksdb::ExportImportFilesMetaData& md,
                                               rocksdb::ColumnFamilyHandle** handle) override;
  using rocksdb::StackableDB::IngestExternalFile;
  rocksdb::Status IngestExternalFile(rocksdb::ColumnFamilyHandle* cf, const std::vector<std::string>& files,
                                     const rocksdb::IngestExternalFileOptions& o) override;
  using rocksdb::StackableDB::IngestExternalFiles;
  rocksdb::Status IngestExternalFiles(const std::vector<rocksdb::IngestExternalFileArg>& args) override;
  rocksdb::Status DeleteFile(std::string name) override;

 private:
  bool IsReserved(rocksdb::ColumnFamilyHandle* cf) const;
  rocksdb::Status SecondaryRefusal() const;
  rocksdb::Status ReservedRefusal() const;
  rocksdb::Status CheckRead(rocksdb::ColumnFamilyHandle* cf) const;
  // REQUIRES: fence_mu_ held (shared or exclusive).
  rocksdb::Status CheckWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf) const;
  // `batch`: what write() wrote, if it is one WriteBatch (its sequence tells the synchronous
  // wait which sequences are this write's own, and it is recorded in the write ring); nullptr:
  // the DB's latest sequence after the write is waited for instead (a superset). `scan`:
  // ScanBatch of `batch` when known (saves the tailers a scan).
  template <typename F>
  rocksdb::Status FencedWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, F&& write,
                              const rocksdb::WriteBatch* batch = nullptr, const BatchScan* scan = nullptr);
  // One-operation writes go through a WriteBatch filled by fill(batch) (as DB::Put does
  // internally) when it is useful: synchronous ack modes wait only for their own sequence, and
  // the write ring records the batch.
  template <typename F>
  rocksdb::Status BatchWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf, size_t reserve,
                             F&& fill);
  bool WantsBatch() const { return ack_tracker_.enabled() || ring_ != nullptr; }
  // Runs write() (a DB::Write of `batch`) and records `batch` in the ring on a primary.
  // REQUIRES: fence_mu_ held (shared or exclusive).
  template <typename F>
  rocksdb::Status RecordedWrite(const rocksdb::WriteBatch* batch, const BatchScan* scan, F&& write);
  // After a successful write whose last sequence is `last`: waits for the secondaries' confirmation
  // (AckTracker) and turns an unconfirmed outcome into the Status documented in rocksdr.h.
  rocksdb::Status AwaitConfirmation(uint64_t last);
  // Writes a marker batch (PutLogData + a kLocalCf Put, synced). REQUIRES: ddl_mu_ held.
  rocksdb::Status WriteMarker(const Marker& marker);
  rocksdb::Status CreateOne(const rocksdb::ColumnFamilyOptions& o, const std::string& name,
                            rocksdb::ColumnFamilyHandle** handle);
  rocksdb::Status DropOne(rocksdb::ColumnFamilyHandle* cf);
  void Register(rocksdb::ColumnFamilyHandle* handle, bool owned);
  void NotifyWritten() { notifier_.Notify(db_->GetLatestSequenceNumber()); }

  const PluginOptions options_;
  rocksdb::ColumnFamilyHandle* const replicated_cf_;
  rocksdb::ColumnFamilyHandle* const local_cf_;
  const uint32_t replicated_cf_id_;
  const uint32_t local_cf_id_;
  const std::shared_ptr<DbEvents> events_;
  const bool listener_attached_;
  StateStore state_store_;
  WriteNotifier notifier_;
  AckTracker ack_tracker_;
  const uint64_t open_sequence_;
  mutable std::mutex follows_mu_;
  std::set<std::string> follows_;  // GUARDED_BY(follows_mu_); bounded (kMaxFollowers)
  WalGroupSync wal_sync_;  // synchronous ack modes: the primary's WAL sync after shipping began
  const std::unique_ptr<WriteRing> ring_;  // null when options_.write_ring_bytes == 0
  TailerCounters tailer_counters_;

  std::atomic<bool> fenced_{false};
  // The fence is complete (writes in flight drained, its record written): only then does status
  // report it, so a fenced status's latest sequence does not move any more.
  std::atomic<bool> fence_settled_{false};
  std::string fence_reason_;  // GUARDED_BY(identity_mu_)
  std::mutex fence_persist_mu_;  // serializes SetWriteFence / ClearWriteFence (memory + kLocalKeyFence)

  std::atomic<Role> role_;
  std::atomic<uint64_t> epoch_;
  mutable std::mutex identity_mu_;
  std::string cluster_id_;  // GUARDED_BY(identity_mu_)

  FenceMutex fence_mu_;  // fence_mutex.h: cheaper than std::shared_mutex on the write path
  std::shared_mutex ingest_mu_;  // shared: an ingestion (marker + files); exclusive: BlockIngestions
  std::mutex ddl_mu_;
  std::mutex cf_mu_;
  std::unordered_map<uint32_t, rocksdb::ColumnFamilyHandle*> cf_by_id_;  // GUARDED_BY(cf_mu_)
  std::unordered_set<rocksdb::ColumnFamilyHandle*> owned_;              // GUARDED_BY(cf_mu_)
};

}  // namespace rocksdr::plugin
