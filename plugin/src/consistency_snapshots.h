// ConsistencySnapshots: the consistency check's held snapshots of one DB and their digest
// (rocksdr/consistency.h describes the digest).
//
// A held snapshot is a rocksdb::Snapshot plus one iterator per digested column family, created
// when the snapshot is taken (an iterator keeps its column family's data alive even if the
// handle it came from is later destroyed, e.g. the applier's handle of a column family the stream
// created). Everything is released by Release(id), by expiry (kConsistencySnapshotIdle without
// use, checked at each call) and by ReleaseAll(), which the owner calls BEFORE the DB is closed
// or reopened (RocksDB refuses to close with live snapshots and iterators).
//
// Threading: every method from any thread (one mutex). Add/Digest run with the owner's DB lock
// held shared and ReleaseAll with it exclusive, so the DB is open whenever a snapshot exists.
#pragma once

#include <rocksdb/db.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rocksdr/consistency.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

class ConsistencySnapshots {
 public:
  ~ConsistencySnapshots() { ReleaseAll(); }

  // Takes a snapshot of `db` now and creates iterators over `cfs` (name, handle) with it; the
  // names must not repeat. `sequence_of` maps the snapshot to the sequence it stands for (it may
  // read the DB at the snapshot: the secondary's cursor). Errors: kResourceExhausted (too many
  // held), what sequence_of returns, RocksDB errors.
  Result<ConsistencySnapshot> Add(
      rocksdb::DB* db, std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> cfs,
      const std::function<Result<uint64_t>(const rocksdb::Snapshot*)>& sequence_of, ConsistencySnapshot info);

  // One page of the digest. Errors: kNotFound (unknown or released snapshot), kInvalidArgument
  // (bounds, unknown start column family), kIOError/kCorruption from RocksDB.
  Result<DigestPage> Digest(const DigestRequest& request);

  Status Release(uint64_t id);
  void ReleaseAll();

 private:
  struct Held {
    rocksdb::DB* db = nullptr;
    const rocksdb::Snapshot* snapshot = nullptr;
    std::vector<std::pair<std::string, std::unique_ptr<rocksdb::Iterator>>> iterators;  // by name
    std::chrono::steady_clock::time_point last_used;
  };
  static void Free(Held& h);
  void ExpireLocked();

  std::mutex mu_;
  uint64_t next_id_ = 1;           // GUARDED_BY(mu_)
  std::map<uint64_t, Held> held_;  // GUARDED_BY(mu_)
};

}  // namespace rocksdr::plugin
