// ConsistencyRuntime: the Replicator's side of the consistency check (rocksdr/consistency.h):
// pausing a secondary's applier, taking held snapshots at an exact sequence, digest pages.
//
// It works on the Replicator's DB (ManagedDb), its DB lock and its DbSink (for the ApplyGate and
// the column families the stream created). It never holds the DB lock while waiting for the
// applier (the applier's thread takes it exclusively to install a bootstrap).
//
// Threading: any thread; one consistency operation at a time per node (a mutex serializes them).
// ReleaseAll() must be called before the DB is closed or reopened (ManagedDb's before-close hook).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "consistency_snapshots.h"
#include "db_sink.h"
#include "managed_db.h"
#include "rocksdr/consistency.h"

namespace rocksdr::plugin {

class ConsistencyRuntime {
 public:
  // `sink` returns the current DbSink (or nullptr); all three outlive this object.
  ConsistencyRuntime(ManagedDb* db, std::shared_mutex* db_mu, std::function<DbSink*()> sink)
      : db_(db), db_mu_(db_mu), sink_(std::move(sink)) {}

  // Secondary: parks the applier (at most `timeout`, capped at kMaxApplyPause); returns its cursor.
  Result<uint64_t> PauseApply(std::chrono::milliseconds timeout);
  // Primary / disabled: a snapshot at the latest sequence (`at`, if given, must equal it).
  // Secondary: with `at`, applies up to exactly `at` (waiting up to `timeout`), snapshots and
  // resumes; without, snapshots at the current cursor.
  Result<ConsistencySnapshot> TakeSnapshot(std::optional<uint64_t> at, std::chrono::milliseconds timeout);
  Result<DigestPage> Digest(const DigestRequest& request);
  Status Release(uint64_t id) { return snapshots_.Release(id); }
  void ReleaseAll() { snapshots_.ReleaseAll(); }

 private:
  // REQUIRES: db_mu_ held shared, DB open; on a secondary the applier parked (or no client).
  Result<ConsistencySnapshot> SnapshotLocked(bool secondary, std::optional<uint64_t> at);

  ManagedDb* const db_;
  std::shared_mutex* const db_mu_;
  const std::function<DbSink*()> sink_;
  std::mutex op_mu_;  // one consistency operation at a time
  ConsistencySnapshots snapshots_;
};

}  // namespace rocksdr::plugin
