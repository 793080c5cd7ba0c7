// WalTailer: one secondary's position in the primary's WAL — reads the batches that follow it,
// in order, exactly once, and says when it cannot (the secondary must re-bootstrap).
//
// Built on DB::GetUpdatesSince with the checks RocksDB leaves to its callers
// (reference/wal-tailing-pitfalls.md):
//  - exact continuity: the first batch must start at next_sequence, each next one at the
//    previous sequence + Count(). A later batch is a WAL gap — NeedsBootstrap("WAL gap:
//    needed sequence N, next available M ..."), or "external file ingestion" when an ingestion
//    took the missing sequence. A batch that starts before next_sequence means the position was
//    not a batch boundary: NeedsBootstrap too (that secondary's position is inconsistent).
//  - an `ingest` marker (written by the DB wrapper before every ingestion on a primary) ends
//    the stream with NeedsBootstrap("external file ingestion ..."): ingested files are not in
//    the WAL, whether or not the ingestion took a sequence number.
//  - records of the node-local column family are removed from the shipped rep (the batch is
//    rebuilt only when it has some); WalBatch::count stays the primary's Count().
//  - 2PC (TransactionDB prepare/commit/rollback) batches stop the stream with kInternal.
//  - the iterator is kept while it can go on (also past the tail: new records in the same WAL
//    file are read by Next()); it is recreated from next_sequence only when it ends with
//    TryAgain or an error (WAL rotation, a gap) — at most once per Read.
// NeedsBootstrap is sticky: every later Read returns it again.
//
// LogData-only batches (Count 0) are shipped when the iterator passes them; RocksDB's iterator
// skips one that sits exactly at the position it is (re)created at, so such a blob can be lost
// at a reconnect. rocksdr's own markers always have Count >= 1 and are never lost this way.
//
// Threading: one thread uses a WalTailer (BatchSource contract); WaitForWrites blocks on the
// DB's WriteNotifier. The DB (and the notifier, events) must outlive the tailer.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/transaction_log.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "db_events.h"
#include "rocksdr/replication/batch_source.h"
#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"
#include "write_notifier.h"

namespace rocksdr::plugin {

struct WalTailerContext {
  rocksdb::DB* base = nullptr;            // the unwrapped DB
  uint32_t local_cf_id = 0;               // kLocalCf's id: its records are dropped
  uint32_t replicated_cf_id = 0;          // kReplicatedCf's id
  WriteNotifier* notifier = nullptr;      // required: wakes WaitForWrites
  std::shared_ptr<const DbEvents> events; // optional: explains gaps caused by ingestion
};

class WalTailer : public replication::BatchSource {
 public:
  // REQUIRES: next_sequence >= 1, ctx.base and ctx.notifier non-null. No I/O; problems with
  // the position show up at the first Read. Prefer Open(), which checks the position first.
  WalTailer(WalTailerContext ctx, uint64_t next_sequence);

  // A tailer whose position is known to be inside the WAL window. Errors:
  // NeedsBootstrap(reason) when next_sequence is older than the oldest WAL batch or beyond
  // latest + 1 (a secondary ahead of its primary has another history); kInvalidArgument for 0.
  static Result<std::unique_ptr<WalTailer>> Open(WalTailerContext ctx, uint64_t next_sequence);

  // BatchSource. Read appends what is available now (possibly nothing); see the header comment.
  Status Read(size_t max_bytes, size_t max_batches, std::vector<replication::WalBatch>* out) override;
  bool WaitForWrites(uint64_t after_seq, std::chrono::microseconds timeout) override;
  uint64_t LatestSequence() override;

  // The first sequence of the next batch Read will return.
  uint64_t next_sequence() const { return next_seq_; }
  // The first sequence still in the WAL (see wal_window.h).
  Result<uint64_t> OldestAvailableSequence();
  // How many times GetUpdatesSince was called (metrics, tests).
  uint64_t iterator_creations() const { return iterator_creations_; }

 private:
  struct Pending {
    uint64_t sequence = 0;
    std::unique_ptr<rocksdb::WriteBatch> batch;
  };

  // Makes pending_ the next raw batch if one is available. May recreate the iterator (once
  // per Read, tracked by *recreated). Non-OK: NeedsBootstrap or a transient error.
  Status Fetch(bool* recreated);
  bool TakeFromIterator();
  Status Gap(uint64_t next_available);

  WalTailerContext ctx_;
  uint64_t next_seq_;
  std::unique_ptr<rocksdb::TransactionLogIterator> iter_;
  bool need_next_ = false;  // iter_'s current batch was taken: Next() before reading again
  std::optional<Pending> pending_;
  Status terminal_;  // sticky NeedsBootstrap / internal error
  uint64_t iterator_creations_ = 0;
};

}  // namespace rocksdr::plugin
