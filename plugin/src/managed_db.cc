// ManagedDb; see managed_db.h.
#include "managed_db.h"

#include <algorithm>
#include <filesystem>

#include "checkpoint_installer.h"
#include "reserved_cf.h"

namespace rocksdr::plugin {

Result<std::unique_ptr<ManagedDb>> ManagedDb::Open(const DbSpec& spec) {
  if (spec.path.empty()) return Status::InvalidArgument("DbSpec.path is empty: give the DB directory");
  std::unique_ptr<ManagedDb> m(new ManagedDb(spec));
  ROCKSDR_RETURN_IF_ERROR(m->DoOpen());
  return m;
}

Result<std::unique_ptr<ManagedDb>> ManagedDb::Adopt(const DbSpec& spec, std::unique_ptr<ReplicatedDB> db) {
  if (spec.path.empty()) return Status::InvalidArgument("DbSpec.path is empty: give the DB directory");
  if (!db) return Status::InvalidArgument("ManagedDb::Adopt: db is null");
  std::unique_ptr<ManagedDb> m(new ManagedDb(spec));
  m->impl_.reset(ReplicatedDBImpl::From(db.release()));
  m->adopted_ = true;
  return m;
}

ManagedDb::~ManagedDb() { (void)Close(); }

rocksdb::ColumnFamilyOptions ManagedDb::CfOptions(const std::string& name) const {
  return spec_.cf_options ? spec_.cf_options(name) : rocksdb::ColumnFamilyOptions();
}

Status ManagedDb::DoOpen() {
  // An install interrupted by a crash is completed or discarded before the DB is read.
  auto rec = CheckpointInstaller::Recover(spec_.path);
  if (!rec.ok()) return rec.status().WithContext("recovering an interrupted bootstrap of " + spec_.path);

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(spec_.db_options, spec_.path, &existing).ok()) {
    for (auto& n : existing) names.push_back(n);
  }
  for (auto& n : spec_.column_families) names.push_back(n);
  std::vector<std::string> unique;
  for (auto& n : names) {
    if (n == kReplicatedCf || n == kLocalCf) continue;
    if (std::find(unique.begin(), unique.end(), n) == unique.end()) unique.push_back(n);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto& n : unique) descs.emplace_back(n, CfOptions(n));

  rocksdb::DBOptions o = spec_.db_options;
  o.create_missing_column_families = true;
  std::unique_ptr<ReplicatedDB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ROCKSDR_RETURN_IF_ERROR(rocksdr::Open(o, spec_.plugin_options, spec_.path, descs, &handles, &db));
  impl_.reset(ReplicatedDBImpl::From(db.release()));
  handles_ = std::move(handles);
  return Status::OK();
}

rocksdb::ColumnFamilyHandle* ManagedDb::Handle(const std::string& name) const {
  for (auto* h : handles_) {
    if (h->GetName() == name) return h;
  }
  return nullptr;
}

std::vector<rocksdb::ColumnFamilyHandle*> ManagedDb::AllHandles() const {
  std::vector<rocksdb::ColumnFamilyHandle*> all = handles_;
  if (impl_) {
    all.push_back(impl_->replicated_cf());
    all.push_back(impl_->local_cf());
  }
  return all;
}

Status ManagedDb::Close() {
  if (!impl_) return Status::OK();
  if (before_close_) before_close_();
  for (auto* h : handles_) impl_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  handles_.clear();
  impl_.reset();  // destroys rocksdr's handles, then deletes (closes) the base DB
  return Status::OK();
}

Status ManagedDb::CheckReopenable(const std::string& operation) const {
  if (!adopted_) return Status::OK();
  return Status::FailedPrecondition(
      operation + " is refused: the application opened " + spec_.path +
      " itself (LD_PRELOAD / Replicator::Adopt), so rocksdr runs it only as a DR primary and cannot reopen it or "
      "install a bootstrap into it; run a secondary with its own runtime (rocksdr_node, Replicator::Open)");
}

Status ManagedDb::Reopen() {
  ROCKSDR_RETURN_IF_ERROR(CheckReopenable("reopening the DB"));
  ROCKSDR_RETURN_IF_ERROR(Close());
  return DoOpen();
}

}  // namespace rocksdr::plugin
