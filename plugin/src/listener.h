// RocksdrListener: the `rocksdr` rocksdb::EventListener, registered in RocksDB's ObjectLibrary
// under the id "rocksdr" so that `listeners={id=rocksdr}` in an OPTIONS file (or
// EventListener::CreateFromString) finds it. Open adds one to every DB it opens.
//
// It records into its DbEvents: external file ingestions (OnExternalFileIngested: the WAL
// tailer explains the gap that follows), flushes (OnFlushCompleted), background errors
// (OnBackgroundError: shown in the replication status). One listener per DB: a listener shared
// by two DBs mixes their events.
//
// [Threading] callbacks run on RocksDB's threads, concurrently; DbEvents is thread-safe.
// [Locking] callbacks take only DbEvents' own short mutex; they never call back into the DB.
// [Exceptions] none are thrown.
#pragma once

#include <rocksdb/listener.h>
#include <rocksdb/utilities/object_registry.h>

#include <memory>
#include <string>

#include "db_events.h"

namespace rocksdr::plugin {

class RocksdrListener : public rocksdb::EventListener {
 public:
  RocksdrListener() : events_(std::make_shared<DbEvents>()) {}

  static const char* kClassName() { return "rocksdr"; }
  const char* Name() const override { return kClassName(); }

  const std::shared_ptr<DbEvents>& events() const { return events_; }

  void OnExternalFileIngested(rocksdb::DB* db, const rocksdb::ExternalFileIngestionInfo& info) override;
  void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override;
  // A recovery (DB::Resume, or RocksDB's own) that ended well clears the recorded error.
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

 private:
  std::shared_ptr<DbEvents> events_;
};

// Registers the "rocksdr" EventListener factory in ObjectLibrary::Default() once per process.
// Called by Open/Attach and by a static initializer of this file.
void EnsureObjectsRegistered();

// Finds a RocksdrListener among the DB's listeners; nullptr if it has none.
std::shared_ptr<RocksdrListener> FindRocksdrListener(const rocksdb::DBOptions& options);

}  // namespace rocksdr::plugin
