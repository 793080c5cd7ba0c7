// PreloadedDB: what an unmodified application gets from rocksdb::DB::Open when the LD_PRELOAD
// library (librocksdr_preload.so) attached replication to its DB. It is a rocksdr::ReplicatedDB
// that forwards every call to the real wrapper (so role fencing, markers and refusals are
// rocksdr's), and owns the replication runtime of that DB: the Replicator (primary) and the
// control socket. Closing it (Close() or delete, as any RocksDB application does) drains the
// replication tail within PreloadOptions' close_wait, stops the control socket and the transport,
// and only then closes the DB.
//
// Who may use it: the application, as a rocksdb::DB, from any thread. As with any RocksDB DB,
// the application destroys the column family handles it got before deleting the DB, and calls
// nothing but delete after Close().
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "rocksdr/control_server.h"
#include "rocksdr/replicator.h"
#include "rocksdr/rocksdr.h"

namespace rocksdr::preload {

// Writes "<state dir>/preload-status.json" (tmp + rename): what the library did for one DB.
// Best effort: a failure is reported on stderr.
struct PreloadStatus {
  std::string db_path;
  bool replicated = false;
  std::string state;   // "primary" | "unreplicated" | "closed"
  std::string error;   // why it is unreplicated (empty otherwise)
  std::string cluster_id;
  uint64_t epoch = 0;
  uint16_t replication_port = 0;
  std::string control_socket;
};
void WriteStatusFile(const std::string& state_dir, const PreloadStatus& status);

// One line on stderr, prefixed "rocksdr preload: ".
void Log(const std::string& line);

class PreloadedDB : public ReplicatedDB {
 public:
  PreloadedDB(std::unique_ptr<Replicator> replicator, std::unique_ptr<ControlServer> control,
              PreloadStatus status, std::string state_dir);
  ~PreloadedDB() override;

  // Drains, stops the runtime and closes the DB. Only the first call does anything.
  rocksdb::Status Close() override;

  Role role() const override { return inner_->role(); }
  uint64_t epoch() const override { return inner_->epoch(); }
  std::string cluster_id() const override { return inner_->cluster_id(); }
  const PluginOptions& plugin_options() const override { return inner_->plugin_options(); }
  ReplicationStatus GetReplicationStatus() override;

 private:
  // Waits for the secondaries (PreloadOptions::close_wait_*) and logs the outcome.
  void DrainTail();

  ReplicatedDB* inner_;  // owned by replicator_ (adopted)
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<ControlServer> control_;
  PreloadStatus status_;
  const std::string state_dir_;
  std::once_flag close_once_;
  rocksdb::Status close_status_;
};

}  // namespace rocksdr::preload
