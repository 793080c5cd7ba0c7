// ReplicatedDBImpl; see replicated_db.h and rocksdr/rocksdr.h.
#include "replicated_db.h"

#include <rocksdb/iterator.h>

#include <utility>

#include <spdlog/spdlog.h>

#include "batch_scan.h"
#include "rocksdr/crypto/random.h"
#include "coding.h"
#include "reserved_cf.h"
#include "wal_window.h"

namespace rocksdr::plugin {

namespace {
constexpr std::string_view kLocalKeyMarker = "marker";  // see marker.h: marker batch layout

// What ScanBatch says of a one-record batch the wrapper built for an application column family.
const BatchScan& OneApplicationRecord() {
  static const BatchScan scan = [] {
    BatchScan s;
    s.records = 1;
    return s;
  }();
  return scan;
}
}

ReplicatedDBImpl::ReplicatedDBImpl(Parts p)
    : ReplicatedDB(p.base),
      options_(std::move(p.options)),
      replicated_cf_(p.replicated_cf),
      local_cf_(p.local_cf),
      replicated_cf_id_(p.replicated_cf->GetID()),
      local_cf_id_(p.local_cf->GetID()),
      events_(p.events ? std::move(p.events) : std::make_shared<DbEvents>()),
      listener_attached_(p.listener_attached),
      state_store_(p.base, p.local_cf),
      notifier_(p.base->GetLatestSequenceNumber()),
      ack_tracker_(AckTracker::FromOptions(options_)),
      open_sequence_(p.base->GetLatestSequenceNumber()),
      wal_sync_(p.base, events_.get()),
      ring_(options_.write_ring_bytes > 0 ? std::make_unique<WriteRing>(options_.write_ring_bytes) : nullptr),
      role_(p.state.role.value_or(options_.role)),
      epoch_(p.state.epoch),
      cluster_id_(std::move(p.state.cluster_id)) {
  Register(db_->DefaultColumnFamily(), false);
  Register(replicated_cf_, true);
  Register(local_cf_, true);
  for (auto* h : p.app_handles) Register(h, false);
  if (p.state.fence && role_.load() == Role::kPrimary) {
    fence_reason_ = *p.state.fence + " (recorded before this node restarted)";
    fenced_.store(true);
    fence_settled_.store(true);
  }
}

ReplicatedDBImpl::~ReplicatedDBImpl() {
  notifier_.Shutdown();
  std::lock_guard<std::mutex> lock(cf_mu_);
  for (auto* h : owned_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  owned_.clear();
  cf_by_id_.clear();
}

std::string ReplicatedDBImpl::cluster_id() const {
  std::lock_guard<std::mutex> lock(identity_mu_);
  return cluster_id_;
}

// ---------------------------------------------------------------- handle registry

void ReplicatedDBImpl::Register(rocksdb::ColumnFamilyHandle* handle, bool owned) {
  if (handle == nullptr) return;
  std::lock_guard<std::mutex> lock(cf_mu_);
  cf_by_id_[handle->GetID()] = handle;
  if (owned) owned_.insert(handle);
}

rocksdb::ColumnFamilyHandle* ReplicatedDBImpl::CfHandleById(uint32_t id) {
  std::lock_guard<std::mutex> lock(cf_mu_);
  auto it = cf_by_id_.find(id);
  return it == cf_by_id_.end() ? nullptr : it->second;
}

void ReplicatedDBImpl::AdoptCfHandle(rocksdb::ColumnFamilyHandle* handle) { Register(handle, true); }

Status ReplicatedDBImpl::ReleaseCfHandle(rocksdb::ColumnFamilyHandle* handle) {
  if (handle == replicated_cf_ || handle == local_cf_) {
    return Status::InvalidArgument("rocksdr's reserved column family handles cannot be released");
  }
  bool owned = false;
  {
    std::lock_guard<std::mutex> lock(cf_mu_);
    auto it = cf_by_id_.find(handle->GetID());
    if (it != cf_by_id_.end() && it->second == handle) cf_by_id_.erase(it);
    owned = owned_.erase(handle) > 0;
  }
  if (!owned) return Status::OK();
  rocksdb::Status s = db_->DestroyColumnFamilyHandle(handle);
  return s.ok() ? Status::OK() : Status::Internal("destroying a column family handle: " + s.ToString());
}

rocksdb::Status ReplicatedDBImpl::DestroyColumnFamilyHandle(rocksdb::ColumnFamilyHandle* cf) {
  if (IsReserved(cf)) return ReservedRefusal();
  {
    std::lock_guard<std::mutex> lock(cf_mu_);
    if (owned_.count(cf) > 0) {
      return rocksdb::Status::InvalidArgument("this column family handle belongs to rocksdr");
    }
    auto it = cf != nullptr ? cf_by_id_.find(cf->GetID()) : cf_by_id_.end();
    if (it != cf_by_id_.end() && it->second == cf) cf_by_id_.erase(it);
  }
  return db_->DestroyColumnFamilyHandle(cf);
}

// ---------------------------------------------------------------- fencing

bool ReplicatedDBImpl::IsReserved(rocksdb::ColumnFamilyHandle* cf) const {
  if (cf == nullptr) return false;
  const uint32_t id = cf->GetID();
  return id == replicated_cf_id_ || id == local_cf_id_;
}

rocksdb::Status ReplicatedDBImpl::SecondaryRefusal() const {
  return rocksdb::Status::NotSupported("DR secondary: not serving requests until promoted (role=secondary, epoch=" +
                                       std::to_string(epoch_.load()) + ")");
}

rocksdb::Status ReplicatedDBImpl::ReservedRefusal() const {
  return rocksdb::Status::InvalidArgument("column families " + std::string(kReplicatedCf) + " and " +
                                          std::string(kLocalCf) + " are reserved for rocksdr");
}

rocksdb::Status ReplicatedDBImpl::CheckRead(rocksdb::ColumnFamilyHandle* cf) const {
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  if (IsReserved(cf)) return ReservedRefusal();
  return rocksdb::Status::OK();
}

rocksdb::Status ReplicatedDBImpl::CheckWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf) const {
  const Role role = role_.load();
  if (role == Role::kSecondary) return SecondaryRefusal();
  if (IsReserved(cf)) return ReservedRefusal();
  if (fenced_.load()) {
    std::lock_guard<std::mutex> lock(identity_mu_);
    return rocksdb::Status::NotSupported(fence_reason_);
  }
  if (role == Role::kPrimary && o.disableWAL) {
    return rocksdb::Status::InvalidArgument(
        "WriteOptions::disableWAL is refused on a DR primary: a write without a WAL record cannot be "
        "replicated and would leave every secondary with a gap; write with the WAL enabled");
  }
  return rocksdb::Status::OK();
}

template <typename F>
rocksdb::Status ReplicatedDBImpl::RecordedWrite(const rocksdb::WriteBatch* batch, const BatchScan* scan, F&& write) {
  if (ring_ == nullptr || batch == nullptr || role_.load() != Role::kPrimary) return write();
  const uint64_t ticket = ring_->BeginWrite();
  rocksdb::Status s = write();
  ring_->Finish(ticket, s.ok() ? batch : nullptr, s.ok() ? scan : nullptr);
  return s;
}

template <typename F>
rocksdb::Status ReplicatedDBImpl::FencedWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                              F&& write, const rocksdb::WriteBatch* batch, const BatchScan* scan) {
  uint64_t last = 0;             // 0: nothing to confirm
  bool sync_after = false;       // the local WAL sync runs after shipping began (wal_group_sync.h)
  {
    std::shared_lock<FenceMutex> fence(fence_mu_);
    rocksdb::Status s = CheckWrite(o, cf);
    if (!s.ok()) return s;
    const bool confirm = ack_tracker_.enabled() && role_.load() == Role::kPrimary;
    sync_after = o.sync && confirm;
    rocksdb::WriteOptions unsynced;
    if (sync_after) {
      unsynced = o;
      unsynced.sync = false;
    }
    const rocksdb::WriteOptions& wo = sync_after ? unsynced : o;
    s = RecordedWrite(batch, scan, [&] { return write(wo); });
    if (!s.ok()) return s;
    NotifyWritten();
    if (confirm) {
      // RocksDB stores the sequence it assigned in the batch's header (WriteBatchInternal::
      // SetSequence, also for every member of a write group): the batch consumed
      // [seq, seq + Count() - 1]. A LogData-only batch (seq != 0, Count 0) consumed none:
      // nothing to confirm.
      const uint64_t seq =
          batch != nullptr ? DecodeFixed64(std::string_view(batch->Data()).substr(0, 8)).value_or(0) : 0;
      if (seq != 0 && batch->Count() != 0) {
        last = seq + batch->Count() - 1;
      } else if (seq == 0) {
        last = db_->GetLatestSequenceNumber();
      }
    }
  }
  // Outside the fence: a role change must wait neither for an fsync nor for the secondaries.
  if (sync_after) {
    rocksdb::Status synced = wal_sync_.SyncAfter();
    if (!synced.ok()) {
      return rocksdb::Status::IOError("rocksdr: the write is applied on the primary but syncing its WAL failed",
                                      synced.ToString());
    }
  }
  return last == 0 ? rocksdb::Status::OK() : AwaitConfirmation(last);
}

template <typename F>
rocksdb::Status ReplicatedDBImpl::BatchWrite(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                             size_t reserve, F&& fill) {
  rocksdb::WriteBatch batch(reserve, 0, o.protection_bytes_per_key, 0);
  rocksdb::Status s = fill(batch);
  if (!s.ok()) return s;
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Write(wo, &batch); }, &batch, &OneApplicationRecord());
}

rocksdb::Status ReplicatedDBImpl::AwaitConfirmation(uint64_t last) {
  const AckTracker::WaitResult r = ack_tracker_.WaitFor(last);
  switch (r.outcome) {
    case AckTracker::Outcome::kConfirmed:
    case AckTracker::Outcome::kDegraded:
      return rocksdb::Status::OK();
    case AckTracker::Outcome::kTimedOut:
    case AckTracker::Outcome::kInterrupted:
      break;
  }
  const AckTracker::Config& c = ack_tracker_.config();
  const std::string why =
      r.outcome == AckTracker::Outcome::kInterrupted
          ? "the primary stopped serving while it waited (" + r.reason + ")"
          : "no confirmation within " + std::to_string(c.timeout.count()) + " ms";
  return rocksdb::Status::TimedOut(
      "rocksdr: the write (up to sequence " + std::to_string(last) +
      ") is written on the primary but NOT confirmed by " + std::to_string(c.count) + " secondar" +
      (c.count == 1 ? "y" : "ies") + " (ack mode " + std::string(AckModeName(c.mode)) + ": " + why +
      "; confirmed up to sequence " + std::to_string(r.confirmed_sequence) +
      "). It stays on the primary and replicates when a secondary catches up; a failover before then loses it. "
      "Check the secondaries (status), or set ack.on_timeout: degrade");
}

// ---------------------------------------------------------------- writes

rocksdb::Status ReplicatedDBImpl::Put(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                      const rocksdb::Slice& k, const rocksdb::Slice& v) {
  if (WantsBatch()) {
    return BatchWrite(o, cf, k.size() + v.size() + 24, [&](rocksdb::WriteBatch& b) { return b.Put(cf, k, v); });
  }
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Put(wo, cf, k, v); });
}
rocksdb::Status ReplicatedDBImpl::Put(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                      const rocksdb::Slice& k, const rocksdb::Slice& ts, const rocksdb::Slice& v) {
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Put(wo, cf, k, ts, v); });
}
rocksdb::Status ReplicatedDBImpl::PutEntity(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                            const rocksdb::Slice& k, const rocksdb::WideColumns& columns) {
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->PutEntity(wo, cf, k, columns); });
}
rocksdb::Status ReplicatedDBImpl::Delete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                         const rocksdb::Slice& k) {
  if (WantsBatch()) {
    return BatchWrite(o, cf, k.size() + 24, [&](rocksdb::WriteBatch& b) { return b.Delete(cf, k); });
  }
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Delete(wo, cf, k); });
}
rocksdb::Status ReplicatedDBImpl::Delete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                         const rocksdb::Slice& k, const rocksdb::Slice& ts) {
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Delete(wo, cf, k, ts); });
}
rocksdb::Status ReplicatedDBImpl::SingleDelete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                               const rocksdb::Slice& k) {
  if (WantsBatch()) {
    return BatchWrite(o, cf, k.size() + 24, [&](rocksdb::WriteBatch& b) { return b.SingleDelete(cf, k); });
  }
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->SingleDelete(wo, cf, k); });
}
rocksdb::Status ReplicatedDBImpl::SingleDelete(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                               const rocksdb::Slice& k, const rocksdb::Slice& ts) {
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->SingleDelete(wo, cf, k, ts); });
}
rocksdb::Status ReplicatedDBImpl::DeleteRange(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                              const rocksdb::Slice& b, const rocksdb::Slice& e) {
  if (WantsBatch()) {
    return BatchWrite(o, cf, b.size() + e.size() + 24,
                      [&](rocksdb::WriteBatch& batch) { return batch.DeleteRange(cf, b, e); });
  }
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->DeleteRange(wo, cf, b, e); });
}
rocksdb::Status ReplicatedDBImpl::DeleteRange(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                              const rocksdb::Slice& b, const rocksdb::Slice& e,
                                              const rocksdb::Slice& ts) {
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->DeleteRange(wo, cf, b, e, ts); });
}
rocksdb::Status ReplicatedDBImpl::Merge(const rocksdb::WriteOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                        const rocksdb::Slice& k, const rocksdb::Slice& v) {
  if (WantsBatch()) {
    return BatchWrite(o, cf, k.size() + v.size() + 24, [&](rocksdb::WriteBatch& b) { return b.Merge(cf, k, v); });
  }
  return FencedWrite(o, cf, [&](const rocksdb::WriteOptions& wo) { return db_->Merge(wo, cf, k, v); });
}

rocksdb::Status ReplicatedDBImpl::Write(const rocksdb::WriteOptions& o, rocksdb::WriteBatch* updates) {
  // Scanned once: for the refusals below (after the role checks) and for the tailers (ring).
  std::optional<Result<BatchScan>> scan;
  if (updates != nullptr) scan.emplace(ScanBatch(*updates, local_cf_id_, replicated_cf_id_));
  const BatchScan* known = scan && scan->ok() ? &**scan : nullptr;
  return FencedWrite(o, nullptr, [&](const rocksdb::WriteOptions& wo) {
    if (scan) {
      if (!scan->ok()) return rocksdb::Status::InvalidArgument(scan->status().message());
      if ((*scan)->has_local_cf || (*scan)->has_replicated_cf) return ReservedRefusal();
      if (!(*scan)->marker_blobs.empty()) {
        return rocksdb::Status::InvalidArgument("LogData blobs starting with '" + std::string(kMarkerPrefix) +
                                                "' are reserved for rocksdr's replication markers");
      }
    }
    return db_->Write(wo, updates);
  }, updates, known);
}

rocksdb::Status ReplicatedDBImpl::InternalWrite(const rocksdb::WriteOptions& o, rocksdb::WriteBatch* batch) {
  std::shared_lock<FenceMutex> fence(fence_mu_);
  if (o.disableWAL && role_.load() == Role::kPrimary) {
    return rocksdb::Status::InvalidArgument("WriteOptions::disableWAL is refused on a DR primary");
  }
  rocksdb::Status s = RecordedWrite(batch, nullptr, [&] { return db_->Write(o, batch); });
  if (s.ok()) NotifyWritten();
  return s;
}

// ---------------------------------------------------------------- reads

rocksdb::Status ReplicatedDBImpl::Get(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                      const rocksdb::Slice& k, rocksdb::PinnableSlice* v) {
  rocksdb::Status s = CheckRead(cf);
  return s.ok() ? db_->Get(o, cf, k, v) : s;
}
rocksdb::Status ReplicatedDBImpl::GetEntity(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                            const rocksdb::Slice& k, rocksdb::PinnableWideColumns* columns) {
  rocksdb::Status s = CheckRead(cf);
  return s.ok() ? db_->GetEntity(o, cf, k, columns) : s;
}
rocksdb::Status ReplicatedDBImpl::GetMergeOperands(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                                   const rocksdb::Slice& k, rocksdb::PinnableSlice* operands,
                                                   rocksdb::GetMergeOperandsOptions* gmo, int* n) {
  rocksdb::Status s = CheckRead(cf);
  return s.ok() ? db_->GetMergeOperands(o, cf, k, operands, gmo, n) : s;
}
std::vector<rocksdb::Status> ReplicatedDBImpl::MultiGet(const rocksdb::ReadOptions& o,
                                                        const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                                                        const std::vector<rocksdb::Slice>& keys,
                                                        std::vector<std::string>* values) {
  for (auto* cf : cfs) {
    rocksdb::Status s = CheckRead(cf);
    if (!s.ok()) {
      if (values != nullptr) values->assign(keys.size(), std::string());
      return std::vector<rocksdb::Status>(keys.size(), s);
    }
  }
  return db_->MultiGet(o, cfs, keys, values);
}
void ReplicatedDBImpl::MultiGet(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf, const size_t n,
                                const rocksdb::Slice* keys, rocksdb::PinnableSlice* values,
                                rocksdb::Status* statuses, const bool sorted_input) {
  rocksdb::Status s = CheckRead(cf);
  if (!s.ok()) {
    for (size_t i = 0; i < n; ++i) statuses[i] = s;
    return;
  }
  db_->MultiGet(o, cf, n, keys, values, statuses, sorted_input);
}
bool ReplicatedDBImpl::KeyMayExist(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf,
                                   const rocksdb::Slice& k, std::string* value, bool* value_found) {
  if (!CheckRead(cf).ok()) {
    if (value_found != nullptr) *value_found = false;
    return true;  // "may exist" reveals nothing; the Get that follows is refused
  }
  return db_->KeyMayExist(o, cf, k, value, value_found);
}
rocksdb::Iterator* ReplicatedDBImpl::NewIterator(const rocksdb::ReadOptions& o, rocksdb::ColumnFamilyHandle* cf) {
  rocksdb::Status s = CheckRead(cf);
  return s.ok() ? db_->NewIterator(o, cf) : rocksdb::NewErrorIterator(s);
}
rocksdb::Status ReplicatedDBImpl::NewIterators(const rocksdb::ReadOptions& o,
                                               const std::vector<rocksdb::ColumnFamilyHandle*>& cfs,
                                               std::vector<rocksdb::Iterator*>* iterators) {
  for (auto* cf : cfs) {
    rocksdb::Status s = CheckRead(cf);
    if (!s.ok()) return s;
  }
  return db_->NewIterators(o, cfs, iterators);
}
const rocksdb::Snapshot* ReplicatedDBImpl::GetSnapshot() {
  if (role_.load() == Role::kSecondary) return nullptr;
  return db_->GetSnapshot();
}

// ---------------------------------------------------------------- column families, ingestion

rocksdb::Status ReplicatedDBImpl::WriteMarker(const Marker& marker) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.PutLogData(EncodeMarker(marker));
  if (s.ok()) {
    s = batch.Put(local_cf_, rocksdb::Slice(kLocalKeyMarker.data(), kLocalKeyMarker.size()),
                  EncodeFixed64(db_->GetLatestSequenceNumber() + 1));
  }
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = RecordedWrite(&batch, nullptr, [&] { return db_->Write(wo, &batch); });
  }
  if (s.ok()) NotifyWritten();
  return s;
}

rocksdb::Status ReplicatedDBImpl::CreateOne(const rocksdb::ColumnFamilyOptions& o, const std::string& name,
                                            rocksdb::ColumnFamilyHandle** handle) {
  if (name == kReplicatedCf || name == kLocalCf) return ReservedRefusal();
  std::lock_guard<std::mutex> ddl(ddl_mu_);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(o, name, &h);
  if (!s.ok()) return s;
  if (role_.load() == Role::kPrimary) {
    s = WriteMarker(Marker{MarkerKind::kCfCreate, h->GetID(), name, 0, {}});
    if (!s.ok()) {
      // Without its marker secondaries could not follow: undo the creation.
      rocksdb::Status undo = db_->DropColumnFamily(h);
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      return rocksdb::Status::IOError("column family '" + name +
                                      "' could not be recorded for replication (" + s.ToString() + ")" +
                                      (undo.ok() ? "; it was dropped again" : "; dropping it again failed: " + undo.ToString()));
    }
  }
  Register(h, false);
  *handle = h;
  return s;
}

rocksdb::Status ReplicatedDBImpl::CreateColumnFamily(const rocksdb::ColumnFamilyOptions& o, const std::string& name,
                                                     rocksdb::ColumnFamilyHandle** handle) {
  std::unique_lock<FenceMutex> fence(fence_mu_);  // markers alone in their WAL record
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  if (auto f = write_fence()) return rocksdb::Status::NotSupported(*f);
  return CreateOne(o, name, handle);
}

rocksdb::Status ReplicatedDBImpl::CreateColumnFamilies(const rocksdb::ColumnFamilyOptions& o,
                                                       const std::vector<std::string>& names,
                                                       std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, o);
  return CreateColumnFamilies(descs, handles);
}

rocksdb::Status ReplicatedDBImpl::CreateColumnFamilies(const std::vector<rocksdb::ColumnFamilyDescriptor>& descs,
                                                       std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  std::unique_lock<FenceMutex> fence(fence_mu_);  // markers alone in their WAL record
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  for (const auto& d : descs) {
    if (d.name == kReplicatedCf || d.name == kLocalCf) return ReservedRefusal();
  }
  // One at a time, each followed by its marker (RocksDB's batch creation is not atomic either:
  // on failure the ones created so far are returned, as DB::CreateColumnFamilies does).
  handles->clear();
  for (const auto& d : descs) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status s = CreateOne(d.options, d.name, &h);
    if (!s.ok()) return s;
    handles->push_back(h);
  }
  return rocksdb::Status::OK();
}

rocksdb::Status ReplicatedDBImpl::DropOne(rocksdb::ColumnFamilyHandle* cf) {
  if (IsReserved(cf)) return ReservedRefusal();
  std::lock_guard<std::mutex> ddl(ddl_mu_);
  const uint32_t id = cf->GetID();
  const std::string name = cf->GetName();
  rocksdb::Status s = db_->DropColumnFamily(cf);
  if (!s.ok()) return s;
  if (role_.load() == Role::kPrimary) {
    s = WriteMarker(Marker{MarkerKind::kCfDrop, id, name, 0, {}});
    if (!s.ok()) {
      return rocksdb::Status::IOError("column family '" + name +
                                      "' was dropped but the drop could not be recorded for replication (" +
                                      s.ToString() + "); secondaries need a re-bootstrap");
    }
  }
  return s;
}

rocksdb::Status ReplicatedDBImpl::DropColumnFamily(rocksdb::ColumnFamilyHandle* cf) {
  std::unique_lock<FenceMutex> fence(fence_mu_);  // markers alone in their WAL record
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  if (auto f = write_fence()) return rocksdb::Status::NotSupported(*f);
  return DropOne(cf);
}

rocksdb::Status ReplicatedDBImpl::DropColumnFamilies(const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) {
  std::unique_lock<FenceMutex> fence(fence_mu_);  // markers alone in their WAL record
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  for (auto* cf : cfs) {
    if (IsReserved(cf)) return ReservedRefusal();
  }
  for (auto* cf : cfs) {
    rocksdb::Status s = DropOne(cf);
    if (!s.ok()) return s;
  }
  return rocksdb::Status::OK();
}

rocksdb::Status ReplicatedDBImpl::CreateColumnFamilyWithImport(const rocksdb::ColumnFamilyOptions& o,
                                                               const std::string& name,
                                                               const rocksdb::ImportColumnFamilyOptions& io,
                                                               const rocksdb::ExportImportFilesMetaData& md,
                                                               rocksdb::ColumnFamilyHandle** handle) {
  std::shared_lock<FenceMutex> fence(fence_mu_);
  const Role role = role_.load();
  if (role == Role::kSecondary) return SecondaryRefusal();
  if (name == kReplicatedCf || name == kLocalCf) return ReservedRefusal();
  if (role == Role::kPrimary) {
    return rocksdb::Status::NotSupported(
        "CreateColumnFamilyWithImport is refused on a DR primary: imported files are not in the WAL and "
        "cannot be replicated; create the column family and write or ingest its data");
  }
  rocksdb::Status s = db_->CreateColumnFamilyWithImport(o, name, io, md, handle);
  if (s.ok()) Register(*handle, false);
  return s;
}

rocksdb::Status ReplicatedDBImpl::IngestExternalFile(rocksdb::ColumnFamilyHandle* cf,
                                                     const std::vector<std::string>& files,
                                                     const rocksdb::IngestExternalFileOptions& o) {
  rocksdb::IngestExternalFileArg arg;
  arg.column_family = cf;
  arg.external_files = files;
  arg.options = o;
  return IngestExternalFiles({arg});
}

rocksdb::Status ReplicatedDBImpl::IngestExternalFiles(const std::vector<rocksdb::IngestExternalFileArg>& args) {
  for (const auto& a : args) {
    if (IsReserved(a.column_family)) return ReservedRefusal();
  }
  // From the marker until the files are in: a bootstrap checkpoint waits (BlockIngestions).
  std::shared_lock<std::shared_mutex> ingesting(ingest_mu_);
  {
    // Before ingesting: the marker tells tailers why the stream must stop here (see rocksdr.h).
    std::unique_lock<FenceMutex> fence(fence_mu_);
    const Role role = role_.load();
    if (role == Role::kSecondary) return SecondaryRefusal();
    if (auto f = write_fence()) return rocksdb::Status::NotSupported(*f);
    if (role == Role::kPrimary) {
      std::lock_guard<std::mutex> ddl(ddl_mu_);
      for (const auto& a : args) {
        auto* cf = a.column_family != nullptr ? a.column_family : db_->DefaultColumnFamily();
        rocksdb::Status s = WriteMarker(Marker{MarkerKind::kIngest, cf->GetID(), "", a.external_files.size(), {}});
        if (!s.ok()) return s;
      }
    }
  }
  // The ingestion itself (possibly long: it may flush) runs with writes allowed.
  std::shared_lock<FenceMutex> fence(fence_mu_);
  if (role_.load() == Role::kSecondary) return SecondaryRefusal();
  rocksdb::Status s = db_->IngestExternalFiles(args);
  if (s.ok()) {
    if (!listener_attached_) events_->RecordIngestion(0);
    NotifyWritten();
  }
  return s;
}

rocksdb::Status ReplicatedDBImpl::DeleteFile(std::string name) {
  const Role role = role_.load();
  if (role == Role::kSecondary) return SecondaryRefusal();
  if (role == Role::kPrimary) {
    return rocksdb::Status::NotSupported(
        "DeleteFile is refused on a DR primary: it removes data without a WAL record, so secondaries "
        "would keep it");
  }
  return db_->DeleteFile(std::move(name));
}

// ---------------------------------------------------------------- role, status, tailers

Status ReplicatedDBImpl::SetRole(Role role, uint64_t epoch, const std::string& cluster_id,
                                 const std::function<Status(rocksdb::WriteBatch*)>& also) {
  ROCKSDR_RETURN_IF_ERROR(StateStore::ValidateClusterId(cluster_id));
  std::unique_lock<FenceMutex> fence(fence_mu_);
  std::lock_guard<std::mutex> ddl(ddl_mu_);
  const std::string old_cluster = this->cluster_id();
  const uint64_t old_epoch = epoch_.load();
  if (cluster_id == old_cluster && epoch < old_epoch) {
    return Status::FailedPrecondition("epoch " + std::to_string(epoch) + " is older than this node's epoch " +
                                      std::to_string(old_epoch) + " in the same cluster");
  }
  rocksdb::WriteBatch batch;
  const bool new_history = role == Role::kPrimary &&
                           (role_.load() != Role::kPrimary || epoch != old_epoch || cluster_id != old_cluster);
  if (new_history) {
    // The history's id tells it apart from another site's promotion to the same epoch.
    Result<std::string> history = crypto::RandomUuid();
    if (!history.ok()) return history.status().WithContext("choosing the new history's id");
    Marker marker{MarkerKind::kEpoch, epoch, cluster_id, 0, {}};
    marker.history = *history;
    rocksdb::Status s = batch.PutLogData(EncodeMarker(marker));
    if (s.ok()) s = batch.Put(local_cf_, rocksdb::Slice(kLocalKeyHistory.data(), kLocalKeyHistory.size()), *history);
    if (!s.ok()) return Status::Internal("building the epoch marker: " + s.ToString());
  }
  if (also) ROCKSDR_RETURN_IF_ERROR(also(&batch));
  ROCKSDR_RETURN_IF_ERROR(state_store_.Save(role, epoch, cluster_id, &batch));
  {
    std::lock_guard<std::mutex> lock(identity_mu_);
    cluster_id_ = cluster_id;
    fence_reason_.clear();
  }
  fenced_.store(false);
  fence_settled_.store(false);
  epoch_.store(epoch);
  role_.store(role);
  NotifyWritten();
  return Status::OK();
}

Status ReplicatedDBImpl::SetWriteFence(const std::string& reason) {
  const std::string r = reason.empty() ? std::string("fenced: application writes are refused") : reason;
  std::lock_guard<std::mutex> persist(fence_persist_mu_);  // memory and disk change together
  {
    std::lock_guard<std::mutex> lock(identity_mu_);
    fence_reason_ = r;
    fence_settled_.store(false);
    fenced_.store(true);  // new writes are refused from here on
  }
  // Then the writes that passed CheckWrite before the flag drain (they hold the fence shared):
  // once this returns, and the caller says "fenced", no write is accepted any more. Taking the
  // lock only after setting the flag means a stream of new writes cannot starve it.
  { std::unique_lock<FenceMutex> drain(fence_mu_); }
  Status s = state_store_.SaveFence(r);
  // Status says "fenced" from here: the last write in flight and the fence's own record (one
  // sequence number) are behind it, so the latest sequence a fenced status shows stays.
  fence_settled_.store(true);
  return s;
}

Status ReplicatedDBImpl::ClearWriteFence() {
  // The fence ends on disk first: a crash in between leaves it held, never a node that took
  // writes while its disk still says fenced.
  std::lock_guard<std::mutex> persist(fence_persist_mu_);
  if (!fenced_.load()) return Status::OK();  // memory and disk change together: nothing recorded
  ROCKSDR_RETURN_IF_ERROR(state_store_.SaveFence(std::nullopt));
  std::lock_guard<std::mutex> lock(identity_mu_);
  fence_reason_.clear();
  fenced_.store(false);
  fence_settled_.store(false);
  return Status::OK();
}

std::optional<std::string> ReplicatedDBImpl::write_fence() const {
  if (!fenced_.load()) return std::nullopt;
  std::lock_guard<std::mutex> lock(identity_mu_);
  return fence_reason_;
}

bool ReplicatedDBImpl::FollowsThisOpening(const std::string& secondary_id) const {
  std::lock_guard<std::mutex> l(follows_mu_);
  return follows_.count(secondary_id) != 0;
}

void ReplicatedDBImpl::MarkFollowsThisOpening(const std::string& secondary_id) {
  // Ids come from authenticated HELLOs; the bound only keeps a misbehaving CA from growing it.
  // Forgetting is safe: a forgotten secondary beyond open_sequence_ is bootstrapped once more.
  constexpr size_t kMaxFollowers = 4096;
  std::lock_guard<std::mutex> l(follows_mu_);
  if (follows_.size() >= kMaxFollowers) follows_.clear();
  follows_.insert(secondary_id);
}

WalTailerContext ReplicatedDBImpl::TailerContext() {
  WalTailerContext ctx;
  ctx.base = db_;
  ctx.local_cf_id = local_cf_id_;
  ctx.replicated_cf_id = replicated_cf_id_;
  ctx.notifier = &notifier_;
  ctx.events = events_;
  ctx.ring = ring_.get();
  ctx.counters = &tailer_counters_;
  return ctx;
}

Result<std::unique_ptr<WalTailer>> ReplicatedDBImpl::NewTailer(uint64_t next_sequence) {
  return WalTailer::Open(TailerContext(), next_sequence);
}

ReplicationStatus ReplicatedDBImpl::GetReplicationStatus() {
  ReplicationStatus st;
  st.role = role_.load();
  st.epoch = epoch_.load();
  st.cluster_id = cluster_id();
  st.last_sequence_written = db_->GetLatestSequenceNumber();
  Result<std::optional<uint64_t>> cursor = state_store_.ReadCursor();
  if (cursor.ok()) st.last_sequence_applied = *cursor;
  Result<WalWindow> window = ReadWalWindow(db_);
  if (window.ok()) st.wal = *window;
  st.external_ingestions = events_->ingestions();
  st.listener_attached = listener_attached_;
  st.background_error = events_->background_error();
  if (auto f = write_fence(); f && fence_settled_.load()) st.fenced_reason = *f;
  ack_tracker_.FillStatus(&st.sync);
  if (ring_ != nullptr) {
    const WriteRingStats rs = ring_->Stats();
    st.shipping.ring_capacity_bytes = rs.capacity_bytes;
    st.shipping.ring_bytes = rs.bytes;
    st.shipping.ring_entries = rs.entries;
  }
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  st.shipping.ring_batches = get(tailer_counters_.ring_batches);
  st.shipping.wal_batches = get(tailer_counters_.wal_batches);
  st.shipping.ring_misses = get(tailer_counters_.ring_misses);
  st.shipping.ring_waits = get(tailer_counters_.ring_waits);
  st.shipping.trims = get(tailer_counters_.trims);
  st.shipping.iterator_creations = get(tailer_counters_.iterator_creations);
  return st;
}

}  // namespace rocksdr::plugin
