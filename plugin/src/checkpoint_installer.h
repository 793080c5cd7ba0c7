// CheckpointInstaller: the secondary's end of a bootstrap. It receives a primary checkpoint file by
// file, chunk by chunk, into a staging directory and then atomically replaces the secondary's DB
// directory with it, leaving the installed DB positioned at the checkpoint's sequence.
//
// On-disk state machine, for target directory T (siblings in T's parent):
//
//   T.staging/  being received; INCOMPLETE by definition. Files are fsynced as they finish.
//   T.ready/    received, verified and finalized (opened once: node-local keys of the primary
//               cleared, cursor = checkpoint sequence written and synced); COMPLETE.
//   T.old/      the previous DB, moved away during the swap.
//
//   Commit:  finalize T.staging, fsync it ──► rename T.staging → T.ready, fsync parent
//            ──► [T exists] rename T → T.old, fsync parent ──► rename T.ready → T, fsync parent
//            ──► remove T.old, fsync parent.
//   Recover (run at startup, before opening T; a crash can stop Commit after any arrow):
//     T.staging present               → removed (never complete).
//     T.ready present, T present      → crash before T moved away: the swap is completed.
//     T.ready present, T absent       → crash between the renames: T.ready → T.
//     T.old present (after the above) → removed.
//   So after Recover, T is either the old DB (install never reached T.ready) or the new one.
//
// Finalize opens the staged DB with the caller's options, checks that it contains at least the
// announced sequence, takes its exact last sequence as the cursor, deletes every key of the
// primary's kLocalCf but its history id (node-local state is never inherited: role, epoch,
// credentials, ...; the history id names the data's history, not the node), and
// writes the cursor plus the caller's `local_keys` (and the keys carried over from the replaced
// DB, see Commit) in one synced WriteBatch.
//
// Validation: file names are plain ([A-Za-z0-9._-], not "." or "..", ≤ 255 bytes, no duplicates,
// CURRENT present);
// counts and sizes are bounded (InstallLimits); chunks must be contiguous and within the announced
// size; each file's CRC32C is checked when it finishes; announced total must equal the sum.
//
// Threading: one thread at a time (the receiver's bootstrap thread). Not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>

#include "checkpoint_source.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

struct InstallLimits {
  size_t max_files = 100000;                       // Default: 100000
  uint64_t max_file_bytes = uint64_t{1} << 40;     // Default: 1 TiB
  uint64_t max_total_bytes = uint64_t{16} << 40;   // Default: 16 TiB
};

struct InstallProgress {
  size_t files_done = 0;
  size_t files_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};

struct InstallerOptions {
  InstallLimits limits;
  // Options to open the installed DB with (create_if_missing is ignored). Default: defaults.
  rocksdb::DBOptions db_options;
  // Options per column family (comparator and merge operator must match the primary's).
  // Default (empty): rocksdb::ColumnFamilyOptions() for every column family.
  std::function<rocksdb::ColumnFamilyOptions(const std::string& name)> cf_options;
  // Node-local keys this secondary owns, written into kLocalCf with the cursor (e.g. role).
  std::map<std::string, std::string> local_keys;
  // Called after every chunk and every finished file. May be empty.
  std::function<void(const InstallProgress&)> progress;
};

// What Recover found and did.
enum class RecoveryAction { kNothing, kRemovedStaging, kCompletedSwap, kRemovedOld };

class CheckpointInstaller {
 public:
  CheckpointInstaller(std::string target_dir, InstallerOptions options);
  ~CheckpointInstaller();  // aborts an unfinished install
  CheckpointInstaller(const CheckpointInstaller&) = delete;
  CheckpointInstaller& operator=(const CheckpointInstaller&) = delete;

  // Brings target_dir to a consistent state after a crash (see the state machine). Returns the
  // most significant action taken. Call before opening the DB at target_dir.
  static Result<RecoveryAction> Recover(const std::string& target_dir);

  // Starts an install: validates the file list, recovers leftovers, creates T.staging.
  // Errors: kInvalidArgument (bad list), kResourceExhausted (limits), kFailedPrecondition
  // (an install is in progress), kIOError.
  Status Begin(uint64_t sequence, const std::vector<CheckpointFileInfo>& files, uint64_t total_bytes);

  // The same for a transport that announces the files one at a time (replication::BatchSink):
  // starts an install of `file_count` files totalling `total_bytes`; each file is then announced
  // with AddFile before its chunks. Commit additionally checks that exactly file_count files
  // summing to total_bytes were announced and that CURRENT is among them.
  // Errors: as Begin (kInvalidArgument for file_count 0).
  Status BeginIncremental(uint64_t sequence, size_t file_count, uint64_t total_bytes);
  // Announces the next file of an incremental install. Errors: kFailedPrecondition (no
  // incremental install), kInvalidArgument (bad or duplicate name, more files or bytes than
  // announced), kResourceExhausted (limits). Any error aborts the install.
  Status AddFile(const std::string& name, uint64_t size);

  // Appends `data` to file `name` at `offset` (the number of bytes already written).
  Status WriteChunk(const std::string& name, uint64_t offset, std::string_view data);

  // The file is complete: checks its size and CRC32C, fsyncs it.
  Status FinishFile(const std::string& name, uint32_t crc32c);

  // Finalizes and swaps (see above). REQUIRES: no process has the DB at target_dir open.
  // Returns the installed DB's cursor (>= the announced sequence).
  Result<uint64_t> Commit();
  // The same, also writing `carried_local_keys` (this node's own kLocalCf keys read from the DB
  // being replaced, e.g. the sidecar's credentials) into the installed DB, in the same synced
  // WriteBatch as the cursor; options' local_keys win over them on a key collision.
  Result<uint64_t> Commit(const std::map<std::string, std::string>& carried_local_keys);

  // Discards the staged files. Safe to call at any time.
  void Abort();

  const InstallProgress& progress() const { return progress_; }

  // CRC32C as used for FILE_END (kept behind one function so the implementation can change).
  static uint32_t Crc32cExtend(uint32_t crc, std::string_view data);

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t written = 0;
    uint32_t crc = 0;
    bool done = false;
  };

  Status Fail(Status s);  // aborts, returns s
  Status CloseOpenFile();
  Result<uint64_t> Finalize(const std::map<std::string, std::string>& carried_local_keys);

  const std::string target_;
  const std::string staging_;
  const InstallerOptions options_;
  bool active_ = false;
  bool incremental_ = false;        // BeginIncremental: files_ grows with AddFile
  size_t expected_files_ = 0;       // incremental: announced count
  uint64_t expected_total_ = 0;     // incremental: announced bytes
  uint64_t announced_total_ = 0;    // incremental: sum of AddFile sizes
  uint64_t sequence_ = 0;
  std::map<std::string, FileState> files_;
  std::string open_name_;  // file with an open descriptor
  int open_fd_ = -1;
  InstallProgress progress_;
};

}  // namespace rocksdr::plugin
