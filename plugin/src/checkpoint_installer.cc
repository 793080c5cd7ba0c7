// Checkpoint installation on a secondary. See checkpoint_installer.h for the state machine.
#include "checkpoint_installer.h"

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/write_batch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "reserved_cf.h"
#include "rocksdr/replication/crc32c.h"

namespace rocksdr::plugin {

namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening '" + path + "' to fsync it");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    errno = err;
    return Errno("fsync of '" + path + "'");
  }
  return Status::OK();
}

std::string ParentOf(const std::string& path) {
  std::string p = fs::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Status::IOError("removing '" + path + "': " + ec.message());
  return Status::OK();
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("renaming '" + from + "' to '" + to + "'");
  return FsyncPath(ParentOf(to));
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Fixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::OK();
  if (s.IsIOError()) return Status::IOError(context + ": " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(context + ": " + s.ToString());
  return Status::Internal(context + ": " + s.ToString());
}

}  // namespace

uint32_t CheckpointInstaller::Crc32cExtend(uint32_t crc, std::string_view data) {
  return replication::crc32c::Extend(crc, data.data(), data.size());
}

CheckpointInstaller::CheckpointInstaller(std::string target_dir, InstallerOptions options)
    : target_(std::move(target_dir)), staging_(target_ + ".staging"), options_(std::move(options)) {}

CheckpointInstaller::~CheckpointInstaller() { Abort(); }

Result<RecoveryAction> CheckpointInstaller::Recover(const std::string& target) {
  const std::string staging = target + ".staging";
  const std::string ready = target + ".ready";
  const std::string old = target + ".old";
  RecoveryAction action = RecoveryAction::kNothing;
  if (Exists(staging)) {
    ROCKSDR_RETURN_IF_ERROR(RemoveAll(staging));
    ROCKSDR_RETURN_IF_ERROR(FsyncPath(ParentOf(target)));
    action = RecoveryAction::kRemovedStaging;
  }
  if (Exists(ready)) {
    if (Exists(target)) {
      if (Exists(old)) ROCKSDR_RETURN_IF_ERROR(RemoveAll(old));
      ROCKSDR_RETURN_IF_ERROR(Rename(target, old));
    }
    ROCKSDR_RETURN_IF_ERROR(Rename(ready, target));
    action = RecoveryAction::kCompletedSwap;
  }
  if (Exists(old)) {
    if (!Exists(target)) {
      // Not produced by Commit's order; keep the data rather than lose it.
      ROCKSDR_RETURN_IF_ERROR(Rename(old, target));
    } else {
      ROCKSDR_RETURN_IF_ERROR(RemoveAll(old));
      ROCKSDR_RETURN_IF_ERROR(FsyncPath(ParentOf(target)));
    }
    if (action == RecoveryAction::kNothing) action = RecoveryAction::kRemovedOld;
  }
  return action;
}

Status CheckpointInstaller::Fail(Status s) {
  Abort();
  return s;
}

void CheckpointInstaller::Abort() {
  if (open_fd_ >= 0) {
    ::close(open_fd_);
    open_fd_ = -1;
  }
  open_name_.clear();
  if (active_) {
    RemoveAll(staging_).WithContext("abort").ok();  // best effort; Recover retries at startup
    active_ = false;
  }
  files_.clear();
  incremental_ = false;
}

Status CheckpointInstaller::BeginIncremental(uint64_t sequence, size_t file_count, uint64_t total_bytes) {
  if (active_) return Status::FailedPrecondition("a checkpoint install is already in progress");
  if (file_count == 0) return Status::InvalidArgument("checkpoint has no files");
  if (file_count > options_.limits.max_files) {
    return Status::ResourceExhausted("checkpoint has " + std::to_string(file_count) + " files, limit " +
                                     std::to_string(options_.limits.max_files));
  }
  if (total_bytes > options_.limits.max_total_bytes) {
    return Status::ResourceExhausted("checkpoint of " + std::to_string(total_bytes) + " bytes exceeds the limit of " +
                                     std::to_string(options_.limits.max_total_bytes));
  }
  auto rec = Recover(target_);
  if (!rec.ok()) return rec.status();
  std::error_code ec;
  if (!fs::create_directory(staging_, ec) || ec) {
    return Status::IOError("creating staging directory '" + staging_ + "': " +
                           (ec ? ec.message() : std::string("already exists")));
  }
  // The primary's data (and the cluster's sealed keyring) arrive here: owner only.
  fs::permissions(staging_, fs::perms::owner_all, fs::perm_options::replace, ec);
  active_ = true;
  incremental_ = true;
  expected_files_ = file_count;
  expected_total_ = total_bytes;
  announced_total_ = 0;
  sequence_ = sequence;
  files_.clear();
  progress_ = InstallProgress{0, file_count, 0, total_bytes};
  if (options_.progress) options_.progress(progress_);
  return Status::OK();
}

Status CheckpointInstaller::AddFile(const std::string& name, uint64_t size) {
  if (!active_ || !incremental_) return Status::FailedPrecondition("no incremental checkpoint install in progress");
  if (!ValidName(name)) {
    return Fail(Status::InvalidArgument("checkpoint file name is not a plain file name ([A-Za-z0-9._-], at most 255 "
                                        "bytes, not '.' or '..')"));
  }
  if (size > options_.limits.max_file_bytes) {
    return Fail(Status::ResourceExhausted("checkpoint file '" + name + "' of " + std::to_string(size) +
                                          " bytes exceeds the limit of " + std::to_string(options_.limits.max_file_bytes)));
  }
  if (files_.size() >= expected_files_) {
    return Fail(Status::InvalidArgument("checkpoint announced " + std::to_string(expected_files_) +
                                        " files but more arrived"));
  }
  if (size > expected_total_ - announced_total_) {
    return Fail(Status::InvalidArgument("checkpoint files exceed the announced total of " +
                                        std::to_string(expected_total_) + " bytes"));
  }
  if (!files_.emplace(name, FileState{size, 0, 0, false}).second) {
    return Fail(Status::InvalidArgument("checkpoint lists file '" + name + "' twice"));
  }
  announced_total_ += size;
  return Status::OK();
}

Status CheckpointInstaller::Begin(uint64_t sequence, const std::vector<CheckpointFileInfo>& files,
                                  uint64_t total_bytes) {
  if (active_) return Status::FailedPrecondition("a checkpoint install is already in progress");
  if (files.empty()) return Status::InvalidArgument("checkpoint has no files");
  if (files.size() > options_.limits.max_files) {
    return Status::ResourceExhausted("checkpoint has " + std::to_string(files.size()) + " files, limit " +
                                     std::to_string(options_.limits.max_files));
  }
  if (total_bytes > options_.limits.max_total_bytes) {
    return Status::ResourceExhausted("checkpoint of " + std::to_string(total_bytes) + " bytes exceeds the limit of " +
                                     std::to_string(options_.limits.max_total_bytes));
  }
  std::map<std::string, FileState> list;
  uint64_t sum = 0;
  for (const auto& f : files) {
    if (!ValidName(f.name)) {
      return Status::InvalidArgument("checkpoint file name is not a plain file name ([A-Za-z0-9._-], at most 255 "
                                     "bytes, not '.' or '..')");
    }
    if (f.size > options_.limits.max_file_bytes) {
      return Status::ResourceExhausted("checkpoint file '" + f.name + "' of " + std::to_string(f.size) +
                                       " bytes exceeds the limit of " + std::to_string(options_.limits.max_file_bytes));
    }
    if (!list.emplace(f.name, FileState{f.size, 0, 0, false}).second) {
      return Status::InvalidArgument("checkpoint lists file '" + f.name + "' twice");
    }
    sum += f.size;
  }
  if (list.count("CURRENT") == 0) {
    return Status::InvalidArgument("checkpoint has no CURRENT file: it is not a RocksDB checkpoint");
  }
  if (sum != total_bytes) {
    return Status::InvalidArgument("checkpoint total of " + std::to_string(total_bytes) +
                                   " bytes differs from the sum of its files (" + std::to_string(sum) + ")");
  }
  auto rec = Recover(target_);
  if (!rec.ok()) return rec.status();
  std::error_code ec;
  if (!fs::create_directory(staging_, ec) || ec) {
    return Status::IOError("creating staging directory '" + staging_ + "': " +
                           (ec ? ec.message() : std::string("already exists")));
  }
  // The primary's data (and the cluster's sealed keyring) arrive here: owner only.
  fs::permissions(staging_, fs::perms::owner_all, fs::perm_options::replace, ec);
  active_ = true;
  sequence_ = sequence;
  files_ = std::move(list);
  progress_ = InstallProgress{0, files_.size(), 0, total_bytes};
  if (options_.progress) options_.progress(progress_);
  return Status::OK();
}

Status CheckpointInstaller::WriteChunk(const std::string& name, uint64_t offset, std::string_view data) {
  if (!active_) return Status::FailedPrecondition("no checkpoint install in progress");
  auto it = files_.find(name);
  if (it == files_.end()) return Fail(Status::InvalidArgument("chunk for a file the checkpoint did not announce"));
  FileState& f = it->second;
  if (f.done) return Fail(Status::InvalidArgument("chunk for finished file '" + name + "'"));
  if (offset != f.written) {
    return Fail(Status::InvalidArgument("chunk of '" + name + "' at offset " + std::to_string(offset) +
                                        ", expected " + std::to_string(f.written)));
  }
  if (data.size() > f.size - f.written) {
    return Fail(Status::InvalidArgument("chunk of '" + name + "' goes past its announced size of " +
                                        std::to_string(f.size) + " bytes"));
  }
  if (open_name_ != name) {
    if (open_fd_ >= 0) {
      return Fail(Status::InvalidArgument("chunk of '" + name + "' before file '" + open_name_ + "' was finished"));
    }
    const std::string path = staging_ + "/" + name;
    open_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (open_fd_ < 0) return Fail(Errno("creating '" + path + "'"));
    open_name_ = name;
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(open_fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Errno("writing '" + name + "'"));
    done += static_cast<size_t>(n);
  }
  f.crc = Crc32cExtend(f.crc, data);
  f.written += data.size();
  progress_.bytes_done += data.size();
  if (options_.progress) options_.progress(progress_);
  return Status::OK();
}

Status CheckpointInstaller::FinishFile(const std::string& name, uint32_t crc32c) {
  if (!active_) return Status::FailedPrecondition("no checkpoint install in progress");
  auto it = files_.find(name);
  if (it == files_.end()) return Fail(Status::InvalidArgument("finish of a file the checkpoint did not announce"));
  FileState& f = it->second;
  if (f.done) return Fail(Status::InvalidArgument("file '" + name + "' finished twice"));
  if (f.written != f.size) {
    return Fail(Status::InvalidArgument("file '" + name + "' finished after " + std::to_string(f.written) + " of " +
                                        std::to_string(f.size) + " bytes"));
  }
  if (f.crc != crc32c) {
    return Fail(Status::Corruption("file '" + name + "' failed its CRC32C check; the bootstrap must restart"));
  }
  if (open_name_ != name) {  // empty file: no chunk opened it
    if (open_fd_ >= 0) return Fail(Status::InvalidArgument("file '" + open_name_ + "' is still open"));
    const std::string path = staging_ + "/" + name;
    open_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (open_fd_ < 0) return Fail(Errno("creating '" + path + "'"));
    open_name_ = name;
  }
  if (::fsync(open_fd_) != 0) return Fail(Errno("fsync of '" + name + "'"));
  ::close(open_fd_);
  open_fd_ = -1;
  open_name_.clear();
  f.done = true;
  ++progress_.files_done;
  if (options_.progress) options_.progress(progress_);
  return Status::OK();
}

Result<uint64_t> CheckpointInstaller::Finalize(const std::map<std::string, std::string>& carried_local_keys) {
  if (incremental_) {
    if (files_.size() != expected_files_ || announced_total_ != expected_total_) {
      return Status::FailedPrecondition("commit after " + std::to_string(files_.size()) + " of " +
                                        std::to_string(expected_files_) + " announced files (" +
                                        std::to_string(announced_total_) + " of " + std::to_string(expected_total_) +
                                        " bytes)");
    }
    if (files_.count("CURRENT") == 0) {
      return Status::InvalidArgument("checkpoint has no CURRENT file: it is not a RocksDB checkpoint");
    }
  }
  for (const auto& [name, f] : files_) {
    if (!f.done) return Status::FailedPrecondition("commit before file '" + name + "' was finished");
  }
  ROCKSDR_RETURN_IF_ERROR(FsyncPath(staging_));

  rocksdb::DBOptions db_options = options_.db_options;
  db_options.create_if_missing = false;
  db_options.create_missing_column_families = false;
  std::vector<std::string> names;
  ROCKSDR_RETURN_IF_ERROR(FromRocks(rocksdb::DB::ListColumnFamilies(db_options, staging_, &names),
                                    "reading the received checkpoint's column families"));
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) {
    descs.emplace_back(n, options_.cf_options ? options_.cf_options(n) : rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ROCKSDR_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, staging_, descs, &handles, &raw),
                                    "opening the received checkpoint"));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* local = nullptr;
  for (auto* h : handles) {
    if (h->GetName() == kLocalCf) local = h;
  }
  auto close = [&]() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles.clear();
    db->Close().PermitUncheckedError();
  };
  const uint64_t seq = db->GetLatestSequenceNumber();
  Status s;
  if (local == nullptr) {
    s = Status::Corruption("the received checkpoint has no '" + std::string(kLocalCf) +
                           "' column family: it is not a rocksdr-protected DB");
  } else if (seq < sequence_) {
    s = Status::Corruption("the received checkpoint contains sequence " + std::to_string(seq) +
                           ", less than the announced " + std::to_string(sequence_));
  } else {
    rocksdb::WriteBatch wb;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), local));
    rocksdb::Status rs;
    // The checkpoint's history id stays: it names the history of the data just received.
    const rocksdb::Slice history(kLocalKeyHistory.data(), kLocalKeyHistory.size());
    for (it->SeekToFirst(); it->Valid() && rs.ok(); it->Next()) {
      if (it->key() != history) rs = wb.Delete(local, it->key());
    }
    if (rs.ok()) rs = it->status();
    it.reset();
    if (rs.ok()) rs = wb.Put(local, rocksdb::Slice(kLocalKeyCursor.data(), kLocalKeyCursor.size()), Fixed64(seq));
    for (const auto& [k, v] : carried_local_keys) {
      if (rs.ok() && options_.local_keys.count(k) == 0 && k != kLocalKeyCursor && k != kLocalKeyHistory) {
        rs = wb.Put(local, k, v);
      }
    }
    for (const auto& [k, v] : options_.local_keys) {
      if (rs.ok()) rs = wb.Put(local, k, v);
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (rs.ok()) rs = db->Write(wo, &wb);
    s = FromRocks(rs, "writing the installed DB's cursor");
  }
  close();
  ROCKSDR_RETURN_IF_ERROR(s);
  ROCKSDR_RETURN_IF_ERROR(FsyncPath(staging_));
  return seq;
}

Result<uint64_t> CheckpointInstaller::Commit() { return Commit({}); }

Result<uint64_t> CheckpointInstaller::Commit(const std::map<std::string, std::string>& carried_local_keys) {
  if (!active_) return Status::FailedPrecondition("no checkpoint install in progress");
  auto seq = Finalize(carried_local_keys);
  if (!seq.ok()) return Fail(seq.status());
  const std::string ready = target_ + ".ready";
  const std::string old = target_ + ".old";
  Status s = Rename(staging_, ready);
  if (!s.ok()) return Fail(s);
  active_ = false;  // from here on, Recover (not Abort) owns the leftovers
  files_.clear();
  incremental_ = false;
  if (Exists(target_)) ROCKSDR_RETURN_IF_ERROR(Rename(target_, old));
  ROCKSDR_RETURN_IF_ERROR(Rename(ready, target_));
  ROCKSDR_RETURN_IF_ERROR(RemoveAll(old));
  ROCKSDR_RETURN_IF_ERROR(FsyncPath(ParentOf(target_)));
  return *seq;
}

}  // namespace rocksdr::plugin
