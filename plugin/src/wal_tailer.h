// WalTailer: one secondary's position in the primary's history — reads the batches that follow
// it, in order, exactly once, and says when it cannot (the secondary must re-bootstrap).
//
// Two sources, one validation path:
//  - the WriteRing (write_ring.h), when the DB wrapper keeps one: the batches the wrapper wrote
//    recently, in memory. Only an entry that starts exactly at next_sequence is used. When the
//    DB has written past the position but the ring has no entry there: if no wrapper write has
//    notified that position yet and a writer is still recording, Read returns what it has (that
//    writer's notification wakes WaitForWrites; a tailer keeping up with a writer at full speed
//    never waits on it); otherwise a writer may still be recording it (a group-commit member)
//    and the tailer waits for it (WriteRing::WaitFor, at most kRingWait) before reading the WAL
//    instead (a "ring miss": bypassing writes, evicted entries, catch-up).
//  - the WAL, through DB::GetUpdatesSince, with the checks RocksDB leaves to its callers
//    (reference/wal-tailing-pitfalls.md). The iterator is kept while it can go on (also past
//    the tail: new records in the same WAL file are read by Next()), recreated from
//    next_sequence when it ends with TryAgain or an error (WAL rotation, a gap) — at most once
//    per Read — and dropped when the ring has carried the position more than
//    kMaxIteratorSkip sequences past it (a far-behind iterator would re-read that much WAL).
//    Records that end before next_sequence (already shipped from the ring) are skipped.
// Checks, whatever the source:
//  - exact continuity: the first batch must start at next_sequence, each next one at the
//    previous sequence + Count(). A later batch is a WAL gap — NeedsBootstrap("WAL gap:
//    needed sequence N, next available M ..."), or "external file ingestion" when an ingestion
//    took the missing sequence.
//  - a WAL record that starts before next_sequence and covers it: RocksDB's group commit
//    writes concurrent writers' batches as ONE WAL record, while the ring ships them one by
//    one, so a position inside a record is normal after ring shipping (and after a reconnect).
//    The record is trimmed (DropLeadingSequences: its first next_sequence - record sequence
//    records are dropped, the rest shipped at next_sequence) — unless the ring proves the
//    position is inside one writer's batch (WriteRing::Inside): then it is no batch boundary of
//    the primary's history and the answer is NeedsBootstrap("... not a batch boundary ...").
//    A secondary's cursor is always the end of a batch it was shipped whole, so a position
//    the ring no longer knows about is trusted to be a writer boundary.
//  - an `ingest` marker (written by the DB wrapper before every ingestion on a primary) ends
//    the stream with NeedsBootstrap("external file ingestion ..."): ingested files are not in
//    the WAL, whether or not the ingestion took a sequence number.
//  - records of the node-local column family are removed from the shipped rep (the batch is
//    rebuilt only when it has some); WalBatch::count stays the primary's Count().
//  - 2PC (TransactionDB prepare/commit/rollback) batches stop the stream with kInternal.
// NeedsBootstrap is sticky: every later Read returns it again.
//
// LogData-only batches (Count 0) are shipped when the source passes them; RocksDB's iterator
// skips one that sits exactly at the position it is (re)created at, and a count-0 batch that
// the ring and the WAL both pass (ring miss at its sequence) is shipped twice, so application
// LogData blobs are best effort (the applier persists nothing for a count-0 batch). A LogData
// blob that a writer put at the end of its batch may also be shipped again with the next
// writer's records after a trim. rocksdr's own markers always have Count >= 1, are alone in
// their WAL record, and are never lost or repeated this way.
//
// Threading: one thread uses a WalTailer (BatchSource contract); WaitForWrites blocks on the
// DB's WriteNotifier. The DB (and the notifier, ring, counters, events) must outlive the tailer.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/transaction_log.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "db_events.h"
#include "rocksdr/replication/batch_source.h"
#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"
#include "write_notifier.h"
#include "write_ring.h"

namespace rocksdr::plugin {

// Where the batches shipped by a DB's tailers came from (all tailers of the DB; ReplicationStatus
// shipping). Relaxed counters: metrics only.
struct TailerCounters {
  std::atomic<uint64_t> ring_batches{0};        // batches shipped from the WriteRing
  std::atomic<uint64_t> wal_batches{0};         // batches shipped from the WAL
  std::atomic<uint64_t> ring_misses{0};         // positions written but not in the ring: read from the WAL
  std::atomic<uint64_t> ring_waits{0};          // waits for a writer still recording its batch
  std::atomic<uint64_t> trims{0};               // WAL records shipped from inside (DropLeadingSequences)
  std::atomic<uint64_t> iterator_creations{0};  // DB::GetUpdatesSince calls
};

struct WalTailerContext {
  rocksdb::DB* base = nullptr;            // the unwrapped DB
  uint32_t local_cf_id = 0;               // kLocalCf's id: its records are dropped
  uint32_t replicated_cf_id = 0;          // kReplicatedCf's id
  WriteNotifier* notifier = nullptr;      // required: wakes WaitForWrites
  std::shared_ptr<const DbEvents> events; // optional: explains gaps caused by ingestion
  WriteRing* ring = nullptr;              // optional: recent batches in memory (see above)
  TailerCounters* counters = nullptr;     // optional: metrics
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
  // Keeps the reps' buffers (up to kMaxSpareReps of at most kMaxSpareRepBytes each) for the
  // batches of later Reads from the ring: a tailer following the writers allocates nothing
  // per batch.
  void Recycle(std::vector<replication::WalBatch>* done) override;
  bool WaitForWrites(uint64_t after_seq, std::chrono::microseconds timeout) override;
  uint64_t LatestSequence() override;

  // The first sequence of the next batch Read will return.
  uint64_t next_sequence() const { return next_seq_; }
  // The first sequence still in the WAL (see wal_window.h).
  Result<uint64_t> OldestAvailableSequence();
  // How many times GetUpdatesSince was called (metrics, tests).
  uint64_t iterator_creations() const { return iterator_creations_; }
  // Batches shipped from each source, WAL records trimmed, ring misses (metrics, tests).
  uint64_t ring_batches() const { return ring_batches_; }
  uint64_t wal_batches() const { return wal_batches_; }
  uint64_t trims() const { return trims_; }
  uint64_t ring_misses() const { return ring_misses_; }

  // How long a tailer waits for a writer still recording the batch it needs.
  static constexpr std::chrono::milliseconds kRingWait{5};
  // Yields while waiting, lock-free, for a writer that is recording the next batch (Fetch).
  static constexpr int kWriterSpins = 64;
  // An iterator this many sequences behind the position is dropped rather than read forward.
  static constexpr uint64_t kMaxIteratorSkip = 4096;
  // Recycle keeps at most this many buffers, each of at most this capacity (<= 1 MiB).
  static constexpr size_t kMaxSpareReps = 1024;
  static constexpr size_t kMaxSpareRepBytes = 1024;

 private:
  // A batch from either source, before validation.
  struct Candidate {
    uint64_t sequence = 0;
    uint32_t count = 0;
    bool from_ring = false;
    uint64_t ring_id = 0;
    RingEntryRef entry;                          // ring: the entry (its rep, and its scan if known)
    std::unique_ptr<rocksdb::WriteBatch> batch;  // WAL (or a ring entry that had to be parsed)
    std::optional<BatchScan> scan;               // computed (a ring entry's own scan is used in place)
  };

  // Makes pending_ non-empty if a batch is available: from the ring, else from the WAL. May
  // recreate the iterator (once per Read, tracked by *recreated). Non-OK: NeedsBootstrap or a
  // transient error.
  Status Fetch(bool* recreated, size_t max_bytes, size_t max_batches);
  bool TakeFromRing(size_t max_bytes, size_t max_batches);
  Status FetchFromWal(bool* recreated, uint64_t latest);
  bool TakeFromIterator();
  // A copy of `rep` in a recycled buffer when there is one.
  std::string CopyRep(std::string_view rep);
  // The one validation path for both sources (see the header comment): *out is what to ship.
  // Non-OK: NeedsBootstrap (ingest marker) or kInternal/kCorruption — all sticky.
  Status Admit(Candidate& c, replication::WalBatch* out);
  Status Gap(uint64_t next_available);
  void Count(std::atomic<uint64_t> TailerCounters::*field) {
    if (ctx_.counters != nullptr) (ctx_.counters->*field).fetch_add(1, std::memory_order_relaxed);
  }

  WalTailerContext ctx_;
  uint64_t next_seq_;
  std::unique_ptr<rocksdb::TransactionLogIterator> iter_;
  bool need_next_ = false;     // iter_'s current batch was taken: Next() before reading again
  uint64_t iter_next_seq_ = 0; // the sequence after the last record iter_ returned
  std::deque<Candidate> pending_;
  std::vector<RingEntryRef> ring_buf_;
  std::vector<std::string> spare_reps_;  // Recycle'd buffers, empty, capacity <= kMaxSpareRepBytes
  uint64_t zero_seq_ = 0, zero_id_ = 0;  // last count-0 ring entry shipped (WriteRing::Take)
  uint64_t ring_hint_ = 0;               // where the last WriteRing::Take stopped (its hint)
  Status terminal_;  // sticky NeedsBootstrap / internal error
  uint64_t iterator_creations_ = 0;
  uint64_t ring_batches_ = 0, wal_batches_ = 0, trims_ = 0, ring_misses_ = 0;
};

}  // namespace rocksdr::plugin
