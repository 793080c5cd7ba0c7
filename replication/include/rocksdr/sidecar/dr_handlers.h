// The DR replication endpoints of the sidecar (issue 4, vault-dr-api.md "Endpoints"):
//
//   primary side (root token; refused on a DR secondary)
//     sys/replication/dr/primary/enable            POST  primary_cluster_addr
//     sys/replication/dr/primary/secondary-token   POST  id (required, unique), ttl ("30m", <= 24h)
//     sys/replication/dr/primary/revoke-secondary  POST  id
//     sys/replication/dr/primary/demote            POST
//     sys/replication/dr/primary/disable           POST
//     sys/wrapping/unwrap                          POST  token (X-Vault-Token or body "token"):
//                                                        the activation token itself is the auth
//   secondary side
//     sys/replication/dr/secondary/enable          POST  token, primary_api_addr, ca_file (root)
//     .../secondary/generate-operation-token/attempt  GET / POST (PUT) / DELETE   unauthenticated
//     .../secondary/generate-operation-token/update   POST key, nonce             unauthenticated
//     .../secondary/promote                        POST  dr_operation_token, primary_cluster_addr, force
//     .../secondary/update-primary                 POST  dr_operation_token, token, primary_api_addr, ca_file
//     .../secondary/disable                        POST  dr_operation_token
//     .../secondary/operation-token/delete         POST  dr_operation_token
//   The secondary endpoints except enable are authenticated by the DR operation token, work while
//   sealed, and are allowed on a DR secondary (as in Vault).
//
// Seal and keys (our design where Vault's is closed):
//   - Everything a primary keeps for DR is replicated (sealed keyring incl. the replication CA key
//     and the JWT signing key; the cluster record with the CA certificate; the secondary registry
//     with hashed activation tokens; the token store).
//   - secondary/enable wipes the node (PluginControl::EnableSecondary) and SEALS the sidecar: its
//     own keyring no longer matches the replicated store, which now comes from the primary. From
//     then on the node's own unseal keys and tokens do not work; the primary's unseal keys do (it
//     may be unsealed with them, which DR does not need).
//   - generate-operation-token verifies the submitted keys against the PRIMARY's sealed keyring
//     (replicated). The DR operation token is kept in the node's LOCAL store (the replicated store
//     is read-only on a secondary) together with the verified keys, encrypted under the token
//     (dr_op_token_store.h).
//   - promote opens those keys with the token and unseals the node with them: it then runs with the
//     primary's keyring, so the ORIGINAL primary's root token and unseal keys work; it issues itself
//     a server certificate from the replicated CA, raises the epoch and asks the plugin to promote.
//     Single use: all operation tokens of the node are deleted after a promotion.
//   - Without force, promote refuses while the plugin reports a live connection to a primary (two
//     primaries would diverge); force=true promotes anyway, with a warning.
//
// Who may call: start-up code, before the server starts (Router::Add's contract). The handlers run
// on server threads; one mutex serializes DR state changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/router.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct DrOptions {
  // Longest activation-token TTL accepted by secondary-token. Default: 24 h.
  int64_t max_activation_ttl_seconds = 24 * 3600;
  // Deadline of the secondary's call to the primary's sys/wrapping/unwrap. Default: 30 s.
  std::chrono::milliseconds unwrap_timeout{30000};
  // Extra host names / IPs for the replication server certificate (besides localhost, 127.0.0.1,
  // ::1, the host of api_addr and of primary_cluster_addr). Default: none.
  std::vector<std::string> extra_cert_hosts;
  // Re-arm loop (README "Restarts"): every interval the sidecar reads the plugin's status and, if
  // the application restarted with its persisted role but no runtime, re-sends what it needs — a
  // primary not serving gets enable_primary (cluster id, its epoch, the CA, a server certificate
  // re-issued from the replication CA key in the keyring, the registry's ids; needs this node
  // unsealed, else status shows "replication paused until unsealed"), a secondary with no link
  // gets update_primary with the activation bundle kept in the local store. Idempotent; one log
  // line per re-arm. 0 = off (the default: in-process tests drive roles themselves); `rocksdr
  // server` with a plugin control socket uses 1 s.
  std::chrono::milliseconds rearm_interval{0};
};

// Registers every endpoint above. The routes keep a shared DR state (the operation-token attempt,
// the mutex) alive as long as the router. `core` must outlive the router.
Status RegisterDrRoutesWithOptions(Router& router, Core& core, DrOptions options);
// The same with default options; fits Sidecar's RouteRegistrar: Sidecar::Start(c, ctl, {&RegisterDrRoutes}).
Status RegisterDrRoutes(Router& router, Core& core);

}  // namespace rocksdr::sidecar
