// DbSourceProvider: the primary's replication::SourceProvider over a ReplicatedDBImpl —
// OpenAt gives each secondary its own WalTailer (DB::GetUpdatesSince, exact continuity,
// NeedsBootstrap on a WAL gap); CreateCheckpoint makes a bootstrap checkpoint with its exact
// sequence (checkpoint_source.h) in a fresh directory under the state dir, removed when the
// reader is destroyed (after the stream, or when the session ends).
//
// Refuses (kUnavailable, transient for the transport) while the DB is not a primary, so a
// demoted or disabled node ships nothing even if a session is still open.
//
// Threading: thread-safe (PrimaryServer calls it from several session threads). The DB must
// outlive the provider's use: stop the PrimaryServer before closing the DB.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "replicated_db.h"
#include "rocksdr/replication/batch_source.h"

namespace rocksdr::plugin {

class DbSourceProvider : public replication::SourceProvider {
 public:
  // `checkpoint_root`: directory for bootstrap checkpoints (created if missing); must be on the
  // DB's filesystem so checkpoints hard-link SST files instead of copying them.
  DbSourceProvider(ReplicatedDBImpl* db, std::string checkpoint_root);

  Result<std::unique_ptr<replication::BatchSource>> OpenAt(uint64_t next_sequence) override;
  Result<std::unique_ptr<replication::CheckpointReader>> CreateCheckpoint() override;
  uint64_t LatestSequence() override;
  std::optional<std::string> UntrustedPositionReason(const std::string& secondary_id, uint64_t cursor) override;
  std::string History() override;
  void PositionTrusted(const std::string& secondary_id) override;

  // Checkpoints made so far (tests, metrics).
  uint64_t checkpoints_created() const { return checkpoints_.load(); }

 private:
  Status CheckPrimary() const;

  ReplicatedDBImpl* const db_;
  const std::string root_;
  std::atomic<uint64_t> checkpoints_{0};
};

}  // namespace rocksdr::plugin
