// rocksdr::Replicator — the replication runtime of one protected DB: it owns the DB (opened
// through rocksdr::Open), and by role runs the transport:
//   primary    a PrimaryServer (mutual TLS) that ships the WAL to every secondary and
//              bootstraps the ones with no usable position from a checkpoint;
//   secondary  a SecondaryClient that applies the primary's stream (Applier: records + cursor in
//              one WriteBatch) and installs bootstrap checkpoints (the DB is closed, swapped and
//              reopened underneath: see below);
//   disabled   nothing (plain RocksDB through the wrapper).
//
//   rocksdr::DbSpec spec{.path = "/data/app", ...};
//   auto r = rocksdr::Replicator::Open(spec);                 // role as persisted
//   (*r)->BecomePrimary(config);                              // or BecomeSecondary(bundle)
//   (*r)->db()->Put(rocksdb::WriteOptions(), "k", "v");
//
// Ownership of the DB: the runtime opens, closes and reopens it (bootstrap replaces the whole DB
// directory, which needs the DB closed; promotion reopens it so column families created by the
// stream get ordinary handles). db() and handles are valid until the next role change or
// bootstrap; on a secondary the application is fenced anyway, and on a primary the DB is never
// reopened except by an explicit role change. Use WithDb() for access that must not race a reopen.
//
// Role changes (each persists role, epoch and cluster id in the node-local column family):
//   BecomePrimary(config)   disabled/primary -> primary. A node already primary of that cluster
//                           keeps its epoch (restart); otherwise config.epoch is taken and an epoch
//                           marker starts the new history.
//   BecomeSecondary(bundle) -> secondary of bundle's primary: wipes the position (the primary
//                           bootstraps it: joining wipes what the secondary held).
//   UpdatePrimary(bundle)   secondary: reconnects to another primary / with new credentials,
//                           keeping the position (also how a restarted secondary resumes).
//   Promote(config)         secondary -> primary: stops the client, epoch = max(own, config)+1,
//                           the epoch marker is the first record of the new history, reopens the
//                           DB, starts the server.
// Promote and BecomePrimary check the server's config and TLS material and bind its listen
// address before the role changes: a taken address (kUnavailable, "Address already in use") or
// a key that does not match the certificate (kInvalidArgument) refuses them with nothing changed
// ("promotion refused, nothing changed" / "the role is unchanged"; a secondary keeps following
// its primary). The epoch marker is written in one synced batch with the role, the epoch, the
// deletion of the old position and the authorization mode: a promotion whose batch cannot be
// written changes nothing and follows the primary again. After that batch the node IS the
// primary; a failure there (reopening the DB, starting the server) answers "promoted to DR
// primary of cluster C at epoch N (persisted), but …". A later BecomePrimary (the sidecar's
// re-arm sends one every interval) reopens a DB left closed and starts the server. Reopen
// attempts are paced like a secondary's storage retry (limits.storage_retry_initial_ms, doubling
// up to storage_retry_max_ms; each failed DB::Open rotates the info LOG): before one is due,
// BecomePrimary answers kUnavailable "… has been closed since the promotion … (last attempt: …);
// the next reopen attempt is in N ms …", after a failed one "… reopening it failed again (…)",
// and other role changes are refused. Restarting the application also works.
//   Demote()                primary -> secondary with no primary (UpdatePrimary attaches it).
//   Disable()               -> disabled (stops everything; the data stays).
//   ReenableWrites()        clears the write fence of a primary that learned of a newer epoch.
//   Revoke(id)              primary: closes and refuses secondary `id`.
//   RequestBootstrap()      secondary: re-bootstraps it from its primary now (see below).
// Re-bootstrap: a secondary whose position the primary can no longer stream from (WAL purged,
// external file ingestion, another epoch) is bootstrapped again automatically, unless
// PluginOptions::auto_rebootstrap is false: then it stops with its data and position
// (status: primary_link.state kNeedsBootstrap, the reason in last_error) until
// RequestBootstrap(). A bootstrap keeps the node-local "sidecar/" and "control/" keys.
// Authorization: a primary started with PrimaryConfig.authorize persists that it uses a
// registry; reopened as primary (Open), it then checks ids against the persisted list
// (node-local "control/allowed_secondaries", written by the control socket) and refuses all
// while there is none, instead of admitting any certificate of its CA.
// Fencing (invariant 4): a primary told by a secondary that a newer epoch exists stops
// accepting application writes (NotSupported "fenced: ...") until demoted or re-enabled;
// GetStatus().fenced_reason says why.
//
// Threading: every method may be called from any thread; role changes are serialized. Callbacks
// of the transport never call back into role changes.
#pragma once

#include <rocksdb/db.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "rocksdr/consistency.h"
#include "rocksdr/options.h"
#include "rocksdr/replication/tls_context.h"
#include "rocksdr/replication_status.h"
#include "rocksdr/rocksdr.h"
#include "rocksdr/status.h"

namespace rocksdr {

// How to open the protected DB.
struct DbSpec {
  std::string path;
  // create_if_missing etc. WAL retention is taken from plugin_options.
  rocksdb::DBOptions db_options;
  // Options of column family `name` (comparator and merge operator must be the same on every
  // node). Default (empty): rocksdb::ColumnFamilyOptions().
  std::function<rocksdb::ColumnFamilyOptions(const std::string& name)> cf_options;
  // Column families opened in addition to those on disk (created if missing).
  std::vector<std::string> column_families;
  PluginOptions plugin_options;
};

// A primary's replication identity.
struct PrimaryConfig {
  std::string cluster_id;  // required ([0-9A-Za-z-], <= 64 bytes)
  uint64_t epoch = 1;      // BecomePrimary of a node not yet primary of this cluster; Promote: lower bound
  // "host:port" / "[v6]:port"; empty: plugin_options.replication_listen_address. Port 0 = any.
  std::string listen_address;
  // Server certificate, key, CA; empty cert: loaded from plugin_options' tls_*_file.
  replication::TlsCredentials tls;
  // The sidecar's registry: may `secondary_id` replicate? nullptr = any id with a valid cert.
  std::function<Status(const std::string& secondary_id)> authorize;
};

// What a secondary needs to follow its primary (the activation bundle).
struct SecondaryBundle {
  std::string cluster_id;
  uint64_t epoch = 1;            // epoch of the cluster when the bundle was issued
  std::string secondary_id;      // = the client certificate's CN
  std::string primary_address;   // "host:port" / "[v6]:port"
  replication::TlsCredentials tls;  // client certificate, key, CA; empty cert: plugin_options files
  bool verify_primary_host = true;
};

struct ReplicatorOptions {
  // Sync the secondary's WAL as soon as something was applied (group sync: a sync thread syncs
  // while the applier goes on, and one sync covers every frame applied meanwhile; the durable
  // position the secondary ACKs is the cursor read before a completed sync, so it trails the
  // applied one by at most one sync and never passes it). If false, the WAL is
  // synced at most every sync_interval_ms (a process crash loses nothing either way; a machine
  // crash may lose the unsynced tail, which the cursor then re-requests).
  // Default: true
  bool sync_apply = true;
  uint64_t sync_interval_ms = 100;
  // Transport tuning for tests. 0 = derived from plugin_options.
  uint64_t reconnect_initial_ms = 0;
  uint64_t reconnect_cap_ms = 0;
};

// Reads three PEM files into credentials. Errors: kNotFound / kIOError naming the file.
Result<replication::TlsCredentials> LoadTlsCredentials(const std::string& cert_file, const std::string& key_file,
                                                       const std::string& ca_file);

class Replicator {
 public:
  // Opens the DB (see DbSpec) and, if the persisted role is primary and plugin_options carry a
  // listen address and TLS files, starts serving; a persisted secondary waits for
  // UpdatePrimary(bundle) (its credentials are not persisted).
  static Result<std::unique_ptr<Replicator>> Open(const DbSpec& spec, const ReplicatorOptions& options = {});

  // Runs the PRIMARY runtime over a DB the application opened itself (the LD_PRELOAD route,
  // plugin/preload/): `db` comes from rocksdr::Open or rocksdr::Attach; spec.path names its
  // directory and spec.plugin_options must be the options it was opened with (the other DbSpec
  // fields are unused). The runtime never reopens it, and owns it from now on: Close() (or the
  // destructor) stops the transport and deletes `db`. The application keeps its own column
  // family handles (destroy them before Close): ColumnFamily() returns nullptr,
  // ColumnFamilyNames() is empty and WithDb passes no handles. Nothing is started: call
  // BecomePrimary. Refused with kFailedPrecondition (they need a bootstrap install or a reopen):
  // BecomeSecondary, UpdatePrimary, Promote. Demote (fences writes), Disable and the rest work.
  // Implemented in plugin/src/replicator_adopt.cc.
  static Result<std::unique_ptr<Replicator>> Adopt(std::unique_ptr<ReplicatedDB> db, const DbSpec& spec,
                                                   const ReplicatorOptions& options = {});
  virtual ~Replicator() = default;

  // The DB (nullptr while closed: a bootstrap install, a storage recovery, a promotion whose
  // reopen failed). See the header comment for its lifetime.
  virtual ReplicatedDB* db() = 0;
  // Open handles of the application's column families; nullptr for an unknown name.
  virtual rocksdb::ColumnFamilyHandle* ColumnFamily(const std::string& name) = 0;
  virtual std::vector<std::string> ColumnFamilyNames() = 0;
  // Runs fn with the DB and handles stable (no reopen while it runs). fn must not change roles.
  virtual Status WithDb(const std::function<Status(ReplicatedDB* db, const std::vector<rocksdb::ColumnFamilyHandle*>&
                                                       handles)>& fn) = 0;

  virtual Status BecomePrimary(const PrimaryConfig& config) = 0;
  virtual Status BecomeSecondary(const SecondaryBundle& bundle) = 0;
  virtual Status UpdatePrimary(const SecondaryBundle& bundle) = 0;
  virtual Status Promote(const PrimaryConfig& config) = 0;
  virtual Status Demote() = 0;
  virtual Status Disable() = 0;
  virtual Status ReenableWrites() = 0;
  virtual Status Revoke(const std::string& secondary_id) = 0;
  // Secondary: drop the position and have the primary bootstrap this node again, now. The
  // operator's answer to "needs-bootstrap" when PluginOptions::auto_rebootstrap is false (a
  // WAL gap or an ingestion on the primary then stops the secondary, data and position kept,
  // until this call); allowed in either mode. The data stays until the new checkpoint is
  // installed (atomically). Errors: kFailedPrecondition (not a secondary, or attached to no
  // primary yet).
  virtual Status RequestBootstrap() = 0;

  // The primary's bound replication port (0 when not serving).
  virtual uint16_t port() const = 0;

  // The DB's status merged with the transport's (per secondary, bootstrap, link to primary).
  virtual ReplicationStatus GetStatus() = 0;
  // Only the per-secondary part (primary), without reading the DB or its WAL directory: cheap
  // enough to poll. lag_sequences is against the primary's latest sequence.
  virtual std::vector<SecondaryStatus> GetSecondaryStatus() = 0;

  // Consistency check (rocksdr/consistency.h): a secondary's applier parked at a batch boundary
  // (returns its cursor); a held snapshot at the latest sequence (primary / disabled) or, on a
  // secondary, at exactly `at` (applied up to it, then resumed) or at its cursor; one digest page
  // of a held snapshot; its release. Waits are bounded by `timeout` (at most kMaxApplyPause).
  virtual Result<uint64_t> PauseApply(std::chrono::milliseconds timeout) = 0;
  virtual Result<ConsistencySnapshot> TakeConsistencySnapshot(std::optional<uint64_t> at,
                                                              std::chrono::milliseconds timeout) = 0;
  virtual Result<DigestPage> DigestConsistencySnapshot(const DigestRequest& request) = 0;
  virtual Status ReleaseConsistencySnapshot(uint64_t id) = 0;

  // Stops the transport and closes the DB. Idempotent; the destructor calls it.
  virtual Status Close() = 0;
};

}  // namespace rocksdr
