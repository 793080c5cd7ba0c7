// What the LD_PRELOAD library does when the application opens a DB (interpose.cc calls it from
// its rocksdb::DB::Open replacements): decide from ROCKSDR_CONFIG whether the path is one to
// replicate, and if so open it under rocksdr and attach the DR primary runtime (PreloadedDB).
//
// Who may call: interpose.cc only, from the application's thread that opens the DB, with the
// re-entry guard (ReentryGuard) held, so that rocksdr's own calls to rocksdb::DB::Open reach
// the real one.
#pragma once

#include <rocksdb/db.h>

#include <string>
#include <vector>

namespace rocksdr::preload {

using RealOpen5 = rocksdb::Status (*)(const rocksdb::DBOptions&, const std::string&,
                                      const std::vector<rocksdb::ColumnFamilyDescriptor>&,
                                      std::vector<rocksdb::ColumnFamilyHandle*>*, rocksdb::DB**);

// Set while this thread runs inside the preload's own open: nested DB::Open calls go straight
// to RocksDB.
class ReentryGuard {
 public:
  ReentryGuard() { depth_++; }
  ~ReentryGuard() { depth_--; }
  ReentryGuard(const ReentryGuard&) = delete;
  ReentryGuard& operator=(const ReentryGuard&) = delete;
  static bool active() { return depth_ > 0; }

 private:
  static thread_local int depth_;
};

enum class Decision { kPassThrough, kAttach, kRefuse };

// Reads ROCKSDR_CONFIG (once per process) and decides for `name`. kRefuse: *refusal is the
// Status to return (no usable config), already printed on stderr.
Decision Decide(const std::string& name, rocksdb::Status* refusal);

// Opens `name` (named by the config) under replication as a DR primary; see the README section
// "Replicating an unmodified application (LD_PRELOAD)". On a failure: preload.on_error fail
// returns the error; continue opens the DB unreplicated through `real` and warns.
rocksdb::Status AttachOnOpen(const rocksdb::DBOptions& db_options, const std::string& name,
                             const std::vector<rocksdb::ColumnFamilyDescriptor>& column_families,
                             std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** dbptr,
                             RealOpen5 real);

}  // namespace rocksdr::preload
