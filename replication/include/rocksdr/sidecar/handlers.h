// Registration of the sidecar's built-in endpoints on a Router (one function per group; each
// group lives in its own .cc). Later groups (the DR replication endpoints) follow the same
// pattern: `Status RegisterXRoutes(Router&, Core&)`, called by Sidecar (sidecar.h).
//
//   sys_handlers.cc        sys/init (GET, POST), sys/seal-status, sys/unseal, sys/seal,
//                          sys/health (GET/HEAD), sys/metrics
//   replication_status.cc  sys/replication/status, sys/replication/dr/status (unauthenticated)
//   token_handlers.cc      auth/token/lookup-self (GET, POST), auth/token/create (root)
//   kv_handlers.cc         secret/<path> (GET read, POST write, DELETE, LIST): a small KV store in
//                          the replicated store, so `rocksdr read/write/delete` have data to act on
//
// Who may call: start-up code, before the server starts (Router::Add's contract).
#pragma once

#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/router.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct SysRouteOptions {
  // sys/metrics without a token (Vault: telemetry.unauthenticated_metrics_access). Default: false.
  bool unauthenticated_metrics = false;
};

Status RegisterSysRoutes(Router& router, Core& core, const SysRouteOptions& options = {});
Status RegisterReplicationStatusRoutes(Router& router, Core& core);
Status RegisterTokenRoutes(Router& router, Core& core);
Status RegisterKvRoutes(Router& router, Core& core);

// All of the above.
Status RegisterCoreRoutes(Router& router, Core& core, const SysRouteOptions& options = {});

}  // namespace rocksdr::sidecar
