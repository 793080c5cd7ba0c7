// FaultCluster: a primary and a DR secondary as two real `rocksdr_node serve` processes, the
// secondary reaching the primary only through a FaultProxy, each driven through its plugin
// control socket by this process (standing in for the two sidecars: it enables the primary,
// activates the secondary, and re-drives an application after a restart as a sidecar operator
// would). The primary's application writes app/<n> every `load_every_ms` (rocksdr_node's loader:
// contiguous keys, so a hole is visible).
//
// Checks used after every fault scenario:
//   Consistency()      the live consistency check at the primary's latest sequence
//                      (rocksdr/sidecar/consistency_check.h over the two control sockets;
//                      ControlSocketConsistency() for any two nodes)
//   OpenFds()/Children()  this process's descriptors and live child processes
//
// Who may call: tests, from the test thread. Uses gtest assertions (check HasFatalFailure()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/consistency_check.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "support/fault_proxy.h"
#include "support/replication_pki.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr::testing {

struct FaultClusterOptions {
  uint64_t load_every_ms = 2;
  // Plugin YAML limits: fast failure detection so scenarios are short.
  uint64_t heartbeat_interval_ms = 100;
  uint64_t peer_timeout_ms = 1000;
  // limits.storage_retry_initial_ms / storage_retry_max_ms of both nodes; 0: the node's default.
  uint64_t storage_retry_initial_ms = 0;
  uint64_t storage_retry_max_ms = 0;
  // Directory of the secondary's DB (default: inside the cluster's temp dir), e.g. a small tmpfs.
  std::string secondary_db_dir;
  // rocksdr_node --sync for both nodes (sync_apply: the secondary syncs its WAL on every apply,
  // or a background thread syncs it); unset: the node's default.
  std::optional<bool> sync_apply;
};

// The consistency check (`mode`, `bucket_keys` keys per bucket, 20 s timeout) between the nodes
// behind two control sockets, named a_name and b_name in the report.
Result<sidecar::ConsistencyReport> ControlSocketConsistency(const std::string& a_name, sidecar::PluginControl* a,
                                                            const std::string& b_name, sidecar::PluginControl* b,
                                                            uint64_t bucket_keys, sidecar::ConsistencyMode mode);

class FaultCluster {
 public:
  static constexpr const char* kCluster = "fault-cluster";
  static constexpr const char* kSecondaryId = "s1";

  explicit FaultCluster(FaultClusterOptions options = {});
  ~FaultCluster();  // SIGKILLs and reaps whatever still runs

  // Starts both nodes, enables the primary, activates the secondary through the proxy and waits
  // for it to stream.
  void Start();

  // Node processes.
  void KillPrimary();          // SIGKILL + reap
  void RestartPrimary();       // spawn, enable_primary again (keeps the epoch), re-aim the proxy
  void KillSecondary();
  void RestartSecondary();     // spawn, update_primary (resumes from its position)
  void RejoinSecondary();      // enable_secondary again: wipes it, the primary bootstraps it
  pid_t primary_pid() const { return primary_pid_; }
  pid_t secondary_pid() const { return secondary_pid_; }

  sidecar::PluginControl* primary() { return primary_ctl_.get(); }
  sidecar::PluginControl* secondary() { return secondary_ctl_.get(); }
  FaultProxy& proxy() { return *proxy_; }
  // The replication CA (issues the nodes' credentials; tests issue more, e.g. hostile clients).
  const TestPki& pki() const { return pki_; }

  // Control-socket status (an empty object when the node does not answer).
  nlohmann::json PrimaryStatus();
  nlohmann::json SecondaryStatus();
  // Waits (bounded) for the secondary to stream; false on timeout.
  bool WaitStreaming(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  Result<sidecar::ConsistencyReport> Consistency(uint64_t bucket_keys = 64);

  std::string dir() const { return dir_.path(); }
  std::string primary_db() const { return dir_.Sub("p"); }
  std::string secondary_db() const;
  std::string Logs() const;  // tails of both node logs, for failure messages

  static size_t OpenFds();
  static size_t Children();

  // More nodes (split-brain tests): `name` gets <dir>/<name> as DB, <name>.yaml/.sock/.log. The
  // process is killed by the destructor. Secondary ids "s1", "s2" and "p" are allowed by PrimaryConfig().
  pid_t SpawnNode(const std::string& name, bool load);
  std::unique_ptr<sidecar::PluginControl> ConnectNode(const std::string& name);
  sidecar::PrimaryConfig PrimaryConfig() const;
  sidecar::ActivationBundle BundleFor(const std::string& id, const std::string& address) const;
  static void Reap(pid_t* pid);

 private:
  pid_t Spawn(const std::string& name, const std::string& db, bool load);
  std::string LimitsYaml() const;  // the nodes' plugin.yaml `limits` (options_)
  std::unique_ptr<sidecar::PluginControl> ConnectWhenUp(const std::string& sock);
  sidecar::ActivationBundle Bundle() const;
  void EnablePrimary();

  FaultClusterOptions options_;
  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<FaultProxy> proxy_;
  pid_t primary_pid_ = -1, secondary_pid_ = -1;
  std::vector<pid_t> extra_pids_;
  std::unique_ptr<sidecar::PluginControl> primary_ctl_, secondary_ctl_;
};

}  // namespace rocksdr::testing
