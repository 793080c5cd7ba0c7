// ServedNode: how an example application embeds rocksdr — it opens its DB through
// rocksdr::Replicator with a plugin YAML (plugin/include/rocksdr/options.h) and serves the
// plugin's control socket for its sidecar (`rocksdr server`, which drives role changes through
// it: rocksdr/control_server.h). Shared by `rocksdr_node serve` and `kv_service`.
//
//   BlockStopSignals();
//   auto node = ServedNode::Open({.db_path = ..., .config_path = ...}, {.socket_path = ...});
//   (*node)->replicator()->WithDb(...);      // the application's reads and writes
//   WaitForStopSignal();
//   (*node)->Close();
//
// The DB opens with the role as persisted (first start: the YAML's role); role changes come from
// the sidecar only. Column families: "default", whatever is on disk, and `column_families`, each
// with ExampleCfOptions (common/column_families.h).
//
// Who may call: main(); replicator() from any thread until Close(). Close() stops the control
// socket first (no role change can start after it), then closes the DB.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rocksdr/control_server.h"
#include "rocksdr/replicator.h"
#include "rocksdr/status.h"

namespace rocksdr::examples {

struct NodeOptions {
  std::string db_path;      // required; created if missing
  std::string config_path;  // plugin.yaml; required
  // Column families to open (created if missing) besides "default" and those on disk.
  std::vector<std::string> column_families;
  // ReplicatorOptions::sync_apply. Default: true
  bool sync_apply = true;
};

struct ServeOptions {
  // The control socket. Empty: the YAML's control_socket (default "<state dir>/control.sock").
  // A missing directory for it is created with mode 0700.
  std::string socket_path;
  // The listener a primary opens when the sidecar enables or promotes it. Empty: the YAML's
  // replication.listen_address.
  std::string replication_address;
  // Check that the primary's certificate names the host of the bundle's replication address.
  bool verify_primary_host = true;
};

// Opens the DB through the Replicator (no control socket). Errors name the YAML or the DB.
Result<std::unique_ptr<Replicator>> OpenExampleReplicator(const NodeOptions& options);

class ServedNode {
 public:
  // Opens the DB and starts the control socket. Errors: those of LoadPluginOptionsFromYaml,
  // Replicator::Open and StartControlServer, with the part that failed named.
  static Result<std::unique_ptr<ServedNode>> Open(const NodeOptions& node, const ServeOptions& serve);
  ~ServedNode();
  ServedNode(const ServedNode&) = delete;
  ServedNode& operator=(const ServedNode&) = delete;

  Replicator* replicator() { return replicator_.get(); }
  const std::string& socket_path() const { return control_->path(); }
  // Stops the control socket, closes the DB. Idempotent; the destructor calls it.
  Status Close();

 private:
  ServedNode(std::unique_ptr<Replicator> r, std::unique_ptr<ControlServer> c)
      : replicator_(std::move(r)), control_(std::move(c)) {}
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<ControlServer> control_;
  bool closed_ = false;
};

}  // namespace rocksdr::examples
