// ManagedDb: a replicated DB that the replication runtime opens, closes and reopens itself.
//
// Why the runtime owns the DB: a bootstrap replaces the whole DB directory (CheckpointInstaller
// requires the DB closed at Commit), and a DR secondary serves no application requests anyway,
// so the runtime, not the application, holds a secondary's DB and reopens it under the
// application's feet. After a promotion the DB is reopened once more so that every column family
// created by the stream has an ordinary handle (the applier's own handles die with it).
//
// Open/Reopen open EVERY column family on disk (plus the spec's, created if missing), each with
// spec.cf_options(name), through rocksdr::Open; CheckpointInstaller::Recover runs first, so an
// install interrupted by a crash is completed or discarded before the DB is read.
//
// Adopted mode (Adopt, the LD_PRELOAD route, see rocksdr/replicator.h Replicator::Adopt): the
// application opened the DB and holds its own column family handles; handles() is empty, Close()
// deletes only the wrapper (and with it the base DB), and Reopen() is refused.
//
// Threading: not thread-safe; the owner (Replicator) serializes Open/Close/Reopen with its
// exclusive DB lock and everything else with the shared one. handles() and impl() are valid
// until the next Close/Reopen.
#pragma once

#include <rocksdb/db.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "replicated_db.h"
#include "rocksdr/replicator.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

class ManagedDb {
 public:
  static Result<std::unique_ptr<ManagedDb>> Open(const DbSpec& spec);
  // Takes over a DB the application opened (through rocksdr::Open/Attach). spec.path names it.
  static Result<std::unique_ptr<ManagedDb>> Adopt(const DbSpec& spec, std::unique_ptr<ReplicatedDB> db);
  ~ManagedDb();
  ManagedDb(const ManagedDb&) = delete;
  ManagedDb& operator=(const ManagedDb&) = delete;

  // nullptr while closed.
  ReplicatedDBImpl* impl() const { return impl_.get(); }
  bool is_open() const { return impl_ != nullptr; }
  bool adopted() const { return adopted_; }
  // OK, or (adopted) kFailedPrecondition naming `operation`: it would need a reopen or a
  // bootstrap install of a DB the application holds open.
  Status CheckReopenable(const std::string& operation) const;

  // The application's column families (all on disk, "default" first), open handles.
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  rocksdb::ColumnFamilyHandle* Handle(const std::string& name) const;
  // handles() plus rocksdr's reserved ones: what Applier::Open needs.
  std::vector<rocksdb::ColumnFamilyHandle*> AllHandles() const;

  // Called at the start of every Close()/Reopen() of an open DB, before anything is closed (the
  // consistency check releases its snapshots and iterators there). Set once, before use.
  void SetBeforeClose(std::function<void()> fn) { before_close_ = std::move(fn); }

  // Destroys the handles and closes the DB (idempotent).
  Status Close();
  // Close() then open again with the same spec. kFailedPrecondition when adopted.
  Status Reopen();

  const DbSpec& spec() const { return spec_; }
  rocksdb::ColumnFamilyOptions CfOptions(const std::string& name) const;

 private:
  explicit ManagedDb(DbSpec spec) : spec_(std::move(spec)) {}
  Status DoOpen();

  DbSpec spec_;
  std::unique_ptr<ReplicatedDBImpl> impl_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::function<void()> before_close_;
  bool adopted_ = false;
};

}  // namespace rocksdr::plugin
