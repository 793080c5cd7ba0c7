// InfoLog: the RocksDB info LOG ("<db>/LOG") rocksdr installs when the application left
// DBOptions::info_log unset and db_log_dir empty. It writes the same text lines as RocksDB's own
// logger, but a failed write (a full disk: ENOSPC) is dropped instead of remembered: RocksDB
// 7.8's logger marks its file as failed and asserts on the next line, which aborts the process
// in builds with assertions (Debian's librocksdb7.8), so a full disk killed a secondary instead
// of stopping it with a clear status (tests/fault/disk_full_test.cc).
//
// Like RocksDB, an existing LOG is renamed LOG.old.<microseconds> on open (RocksDB purges the old
// ones beyond keep_log_file_num). Thread safety: Logv may be called from any thread.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <memory>
#include <string>

namespace rocksdr::plugin {

// The logger for the DB at `db_path`, or nullptr (RocksDB then creates its own) if the LOG file
// cannot be opened.
std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& db_path, const rocksdb::DBOptions& options);

}  // namespace rocksdr::plugin
