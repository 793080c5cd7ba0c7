// Applier: the secondary's end of the data path. It applies the primary's WAL batches, in order,
// to the secondary's DB and keeps the secondary's cursor (the last primary sequence applied).
//
// Atomicity (invariant 1, "exact prefix"): consecutive batches are written as ONE rocksdb
// WriteBatch that also carries the new cursor (kLocalCf / kLocalKeyCursor, fixed64 LE), so after a
// crash anywhere the DB holds exactly the batches up to the persisted cursor, and the stream resumes
// at cursor + 1 with no gap and no duplicate.
//
// Apply(batches):
//  1. Validates the WHOLE call before writing anything: batch 0 starts at cursor + 1 and each next
//     batch at the previous one's next_sequence() (count 0 = LogData-only batch, which does not
//     advance the cursor); every rep parses (header, records, header count <= count); no record
//     writes kLocalCf (the tailer drops those); every column family named exists (taking the
//     call's own cf markers into account); no 2PC records, no blob indexes; epoch markers are not
//     older than the recorded epoch. Failures: kFailedPrecondition (continuity, "needs bootstrap:"
//     for a missing column family or an id clash, older epoch), kCorruption (bad rep or marker),
//     kInvalidArgument (something rocksdr cannot replicate). Nothing of that call is applied.
//  2. Writes groups of consecutive data batches (bounded by max_group_bytes; a single larger batch
//     forms its own group), each with its cursor, one DB::Write per group.
//  3. A marker batch (LogData "rocksdr:..." — see marker.h; it may carry no other record) ends the
//     current group; the group is written, the marker is executed, then the cursor (and, for an
//     epoch marker, the epoch) is written for the marker batch:
//       cf-create  creates the column family with the same name; its new id must equal the
//                  primary's id, otherwise the secondary needs bootstrap. Idempotent on replay after
//                  a crash (same id and name already present = done).
//       cf-drop    drops it (absent = already dropped).
//       ingest     stops: what precedes is applied, the marker batch is not; returns
//                  "needs bootstrap: external file ingestion on the primary" and refuses all
//                  further Apply calls (needs_bootstrap()).
//       epoch      recorded in kLocalKeyEpoch.
//     A crash between executing a marker and persisting its cursor replays the marker, which is
//     why cf-create/cf-drop are idempotent.
//
// Threading: Open, Apply, SyncWal and the destructor from ONE thread (the receiver's apply thread).
// applied_sequence() and durable_sequence() may be called from any thread.
// Lifetime: db and every handle passed to Open must outlive the Applier; destroy the Applier before
// closing the DB (it destroys the column family handles it created).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

struct Marker;  // marker.h

struct ApplierOptions {
  // Sync the WAL with every group write (then durable == applied). If false, durability advances
  // with SyncWal() only.
  // Default: true
  bool sync = true;

  // Upper bound of the records of one group write, in bytes. A single larger batch is written
  // alone.
  // Default: 4 MiB
  size_t max_group_bytes = 4u << 20;

  // Options of column families created by cf-create markers. Should match the primary's options of
  // that column family (comparator, merge operator).
  // Default (empty): the options of the secondary's default column family.
  std::function<rocksdb::ColumnFamilyOptions(const std::string& name)> cf_options;
};

class Applier {
 public:
  // Reads the cursor and the epoch from local_cf. `column_families` must hold a handle of EVERY
  // column family of db (as returned by DB::Open), including the default and local_cf; the
  // Applier borrows them.
  // Errors: kInvalidArgument (null db/handle, duplicate ids), kCorruption (bad stored cursor),
  // kIOError (read failure).
  static Result<std::unique_ptr<Applier>> Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf,
                                               const std::vector<rocksdb::ColumnFamilyHandle*>& column_families,
                                               ApplierOptions options = {});

  // Writes cursor = `sequence` into local_cf (used after a bootstrap, or by tests to start a
  // secondary from an empty primary with sequence 0).
  static Status WriteCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf, uint64_t sequence,
                            bool sync);

  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;
  ~Applier();

  // See the header comment. With no cursor (fresh or wiped secondary) refuses with
  // "needs bootstrap: ...". On error, applied_sequence() tells how far the call got.
  Status Apply(const std::vector<replication::WalBatch>& batches);

  // The persisted cursor, read from the DB. std::nullopt = no position (needs bootstrap).
  Result<std::optional<uint64_t>> cursor() const;

  // Last primary sequence applied / applied and synced. std::nullopt = no position.
  std::optional<uint64_t> applied_sequence() const { return Load(applied_plus_one_); }
  std::optional<uint64_t> durable_sequence() const { return Load(durable_plus_one_); }

  // Syncs the WAL; afterwards durable_sequence() == applied_sequence().
  Status SyncWal();

  // The reason this secondary must be re-bootstrapped, once Apply discovered one.
  const std::optional<std::string>& needs_bootstrap() const { return needs_bootstrap_; }

  // The epoch recorded by the last epoch marker (or found in local_cf at Open).
  std::optional<uint64_t> epoch() const { return epoch_; }

  // Handles of the column families created by cf-create markers, still alive (owned by the
  // Applier).
  std::vector<rocksdb::ColumnFamilyHandle*> created_column_families() const;

 private:
  struct Cf {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    bool owned = false;
  };
  struct Scanned;  // the result of validating one batch (applier.cc)

  Applier(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf, ApplierOptions options);

  static std::optional<uint64_t> Load(const std::atomic<uint64_t>& v) {
    const uint64_t x = v.load(std::memory_order_acquire);
    return x == 0 ? std::nullopt : std::optional<uint64_t>(x - 1);
  }
  Status Validate(const std::vector<replication::WalBatch>& batches, std::vector<Scanned>* scanned);
  // `epoch` (may be null): an epoch marker applied with this group; its epoch and history id are
  // recorded in the same write (a marker without a history id deletes the stored one).
  Status WriteGroup(std::string* rep, uint32_t records, uint64_t new_cursor, const Marker* epoch);
  Status ExecuteCfCreate(uint64_t id, const std::string& name);
  Status ExecuteCfDrop(uint64_t id, const std::string& name);
  Status MarkNeedsBootstrap(std::string reason);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const local_cf_;
  const ApplierOptions options_;
  std::map<uint32_t, Cf> cfs_;  // by column family id
  std::optional<uint64_t> cursor_;
  std::optional<uint64_t> epoch_;
  std::optional<std::string> cluster_id_;
  std::optional<std::string> needs_bootstrap_;
  std::atomic<uint64_t> applied_plus_one_{0};
  std::atomic<uint64_t> durable_plus_one_{0};
};

}  // namespace rocksdr::plugin
