#include "common/served_node.h"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "common/column_families.h"
#include "rocksdr/options.h"

namespace rocksdr::examples {

namespace {

Result<std::unique_ptr<Replicator>> OpenWith(const NodeOptions& options, const PluginOptions& po) {
  DbSpec spec;
  spec.path = options.db_path;
  spec.db_options.create_if_missing = true;
  spec.cf_options = ExampleCfOptions;
  spec.column_families = options.column_families;
  spec.plugin_options = po;
  ReplicatorOptions ro;
  ro.sync_apply = options.sync_apply;
  ro.reconnect_initial_ms = 20;
  ro.reconnect_cap_ms = 500;
  // RocksDB creates the DB directory, not its parents.
  const std::filesystem::path parent = std::filesystem::path(options.db_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::IOError("cannot create " + parent.string() + ": " + ec.message());
  return Replicator::Open(spec, ro);
}

Result<PluginOptions> LoadOptions(const NodeOptions& options) {
  if (options.db_path.empty()) return Status::InvalidArgument("the DB path is required (--db DIR)");
  if (options.config_path.empty()) return Status::InvalidArgument("the plugin YAML is required (--config FILE)");
  return LoadPluginOptionsFromYaml(options.config_path);
}

}  // namespace

Result<std::unique_ptr<Replicator>> OpenExampleReplicator(const NodeOptions& options) {
  auto po = LoadOptions(options);
  if (!po.ok()) return po.status();
  return OpenWith(options, *po);
}

Result<std::unique_ptr<ServedNode>> ServedNode::Open(const NodeOptions& node, const ServeOptions& serve) {
  auto po = LoadOptions(node);
  if (!po.ok()) return po.status();
  const std::string socket =
      serve.socket_path.empty() ? ResolveControlSocketPath(*po, node.db_path) : serve.socket_path;
  // The socket's directory, if missing, is created private (StartControlServer checks its mode).
  const std::filesystem::path dir = std::filesystem::path(socket).parent_path();
  if (std::error_code ec; !dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (!ec) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    if (ec) return Status::IOError("cannot create the control socket directory " + dir.string() + ": " + ec.message());
    // Said, so that a misspelt control_socket path shows up here and not only as a sidecar that
    // cannot connect.
    spdlog::info("created the control socket directory {} (mode 0700) for {}", dir.string(), socket);
  }
  auto r = OpenWith(node, *po);
  if (!r.ok()) return r.status();
  ControlServerOptions co;
  co.replication_listen_address = serve.replication_address;
  co.verify_primary_host = serve.verify_primary_host;
  auto cs = StartControlServer(r->get(), socket, co);
  if (!cs.ok()) {
    (void)(*r)->Close();  // the control socket's error is the one to report
    return cs.status().WithContext("control socket " + socket);
  }
  return std::unique_ptr<ServedNode>(new ServedNode(std::move(*r), std::move(*cs)));
}

ServedNode::~ServedNode() { (void)Close(); }

Status ServedNode::Close() {
  if (closed_) return Status::OK();
  closed_ = true;
  control_->Stop();
  return replicator_->Close();
}

}  // namespace rocksdr::examples
