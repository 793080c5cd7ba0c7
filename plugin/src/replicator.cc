// ReplicatorImpl: the replication runtime behind rocksdr/replicator.h.
//
// Locks, in acquisition order:
//   role_mu_       serializes role changes and the monitor's client restarts;
//   transport_mu_  guards the server_/client_ pointers (never held while stopping one);
//   db_mu_         shared: anything that uses the DB or its handles; exclusive: closing or
//                  reopening it (role changes, and DbSink::CommitBootstrap on the client thread).
// The transport's callbacks (on_fenced) only touch the DB wrapper's atomic fence.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "coding.h"
#include "control_server.h"
#include "consistency_runtime.h"
#include "db_sink.h"
#include "db_source_provider.h"
#include "managed_db.h"
#include "replicator_factory.h"
#include "reserved_cf.h"
#include "rocksdr/replication/primary_server.h"
#include "rocksdr/replication/secondary_client.h"
#include "rocksdr/replication/thread_name.h"
#include "rocksdr/replicator.h"

namespace rocksdr {

namespace {

using plugin::DbSink;
using plugin::DbSourceProvider;
using plugin::ManagedDb;

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(std::string(what) + " file '" + path + "' cannot be opened");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(std::string("reading the ") + what + " file '" + path + "'");
  if (ss.str().size() > (1u << 20)) return Status::InvalidArgument(std::string(what) + " file '" + path + "' is over 1 MiB");
  return ss.str();
}

// "host:port" or "[v6]:port" -> host, port.
Status ParseHostPort(const std::string& address, std::string* host, uint16_t* port) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("replication address '" + address + "' " + why +
                                   "; expected host:port or [v6-address]:port");
  };
  size_t colon;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return bad("has an unterminated IPv6 bracket");
    }
    *host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos) return bad("has no port");
    *host = address.substr(0, colon);
  }
  if (host->empty()) return bad("has no host");
  const std::string p = address.substr(colon + 1);
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("has a bad port");
  }
  const unsigned long v = std::stoul(p);
  if (v > 65535) return bad("has a port above 65535");
  *port = static_cast<uint16_t>(v);
  return Status::OK();
}

ConnectionState FromLink(replication::LinkState s) {
  switch (s) {
    case replication::LinkState::kHandshaking: return ConnectionState::kConnecting;
    case replication::LinkState::kBootstrapping: return ConnectionState::kBootstrapping;
    case replication::LinkState::kStreaming: return ConnectionState::kStreaming;
    case replication::LinkState::kDisconnected: return ConnectionState::kDisconnected;
  }
  return ConnectionState::kDisconnected;
}

int64_t UnixMs(const std::optional<replication::SystemTime>& t) {
  if (!t) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

class ReplicatorImpl : public Replicator {
 public:
  ReplicatorImpl(std::unique_ptr<ManagedDb> db, ReplicatorOptions options)
      : options_(options), db_(std::move(db)) {
    sink_ = std::make_unique<DbSink>(db_.get(), &db_mu_, SinkOptions());
    consistency_ = std::make_unique<plugin::ConsistencyRuntime>(db_.get(), &db_mu_, [this] { return sink_.get(); });
    db_->SetBeforeClose([this] { consistency_->ReleaseAll(); });
    monitor_ = std::thread([this] {
      replication::SetThreadName(replication::kThreadMonitor);
      MonitorLoop();
    });
  }
  ~ReplicatorImpl() override { (void)Close(); }

  Status Start() {
    std::lock_guard<std::mutex> role(role_mu_);
    const Role r = db_->impl()->role();
    const PluginOptions& po = db_->spec().plugin_options;
    if (r == Role::kPrimary && !po.replication_listen_address.empty() && !po.tls_cert_file.empty()) {
      PrimaryConfig c;
      c.cluster_id = db_->impl()->cluster_id();
      c.epoch = db_->impl()->epoch();
      if (c.cluster_id.empty()) {
        return Status::FailedPrecondition(
            "the plugin options ask for a DR primary's replication listener (role: primary, "
            "replication.listen_address and replication.tls), but the DB at " + db_->spec().path +
            " has no DR cluster id yet: it was never enabled as a DR primary. Remove replication.tls (or "
            "role: primary) from the plugin options so that the application opens, then enable DR through "
            "the sidecar (rocksdr write -f sys/replication/dr/primary/enable), which creates the cluster id "
            "and the replication certificates; or call Replicator::BecomePrimary with a PrimaryConfig that "
            "names the cluster");
      }
      // A primary that checked secondaries against a registry before the restart keeps doing
      // so (against the persisted list), instead of admitting any certificate of its CA.
      auto mode = ReadLocalKey(plugin::kLocalKeyPrimaryAuthorization);
      if (!mode.ok()) return mode.status();
      if (*mode) c.authorize = PersistedRegistry();
      return StartServer(c);
    }
    return Status::OK();
  }

  // --------------------------------------------------------------- DB access
  ReplicatedDB* db() override {
    std::shared_lock<std::shared_mutex> l(db_mu_);
    return db_ ? db_->impl() : nullptr;
  }
  rocksdb::ColumnFamilyHandle* ColumnFamily(const std::string& name) override {
    std::shared_lock<std::shared_mutex> l(db_mu_);
    return db_ && db_->is_open() ? db_->Handle(name) : nullptr;
  }
  std::vector<std::string> ColumnFamilyNames() override {
    std::shared_lock<std::shared_mutex> l(db_mu_);
    std::vector<std::string> out;
    if (db_ && db_->is_open()) {
      for (auto* h : db_->handles()) out.push_back(h->GetName());
    }
    return out;
  }
  Status WithDb(const std::function<Status(ReplicatedDB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& fn)
      override {
    std::shared_lock<std::shared_mutex> l(db_mu_);
    if (!db_ || !db_->is_open()) return Status::Unavailable("the DB is closed (bootstrap or shutdown in progress)");
    return fn(db_->impl(), db_->handles());
  }

  // --------------------------------------------------------------- role changes
  Status BecomePrimary(const PrimaryConfig& config) override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(ReopenAfterPromotion());
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    if (db_->impl()->role() == Role::kSecondary) {
      return Status::FailedPrecondition("this node is a DR secondary: promote it (Promote) instead");
    }
    ROCKSDR_RETURN_IF_ERROR(PrepareServer(config).status());
    StopTransport();
    // The listen address is bound before the role changes (after StopTransport: a running
    // server may hold it), so a taken address leaves the role as it was.
    auto listener = ReserveServer(config);
    if (!listener.ok()) {
      return listener.status().WithContext("BecomePrimary refused, the role is unchanged");
    }
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());  // the stopped client may have reopened (or closed) it
    auto* impl = db_->impl();
    const bool same = impl->role() == Role::kPrimary && impl->cluster_id() == config.cluster_id;
    PrimaryConfig c = config;
    // How this primary authorizes secondaries is written with the role change when there is one.
    auto authorization = [&](rocksdb::WriteBatch* b) { return AddAuthorization(c, b); };
    if (same) {
      c.epoch = std::max(config.epoch, impl->epoch());
      if (c.epoch != impl->epoch()) {
        ROCKSDR_RETURN_IF_ERROR(impl->SetRole(Role::kPrimary, c.epoch, c.cluster_id, authorization));
      } else {
        ROCKSDR_RETURN_IF_ERROR(PersistAuthorization(c));
      }
      ROCKSDR_RETURN_IF_ERROR(impl->ClearWriteFence());
    } else {
      // Re-enabled after Disable in the same cluster: a new epoch. While disabled the DB took
      // changes that leave no WAL record (an ingestion, DeleteFile, a dropped column family without
      // its marker); secondaries resuming from their cursors at the same epoch would miss them, so
      // the newer epoch makes them bootstrap.
      if (impl->cluster_id() == config.cluster_id) {
        c.epoch = std::max(config.epoch, impl->role() == Role::kDisabled ? NodeEpoch() + 1 : NodeEpoch());
      }
      ROCKSDR_RETURN_IF_ERROR(impl->SetRole(Role::kPrimary, c.epoch, c.cluster_id, authorization));
    }
    return StartServer(c, std::move(*listener));
  }

  Status BecomeSecondary(const SecondaryBundle& bundle) override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    ROCKSDR_RETURN_IF_ERROR(db_->CheckReopenable("BecomeSecondary"));
    ROCKSDR_RETURN_IF_ERROR(PrepareClient(bundle).status());
    StopTransport();
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());  // the stopped client may have reopened (or closed) it
    auto* impl = db_->impl();
    uint64_t epoch = bundle.epoch;
    if (impl->cluster_id() == bundle.cluster_id) epoch = std::max(epoch, NodeEpoch());
    // Joining wipes what the secondary held: no position, so the primary bootstraps it. The
    // deletion goes in the role change's synced batch: a crash between two writes would leave a
    // position of another history under the new role (disable keeps it, and a later follow
    // would stream from it onto changed data).
    sink_->Release();
    ROCKSDR_RETURN_IF_ERROR(impl->SetRole(Role::kSecondary, epoch, bundle.cluster_id,
                                          [&](rocksdb::WriteBatch* b) { return sink_->AddCursorWipe(b); }));
    sink_->ForgetCursor();
    return StartClient(bundle);
  }

  Status UpdatePrimary(const SecondaryBundle& bundle) override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    ROCKSDR_RETURN_IF_ERROR(db_->CheckReopenable("UpdatePrimary"));
    auto* impl = db_->impl();
    if (impl->role() != Role::kSecondary) {
      return Status::FailedPrecondition("UpdatePrimary needs a DR secondary; this node is " +
                                        std::string(RoleName(impl->role())));
    }
    if (!impl->cluster_id().empty() && impl->cluster_id() != bundle.cluster_id) {
      return Status::FailedPrecondition("the bundle is for cluster '" + bundle.cluster_id + "' but this secondary "
                                        "belongs to '" + impl->cluster_id() + "': use BecomeSecondary (wipes it)");
    }
    ROCKSDR_RETURN_IF_ERROR(PrepareClient(bundle).status());
    StopTransport();
    return StartClient(bundle);
  }

  Status Promote(const PrimaryConfig& config) override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    ROCKSDR_RETURN_IF_ERROR(db_->CheckReopenable("Promote"));
    auto* impl = db_->impl();
    if (impl->role() != Role::kSecondary) {
      return Status::FailedPrecondition("Promote needs a DR secondary; this node is " +
                                        std::string(RoleName(impl->role())));
    }
    bool has_client = false;
    SecondaryBundle following;  // the primary it follows now, to follow again if promotion fails
    {
      std::lock_guard<std::mutex> t(transport_mu_);
      has_client = client_ != nullptr;
      following = bundle_;
    }
    // A secondary reopened after a restart loads its position only when it attaches to a primary;
    // when the primary is lost for good nobody calls UpdatePrimary, so load the position here.
    if (!has_client && !sink_->Cursor().has_value()) ROCKSDR_RETURN_IF_ERROR(sink_->Init());
    if (!sink_->Cursor().has_value()) {
      return Status::FailedPrecondition(
          "this secondary holds no complete copy of the primary yet (no position: its bootstrap did not finish, or "
          "it was demoted from primary and has not followed the new primary since); it cannot be promoted. Attach "
          "it to the current primary (update-primary), let it catch up, then promote it");
    }
    PrimaryConfig c = config;
    if (c.cluster_id.empty()) c.cluster_id = impl->cluster_id();
    // What would fail the new primary's server is checked before the epoch marker, which cannot
    // be undone: the TLS material and its listen address (bound now, so a taken address refuses
    // the promotion with nothing changed instead of leaving a primary without its listener).
    auto listener = ReserveServer(c);
    if (!listener.ok()) {
      return listener.status().WithContext("promotion refused, nothing changed (this node is still a DR secondary)");
    }
    StopTransport();
    // The stopped client may have reopened the DB (a bootstrap install, a storage recovery):
    // the wrapper taken above may be gone.
    Status switched = CheckOpen();
    if (switched.ok()) {
      sink_->Release();
      c.epoch = std::max(config.epoch, NodeEpoch() + 1);
      // The epoch marker is the first record of the new history (SetRole writes it). In the same
      // synced batch: the old primary's position, which means nothing in the new history, is
      // deleted, and how this primary authorizes secondaries is recorded. When that write fails,
      // role, epoch, cursor and authorization are all unchanged; when it succeeds, all changed.
      switched = db_->impl()->SetRole(Role::kPrimary, c.epoch, c.cluster_id, [&](rocksdb::WriteBatch* b) {
        ROCKSDR_RETURN_IF_ERROR(sink_->AddCursorWipe(b));
        return AddAuthorization(c, b);
      });
    }
    if (!switched.ok()) {
      // Still the secondary it was: it follows its primary again rather than stay detached.
      if (!has_client) return switched;
      Status again = StartClient(following);
      if (!again.ok()) {
        return switched.WithContext("promotion failed, and the secondary could not follow " +
                                    following.primary_address + " again either (" + again.message() + ")");
      }
      spdlog::warn("rocksdr: promotion failed ({}); still a DR secondary, following {} again", switched.message(),
                   following.primary_address);
      return switched.WithContext("promotion failed; this node is still a DR secondary and follows " +
                                  following.primary_address + " again");
    }
    sink_->ForgetCursor();
    {
      // Status reports the last one taken while the DB is closed (GetStatus): from now on that
      // must say primary at the new epoch, also if the reopen below fails and leaves it closed
      // (the sidecar reads the role to know whether the promotion happened).
      std::shared_lock<std::shared_mutex> l(db_mu_);
      const ReplicationStatus now = db_->impl()->GetReplicationStatus();
      std::lock_guard<std::mutex> ls(last_status_mu_);
      last_status_ = now;
    }
    // From here the node is the primary at the new epoch, persisted. What can still fail is
    // the reopen and the server's start; the error then says what the node is and what to do.
    const std::string promoted = "promoted to DR primary of cluster " + c.cluster_id + " at epoch " +
                                 std::to_string(c.epoch) + " (persisted), but ";
    {
      // Column families the stream created get ordinary handles.
      std::unique_lock<std::shared_mutex> l(db_mu_);
      if (Status s = db_->Reopen(); !s.ok()) {
        closed_by_promotion_ = "the promotion to DR primary at epoch " + std::to_string(c.epoch);
        last_reopen_error_ = s.ToString();
        reopen_delay_ = std::chrono::milliseconds(db_->spec().plugin_options.storage_retry_initial_ms);
        next_reopen_at_ = std::chrono::steady_clock::now() + reopen_delay_;
        spdlog::error("rocksdr: {}reopening the DB failed: {}", promoted, s.ToString());
        return s.WithContext(promoted + "reopening the DB failed; the DB is closed: fix the cause, then BecomePrimary "
                                        "(control op enable_primary, which the sidecar's re-arm sends every interval) "
                                        "reopens it and starts its replication server; restarting the application "
                                        "also opens it as this primary");
      }
    }
    spdlog::info("rocksdr: promoted to DR primary of cluster {} at epoch {}", c.cluster_id, c.epoch);
    if (Status s = StartServer(c, std::move(*listener)); !s.ok()) {
      spdlog::error("rocksdr: {}its replication server did not start: {}", promoted, s.ToString());
      return s.WithContext(promoted + "its replication server did not start; it takes writes, and BecomePrimary "
                                      "(control op enable_primary, which the sidecar's re-arm sends) starts the "
                                      "server");
    }
    return Status::OK();
  }

  Status Demote() override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    auto* impl = db_->impl();
    if (impl->role() != Role::kPrimary) {
      return Status::FailedPrecondition("Demote needs a DR primary; this node is " + std::string(RoleName(impl->role())));
    }
    // A planned failover must not lose the tail: writes are refused first (the fence is
    // persisted, so a crash from here on restarts a fenced primary, never one taking writes), then
    // the secondaries streaming now get a bounded time (peer_timeout_ms, at most 30 s) to acknowledge everything
    // written, then the listener stops.
    ROCKSDR_RETURN_IF_ERROR(impl->SetWriteFence(
        "demoting: this DR primary is being demoted and refuses writes (it becomes a DR secondary)"));
    // Bounded well inside the sidecar's control-call timeout (2 min), which would otherwise give up
    // on a demotion still draining.
    DrainSecondaries(impl->base()->GetLatestSequenceNumber(),
                     std::min<std::chrono::milliseconds>(
                         std::chrono::milliseconds(db_->spec().plugin_options.peer_timeout_ms), std::chrono::seconds(30)));
    StopTransport();
    ROCKSDR_RETURN_IF_ERROR(impl->SetRole(Role::kSecondary, NodeEpoch(), impl->cluster_id()));
    return Status::OK();  // UpdatePrimary attaches it to the new primary
  }

  // Waits (at most `limit`) until every secondary streaming now has acknowledged `latest`, and
  // logs which did not. REQUIRES: role_mu_ held, writes fenced.
  void DrainSecondaries(uint64_t latest, std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    std::string behind;
    for (;;) {
      behind.clear();
      {
        std::lock_guard<std::mutex> t(transport_mu_);
        if (!server_) return;
        for (const auto& l : server_->GetStatus()) {
          if (l.state == replication::LinkState::kStreaming && l.acked_sequence < latest) {
            behind += (behind.empty() ? "" : ", ") + l.secondary_id + " at " + std::to_string(l.acked_sequence);
          }
        }
      }
      if (behind.empty() || std::chrono::steady_clock::now() - start >= limit) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    if (behind.empty()) {
      spdlog::info("rocksdr: demote: every streaming secondary acknowledged sequence {} ({} ms)", latest, ms);
    } else {
      spdlog::warn("rocksdr: demote: after {} ms, not every secondary had acknowledged sequence {} ({}); what they "
                   "lack stays on this node only",
                   ms, latest, behind);
    }
  }

  Status Disable() override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    StopTransport();
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());  // the stopped client may have reopened (or closed) it
    auto* impl = db_->impl();
    return impl->SetRole(Role::kDisabled, NodeEpoch(), impl->cluster_id());
  }

  Status ReenableWrites() override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    auto* impl = db_->impl();
    if (impl->role() != Role::kPrimary) return Status::FailedPrecondition("ReenableWrites needs a DR primary");
    ROCKSDR_RETURN_IF_ERROR(impl->ClearWriteFence());
    if (server_config_) {
      PrimaryConfig c = *server_config_;
      StopTransport();
      return StartServer(c);
    }
    return Status::OK();
  }

  Status Revoke(const std::string& secondary_id) override {
    std::lock_guard<std::mutex> t(transport_mu_);
    if (!server_) return Status::FailedPrecondition("not serving as a DR primary");
    server_->Revoke(secondary_id);
    return Status::OK();
  }

  Status RequestBootstrap() override {
    std::lock_guard<std::mutex> role(role_mu_);
    ROCKSDR_RETURN_IF_ERROR(CheckOpen());
    if (db_->impl()->role() != Role::kSecondary) {
      return Status::FailedPrecondition("RequestBootstrap needs a DR secondary; this node is " +
                                        std::string(RoleName(db_->impl()->role())));
    }
    SecondaryBundle bundle;
    {
      std::lock_guard<std::mutex> t(transport_mu_);
      bundle = bundle_;
    }
    if (bundle.secondary_id.empty()) {
      return Status::FailedPrecondition("this secondary follows no primary yet: attach it first (UpdatePrimary, or "
                                        "the control socket's update_primary), then request the bootstrap");
    }
    spdlog::warn("rocksdr: bootstrap requested by the operator: the position is dropped and {} bootstraps this "
                 "secondary",
                 bundle.primary_address);
    StopTransport();
    sink_->Release();
    ROCKSDR_RETURN_IF_ERROR(sink_->WipeCursor());
    return StartClient(bundle);
  }

  uint16_t port() const override {
    std::lock_guard<std::mutex> t(transport_mu_);
    return server_ ? server_->port() : 0;
  }

  // --------------------------------------------------------------- status
  ReplicationStatus GetStatus() override {
    ReplicationStatus st;
    {
      std::shared_lock<std::shared_mutex> l(db_mu_, std::try_to_lock);
      if (l.owns_lock() && db_ && db_->is_open()) {
        st = db_->impl()->GetReplicationStatus();
        std::lock_guard<std::mutex> ls(last_status_mu_);
        last_status_ = st;
      } else {
        std::lock_guard<std::mutex> ls(last_status_mu_);
        st = last_status_;  // the DB is being swapped by a bootstrap
      }
    }
    if (auto e = sink_ ? sink_->applied_epoch() : std::nullopt) st.epoch = std::max(st.epoch, *e);
    std::lock_guard<std::mutex> t(transport_mu_);
    if (server_) {
      st.secondaries = SecondariesLocked(st.last_sequence_written);
      if (auto f = server_->FencedReason(); f && st.fenced_reason.empty()) st.fenced_reason = *f;
    }
    if (client_) {
      const replication::SecondaryClientStatus cs = client_->GetStatus();
      PrimaryLinkStatus& p = st.primary_link;
      switch (cs.state) {
        case replication::ClientState::kConnecting:
        case replication::ClientState::kHandshaking: p.state = ConnectionState::kConnecting; break;
        case replication::ClientState::kBootstrapping: p.state = ConnectionState::kBootstrapping; break;
        case replication::ClientState::kStreaming: p.state = ConnectionState::kStreaming; break;
        default: p.state = ConnectionState::kDisconnected; break;
      }
      if (cs.halted && cs.last_error.find("revoked") != std::string::npos) p.state = ConnectionState::kRevoked;
      p.primary_address = cs.primary_address;
      p.primary_epoch = cs.primary_epoch;
      p.primary_sequence = cs.primary_sequence;
      const uint64_t cur = cs.cursor.value_or(0);
      p.lag_sequences = cs.primary_sequence > cur ? cs.primary_sequence - cur : 0;
      p.last_heartbeat_unix_ms = UnixMs(cs.last_frame_time);
      p.reconnects = cs.reconnects;
      p.halted = cs.halted;
      p.last_error = cs.last_error;
      if (cs.state == replication::ClientState::kIdleWithError && !cs.halted && cs.next_attempt_time) {
        p.next_retry_unix_ms = UnixMs(cs.next_attempt_time);
        const int64_t in = p.next_retry_unix_ms - UnixMs(std::chrono::system_clock::now());
        p.retry_in_ms = in > 0 ? static_cast<uint64_t>(in) : 0;
      }
      p.local_storage_failed = cs.local_storage_failed;
      p.local_storage_error = cs.local_storage_error;
      p.storage_retry_attempt = cs.storage_retry_attempt;
      if (cs.cursor) st.last_sequence_applied = cs.cursor;
      st.bootstrap.reason = cs.bootstrap_reason;
    }
    if (sink_) {
      BootstrapProgress b = sink_->bootstrap();
      b.reason = st.bootstrap.reason;
      st.bootstrap = b;
      if (auto nb = sink_->needs_bootstrap()) {
        st.primary_link.last_error = *nb;
        // Stopped until a bootstrap: automatically (the monitor restarts the client within
        // 100 ms) or, with auto_rebootstrap off, when the operator requests it.
        if (st.primary_link.halted) st.primary_link.state = ConnectionState::kNeedsBootstrap;
      }
    }
    return st;
  }

  // --------------------------------------------------------------- consistency check
  Result<uint64_t> PauseApply(std::chrono::milliseconds timeout) override { return consistency_->PauseApply(timeout); }
  Result<ConsistencySnapshot> TakeConsistencySnapshot(std::optional<uint64_t> at,
                                                      std::chrono::milliseconds timeout) override {
    return consistency_->TakeSnapshot(at, timeout);
  }
  Result<DigestPage> DigestConsistencySnapshot(const DigestRequest& request) override {
    return consistency_->Digest(request);
  }
  Status ReleaseConsistencySnapshot(uint64_t id) override { return consistency_->Release(id); }

  std::vector<SecondaryStatus> GetSecondaryStatus() override {
    uint64_t latest = 0;
    {
      std::shared_lock<std::shared_mutex> l(db_mu_, std::try_to_lock);
      if (l.owns_lock() && db_ && db_->is_open()) latest = db_->impl()->base()->GetLatestSequenceNumber();
    }
    std::lock_guard<std::mutex> t(transport_mu_);
    return server_ ? SecondariesLocked(latest) : std::vector<SecondaryStatus>();
  }

  Status Close() override {
    {
      std::lock_guard<std::mutex> l(monitor_mu_);
      stopping_ = true;
    }
    monitor_cv_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    std::lock_guard<std::mutex> role(role_mu_);
    StopTransport();
    if (sink_) {
      sink_->StopSyncThread();
      sink_->Release();
    }
    std::unique_lock<std::shared_mutex> l(db_mu_);
    sink_.reset();
    if (db_) return db_->Close();
    return Status::OK();
  }

 private:
  // After a promotion whose reopen failed (closed_by_promotion_): opens the DB again, so that a
  // primary recovers once the cause is fixed without an application restart. Attempts are paced
  // like the secondary's storage retry (limits.storage_retry_initial_ms, doubling up to
  // storage_retry_max_ms): each failed DB::Open starts a new info LOG (the old one is renamed
  // LOG.old.*, and RocksDB purges them beyond keep_log_file_num), so retrying at every re-arm pass
  // would soon rotate away the LOG that shows the original failure. A call before the next
  // attempt is due answers with the last error and when the next attempt is. OK when there is
  // nothing to do. REQUIRES: role_mu_ held.
  Status ReopenAfterPromotion() {
    if (closed_by_promotion_.empty() || !db_ || db_->is_open() || !sink_) return Status::OK();
    const std::string closed = "the DB at " + db_->spec().path + " has been closed since " + closed_by_promotion_ +
                               " could not reopen it";
    const std::string then =
        "; fix the cause: the first BecomePrimary after that (the sidecar's re-arm sends one every interval) "
        "reopens it, and so does restarting the application";
    const auto now = std::chrono::steady_clock::now();
    if (now < next_reopen_at_) {
      const auto in = std::chrono::ceil<std::chrono::milliseconds>(next_reopen_at_ - now).count();
      return Status::Unavailable(closed + " (last attempt: " + last_reopen_error_ + "); the next reopen attempt is in " +
                                 std::to_string(in) + " ms (limits.storage_retry_initial_ms, doubling up to " +
                                 "limits.storage_retry_max_ms)" + then);
    }
    Status s;
    {
      std::unique_lock<std::shared_mutex> l(db_mu_);
      s = db_->Reopen();
    }
    if (!s.ok()) {
      const PluginOptions& po = db_->spec().plugin_options;
      reopen_delay_ = std::min(reopen_delay_ * 2, std::chrono::milliseconds(po.storage_retry_max_ms));
      next_reopen_at_ = std::chrono::steady_clock::now() + reopen_delay_;
      // Logged when the cause changes, not at every attempt.
      if (s.ToString() != last_reopen_error_) {
        last_reopen_error_ = s.ToString();
        spdlog::warn("rocksdr: the DB at {} is still closed since {}: reopening it failed again: {}", db_->spec().path,
                     closed_by_promotion_, last_reopen_error_);
      }
      return Status::Unavailable(closed + ", and reopening it failed again (" + s.message() +
                                 "); the next reopen attempt is in " + std::to_string(reopen_delay_.count()) + " ms" +
                                 then);
    }
    spdlog::info("rocksdr: reopened the DB at {}, closed since {}", db_->spec().path, closed_by_promotion_);
    closed_by_promotion_.clear();
    last_reopen_error_.clear();
    return Status::OK();
  }

  // REQUIRES: role_mu_ held, transport_mu_ not held.
  Status CheckOpen() const {
    if (db_ && !db_->is_open() && sink_ && !closed_by_promotion_.empty()) {
      return Status::FailedPrecondition("the DB at " + db_->spec().path + " is closed: " + closed_by_promotion_ +
                                        " could not reopen it; fix the cause, then BecomePrimary (the sidecar's "
                                        "re-arm sends one every interval) reopens it, or restart the application");
    }
    if (db_ && !db_->is_open() && sink_) {
      // Not closed by Close/Demote (they drop the sink): a storage recovery or a bootstrap install
      // on the client's thread could not reopen the DB. Say so, with the client's last error, and
      // what brings it back.
      std::string why;
      {
        std::lock_guard<std::mutex> t(transport_mu_);
        if (client_) {
          const replication::SecondaryClientStatus cs = client_->GetStatus();
          why = cs.local_storage_error.empty() ? cs.last_error : cs.local_storage_error;
        }
      }
      const std::string& path = db_->spec().path;
      return Status::FailedPrecondition(
          "the DB at " + path + " is closed: it could not be reopened after a local storage failure" +
          (why.empty() ? std::string() : " (" + why + ")") + "; make its storage usable again (free space on " +
          path + "): the secondary reopens it by itself at its next storage retry (status: next_retry), "
          "then try again");
    }
    if (!db_ || !db_->is_open()) return Status::FailedPrecondition("the replicator is closed");
    return Status::OK();
  }

  // The epoch of the history this node holds: the role's, or a newer one the applier recorded.
  uint64_t NodeEpoch() {
    uint64_t e = db_->impl()->epoch();
    auto st = db_->impl()->state_store()->Load();
    if (st.ok()) e = std::max(e, st->epoch);
    if (auto a = sink_->applied_epoch()) e = std::max(e, *a);
    return e;
  }

  plugin::DbSinkOptions SinkOptions() {
    plugin::DbSinkOptions o;
    o.sync = options_.sync_apply;
    o.sync_interval = std::chrono::milliseconds(options_.sync_interval_ms);
    o.auto_rebootstrap = db_->spec().plugin_options.auto_rebootstrap;
    o.local_keys = [this] {
      std::map<std::string, std::string> keys;
      std::lock_guard<std::mutex> l(bundle_mu_);
      keys[std::string(plugin::kLocalKeyRole)] = std::string(RoleName(Role::kSecondary));
      keys[std::string(plugin::kLocalKeyEpoch)] = plugin::EncodeFixed64(bundle_epoch_);
      keys[std::string(plugin::kLocalKeyClusterId)] = bundle_cluster_;
      return keys;
    };
    return o;
  }

  // A key of the node-local column family (nullopt: absent). REQUIRES: DB open, role_mu_ held.
  Result<std::optional<std::string>> ReadLocalKey(std::string_view key) {
    auto* impl = db_->impl();
    std::string v;
    rocksdb::Status s = impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return Status::IOError("reading the node-local key '" + std::string(key) + "': " + s.ToString());
    return std::optional<std::string>(std::move(v));
  }

  // Records whether this primary checks secondaries against a registry (config.authorize set),
  // so that a restart keeps checking (Start). REQUIRES: DB open, role_mu_ held.
  Status PersistAuthorization(const PrimaryConfig& c) {
    rocksdb::WriteBatch batch;
    ROCKSDR_RETURN_IF_ERROR(AddAuthorization(c, &batch));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->impl()->base()->Write(wo, &batch);
    if (!s.ok()) return Status::IOError("persisting how this primary authorizes secondaries: " + s.ToString());
    return Status::OK();
  }

  // PersistAuthorization's write, added to `batch` (a role change commits it with the role).
  Status AddAuthorization(const PrimaryConfig& c, rocksdb::WriteBatch* batch) {
    auto* impl = db_->impl();
    const rocksdb::Slice k(plugin::kLocalKeyPrimaryAuthorization.data(), plugin::kLocalKeyPrimaryAuthorization.size());
    rocksdb::Status s = c.authorize ? batch->Put(impl->local_cf(), k, "registry") : batch->Delete(impl->local_cf(), k);
    if (!s.ok()) return Status::Internal("building how this primary authorizes secondaries: " + s.ToString());
    return Status::OK();
  }

  // The authorize callback of a restarted primary: the persisted allowed list
  // (control/allowed_secondaries), read at every handshake; absent = nobody.
  std::function<Status(const std::string&)> PersistedRegistry() {
    Replicator* self = this;
    return [self](const std::string& id) -> Status {
      auto allowed = plugin::LoadAllowedSecondaries(self);
      if (!allowed.ok()) return allowed.status().WithContext("reading this primary's allowed secondaries");
      if (!*allowed) {
        return Status::PermissionDenied("secondary '" + id + "' refused: this primary restarted and has no persisted "
                                        "allowed-secondaries list; send it again (control op "
                                        "set_allowed_secondaries / enable_primary, or BecomePrimary with authorize)");
      }
      if ((*allowed)->count(id) != 0) return Status::OK();
      return Status::PermissionDenied("secondary '" + id + "' is not in this primary's registry (never added, or "
                                      "revoked): generate a new secondary activation token on the primary");
    };
  }

  Result<replication::TlsCredentials> Credentials(const replication::TlsCredentials& given) {
    if (!given.cert_pem.empty()) return given;
    const PluginOptions& po = db_->spec().plugin_options;
    if (po.tls_cert_file.empty() || po.tls_key_file.empty() || po.tls_ca_file.empty()) {
      return Status::InvalidArgument(
          "no TLS credentials: give them in the config/bundle or set replication.tls "
          "{cert_file, key_file, ca_file} in the plugin options");
    }
    return LoadTlsCredentials(po.tls_cert_file, po.tls_key_file, po.tls_ca_file);
  }

  // REQUIRES: transport_mu_ held, server_ set.
  std::vector<SecondaryStatus> SecondariesLocked(uint64_t latest) {
    std::vector<SecondaryStatus> out;
    for (const auto& l : server_->GetStatus()) {
      SecondaryStatus s;
      s.id = l.secondary_id;
      s.state = FromLink(l.state);
      if (l.last_error.find("revoked") != std::string::npos) s.state = ConnectionState::kRevoked;
      s.acked_sequence = l.acked_sequence;
      s.durable_sequence = l.durable_sequence;
      s.lag_sequences = latest > l.acked_sequence ? latest - l.acked_sequence : 0;
      s.lag_bytes = l.unacked_bytes;
      s.lag_ms = l.lag_ms;
      s.bytes_sent = l.bytes_sent;
      s.frames_sent = l.batches_frames_sent;
      s.last_heartbeat_unix_ms = UnixMs(l.last_frame_time);
      s.needs_bootstrap_reason = l.bootstrap_reason;
      out.push_back(std::move(s));
    }
    return out;
  }

  // Checks a primary config and builds the server's options (epoch filled at start).
  Result<replication::PrimaryServerOptions> PrepareServer(const PrimaryConfig& c) {
    const PluginOptions& po = db_->spec().plugin_options;
    replication::PrimaryServerOptions o;
    o.cluster_id = c.cluster_id;
    ROCKSDR_RETURN_IF_ERROR(plugin::StateStore::ValidateClusterId(c.cluster_id));
    if (c.cluster_id.empty()) return Status::InvalidArgument("PrimaryConfig.cluster_id is empty");
    const std::string address = c.listen_address.empty() ? po.replication_listen_address : c.listen_address;
    if (address.empty()) {
      return Status::InvalidArgument("no replication listen address: set replication.listen_address or "
                                     "PrimaryConfig.listen_address");
    }
    ROCKSDR_RETURN_IF_ERROR(ParseHostPort(address, &o.listen_host, &o.listen_port));
    auto creds = Credentials(c.tls);
    if (!creds.ok()) return creds.status();
    o.tls = std::move(*creds);
    o.limits.max_frame_payload = static_cast<uint32_t>(po.max_frame_bytes);
    o.max_unacked_bytes = std::max<uint64_t>(po.max_unacked_bytes, 64 << 10);
    o.target_frame_bytes = po.max_batch_bytes;
    o.coalesce_delay = std::chrono::microseconds(po.max_batch_delay_us);
    o.busy_frame_interval = std::chrono::microseconds(po.busy_frame_interval_us);
    // Synchronous replication: writers are waiting for the secondaries, ship at once.
    if (po.ack_mode != AckMode::kAsync) o.coalesce_delay = std::chrono::microseconds(0);
    // Only ack mode `received` waits for RECEIVED frames; spare the others a frame per frame.
    o.request_received = po.ack_mode == AckMode::kReceived;
    o.heartbeat_interval = std::chrono::milliseconds(po.heartbeat_interval_ms);
    o.dead_timeout = std::chrono::milliseconds(po.peer_timeout_ms);
    o.authorize = c.authorize;
    return o;
  }

  // The checks of StartServer that can be made before a role change: the config, the TLS
  // material (a context is built and dropped), and the listen address, bound and returned for
  // StartServer to accept on. REQUIRES: role_mu_ held, no server holding that address.
  Result<std::shared_ptr<replication::ListenerSocket>> ReserveServer(const PrimaryConfig& c) {
    auto prepared = PrepareServer(c);
    if (!prepared.ok()) return prepared.status();
    auto tls = replication::MakeTlsContext(replication::TlsRole::kServer, prepared->tls);
    if (!tls.ok()) return tls.status().WithContext("the primary's TLS material");
    auto socket = replication::ListenerSocket::Open(prepared->listen_host, prepared->listen_port);
    if (!socket.ok()) return socket.status();
    return std::make_shared<replication::ListenerSocket>(std::move(*socket));
  }

  // REQUIRES: role_mu_ held, no transport running, role primary. `listener`: the address bound
  // by ReserveServer (nullptr: bind it now).
  Status StartServer(const PrimaryConfig& c, std::shared_ptr<replication::ListenerSocket> listener = nullptr) {
    auto prepared = PrepareServer(c);
    if (!prepared.ok()) return prepared.status();
    replication::PrimaryServerOptions o = std::move(*prepared);
    o.listener = std::move(listener);
    o.epoch = db_->impl()->epoch();
    plugin::ReplicatedDBImpl* impl = db_->impl();
    o.on_fenced = [impl](uint64_t newer) {
      const std::string reason = "fenced: a newer epoch " + std::to_string(newer) +
                                 " exists in this cluster; this primary was superseded and refuses writes "
                                 "until it is demoted or re-enabled";
      spdlog::error("rocksdr: {}", reason);
      Status persisted = impl->SetWriteFence(reason);
      if (!persisted.ok()) {
        spdlog::error("rocksdr: the write fence holds, but could not be recorded ({}): if this process restarts "
                      "before it is demoted, it will take writes again at its old epoch",
                      persisted.ToString());
      }
    };
    // Synchronous replication's feed: every RECEIVED / ACK of every secondary.
    plugin::AckTracker* acks = impl->ack_tracker();
    acks->ResetSecondaries();
    o.on_progress = [acks](const std::string& id, const replication::SecondaryProgress& p) {
      acks->OnProgress(id, p.received_sequence, p.applied_sequence, p.durable_sequence);
    };
    const std::string where = o.listen_host + ":" + std::to_string(o.listen_port);
    auto provider = std::make_shared<DbSourceProvider>(impl, CheckpointRoot());
    auto server = replication::PrimaryServer::Start(std::move(o), provider);
    if (!server.ok()) return server.status().WithContext("starting the replication listener on " + where);
    std::lock_guard<std::mutex> t(transport_mu_);
    server_ = std::move(*server);
    server_config_ = c;
    return Status::OK();
  }

  // Checks a bundle and builds the client's options (epoch filled at start).
  Result<replication::SecondaryClientOptions> PrepareClient(const SecondaryBundle& b) {
    const PluginOptions& po = db_->spec().plugin_options;
    replication::SecondaryClientOptions o;
    ROCKSDR_RETURN_IF_ERROR(plugin::StateStore::ValidateClusterId(b.cluster_id));
    if (b.cluster_id.empty()) return Status::InvalidArgument("SecondaryBundle.cluster_id is empty");
    if (b.secondary_id.empty()) return Status::InvalidArgument("SecondaryBundle.secondary_id is empty");
    o.cluster_id = b.cluster_id;
    o.secondary_id = b.secondary_id;
    ROCKSDR_RETURN_IF_ERROR(ParseHostPort(b.primary_address, &o.primary_host, &o.primary_port));
    auto creds = Credentials(b.tls);
    if (!creds.ok()) return creds.status();
    o.tls = std::move(*creds);
    o.verify_primary_host = b.verify_primary_host;
    o.limits.max_frame_payload = static_cast<uint32_t>(po.max_frame_bytes);
    o.window_bytes = std::max<uint64_t>(po.max_unacked_bytes, 64 << 10);
    o.dead_timeout = std::chrono::milliseconds(po.peer_timeout_ms);
    o.storage_retry.initial = std::chrono::milliseconds(po.storage_retry_initial_ms);
    o.storage_retry.cap = std::chrono::milliseconds(po.storage_retry_max_ms);
    if (options_.reconnect_initial_ms != 0) o.backoff.initial = std::chrono::milliseconds(options_.reconnect_initial_ms);
    if (options_.reconnect_cap_ms != 0) o.backoff.cap = std::chrono::milliseconds(options_.reconnect_cap_ms);
    return o;
  }

  // REQUIRES: role_mu_ held, no transport running, role secondary.
  Status StartClient(const SecondaryBundle& b) {
    auto prepared = PrepareClient(b);
    if (!prepared.ok()) return prepared.status();
    replication::SecondaryClientOptions o = std::move(*prepared);
    // HELLO carries the epoch of the history this node holds (an older one makes the primary
    // bootstrap it); an installed checkpoint gets the newest epoch known.
    o.epoch = NodeEpoch();
    {
      std::lock_guard<std::mutex> l(bundle_mu_);
      bundle_epoch_ = std::max(o.epoch, b.epoch);
      bundle_cluster_ = b.cluster_id;
    }
    ROCKSDR_RETURN_IF_ERROR(sink_->Init());
    auto client = replication::SecondaryClient::Start(o, sink_.get());
    if (!client.ok()) return client.status().WithContext("starting the replication client");
    std::lock_guard<std::mutex> t(transport_mu_);
    client_ = std::move(*client);
    bundle_ = b;
    client_epoch_ = o.epoch;
    return Status::OK();
  }

  // REQUIRES: role_mu_ held. Stops (and joins) the server and the client.
  void StopTransport() {
    if (sink_) sink_->gate().Cancel();  // a parked applier must not hold up the client's Stop
    std::unique_ptr<replication::PrimaryServer> server;
    std::unique_ptr<replication::SecondaryClient> client;
    {
      std::lock_guard<std::mutex> t(transport_mu_);
      server = std::move(server_);
      client = std::move(client_);
    }
    if (server) server->Stop();
    if (client) client->Stop();
    // Writers waiting for confirmations from a listener that is gone get their answer now.
    if (server && db_ && db_->is_open()) db_->impl()->ack_tracker()->Interrupt("the replication listener stopped");
  }

  std::string CheckpointRoot() const {
    return ResolveStateDir(db_->spec().plugin_options, db_->spec().path) + "/checkpoints";
  }

  // Restarts the client when it halted because the stream needs a re-bootstrap the primary
  // did not start (the applier refused a marker), and when the applier recorded a newer epoch
  // than the client announces (so the next HELLO carries it).
  void MonitorLoop() {
    std::unique_lock<std::mutex> l(monitor_mu_);
    while (!stopping_) {
      monitor_cv_.wait_for(l, std::chrono::milliseconds(100));
      if (stopping_) break;
      l.unlock();
      CheckClient();
      l.lock();
    }
  }

  void CheckClient() {
    std::unique_lock<std::mutex> role(role_mu_, std::try_to_lock);
    if (!role.owns_lock()) return;
    std::optional<SecondaryBundle> bundle;
    bool wipe = false;
    std::optional<uint64_t> adopt_epoch;
    {
      std::lock_guard<std::mutex> t(transport_mu_);
      if (!client_) return;
      const auto cs = client_->GetStatus();
      if (cs.halted && sink_->needs_bootstrap()) {
        // auto_rebootstrap off: stay stopped (status: needs-bootstrap) until RequestBootstrap.
        if (!db_->spec().plugin_options.auto_rebootstrap) return;
        wipe = true;
        bundle = bundle_;
      } else if (auto e = sink_->applied_epoch(); e && *e > client_epoch_ &&
                                                    cs.state == replication::ClientState::kStreaming) {
        bundle = bundle_;
      } else if (cs.state == replication::ClientState::kStreaming && cs.primary_epoch > client_epoch_) {
        // Bootstrapped from a primary of a newer epoch (no epoch marker was applied: it is inside
        // the checkpoint): this node's history is now that epoch's, and its next HELLO must say so,
        // or an older primary reached later would not learn that it was superseded (invariant 4).
        adopt_epoch = cs.primary_epoch;
        bundle = bundle_;
      }
    }
    if (!bundle) return;
    if (adopt_epoch) {
      Status s = db_->impl()->SetRole(Role::kSecondary, *adopt_epoch, db_->impl()->cluster_id());
      if (!s.ok()) spdlog::error("rocksdr: recording the primary's epoch {}: {}", *adopt_epoch, s.ToString());
    }
    spdlog::info("rocksdr: restarting the replication client ({})",
                 wipe ? "re-bootstrap: " + sink_->needs_bootstrap().value_or("") : "new epoch");
    StopTransport();
    if (wipe) {
      sink_->Release();
      Status s = sink_->WipeCursor();
      if (!s.ok()) spdlog::error("rocksdr: wiping the position for a re-bootstrap: {}", s.ToString());
    }
    Status s = StartClient(*bundle);
    if (!s.ok()) spdlog::error("rocksdr: restarting the replication client: {}", s.ToString());
  }

  const ReplicatorOptions options_;
  std::mutex role_mu_;
  mutable std::mutex transport_mu_;
  std::shared_mutex db_mu_;
  std::unique_ptr<ManagedDb> db_;
  std::unique_ptr<DbSink> sink_;
  std::unique_ptr<replication::PrimaryServer> server_;   // GUARDED_BY(transport_mu_)
  std::unique_ptr<replication::SecondaryClient> client_; // GUARDED_BY(transport_mu_)
  std::optional<PrimaryConfig> server_config_;           // role_mu_
  // Non-empty while the DB is closed because a promotion could not reopen it: what closed it
  // ("the promotion to DR primary at epoch N"). GUARDED_BY(role_mu_).
  std::string closed_by_promotion_;
  std::string last_reopen_error_;  // GUARDED_BY(role_mu_): the last failed reopen's error, logged once
  std::chrono::milliseconds reopen_delay_{0};                 // GUARDED_BY(role_mu_): pacing of those reopens
  std::chrono::steady_clock::time_point next_reopen_at_{};  // GUARDED_BY(role_mu_)
  SecondaryBundle bundle_;                                // GUARDED_BY(transport_mu_)
  uint64_t client_epoch_ = 0;                             // GUARDED_BY(transport_mu_)
  std::mutex bundle_mu_;
  uint64_t bundle_epoch_ = 0;     // GUARDED_BY(bundle_mu_)
  std::string bundle_cluster_;    // GUARDED_BY(bundle_mu_)
  std::mutex last_status_mu_;
  ReplicationStatus last_status_;  // GUARDED_BY(last_status_mu_): shown while the DB is swapped

  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;
  bool stopping_ = false;  // GUARDED_BY(monitor_mu_)
  std::thread monitor_;
  std::unique_ptr<plugin::ConsistencyRuntime> consistency_;  // consistency_runtime.h
};

}  // namespace

Result<replication::TlsCredentials> LoadTlsCredentials(const std::string& cert_file, const std::string& key_file,
                                                       const std::string& ca_file) {
  replication::TlsCredentials c;
  auto cert = ReadFile(cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(key_file, "TLS private key");
  if (!key.ok()) return key.status();
  auto ca = ReadFile(ca_file, "TLS CA certificate");
  if (!ca.ok()) return ca.status();
  c.cert_pem = std::move(*cert);
  c.key_pem = crypto::SecureString(key->begin(), key->end());
  crypto::Zeroize(key->data(), key->size());
  c.ca_pem = std::move(*ca);
  return c;
}

std::unique_ptr<Replicator> plugin::NewReplicator(std::unique_ptr<ManagedDb> db, const ReplicatorOptions& options) {
  return std::make_unique<ReplicatorImpl>(std::move(db), options);
}

Result<std::unique_ptr<Replicator>> Replicator::Open(const DbSpec& spec, const ReplicatorOptions& options) {
  auto db = ManagedDb::Open(spec);
  if (!db.ok()) return db.status();
  // Checkpoints of an earlier process are garbage (their streams died with it).
  std::error_code ec;
  std::filesystem::remove_all(ResolveStateDir(spec.plugin_options, spec.path) + "/checkpoints", ec);
  auto r = std::make_unique<ReplicatorImpl>(std::move(*db), options);
  ROCKSDR_RETURN_IF_ERROR(r->Start());
  return std::unique_ptr<Replicator>(std::move(r));
}

}  // namespace rocksdr
