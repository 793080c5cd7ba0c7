// The secondary side of the data path, as the replication transport sees it: where received
// batches and bootstrap checkpoints go. The plugin implements it over RocksDB (Applier: one
// WriteBatch = shipped records + new cursor; checkpoint installer: staging directory -> rename
// -> fsync); tests implement it in memory (tests/support/fake_source_sink.h).
//
// Threading: SecondaryClient calls one BatchSink from ONE thread at a time (its I/O thread),
// never concurrently; Cursor() and DurableSequence() may also be called from the thread that
// calls SecondaryClient::GetStatus(), so they must be thread-safe.
// [Blocking] Calls may block on disk; a slow Apply is the secondary's back-pressure (the client
// stops reading, the primary stops sending once max_unacked_bytes are outstanding). An Apply
// slower than the primary's dead timeout gets the connection dropped and re-established.
// [Exceptions] None may throw.
//
// Contracts (invariant 1, "exact prefix"):
//  - Cursor() is the last primary sequence applied; std::nullopt means "no usable position"
//    (fresh or wiped secondary, interrupted bootstrap) and makes the primary bootstrap it.
//  - Apply(batches) is called only with batches[0].sequence == *Cursor() + 1 and each next batch
//    starting at the previous one's next_sequence(); the sink must enforce it too and refuse
//    (kFailedPrecondition) otherwise, applying nothing. On success Cursor() becomes
//    batches.back().last_sequence(). Apply is all-or-nothing per call, or per batch with the
//    cursor moving with each batch; never half a batch.
//  - Bootstrap: BeginBootstrap, then for each file BeginFile, WriteFileChunk calls with
//    contiguous offsets, FinishFile; then CommitBootstrap, which atomically replaces
//    the secondary's data and sets Cursor() to `sequence`. AbortBootstrap (after any failure,
//    or when the connection drops) discards the staged files; Cursor() is then what it was
//    before BeginBootstrap, or std::nullopt if the sink already wiped its data.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

class BatchSink {
 public:
  virtual ~BatchSink() = default;

  virtual std::optional<uint64_t> Cursor() = 0;

  // The id of the history Cursor() belongs to (Hello::history, PROTOCOL.md "Handshake" 5): set by
  // the primary that started it, carried by its epoch marker and its checkpoints. "" = unknown.
  // Read at every handshake, on the client's I/O thread, right after Cursor().
  virtual std::string History() { return std::string(); }

  // Applies the batches in order (see the contracts above). Errors are reported in the
  // client's status and stop the stream: the client disconnects. A local storage failure
  // (kIOError / kUnavailable, sink_retry.h) is retried after a backoff (1 s doubling to 30 s by
  // default), with Recover() first; any other error halts the client until restarted.
  virtual Status Apply(const std::vector<WalBatch>& batches) = 0;

  // After a call failed with a local storage failure, before the client reconnects: make the
  // storage usable again (RocksDB: DB::Resume clears the background error once space is free;
  // a bootstrap's staging files are discarded). Fails cleanly, changing nothing (the cursor
  // stays), while the cause persists; the client then waits for its next backoff. Called on the
  // client's thread, like the other calls. Default: nothing to recover.
  virtual Status Recover() { return Status::OK(); }
  // Where the sink stores its data (a directory), named in the status while a storage failure
  // is retried ("free space on <location>"). Default: "" (unknown).
  virtual std::string StorageLocation() { return std::string(); }

  // The highest applied sequence that is durable (synced); <= *Cursor().
  virtual uint64_t DurableSequence() = 0;
  // A sink that syncs after Apply returns (group sync: one sync covers every Apply made while
  // the previous one ran) calls `listener` each time DurableSequence() advances, from its own
  // thread, so the client sends the new durable position at once (ACK) instead of with the next
  // frame. The listener must be quick and must not call back into the sink. nullptr
  // unregisters; once this returns, a replaced listener is neither running nor called again.
  // Returns true if the sink promises a call after every Apply that advanced Cursor() (once a
  // sync covered it, or an error stopped it) — the client then sends no separate ACK for the
  // apply itself. Default: durability advances only inside Apply, nothing to report (false).
  virtual bool SetDurableListener(std::function<void()> /*listener*/) { return false; }
  // Apply with a grouping hint, for a sink whose SetDurableListener returned true (group sync).
  // more_waiting: the client already holds further frames (received, not yet applied). The sink
  // then does not start a sync for this apply yet — one started now would cover this frame
  // alone, and the frames right behind it would need another — but waits until an apply says
  // false, so one sync covers the whole burst. The sink bounds that wait itself (a hint never
  // holds durability back for long, even if the connection drops mid-burst). Same contracts as
  // Apply otherwise. Default: Apply.
  virtual Status ApplyGrouped(const std::vector<WalBatch>& batches, bool /*more_waiting*/) {
    return Apply(batches);
  }

  // The primary is about to replace the data of a sink that holds a position (Cursor() set) by
  // a checkpoint — a re-bootstrap, for `reason` (a WAL gap, an ingestion, another epoch, ...).
  // Called when WELCOME says BOOTSTRAP and when BOOTSTRAP_BEGIN interrupts streaming, before
  // anything is changed. An error refuses it: the client sends ERROR bootstrap-failed with the
  // error's message and halts (the sink keeps its data and position). A sink with no position
  // (joining) is always bootstrapped and is not asked. Default: allowed.
  virtual Status MayRebootstrap(const std::string& /*reason*/) { return Status::OK(); }

  // A checkpoint of the primary at `sequence` follows: file_count files, total_bytes in all.
  virtual Status BeginBootstrap(uint64_t sequence, uint32_t file_count, uint64_t total_bytes) = 0;
  // The next file. `name` is a plain file name (the codec's ValidateFileName held, and the
  // session refuses a name announced twice); `size` its length in bytes.
  virtual Status BeginFile(const std::string& name, uint64_t size) = 0;
  // The next bytes of the current file; `offset` is the number of bytes of it already written
  // (the session checks contiguity and that the file does not grow past its size).
  virtual Status WriteFileChunk(uint64_t offset, std::string_view data) = 0;
  // The current file is complete; crc32c is the CRC32C of its content, already checked by the
  // session against the bytes received (the sink may re-check what it wrote).
  virtual Status FinishFile(uint32_t crc32c) = 0;
  virtual Status CommitBootstrap() = 0;
  // Idempotent; a no-op when no bootstrap is in progress.
  virtual void AbortBootstrap() = 0;
};

}  // namespace rocksdr::replication
