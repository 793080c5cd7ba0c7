// Bootstrap checkpoints on the primary: a consistent copy of the whole DB (every column family,
// including rocksdr's reserved ones) and the EXACT primary sequence it contains, streamed to a
// secondary that then continues from sequence + 1.
//
// Exactness: RocksDB's Checkpoint::CreateCheckpoint reports "a sequence number guaranteed to be
// part of the DB, not necessarily the latest" — writes that race with the checkpoint can be in the
// copy beyond it, and a secondary that resumed from that number + 1 would apply them twice. So
// after creating the copy we open it read-only (which replays the copied WAL exactly as the
// secondary will) and take its last sequence; that is CheckpointInfo::sequence.
//
// Who may call: the primary's bootstrap path, any thread; concurrent application writes are fine.
// The DB must stay open during the call. The directory belongs to the caller afterwards; remove it
// with RemoveCheckpoint when the stream is done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "rocksdr/status.h"

namespace rocksdr::plugin {

struct CheckpointFileInfo {
  std::string name;  // plain file name inside the checkpoint directory
  uint64_t size = 0;
};

struct CheckpointInfo {
  std::string dir;
  uint64_t sequence = 0;  // last primary sequence contained: streaming resumes at sequence + 1
  std::vector<CheckpointFileInfo> files;  // sorted by name
  uint64_t total_bytes = 0;
};

struct CheckpointSourceOptions {
  // Passed to Checkpoint::CreateCheckpoint: the memtables are flushed first only if the live WAL
  // is at least this large; otherwise the WAL is copied (and replayed by the secondary).
  // Default: 64 MiB
  uint64_t log_size_for_flush = 64u << 20;
};

// Creates the checkpoint in `dir` (which must not exist; its parent must). On failure removes what
// it created. Errors: kInvalidArgument (dir exists / empty), kIOError, kInternal.
Result<CheckpointInfo> CreateBootstrapCheckpoint(rocksdb::DB* db, const std::string& dir,
                                                 const CheckpointSourceOptions& options = {});

// Reads up to max_bytes of info.files[file_index] starting at `offset` into *out (replacing it).
// Returns fewer bytes only at the end of the file (none at or past the end).
// Errors: kInvalidArgument (bad index, max_bytes 0 or > 64 MiB), kIOError.
Status ReadCheckpointChunk(const CheckpointInfo& info, size_t file_index, uint64_t offset, size_t max_bytes,
                           std::string* out);

// Removes a checkpoint directory (and everything in it).
Status RemoveCheckpoint(const std::string& dir);

}  // namespace rocksdr::plugin
