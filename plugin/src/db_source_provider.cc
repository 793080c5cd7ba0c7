// DbSourceProvider; see db_source_provider.h.
#include "db_source_provider.h"

#include <unistd.h>

#include <filesystem>
#include <utility>

#include <spdlog/spdlog.h>

#include "checkpoint_source.h"

namespace rocksdr::plugin {

namespace {

// A checkpoint directory and its file list; the directory is removed with the reader.
class DirCheckpointReader : public replication::CheckpointReader {
 public:
  explicit DirCheckpointReader(CheckpointInfo info) : info_(std::move(info)) {
    files_.reserve(info_.files.size());
    for (const auto& f : info_.files) files_.push_back(replication::CheckpointFile{f.name, f.size});
  }
  ~DirCheckpointReader() override { (void)RemoveCheckpoint(info_.dir); }

  uint64_t sequence() const override { return info_.sequence; }
  const std::vector<replication::CheckpointFile>& files() const override { return files_; }
  Status ReadChunk(size_t file_index, uint64_t offset, size_t max_bytes, std::string* out) override {
    return ReadCheckpointChunk(info_, file_index, offset, max_bytes, out);
  }

 private:
  CheckpointInfo info_;
  std::vector<replication::CheckpointFile> files_;
};

}  // namespace

DbSourceProvider::DbSourceProvider(ReplicatedDBImpl* db, std::string checkpoint_root)
    : db_(db), root_(std::move(checkpoint_root)) {}

Status DbSourceProvider::CheckPrimary() const {
  if (db_->role() != Role::kPrimary) {
    return Status::Unavailable("this node is no longer a DR primary (role " + std::string(RoleName(db_->role())) +
                               ")");
  }
  return Status::OK();
}

Result<std::unique_ptr<replication::BatchSource>> DbSourceProvider::OpenAt(uint64_t next_sequence) {
  ROCKSDR_RETURN_IF_ERROR(CheckPrimary());
  auto t = db_->NewTailer(next_sequence);
  if (!t.ok()) return t.status();
  return std::unique_ptr<replication::BatchSource>(std::move(*t));
}

Result<std::unique_ptr<replication::CheckpointReader>> DbSourceProvider::CreateCheckpoint() {
  ROCKSDR_RETURN_IF_ERROR(CheckPrimary());
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return Status::IOError("creating the checkpoint directory '" + root_ + "': " + ec.message());
  // Checkpoints are hard links to the DB's files: owner only, as the state directory should be.
  std::filesystem::permissions(root_, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  const uint64_t n = checkpoints_.fetch_add(1) + 1;
  const std::string dir = root_ + "/checkpoint-" + std::to_string(::getpid()) + "-" + std::to_string(n);
  (void)RemoveCheckpoint(dir);  // a leftover of an earlier process with the same pid
  // An ingestion whose marker a tailer already saw must be in the checkpoint.
  auto no_ingestion = db_->BlockIngestions();
  auto info = CreateBootstrapCheckpoint(db_->base(), dir);
  no_ingestion.unlock();
  if (!info.ok()) return info.status().WithContext("creating a bootstrap checkpoint");
  return std::unique_ptr<replication::CheckpointReader>(new DirCheckpointReader(std::move(*info)));
}

uint64_t DbSourceProvider::LatestSequence() { return db_->base()->GetLatestSequenceNumber(); }

std::string DbSourceProvider::History() {
  Result<std::string> h = db_->state_store()->ReadHistory();
  if (!h.ok()) {
    // Unknown: the epoch alone decides (PROTOCOL.md "History ids").
    spdlog::warn("rocksdr: reading this primary's history id: {}; comparing epochs only", h.status().ToString());
    return std::string();
  }
  return *h;
}

std::optional<std::string> DbSourceProvider::UntrustedPositionReason(const std::string& secondary_id,
                                                                     uint64_t cursor) {
  const uint64_t opened = db_->open_sequence();
  if (cursor <= opened || db_->FollowsThisOpening(secondary_id)) return std::nullopt;
  return "the secondary's cursor " + std::to_string(cursor) + " is beyond sequence " + std::to_string(opened) +
         ", where the primary's DB stood when it was opened, and the secondary has not followed it since: "
         "what it holds after that may be a WAL tail the primary lost (writes shipped before its WAL was synced, "
         "then a crash of its machine), whose sequences the primary has reused";
}

void DbSourceProvider::PositionTrusted(const std::string& secondary_id) { db_->MarkFollowsThisOpening(secondary_id); }

}  // namespace rocksdr::plugin
