// ConsistencyRuntime; see consistency_runtime.h.
#include "consistency_runtime.h"

#include <algorithm>
#include <set>

#include "coding.h"
#include "reserved_cf.h"

namespace rocksdr::plugin {

namespace {

ApplyGate::Clock::time_point Deadline(std::chrono::milliseconds timeout) {
  const auto t = std::min<std::chrono::milliseconds>(timeout, kMaxApplyPause);
  return ApplyGate::Clock::now() + std::max<std::chrono::milliseconds>(t, std::chrono::milliseconds(1));
}

}  // namespace

Result<uint64_t> ConsistencyRuntime::PauseApply(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> op(op_mu_);
  {
    std::shared_lock<std::shared_mutex> l(*db_mu_);
    if (!db_->is_open()) return Status::Unavailable("the DB is closed (bootstrap or shutdown in progress)");
    if (db_->impl()->role() != Role::kSecondary) {
      return Status::FailedPrecondition("only a DR secondary's applier can be paused; this node is " +
                                        std::string(RoleName(db_->impl()->role())));
    }
  }
  DbSink* sink = sink_();
  if (sink == nullptr) return Status::Unavailable("the replicator is closing");
  auto cursor = sink->gate().Pause(Deadline(timeout));
  if (!cursor.ok()) return cursor.status();
  if (!cursor->has_value()) {
    sink->gate().Resume();
    return Status::FailedPrecondition("this secondary holds no position yet (bootstrap not finished)");
  }
  return **cursor;
}

Result<ConsistencySnapshot> ConsistencyRuntime::TakeSnapshot(std::optional<uint64_t> at,
                                                             std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> op(op_mu_);
  bool secondary = false;
  {
    std::shared_lock<std::shared_mutex> l(*db_mu_);
    if (!db_->is_open()) return Status::Unavailable("the DB is closed (bootstrap or shutdown in progress)");
    secondary = db_->impl()->role() == Role::kSecondary;
    if (!secondary) return SnapshotLocked(false, at);
  }
  DbSink* sink = sink_();
  if (sink == nullptr) return Status::Unavailable("the replicator is closing");
  const auto deadline = Deadline(timeout);
  if (at) {
    ROCKSDR_RETURN_IF_ERROR(sink->gate().RunTo(*at, deadline));
  } else {
    auto paused = sink->gate().Pause(deadline);
    if (!paused.ok()) return paused.status();
  }
  Result<ConsistencySnapshot> snap = Status::Unavailable("the DB is closed (bootstrap in progress)");
  {
    std::shared_lock<std::shared_mutex> l(*db_mu_);
    if (db_->is_open()) snap = SnapshotLocked(true, at);
  }
  sink->gate().Resume();
  return snap;
}

Result<ConsistencySnapshot> ConsistencyRuntime::SnapshotLocked(bool secondary, std::optional<uint64_t> at) {
  ReplicatedDBImpl* impl = db_->impl();
  rocksdb::DB* base = impl->base();
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> cfs;
  std::set<std::string> names;
  auto add = [&](rocksdb::ColumnFamilyHandle* h) {
    if (h == nullptr || h->GetName() == kLocalCf) return;
    if (names.insert(h->GetName()).second) cfs.emplace_back(h->GetName(), h);
  };
  for (auto* h : db_->AllHandles()) add(h);
  if (secondary) {
    if (DbSink* sink = sink_()) {
      for (auto* h : sink->StreamCreatedColumnFamilies()) add(h);
    }
  }
  // Every column family on disk must be digested: one without a handle here (created by the
  // application after the DB was opened) would silently be left out.
  std::vector<std::string> on_disk;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), db_->spec().path, &on_disk);
  if (!ls.ok()) return Status::IOError("listing the column families of " + db_->spec().path + ": " + ls.ToString());
  for (const auto& n : on_disk) {
    if (n != kLocalCf && names.count(n) == 0) {
      return Status::FailedPrecondition("column family '" + n + "' has no handle in this process (created after the "
                                        "DB was opened); restart the application, then run the check again");
    }
  }
  ConsistencySnapshot info;
  info.role = impl->role();
  info.epoch = impl->epoch();
  info.cluster_id = impl->cluster_id();
  rocksdb::ColumnFamilyHandle* local = impl->local_cf();
  auto sequence_of = [&](const rocksdb::Snapshot* s) -> Result<uint64_t> {
    uint64_t seq = s->GetSequenceNumber();
    if (secondary) {
      // The primary sequence this data stands for: the cursor written with it.
      rocksdb::ReadOptions ro;
      ro.snapshot = s;
      std::string v;
      rocksdb::Status gs = base->Get(ro, local, rocksdb::Slice(kLocalKeyCursor.data(), kLocalKeyCursor.size()), &v);
      if (gs.IsNotFound()) return Status::FailedPrecondition("this secondary holds no position yet (bootstrap not finished)");
      if (!gs.ok()) return Status::IOError("reading the cursor at the snapshot: " + gs.ToString());
      auto c = DecodeFixed64(v);
      if (!c) return Status::Corruption("the stored cursor is not 8 bytes");
      seq = *c;
    }
    if (at && seq != *at) {
      return Status::FailedPrecondition(
          std::string(secondary ? "this secondary is at sequence " : "this node's latest sequence is ") +
          std::to_string(seq) + ", not the requested " + std::to_string(*at) +
          (secondary ? " (the pause expired: retry with a longer timeout)"
                     : "; a primary can only be digested at its latest sequence (omit the sequence)"));
    }
    return seq;
  };
  return snapshots_.Add(base, std::move(cfs), sequence_of, std::move(info));
}

Result<DigestPage> ConsistencyRuntime::Digest(const DigestRequest& request) {
  std::shared_lock<std::shared_mutex> l(*db_mu_);
  return snapshots_.Digest(request);
}

}  // namespace rocksdr::plugin
