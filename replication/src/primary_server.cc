// See primary_server.h.
#include "rocksdr/replication/primary_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <unistd.h>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log_limiter.h"
#include "shipper_session.h"
#include "rocksdr/replication/thread_name.h"

namespace rocksdr::replication {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Handlers capture `this`: Stop() joins every io thread before the Impl can be destroyed, and
// the io_context (a member) destroys pending handlers without running them.
class PrimaryServer::Impl : public ShipperHost {
 public:
  Impl(PrimaryServerOptions options, std::shared_ptr<SourceProvider> provider,
       std::shared_ptr<asio::ssl::context> ssl)
      : options_(std::move(options)),
        provider_(std::move(provider)),
        ssl_(std::move(ssl)),
        work_(asio::make_work_guard(io_)),
        acceptor_(asio::make_strand(io_)) {}

  Status Listen() {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.listen_host, ec);
    if (ec) {
      return Status::InvalidArgument("replication listen address \"" + options_.listen_host +
                                     "\" is not an IP address");
    }
    if (options_.listener && options_.listener->valid()) {
      // Bound earlier by the role change (listener_socket.h): accept on that socket.
      const tcp protocol = options_.listener->ipv6() ? tcp::v6() : tcp::v4();
      const int fd = options_.listener->Release();
      acceptor_.assign(protocol, fd, ec);
      if (ec) ::close(fd);
    } else {
      const tcp::endpoint endpoint(address, options_.listen_port);
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return Status::Unavailable("cannot listen for replication on " + options_.listen_host +
                                 ":" + std::to_string(options_.listen_port) + ": " +
                                 ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    spdlog::info("replication: primary listening on {}:{} (cluster {}, epoch {})",
                 options_.listen_host, port_, options_.cluster_id, options_.epoch);
    return Status::OK();
  }

  void Run() {
    asio::post(acceptor_.get_executor(), [this] { DoAccept(); });
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] {
        SetThreadName(kThreadNet);
        io_.run();
      });
    }
  }

  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           [this](const boost::system::error_code& ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      spdlog::warn("replication: accept failed: {}", ec.message());
    } else {
      boost::system::error_code ignored;
      const auto remote = socket.remote_endpoint(ignored);
      const std::string host = remote.address().to_string();
      const std::string peer = host + ":" + std::to_string(remote.port());
      std::shared_ptr<ShipperSession> session;
      {
        std::lock_guard<std::mutex> l(mu_);
        Reap();
        if (stopped_) return;
        if (std::string refusal = AdmissionRefusal(host); !refusal.empty()) {
          admission_log_.Log("replication: refusing connection from " + peer + ": " + refusal);
          socket.close(ignored);
        } else {
          if (evictions_unlogged_ > 0) {
            admission_log_.Log("replication: admitted connection from " + peer + " by closing the oldest one still in its TLS handshake "
                       "(max_pending_handshakes " + std::to_string(options_.max_pending_handshakes) + " reached; " +
                       std::to_string(evictions_unlogged_) + " closed so)");
            evictions_unlogged_ = 0;
          }
          socket.set_option(tcp::no_delay(true), ignored);
          session = ShipperSession::Create(FramedSession::Stream(std::move(socket), *ssl_),
                                           options_, provider_, this, peer);
          sessions_.push_back(session);
          peer_hosts_.push_back(host);
        }
      }
      if (session) session->Start();
    }
    DoAccept();
  }

  // REQUIRES: mu_ held. Joins and forgets sessions that are over.
  void Reap() {
    for (size_t i = 0; i < sessions_.size();) {
      if (sessions_[i]->finished()) {
        sessions_[i]->Join();
        sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
        peer_hosts_.erase(peer_hosts_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  // REQUIRES: mu_ held, Reap() just ran. Why a new connection from `host` is refused ("" = it is
  // admitted): places for secondaries that completed the TLS handshake, and apart from them a
  // bounded number of connections still in it, per address and in all. When all the pending
  // places are taken, the oldest pending connection is closed for the new one: a flood from many
  // addresses then only delays a secondary whose handshake is quicker than the flood's pace,
  // instead of refusing it for as long as the flood lasts.
  std::string AdmissionRefusal(const std::string& host) {
    size_t established = 0, pending = 0, pending_here = 0;
    ShipperSession* oldest_pending = nullptr;
    for (size_t i = 0; i < sessions_.size(); ++i) {
      if (sessions_[i]->tls_established()) {
        ++established;
      } else if (!sessions_[i]->evicted()) {
        ++pending;
        if (oldest_pending == nullptr) oldest_pending = sessions_[i].get();
        if (peer_hosts_[i] == host) ++pending_here;
      }
    }
    if (established >= options_.max_connections) {
      return std::to_string(established) + " secondaries connected (max_connections " +
             std::to_string(options_.max_connections) + ")";
    }
    if (pending_here >= options_.max_pending_per_address) {
      return std::to_string(pending_here) + " connections from this address are still in their TLS handshake "
             "(max_pending_per_address " + std::to_string(options_.max_pending_per_address) + ")";
    }
    if (pending >= options_.max_pending_handshakes && oldest_pending != nullptr) {
      oldest_pending->Evict("closed for a newer connection: " + std::to_string(pending) +
                            " connections are in their TLS handshake (max_pending_handshakes " +
                            std::to_string(options_.max_pending_handshakes) + ")");
      ++evictions_unlogged_;
    }
    return std::string();
  }

  // REQUIRES: mu_ held.
  std::optional<std::pair<ErrorCode, std::string>> AuthorizeLocked(const std::string& id) const {
    if (revoked_.count(id) != 0) {
      return std::make_pair(ErrorCode::kNotAuthorized,
                            "secondary \"" + id + "\" has been revoked on this primary; "
                            "generate a new activation token to re-add it");
    }
    if (options_.authorize) {
      Status st = options_.authorize(id);
      if (!st.ok()) return std::make_pair(ErrorCode::kNotAuthorized, st.message());
    }
    return std::nullopt;
  }

  // ShipperHost.
  std::optional<std::pair<ErrorCode, std::string>> Authorize(const std::string& id) const override {
    std::lock_guard<std::mutex> l(mu_);
    return AuthorizeLocked(id);
  }

  std::optional<std::pair<ErrorCode, std::string>> Admit(
      const std::string& id, const std::shared_ptr<ShipperSession>& session) override {
    std::shared_ptr<ShipperSession> replaced;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return std::make_pair(ErrorCode::kShuttingDown, std::string("primary stopping"));
      if (auto refused = AuthorizeLocked(id)) return refused;
      auto it = live_.find(id);
      if (it != live_.end()) replaced = it->second.lock();
      live_[id] = session;
      auto& status = status_[id];
      status.secondary_id = id;
    }
    if (replaced && replaced != session) {
      replaced->Shutdown("replaced by a new connection of the same secondary");
    }
    return std::nullopt;
  }

  void Fence(uint64_t newer_epoch, const std::string& id) override {
    std::string reason;
    std::function<void(uint64_t)> callback;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (fenced_ || fencing_) return;
      fencing_ = true;
      reason = "fenced: a newer epoch " + std::to_string(newer_epoch) + " exists (announced by secondary \"" + id +
               "\"; this primary's epoch is " + std::to_string(options_.epoch) + ")";
      callback = options_.on_fenced;
    }
    // The application's writes are refused first (on_fenced sets the DB's write fence), and only
    // then does the status say "fenced": whoever reads that can rely on writes being refused.
    // (Seen the other way round under TSan: a write accepted after the status said fenced.)
    if (callback) callback(newer_epoch);
    std::vector<std::shared_ptr<ShipperSession>> others;
    {
      std::lock_guard<std::mutex> l(mu_);
      fenced_ = reason;
      others = sessions_;  // including any admitted meanwhile
    }
    spdlog::error("replication: {}", reason);
    for (auto& s : others) s->Refuse(ErrorCode::kStaleEpoch, reason);
  }

  std::optional<std::string> FencedReason() const override {
    std::lock_guard<std::mutex> l(mu_);
    return fenced_;
  }

  void UpdateStatus(const std::string& id, const ShipperSession* session,
                    const std::function<void(SecondaryLinkStatus&)>& update) override {
    std::lock_guard<std::mutex> l(mu_);
    auto live = live_.find(id);
    if (live == live_.end()) return;
    auto current = live->second.lock();
    if (current && current.get() != session) return;  // a replaced session
    auto& st = status_[id];
    st.secondary_id = id;
    update(st);
  }

  std::vector<SecondaryLinkStatus> GetStatus() const {
    const uint64_t latest = provider_->LatestSequence();
    std::lock_guard<std::mutex> l(mu_);
    std::vector<SecondaryLinkStatus> out;
    for (const auto& [id, st] : status_) {
      out.push_back(st);
      auto& s = out.back();
      s.primary_sequence = latest;
      s.lag_sequences = latest > s.acked_sequence ? latest - s.acked_sequence : 0;
    }
    return out;
  }

  void Revoke(const std::string& id) {
    std::vector<std::shared_ptr<ShipperSession>> victims;
    {
      std::lock_guard<std::mutex> l(mu_);
      revoked_.insert(id);
      victims = sessions_;
    }
    // Lock order is session -> server, so ids are read without mu_ held.
    std::erase_if(victims, [&](const auto& s) { return s->secondary_id() != id; });
    spdlog::warn("replication: secondary \"{}\" revoked; closing {} connection(s)", id,
                 victims.size());
    for (auto& s : victims) {
      s->Refuse(ErrorCode::kNotAuthorized, "secondary \"" + id + "\" has been revoked");
    }
  }

  void Disconnect(const std::string& id) {
    std::vector<std::shared_ptr<ShipperSession>> victims;
    {
      std::lock_guard<std::mutex> l(mu_);
      victims = sessions_;
    }
    std::erase_if(victims, [&](const auto& s) { return s->secondary_id() != id; });
    for (auto& s : victims) s->Drop("connection dropped by the operator");
  }

  void Stop() {
    std::vector<std::shared_ptr<ShipperSession>> sessions;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return;
      stopped_ = true;
      sessions = sessions_;
    }
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    for (auto& s : sessions) s->Shutdown("the primary is shutting down");
    for (auto& s : sessions) s->Join();
    // Let the GOODBYEs and TLS shutdowns finish (each is bounded by kShutdownTimeout).
    const auto deadline = std::chrono::steady_clock::now() + 2 * FramedSession::kShutdownTimeout;
    for (auto& s : sessions) {
      while (!s->finished() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    {
      // The posted close may not have run before io_.stop(); with the threads joined nothing else
      // touches the acceptor. The address is free when Stop returns (a role change rebinds it).
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    }
    std::lock_guard<std::mutex> l(mu_);
    sessions_.clear();
    peer_hosts_.clear();
    live_.clear();
    for (auto& [id, st] : status_) {
      if (st.state != LinkState::kDisconnected) {
        st.state = LinkState::kDisconnected;
        st.last_error = "the primary stopped";
      }
    }
    spdlog::info("replication: primary on port {} stopped", port_);
  }

  uint16_t port() const { return port_; }

 private:
  const PrimaryServerOptions options_;
  std::shared_ptr<SourceProvider> provider_;
  std::shared_ptr<asio::ssl::context> ssl_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;

  mutable std::mutex mu_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<ShipperSession>> sessions_;
  std::vector<std::string> peer_hosts_;  // the IP address of sessions_[i]
  LogLimiter admission_log_;  // GUARDED_BY(mu_): refusals and evictions, one line per 10 s at most
  uint64_t evictions_unlogged_ = 0;  // pending connections closed for newer ones, not yet logged
  std::map<std::string, std::weak_ptr<ShipperSession>> live_;
  std::map<std::string, SecondaryLinkStatus> status_;
  std::set<std::string> revoked_;
  std::optional<std::string> fenced_;
  bool fencing_ = false;  // GUARDED_BY(mu_): Fence() is running (fenced_ is set once the DB refuses writes)
};

Result<std::unique_ptr<PrimaryServer>> PrimaryServer::Start(
    PrimaryServerOptions options, std::shared_ptr<SourceProvider> provider) {
  if (options.cluster_id.empty()) return Status::InvalidArgument("cluster_id is required");
  if (!provider) return Status::InvalidArgument("a SourceProvider is required");
  ROCKSDR_RETURN_IF_ERROR(ValidateProtocolLimits(options.limits));
  if (options.max_unacked_bytes < 64 * 1024) {
    return Status::InvalidArgument("max_unacked_bytes must be at least 64 KiB");
  }
  if (options.max_connections == 0 || options.max_pending_handshakes == 0 || options.max_pending_per_address == 0) {
    return Status::InvalidArgument("max_connections, max_pending_handshakes and max_pending_per_address must be at "
                                   "least 1 (0 would refuse every secondary)");
  }
  if (options.heartbeat_interval.count() <= 0 ||
      options.dead_timeout <= options.heartbeat_interval) {
    return Status::InvalidArgument(
        "heartbeat_interval must be positive and smaller than dead_timeout");
  }
  if (options.target_frame_bytes == 0 || options.bootstrap_chunk_bytes == 0) {
    return Status::InvalidArgument("target_frame_bytes and bootstrap_chunk_bytes must be > 0");
  }
  auto ssl = MakeTlsContext(TlsRole::kServer, options.tls);
  if (!ssl.ok()) return ssl.status();
  // The key now lives in OpenSSL; drop our copy (SecureString zeroizes).
  options.tls.key_pem.clear();
  options.tls.key_pem.shrink_to_fit();
  auto impl = std::make_shared<Impl>(std::move(options), std::move(provider), std::move(*ssl));
  ROCKSDR_RETURN_IF_ERROR(impl->Listen());
  impl->Run();
  return std::unique_ptr<PrimaryServer>(new PrimaryServer(std::move(impl)));
}

PrimaryServer::PrimaryServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrimaryServer::~PrimaryServer() { Stop(); }
uint16_t PrimaryServer::port() const { return impl_->port(); }
std::vector<SecondaryLinkStatus> PrimaryServer::GetStatus() const { return impl_->GetStatus(); }
std::optional<std::string> PrimaryServer::FencedReason() const { return impl_->FencedReason(); }
void PrimaryServer::Revoke(const std::string& id) { impl_->Revoke(id); }
void PrimaryServer::Disconnect(const std::string& id) { impl_->Disconnect(id); }
void PrimaryServer::Stop() { impl_->Stop(); }

}  // namespace rocksdr::replication
