// RegisterDrConsistencyRoutes; see rocksdr/sidecar/dr_consistency.h.
#include <string>

#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/sidecar/api.h"
#include "rocksdr/sidecar/dr_consistency.h"
#include "rocksdr/sidecar/plugin_control.h"

namespace rocksdr::sidecar {

namespace ctl = replication::control;

Status RegisterDrConsistencyRoutes(Router& router, Core& core) {
  const std::string base = "sys/replication/dr/consistency/";
  for (std::string_view op : {ctl::kOpConsistencyPause, ctl::kOpConsistencySnapshot, ctl::kOpConsistencyDigest,
                              ctl::kOpConsistencyRelease}) {
    const std::string name(op.substr(std::string_view("consistency_").size()));
    const std::string op_name(op);
    Core* c = &core;
    auto handler = [c, op_name](ApiRequest& req) -> ApiResponse {
      Result<nlohmann::json> r = c->control()->Consistency(op_name, req.body);
      if (!r.ok()) return ErrorFromStatus(r.status().WithContext(op_name));
      return Envelope(req, std::move(*r));
    };
    ROCKSDR_RETURN_IF_ERROR(
        router.Add(RouteSpec(base + name, {Method::kPost}, AuthRequirement::kRoot, handler)
                       .SetDrSecondaryOk()
                       // The fields the plugin's consistency ops read (control_consistency.cc).
                       .SetFields({"timeout_ms", "at_sequence", "snapshot_id", "bucket_keys", "max_buckets",
                                   "start_cf", "start_after_b64"})));
  }
  return Status::OK();
}

}  // namespace rocksdr::sidecar
