// StateStore: this node's replication identity — role, epoch, cluster id — and the applied
// cursor, kept in the node-local column family (kLocalCf, never shipped), so they survive
// restarts.
//
//   kLocalKeyRole       text: "disabled" | "primary" | "secondary"
//   kLocalKeyEpoch      fixed64 LE
//   kLocalKeyClusterId  text, at most 64 bytes of [0-9A-Za-z-] (a UUID)
//   kLocalKeyCursor     fixed64 LE, written by the applier (read here)
//   kLocalKeyFence      text: why a superseded primary refuses writes (present while it does)
//   kLocalKeyHistory    text: the id of the history the data belongs to (reserved_cf.h)
//
// Save writes all three identity keys in one synced WriteBatch (plus whatever the caller adds
// to the batch, e.g. an epoch marker), so a crash leaves either the old or the new identity.
//
// Thread safety: the methods are safe to call concurrently (RocksDB is); callers serialize
// role changes themselves (ReplicatedDBImpl::SetRole holds its write fence).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "rocksdr/role.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

struct NodeState {
  std::optional<Role> role;  // nullopt: nothing persisted yet
  uint64_t epoch = 0;
  std::string cluster_id;
  std::optional<std::string> fence;  // a superseded primary's write fence, persisted
};

class StateStore {
 public:
  // `db` is the base (unwrapped) DB and `local_cf` its kLocalCf handle; both outlive *this.
  StateStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf) : db_(db), local_cf_(local_cf) {}

  // Errors: kCorruption when a stored value is malformed (names the key), kIOError ...
  Result<NodeState> Load() const;

  // Persists role, epoch and cluster id (all three) in `batch` (may already hold other
  // records; may be nullptr) with WriteOptions::sync. A role change also ends a persisted write
  // fence (kLocalKeyFence is deleted in the same batch). Errors: kInvalidArgument for a bad
  // cluster id; RocksDB's write error otherwise.
  Status Save(Role role, uint64_t epoch, const std::string& cluster_id, rocksdb::WriteBatch* batch);

  // Records (reason set) or ends (nullopt) the write fence, synced.
  Status SaveFence(const std::optional<std::string>& reason);

  // The id of the history this node's data belongs to; "" if none is stored (data written
  // before history ids existed) or if the stored value is not a printable id of at most 64 bytes.
  Result<std::string> ReadHistory() const;

  // The applier's cursor (last primary sequence applied), nullopt if none is stored.
  Result<std::optional<uint64_t>> ReadCursor() const;

  static Status ValidateClusterId(const std::string& cluster_id);

 private:
  Result<std::optional<std::string>> Get(std::string_view key) const;

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* local_cf_;
};

}  // namespace rocksdr::plugin
