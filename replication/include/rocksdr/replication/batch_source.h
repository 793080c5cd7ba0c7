// The primary side of the data path, as the replication transport sees it: where shipped batches
// and bootstrap checkpoints come from. The plugin implements these over RocksDB (WalTailer over
// DB::GetUpdatesSince, Checkpoint); tests implement them in memory (tests/support/).
//
// Threading: PrimaryServer calls SourceProvider from several session threads at once, so a
// SourceProvider must be thread-safe. Each BatchSource and each CheckpointReader is used by
// exactly one thread (the pump thread of one ShipperSession) and is destroyed on that thread or
// after it has been joined; they need no locking of their own.
//
// [Blocking] Every call may block (disk I/O, waiting for writes), but must return within a
// bounded time: WaitForWrites within its timeout, the others within what the disk takes.
// [Exceptions] None may throw; failures are Status values.
//
// Needs bootstrap: a source that cannot continue from the position asked for — the WAL holding
// it is gone, or GetUpdatesSince returned a later batch than asked (invariant 2) — answers
// with a Status of code kFailedPrecondition made by NeedsBootstrap(reason). That code is
// reserved for this meaning in these interfaces; any other non-OK status is a transient failure
// (the session closes and the secondary reconnects). The reason reaches the secondary's status.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

// kFailedPrecondition "needs bootstrap: <reason>".
inline Status NeedsBootstrap(std::string_view reason) {
  return Status::FailedPrecondition("needs bootstrap: " + std::string(reason));
}
inline bool IsNeedsBootstrap(const Status& s) { return s.code() == Code::kFailedPrecondition; }

// An ordered stream of WAL batches for one secondary, starting at the sequence given to
// SourceProvider::OpenAt.
class BatchSource {
 public:
  virtual ~BatchSource() = default;

  // Appends to *out the next batches, in order, contiguous with what was read before (the
  // first one starts at the position given to OpenAt; each next one at the previous
  // next_sequence()). Stops after max_batches batches or once max_bytes of `rep` have been
  // appended (the batch that crosses max_bytes is included, so one huge batch still moves).
  // Returns OK with nothing appended when no new batch exists yet.
  // Errors: NeedsBootstrap(reason) on a WAL gap; anything else is transient.
  virtual Status Read(size_t max_bytes, size_t max_batches, std::vector<WalBatch>* out) = 0;

  // Gives back batches that Read returned once the caller is done with them, and empties *done.
  // A source may keep their buffers to fill later Reads without allocating. Default: clears.
  virtual void Recycle(std::vector<WalBatch>* done) { done->clear(); }

  // Blocks until the primary's latest sequence is greater than after_seq or `timeout` passed,
  // and returns whether it is. Woken by the application's writes, no busy polling.
  virtual bool WaitForWrites(uint64_t after_seq, std::chrono::microseconds timeout) = 0;

  // The primary's latest sequence number (DB::GetLatestSequenceNumber()).
  virtual uint64_t LatestSequence() = 0;
};

// One file of a checkpoint. `name` is a plain file name (no directory part); the installer
// refuses anything else.
struct CheckpointFile {
  std::string name;
  uint64_t size = 0;
};

// A consistent checkpoint of the primary: its files and the exact sequence it contains. The
// checkpoint's files stay on disk as long as the reader exists (its destructor removes them).
class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;

  // The last sequence contained in the checkpoint: streaming resumes at sequence() + 1.
  virtual uint64_t sequence() const = 0;
  virtual const std::vector<CheckpointFile>& files() const = 0;

  // Reads up to max_bytes of files()[file_index] starting at `offset` into *out (replacing
  // its content). Returns fewer bytes only at the end of the file (0 at or past the end).
  // Errors: kInvalidArgument (bad index), kIOError.
  virtual Status ReadChunk(size_t file_index, uint64_t offset, size_t max_bytes,
                           std::string* out) = 0;
};

// Opens per-secondary sources and checkpoints. Thread-safe (see above).
class SourceProvider {
 public:
  virtual ~SourceProvider() = default;

  // A source whose first batch starts at next_sequence. Errors: NeedsBootstrap(reason) when the
  // WAL no longer holds next_sequence (or next_sequence is beyond the latest sequence + 1 —
  // a secondary ahead of its primary has another history); others are transient.
  virtual Result<std::unique_ptr<BatchSource>> OpenAt(uint64_t next_sequence) = 0;

  // A new checkpoint of the primary.
  virtual Result<std::unique_ptr<CheckpointReader>> CreateCheckpoint() = 0;

  // The primary's latest sequence number.
  virtual uint64_t LatestSequence() = 0;

  // The id of this primary's history (BatchSink::History); "" = unknown. A secondary of the same
  // epoch naming another history is bootstrapped (ForeignHistoryReason).
  virtual std::string History() { return std::string(); }

  // A lost tail (invariant 1 after a crash): batches are shipped as soon as they are written,
  // before the primary's WAL is synced, so a primary whose machine crashed may recover less than
  // it shipped, then write other batches at the same sequences. A secondary holding that tail has
  // a position the primary could stream from, onto data the primary no longer has. So a position
  // beyond what the DB held when it was opened is trusted only from a secondary that already
  // follows this opening of it (it streamed from a position at or below it, or installed a
  // checkpoint made since). Answers the reason to bootstrap, or nullopt when `cursor` may be
  // streamed from. Default (sources without crash recovery): always nullopt.
  virtual std::optional<std::string> UntrustedPositionReason(const std::string& secondary_id, uint64_t cursor) {
    (void)secondary_id;
    (void)cursor;
    return std::nullopt;
  }
  // `secondary_id` follows this opening of the DB from now on (see UntrustedPositionReason).
  virtual void PositionTrusted(const std::string& secondary_id) { (void)secondary_id; }
};

}  // namespace rocksdr::replication
