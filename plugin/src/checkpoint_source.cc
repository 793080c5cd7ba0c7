// Bootstrap checkpoint creation and reading. See checkpoint_source.h.
#include "checkpoint_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/convenience.h>
#include <rocksdb/env.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/options_util.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

namespace rocksdr::plugin {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxChunk = 64u << 20;

// Keeps RocksDB from writing a LOG file into the checkpoint when we open it.
// Replaying a Merge record needs a merge operator, even though nothing is read: without one,
// recovery stops at the first Merge and the sequence comes out short.
class NeverMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput&, MergeOperationOutput*) const override { return false; }
  const char* Name() const override { return "RocksdrNeverMerge"; }
};

class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::OK();
  if (s.IsIOError()) return Status::IOError(context + ": " + s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(context + ": " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption(context + ": " + s.ToString());
  return Status::Internal(context + ": " + s.ToString());
}

// Opens the copy read-only (replaying its WAL) and returns its last sequence.
Result<uint64_t> ContainedSequence(rocksdb::DB* source, const std::string& dir) {
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = true;
  config.ignore_unsupported_options = true;
  config.env = source->GetEnv();
  if (!rocksdb::LoadLatestOptions(config, dir, &db_options, &descs).ok()) {
    // OPTIONS file unusable (e.g. unregistered custom objects): fall back to the source's
    // default column family options for every column family.
    db_options = source->GetDBOptions();
    descs.clear();
    std::vector<std::string> names;
    ROCKSDR_RETURN_IF_ERROR(FromRocks(rocksdb::DB::ListColumnFamilies(db_options, dir, &names),
                                      "listing the checkpoint's column families"));
    const rocksdb::ColumnFamilyOptions cf(source->GetOptions(source->DefaultColumnFamily()));
    for (auto& n : names) descs.emplace_back(n, cf);
  }
  auto never_merge = std::make_shared<NeverMergeOperator>();
  for (auto& d : descs) {
    if (d.options.merge_operator == nullptr) d.options.merge_operator = never_merge;
  }
  db_options.create_if_missing = false;
  db_options.info_log = std::make_shared<NullLogger>();
  db_options.statistics.reset();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* ro = nullptr;
  ROCKSDR_RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenForReadOnly(db_options, dir, descs, &handles, &ro),
                                    "opening the checkpoint read-only to find its sequence"));
  const uint64_t seq = ro->GetLatestSequenceNumber();
  for (auto* h : handles) ro->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  ro->Close().PermitUncheckedError();
  delete ro;
  return seq;
}

Result<CheckpointInfo> CreateIn(rocksdb::DB* db, const std::string& dir, const CheckpointSourceOptions& options) {
  rocksdb::Checkpoint* raw = nullptr;
  ROCKSDR_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db, &raw), "creating a checkpoint object"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  uint64_t lower_bound = 0;
  ROCKSDR_RETURN_IF_ERROR(FromRocks(cp->CreateCheckpoint(dir, options.log_size_for_flush, &lower_bound),
                                    "creating the bootstrap checkpoint"));
  CheckpointInfo info;
  info.dir = dir;
  auto seq = ContainedSequence(db, dir);
  if (!seq.ok()) return seq.status();
  if (*seq < lower_bound) {
    return Status::Internal("checkpoint contains sequence " + std::to_string(*seq) + " < reported " +
                            std::to_string(lower_bound));
  }
  info.sequence = *seq;

  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) {
      return Status::Internal("checkpoint holds a non-regular entry '" + entry.path().filename().string() + "'");
    }
    const uint64_t size = entry.file_size(ec);
    if (ec) return Status::IOError("stat of checkpoint file: " + ec.message());
    info.files.push_back({entry.path().filename().string(), size});
    info.total_bytes += size;
  }
  if (ec) return Status::IOError("listing checkpoint directory: " + ec.message());
  std::sort(info.files.begin(), info.files.end(),
            [](const CheckpointFileInfo& a, const CheckpointFileInfo& b) { return a.name < b.name; });
  return info;
}

}  // namespace

Result<CheckpointInfo> CreateBootstrapCheckpoint(rocksdb::DB* db, const std::string& dir,
                                                 const CheckpointSourceOptions& options) {
  if (db == nullptr || dir.empty()) return Status::InvalidArgument("CreateBootstrapCheckpoint: null db or empty dir");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return Status::InvalidArgument("checkpoint directory '" + dir + "' already exists; remove it or choose another");
  }
  auto info = CreateIn(db, dir, options);
  if (!info.ok()) fs::remove_all(dir, ec);
  return info;
}

Status ReadCheckpointChunk(const CheckpointInfo& info, size_t file_index, uint64_t offset, size_t max_bytes,
                           std::string* out) {
  if (file_index >= info.files.size()) {
    return Status::InvalidArgument("checkpoint file index " + std::to_string(file_index) + " out of range (" +
                                   std::to_string(info.files.size()) + " files)");
  }
  if (max_bytes == 0 || max_bytes > kMaxChunk) {
    return Status::InvalidArgument("chunk size must be in 1.." + std::to_string(kMaxChunk));
  }
  out->clear();
  const CheckpointFileInfo& f = info.files[file_index];
  if (offset >= f.size) return Status::OK();
  const size_t want = static_cast<size_t>(std::min<uint64_t>(max_bytes, f.size - offset));
  const std::string path = info.dir + "/" + f.name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("opening checkpoint file '" + f.name + "': " + std::strerror(errno));
  out->resize(want);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, out->data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      out->clear();
      return Status::IOError("reading checkpoint file '" + f.name + "': " +
                             (n == 0 ? std::string("file shrank") : std::string(std::strerror(err))));
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::OK();
}

Status RemoveCheckpoint(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Status::IOError("removing checkpoint '" + dir + "': " + ec.message());
  return Status::OK();
}

}  // namespace rocksdr::plugin
