// PreloadedDB; see preloaded_db.h.
#include "preloaded_db.h"

#include <nlohmann/json.hpp>
#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace rocksdr::preload {

namespace {

const char* StateName(ConnectionState s) {
  if (s == ConnectionState::kStreaming) return "streaming";
  if (s == ConnectionState::kBootstrapping) return "bootstrapping";
  if (s == ConnectionState::kConnecting) return "connecting";
  if (s == ConnectionState::kDisconnected) return "disconnected";
  if (s == ConnectionState::kRevoked) return "revoked";
  return "other";
}

}  // namespace

void Log(const std::string& line) {
  // One fprintf per line: lines of concurrent opens do not interleave mid-line.
  std::fprintf(stderr, "rocksdr preload: %s\n", line.c_str());
  std::fflush(stderr);
}

void WriteStatusFile(const std::string& state_dir, const PreloadStatus& s) {
  nlohmann::json j = {{"db_path", s.db_path},
                      {"replicated", s.replicated},
                      {"state", s.state},
                      {"error", s.error},
                      {"cluster_id", s.cluster_id},
                      {"epoch", s.epoch},
                      {"replication_port", s.replication_port},
                      {"control_socket", s.control_socket},
                      {"pid", static_cast<int64_t>(::getpid())}};
  const std::string path = state_dir + "/preload-status.json";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.good()) {
      Log("WARNING: cannot write " + tmp + "; the status file of " + s.db_path + " is stale");
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) Log("WARNING: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

PreloadedDB::PreloadedDB(std::unique_ptr<Replicator> replicator, std::unique_ptr<ControlServer> control,
                         PreloadStatus status, std::string state_dir)
    : ReplicatedDB(replicator->db()),
      inner_(replicator->db()),
      replicator_(std::move(replicator)),
      control_(std::move(control)),
      status_(std::move(status)),
      state_dir_(std::move(state_dir)) {}

PreloadedDB::~PreloadedDB() {
  (void)Close();
  db_ = nullptr;  // deleted by the runtime; StackableDB must not delete it again
}

ReplicationStatus PreloadedDB::GetReplicationStatus() { return replicator_->GetStatus(); }

void PreloadedDB::DrainTail() {
  const PreloadOptions& p = inner_->plugin_options().preload;
  if (p.close_wait_ms == 0) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(p.close_wait_ms);
  const uint64_t latest = inner_->GetLatestSequenceNumber();
  std::vector<SecondaryStatus> last;
  while (true) {
    last = replicator_->GetSecondaryStatus();
    uint64_t caught_up = 0;
    bool connected_behind = false;
    for (const auto& s : last) {
      const bool connected = s.state == ConnectionState::kStreaming || s.state == ConnectionState::kBootstrapping;
      if (s.acked_sequence >= latest && s.state == ConnectionState::kStreaming) {
        ++caught_up;
      } else if (connected) {
        connected_behind = true;
      }
    }
    if (!connected_behind && caught_up >= p.close_wait_secondaries) {
      Log(status_.db_path + ": closing at sequence " + std::to_string(latest) + "; " + std::to_string(caught_up) +
          " secondar" + (caught_up == 1 ? "y" : "ies") + " caught up");
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string behind;
  for (const auto& s : last) {
    behind += " " + s.id + "@" + std::to_string(s.acked_sequence) + "(" + StateName(s.state) + ")";
  }
  Log("WARNING: " + status_.db_path + ": closing at sequence " + std::to_string(latest) + " after waiting " +
      std::to_string(p.close_wait_ms) + " ms (preload.close_wait) without every secondary caught up" +
      (p.close_wait_secondaries > 0 ? " (wanted " + std::to_string(p.close_wait_secondaries) + ")" : "") +
      "; secondaries:" + (behind.empty() ? " none connected" : behind) +
      ". The tail is shipped when the DB is next opened with the preload");
}

rocksdb::Status PreloadedDB::Close() {
  std::call_once(close_once_, [&] {
    DrainTail();
    if (control_) control_->Stop();
    Status s = replicator_->Close();  // stops the transport, then deletes the DB (inner_)
    inner_ = nullptr;
    db_ = nullptr;
    status_.state = "closed";
    status_.replication_port = 0;
    WriteStatusFile(state_dir_, status_);
    if (!s.ok()) {
      Log("closing " + status_.db_path + ": " + s.ToString());
      close_status_ = rocksdb::Status::IOError("rocksdr preload: closing " + status_.db_path, s.ToString());
    }
  });
  return close_status_;
}

}  // namespace rocksdr::preload
