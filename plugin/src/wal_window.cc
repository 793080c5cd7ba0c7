// WAL window; see wal_window.h.
#include "wal_window.h"

#include <rocksdb/env.h>
#include <rocksdb/transaction_log.h>

#include <algorithm>
#include <limits>

#include "rocks_status.h"

namespace rocksdr::plugin {

namespace {

Status SortedWalFiles(rocksdb::DB* base, rocksdb::VectorLogPtr* files) {
  return FromRocks(base->GetSortedWalFiles(*files), "listing WAL files");
}

uint64_t OldestOf(const rocksdb::VectorLogPtr& files, uint64_t latest) {
  uint64_t oldest = std::numeric_limits<uint64_t>::max();
  for (const auto& f : files) {
    // An empty file (the live WAL right after rotation) reports start sequence 0.
    if (f->StartSequence() != 0) oldest = std::min(oldest, f->StartSequence());
  }
  return oldest == std::numeric_limits<uint64_t>::max() ? latest + 1 : oldest;
}

}  // namespace

Result<uint64_t> OldestAvailableSequence(rocksdb::DB* base) {
  const uint64_t latest = base->GetLatestSequenceNumber();
  rocksdb::VectorLogPtr files;
  ROCKSDR_RETURN_IF_ERROR(SortedWalFiles(base, &files));
  return OldestOf(files, latest);
}

Result<WalWindow> ReadWalWindow(rocksdb::DB* base) {
  WalWindow w;
  w.latest_sequence = base->GetLatestSequenceNumber();
  rocksdb::VectorLogPtr files;
  ROCKSDR_RETURN_IF_ERROR(SortedWalFiles(base, &files));
  w.oldest_sequence = OldestOf(files, w.latest_sequence);
  w.file_count = files.size();
  const rocksdb::DBOptions opts = base->GetDBOptions();
  w.ttl_seconds = opts.WAL_ttl_seconds;
  w.size_limit_mb = opts.WAL_size_limit_MB;
  const std::string wal_dir = opts.wal_dir.empty() ? base->GetName() : opts.wal_dir;
  uint64_t oldest_mtime = 0;
  for (const auto& f : files) {
    w.total_bytes += f->SizeFileBytes();
    if (f->Type() != rocksdb::kArchivedLogFile) continue;
    uint64_t mtime = 0;
    if (base->GetEnv()->GetFileModificationTime(wal_dir + f->PathName(), &mtime).ok() &&
        (oldest_mtime == 0 || mtime < oldest_mtime)) {
      oldest_mtime = mtime;
    }
  }
  int64_t now = 0;
  if (oldest_mtime != 0 && base->GetEnv()->GetCurrentTime(&now).ok() &&
      static_cast<uint64_t>(now) > oldest_mtime) {
    w.oldest_file_age_seconds = static_cast<uint64_t>(now) - oldest_mtime;
  }
  return w;
}

}  // namespace rocksdr::plugin
