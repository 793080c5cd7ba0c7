// The control socket's consistency ops (replication/include/rocksdr/replication/consistency_ops.h)
// mapped onto Replicator's consistency methods (rocksdr/consistency.h). Called by ControlHandler
// for every op IsConsistencyOp() accepts, on the connection's thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "rocksdr/replicator.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

Result<nlohmann::json> HandleConsistencyOp(Replicator* replicator, const std::string& op, const nlohmann::json& args);

}  // namespace rocksdr::plugin
