// The sidecar's consistency-check routes: one node's half of the check (the comparison is done
// by a client that talks to both nodes: rocksdr/sidecar/consistency_check.h, `rocksdr operator
// dr consistency`).
//
//   POST /v1/sys/replication/dr/consistency/pause      {timeout_ms?}
//   POST /v1/sys/replication/dr/consistency/snapshot   {at_sequence?, timeout_ms?}
//   POST /v1/sys/replication/dr/consistency/digest     {snapshot_id, bucket_keys?, max_buckets?,
//                                                       start_cf?, start_after_b64?}
//   POST /v1/sys/replication/dr/consistency/release    {snapshot_id}
//
// Each passes its body to the plugin's control op of the same name (replication/PROTOCOL.md,
// "Control socket", consistency ops) and answers the result as `data`. Root token required
// (on a DR secondary: the primary's root token, which the replicated token store holds);
// allowed on a DR secondary; not while sealed.
//
// Who may call: the sidecar's route setup (RegisterDrRoutes calls it).
#pragma once

#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/router.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

Status RegisterDrConsistencyRoutes(Router& router, Core& core);

}  // namespace rocksdr::sidecar
