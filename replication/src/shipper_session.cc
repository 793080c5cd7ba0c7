// See shipper_session.h.
#include "shipper_session.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <boost/asio/post.hpp>

#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replication/crc32c.h"
#include "rocksdr/replication/handshake.h"
#include "rocksdr/replication/thread_name.h"
#include "wire_coding.h"

namespace rocksdr::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

uint64_t MicrosSinceEpoch(std::chrono::system_clock::time_point t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

int64_t MillisBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// The peer's leaf certificate as PEM ("" if none).
std::string PeerCertificatePem(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string pem;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr && PEM_write_bio_X509(bio, cert) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) pem.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

}  // namespace

std::shared_ptr<ShipperSession> ShipperSession::Create(Stream stream,
                                                       const PrimaryServerOptions& options,
                                                       std::shared_ptr<SourceProvider> provider,
                                                       ShipperHost* host,
                                                       std::string peer_address) {
  return std::shared_ptr<ShipperSession>(new ShipperSession(
      std::move(stream), options, std::move(provider), host, std::move(peer_address)));
}

ShipperSession::ShipperSession(Stream stream, const PrimaryServerOptions& options,
                               std::shared_ptr<SourceProvider> provider, ShipperHost* host,
                               std::string peer_address)
    : FramedSession(std::move(stream), options.limits, "secondary at " + peer_address),
      options_(options),
      provider_(std::move(provider)),
      host_(host),
      peer_address_(std::move(peer_address)),
      verifier_("secondary at " + peer_address_, /*expected_host=*/""),
      tick_timer_(this->stream().get_executor()) {}

ShipperSession::~ShipperSession() {
  // The server joins the pump before dropping the last reference; this is a safety net.
  if (pump_.joinable()) pump_.detach();
}

std::string ShipperSession::secondary_id() const {
  std::lock_guard<std::mutex> l(mu_);
  return secondary_id_;
}

void ShipperSession::Start() {
  asio::post(stream().get_executor(), [s = self()] {
    s->handshake_deadline_ = Clock::now() + s->options_.handshake_timeout;
    s->last_received_ = Clock::now();
    s->last_heartbeat_ = Clock::now();
    s->ScheduleTick();
    s->stream().set_verify_callback(s->verifier_);
    s->stream().async_handshake(asio::ssl::stream_base::server,
                                [s](const boost::system::error_code& ec) { s->OnHandshake(ec); });
  });
}

void ShipperSession::Shutdown(const std::string& reason) {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  asio::post(stream().get_executor(), [s = self(), reason] {
    if (s->phase_ == Phase::kTls) {
      s->CloseNow(reason);
    } else {
      s->SendGoodbyeAndClose(reason);
    }
  });
}

void ShipperSession::Refuse(ErrorCode code, const std::string& message) {
  asio::post(stream().get_executor(), [s = self(), code, message] {
    if (s->phase_ == Phase::kTls) {
      s->CloseNow(message);
    } else {
      s->SendErrorAndClose(code, message);
    }
  });
}

void ShipperSession::Drop(const std::string& reason) {
  asio::post(stream().get_executor(), [s = self(), reason] { s->CloseNow(reason); });
}

void ShipperSession::Join() {
  if (pump_.joinable() && pump_.get_id() != std::this_thread::get_id()) pump_.join();
}

// ---------------- strand ----------------

void ShipperSession::OnHandshake(const boost::system::error_code& ec) {
  if (closing()) return;
  if (ec) {
    std::string why = verifier_.failure();
    if (why.empty()) why = DescribeNetworkError(ec);
    spdlog::warn("replication: {}: TLS handshake failed: {}", name(), why);
    CloseNow("TLS handshake failed: " + why);
    return;
  }
  tls_established_.store(true);
  phase_ = Phase::kAwaitHello;
  StartReading();
}

void ShipperSession::ScheduleTick() {
  auto period = std::clamp<std::chrono::milliseconds>(options_.heartbeat_interval / 4,
                                                      std::chrono::milliseconds(10),
                                                      std::chrono::milliseconds(250));
  tick_timer_.expires_after(period);
  tick_timer_.async_wait([s = self()](const boost::system::error_code& ec) {
    if (!ec) s->Tick();
  });
}

void ShipperSession::Tick() {
  if (closing()) return;
  const auto now = Clock::now();
  switch (phase_) {
    case Phase::kTls:
    case Phase::kAwaitHello:
    case Phase::kDeciding:
      if (now > handshake_deadline_ && phase_ != Phase::kDeciding) {
        const std::string why = "handshake not completed within " +
                                std::to_string(options_.handshake_timeout.count()) + " ms";
        if (phase_ == Phase::kTls) {
          spdlog::warn("replication: {}: {}", name(), why);
          CloseNow(why);
        } else {
          SendErrorAndClose(ErrorCode::kProtocolViolation, why);
        }
        return;
      }
      break;
    case Phase::kBootstrapping:
    case Phase::kStreaming: {
      const int64_t silent = MillisBetween(last_received_, now);
      if (silent > options_.dead_timeout.count()) {
        const std::string why = "no frame from the secondary for " + std::to_string(silent) +
                                " ms (dead timeout " +
                                std::to_string(options_.dead_timeout.count()) + " ms)";
        spdlog::warn("replication: {}: {}; disconnecting", name(), why);
        CloseNow(why);
        return;
      }
      if (now - last_heartbeat_ >= options_.heartbeat_interval) {
        last_heartbeat_ = now;
        Heartbeat hb;
        hb.primary_latest_sequence = provider_->LatestSequence();
        hb.primary_wall_clock_micros = MicrosSinceEpoch(std::chrono::system_clock::now());
        hb.primary_send_monotonic_micros = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())
                .count());
        std::string frame;
        AppendMessageFrame(hb, &frame);
        {
          std::lock_guard<std::mutex> l(mu_);
          enqueued_bytes_ += frame.size();
        }
        SendFrame(std::move(frame));
      }
      // Refresh the lag figures.
      const uint64_t latest = provider_->LatestSequence();
      uint64_t unacked = 0;
      uint64_t lag_ms = 0;
      {
        std::lock_guard<std::mutex> l(mu_);
        unacked = enqueued_bytes_ - acked_bytes_;
        if (!in_flight_.empty()) {
          lag_ms = static_cast<uint64_t>(MillisBetween(in_flight_.front().sent, now));
        }
      }
      UpdateStatus([&](SecondaryLinkStatus& st) {
        st.primary_sequence = latest;
        st.lag_sequences = latest > st.acked_sequence ? latest - st.acked_sequence : 0;
        st.unacked_bytes = unacked;
        st.lag_ms = lag_ms;
      });
      break;
    }
    case Phase::kClosed:
      return;
  }
  ScheduleTick();
}


void ShipperSession::UpdateStatus(const std::function<void(SecondaryLinkStatus&)>& update) {
  if (!registered_) return;
  host_->UpdateStatus(id_, this, update);
}

void ShipperSession::OnFrame(Frame& frame, size_t /*wire_bytes*/) {
  last_received_ = Clock::now();
  ++frames_received_;
  if (!SecondaryMaySend(frame.type)) {
    SendErrorAndClose(ErrorCode::kProtocolViolation,
                      std::string("a secondary may not send ") +
                          std::string(FrameTypeName(frame.type)));
    return;
  }
  if (phase_ == Phase::kAwaitHello) {
    if (frame.type != FrameType::kHello) {
      SendErrorAndClose(ErrorCode::kProtocolViolation,
                        "expected HELLO as the first frame, got " +
                            std::string(FrameTypeName(frame.type)));
      return;
    }
    HandleHello(frame);
    return;
  }
  switch (frame.type) {
    case FrameType::kHello:
      SendErrorAndClose(ErrorCode::kProtocolViolation, "HELLO sent twice");
      return;
    case FrameType::kAck:
      if (phase_ == Phase::kDeciding) {
        SendErrorAndClose(ErrorCode::kProtocolViolation, "ACK before WELCOME");
        return;
      }
      HandleAck(frame);
      return;
    case FrameType::kReceived:
      if (phase_ == Phase::kDeciding || !wants_received_) {
        SendErrorAndClose(ErrorCode::kProtocolViolation,
                          phase_ == Phase::kDeciding ? "RECEIVED before WELCOME"
                          : version_ < kReceivedAckVersion
                              ? "RECEIVED on a protocol version 1 connection"
                              : "RECEIVED although WELCOME did not ask for it (protocol version " +
                                    std::to_string(version_) + ", flags 0)");
        return;
      }
      HandleReceived(frame);
      return;
    case FrameType::kError: {
      ErrorMessage m;
      Status st = Decode(frame.payload, &m, options_.limits);
      const std::string why = st.ok() ? Printable(ToStatus(m, "secondary").ToString())
                                      : "secondary sent a malformed ERROR: " + st.message();
      spdlog::warn("replication: {}: {}", name(), why);
      CloseNow(why);
      return;
    }
    case FrameType::kGoodbye: {
      Goodbye m;
      Status st = Decode(frame.payload, &m, options_.limits);
      const std::string why =
          "secondary said goodbye: " + (st.ok() ? Printable(m.reason) : st.message());
      spdlog::info("replication: {}: {}", name(), why);
      SendGoodbyeAndClose(why);
      return;
    }
    default:
      SendErrorAndClose(ErrorCode::kProtocolViolation,
                        "unexpected " + std::string(FrameTypeName(frame.type)));
      return;
  }
}

Status ShipperSession::CheckPeerCertificate(const Hello& hello) {
  const std::string pem = PeerCertificatePem(stream().native_handle());
  if (pem.empty()) return Status::Unauthenticated("no client certificate");
  auto cluster = crypto::ClusterIdOf(pem);
  if (cluster.ok() && *cluster != options_.cluster_id) {
    return Status::PermissionDenied("the client certificate belongs to cluster \"" + *cluster +
                                    "\", not \"" + options_.cluster_id + "\"");
  }
  if (options_.require_certificate_names_secondary) {
    auto info = crypto::InspectCertificate(pem);
    if (!info.ok()) return info.status();
    if (info->subject_common_name != hello.secondary_id) {
      return Status::PermissionDenied("the client certificate was issued to \"" +
                                      info->subject_common_name +
                                      "\", but HELLO claims secondary id \"" +
                                      hello.secondary_id + "\"");
    }
  }
  return Status::OK();
}

void ShipperSession::HandleHello(const Frame& frame) {
  Hello hello;
  Status st = Decode(frame.payload, &hello, options_.limits);
  if (!st.ok()) {
    SendErrorAndClose(st.code() == Code::kResourceExhausted ? ErrorCode::kLimitExceeded
                                                            : ErrorCode::kProtocolViolation,
                      "bad HELLO: " + st.message());
    return;
  }
  set_name("secondary \"" + Printable(hello.secondary_id, 64) + "\" at " + peer_address_);
  if (auto fenced = host_->FencedReason()) {
    SendErrorAndClose(ErrorCode::kStaleEpoch,
                      "this primary has been superseded (" + *fenced +
                          "); point the secondary at the current primary");
    return;
  }
  // Version, cluster id and epoch (handshake.h), then the certificate binding.
  HelloVerdict verdict = CheckHello(hello, options_.cluster_id, options_.epoch);
  if (!verdict.status.ok() && verdict.code != ErrorCode::kStaleEpoch) {
    SendErrorAndClose(verdict.code, Printable(verdict.status.message()));
    return;
  }
  st = CheckPeerCertificate(hello);
  if (!st.ok()) {
    SendErrorAndClose(ErrorCode::kNotAuthorized, Printable(st.message()));
    return;
  }
  if (!verdict.status.ok()) {  // kStaleEpoch: believed only from an allowed member
    if (auto refused = host_->Authorize(hello.secondary_id)) {
      SendErrorAndClose(refused->first, Printable(refused->second) + " (its HELLO announced epoch " +
                                            std::to_string(hello.epoch) + "; not believed)");
      return;
    }
    const std::string why = "fenced: a newer epoch " + std::to_string(hello.epoch) +
                            " exists (this primary's epoch is " +
                            std::to_string(options_.epoch) + ")";
    spdlog::error("replication: {}: {}; this primary stops shipping", name(), why);
    host_->Fence(hello.epoch, hello.secondary_id);
    SendErrorAndClose(ErrorCode::kStaleEpoch, verdict.status.message());
    return;
  }
  if (auto refused = host_->Admit(hello.secondary_id, self())) {
    SendErrorAndClose(refused->first, Printable(refused->second));
    return;
  }
  id_ = hello.secondary_id;
  registered_ = true;
  version_ = verdict.version;
  {
    std::lock_guard<std::mutex> l(mu_);
    secondary_id_ = hello.secondary_id;
    window_ = std::min<uint64_t>(std::max<uint64_t>(options_.max_unacked_bytes, 64 * 1024),
                                 hello.window_bytes);
    max_payload_ = std::min(options_.limits.max_frame_payload, hello.max_frame_payload);
  }
  const auto now = std::chrono::system_clock::now();
  UpdateStatus([&](SecondaryLinkStatus& s) {
    s.peer_address = peer_address_;
    s.state = LinkState::kHandshaking;
    s.secondary_epoch = hello.epoch;
    s.acked_sequence = hello.has_cursor ? hello.last_applied_sequence : 0;
    s.durable_sequence = 0;
    s.sent_sequence = s.acked_sequence;
    s.unacked_bytes = 0;
    s.bytes_sent = 0;
    s.batches_frames_sent = 0;
    s.received_frames = 0;
    s.connected_since = now;
    s.last_frame_time = now;
    s.last_error.clear();
    ++s.connections;
  });
  spdlog::info("replication: {}: HELLO accepted (epoch {}, {})", name(), hello.epoch,
               hello.has_cursor ? "cursor " + std::to_string(hello.last_applied_sequence)
                                : std::string("no cursor"));
  phase_ = Phase::kDeciding;
  pump_running_ = true;
  pump_ = std::thread([s = self(), hello] {
    SetThreadName(kThreadPump);
    s->PumpMain(hello);
  });
}

void ShipperSession::HandleAck(const Frame& frame) {
  Ack ack;
  Status st = Decode(frame.payload, &ack, options_.limits);
  if (!st.ok()) {
    SendErrorAndClose(ErrorCode::kProtocolViolation, "bad ACK: " + st.message());
    return;
  }
  std::string violation;
  bool sequences_count = true;
  bool trust = false;
  const auto now = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  {
    // The status is updated under mu_ too (lock order: session, then server), so that what
    // GetStatus() shows as acked is never behind what the pump uses for its window.
    std::lock_guard<std::mutex> l(mu_);
    if (ack.received_bytes < acked_bytes_ || ack.received_bytes > enqueued_bytes_) {
      violation = "ACK received_bytes " + std::to_string(ack.received_bytes) +
                  " is outside [" + std::to_string(acked_bytes_) + ", " +
                  std::to_string(enqueued_bytes_) + "]";
    } else if (ack.applied_sequence > sent_sequence_) {
      violation = "ACK for sequence " + std::to_string(ack.applied_sequence) +
                  " beyond the last one sent (" + std::to_string(sent_sequence_) + ")";
    } else if (ack.durable_sequence > ack.applied_sequence) {
      violation = "ACK durable sequence beyond the applied one";
    } else if (ack.received_bytes < ack_sequences_from_bytes_) {
      // Bootstrapping: the ACK opens the window; its position is not this primary's yet.
      acked_bytes_ = ack.received_bytes;
      sequences_count = false;
    } else {
      trust = trust_on_ack_;
      trust_on_ack_ = false;
      acked_bytes_ = ack.received_bytes;
      acked_sequence_ = ack.applied_sequence;
      while (!in_flight_.empty() && in_flight_.front().last_sequence <= ack.applied_sequence) {
        in_flight_.pop_front();
      }
      const uint64_t unacked = enqueued_bytes_ - acked_bytes_;
      const uint64_t lag_ms =
          in_flight_.empty() ? 0
                             : static_cast<uint64_t>(MillisBetween(in_flight_.front().sent, now));
      UpdateStatus([&](SecondaryLinkStatus& s) {
        s.acked_sequence = ack.applied_sequence;
        s.durable_sequence = ack.durable_sequence;
        s.unacked_bytes = unacked;
        s.lag_ms = lag_ms;
        s.last_ack_time = wall;
        s.last_frame_time = wall;
        s.lag_sequences = s.primary_sequence > s.acked_sequence
                              ? s.primary_sequence - s.acked_sequence : 0;
      });
    }
  }
  if (!violation.empty()) {
    SendErrorAndClose(ErrorCode::kProtocolViolation, violation);
    return;
  }
  cv_.notify_all();
  if (!sequences_count) return;
  // The first ACK after BOOTSTRAP_END: the checkpoint (made by this opening of the DB) is installed.
  if (trust) provider_->PositionTrusted(id_);
  progress_.applied_sequence = ack.applied_sequence;
  progress_.durable_sequence = ack.durable_sequence;
  // Applied implies received (and a version-1 secondary sends no RECEIVED at all).
  progress_.received_sequence = std::max(progress_.received_sequence, ack.applied_sequence);
  ReportProgress();
}

void ShipperSession::HandleReceived(const Frame& frame) {
  Received m;
  Status st = Decode(frame.payload, &m, options_.limits);
  if (!st.ok()) {
    SendErrorAndClose(ErrorCode::kProtocolViolation, "bad RECEIVED: " + st.message());
    return;
  }
  uint64_t sent = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    sent = sent_sequence_;
  }
  if (m.received_sequence > sent) {
    SendErrorAndClose(ErrorCode::kProtocolViolation,
                      "RECEIVED for sequence " + std::to_string(m.received_sequence) +
                          " beyond the last one sent (" + std::to_string(sent) + ")");
    return;
  }
  progress_.received_sequence = std::max(progress_.received_sequence, m.received_sequence);
  ReportProgress();
  UpdateStatus([](SecondaryLinkStatus& s) { ++s.received_frames; });
}

void ShipperSession::ReportProgress() {
  if (options_.on_progress && !id_.empty()) options_.on_progress(id_, progress_);
}

void ShipperSession::OnClosed(const std::string& reason) {
  phase_ = Phase::kClosed;
  tick_timer_.cancel();
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  UpdateStatus([&](SecondaryLinkStatus& s) {
    s.state = LinkState::kDisconnected;
    s.last_error = reason;
    s.unacked_bytes = 0;
  });
  closed_ = true;
}

// ---------------- pump thread ----------------

bool ShipperSession::Stopping() {
  std::lock_guard<std::mutex> l(mu_);
  return stop_;
}

bool ShipperSession::WaitForWindow() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return stop_ || enqueued_bytes_ - acked_bytes_ < window_; });
  return !stop_;
}

bool ShipperSession::PumpSend(std::string frame, uint64_t last_sequence, FrameKind kind) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return false;
    enqueued_bytes_ += frame.size();
    if (last_sequence != 0) {
      sent_sequence_ = std::max(sent_sequence_, last_sequence);
      in_flight_.push_back({last_sequence, Clock::now()});
    }
  }
  const size_t n = frame.size();
  asio::post(stream().get_executor(), [s = self(), f = std::move(frame), n, last_sequence, kind]() mutable {
    s->SendFrame(std::move(f));
    if (kind == FrameKind::kBootstrapEnd) {
      // On the strand, in wire order: every frame written before this one is accounted now, so an
      // ACK covering these bytes was sent after the secondary installed the checkpoint.
      std::lock_guard<std::mutex> l(s->mu_);
      s->ack_sequences_from_bytes_ = s->enqueued_bytes_;
      s->trust_on_ack_ = true;
    }
    s->UpdateStatus([&](SecondaryLinkStatus& st) {
      st.bytes_sent += n;
      if (last_sequence != 0) st.sent_sequence = std::max(st.sent_sequence, last_sequence);
      if (kind == FrameKind::kBatches) ++st.batches_frames_sent;
    });
  });
  return true;
}

void ShipperSession::PumpFail(ErrorCode code, const std::string& message) {
  asio::post(stream().get_executor(),
             [s = self(), code, message] { s->SendErrorAndClose(code, message); });
}

void ShipperSession::PumpMain(Hello hello) {
  std::string bootstrap_reason;
  if (!hello.has_cursor) {
    bootstrap_reason = "the secondary has no usable position (new, wiped, or an interrupted "
                       "bootstrap)";
  } else if (hello.epoch < options_.epoch) {
    bootstrap_reason = "the secondary's epoch " + std::to_string(hello.epoch) +
                       " is older than the primary's epoch " + std::to_string(options_.epoch) +
                       ": its position may belong to a superseded history";
  } else if (auto other = ForeignHistoryReason(hello, provider_->History())) {
    bootstrap_reason = *other;
  } else if (hello.last_applied_sequence > provider_->LatestSequence()) {
    bootstrap_reason = "the secondary's cursor " + std::to_string(hello.last_applied_sequence) +
                       " is ahead of the primary's latest sequence " +
                       std::to_string(provider_->LatestSequence()) + " (diverged history)";
  } else if (auto untrusted = provider_->UntrustedPositionReason(hello.secondary_id, hello.last_applied_sequence)) {
    bootstrap_reason = *untrusted;
  } else {
    next_sequence_ = hello.last_applied_sequence + 1;
    auto source = provider_->OpenAt(next_sequence_);
    if (source.ok()) {
      source_ = std::move(*source);
    } else if (IsNeedsBootstrap(source.status())) {
      bootstrap_reason = source.status().message();
    } else {
      PumpFail(ErrorCode::kWalUnavailable,
               "cannot read the WAL at sequence " + std::to_string(next_sequence_) + ": " +
                   source.status().message());
      pump_running_ = false;
      return;
    }
  }
  Welcome welcome;
  welcome.version = version_;
  if (version_ >= kWelcomeFlagsVersion && options_.request_received) welcome.flags |= kWelcomeSendReceived;
  wants_received_ = SecondarySendsReceived(welcome);
  welcome.cluster_id = options_.cluster_id;
  welcome.epoch = options_.epoch;
  welcome.primary_latest_sequence = provider_->LatestSequence();
  if (bootstrap_reason.empty()) {
    welcome.mode = ResumeMode::kStream;
    welcome.stream_from_sequence = next_sequence_;
  } else {
    welcome.mode = ResumeMode::kBootstrap;
    welcome.bootstrap_reason = bootstrap_reason.substr(0, options_.limits.max_text_length);
  }
  std::string frame;
  AppendMessageFrame(welcome, &frame);
  {
    std::lock_guard<std::mutex> l(mu_);
    sent_sequence_ = hello.has_cursor ? hello.last_applied_sequence : 0;
    // Decided before WELCOME goes: the secondary's ACKs during the bootstrap confirm nothing.
    if (!bootstrap_reason.empty()) ack_sequences_from_bytes_ = std::numeric_limits<uint64_t>::max();
  }
  const bool streaming = bootstrap_reason.empty();
  if (streaming) provider_->PositionTrusted(hello.secondary_id);
  asio::post(stream().get_executor(), [s = self(), f = std::move(frame), streaming]() mutable {
    if (s->closing()) return;
    s->phase_ = streaming ? Phase::kStreaming : Phase::kBootstrapping;
    s->SendFrame(std::move(f));
    s->UpdateStatus([&](SecondaryLinkStatus& st) {
      st.state = streaming ? LinkState::kStreaming : LinkState::kBootstrapping;
    });
  });
  if (!streaming) {
    spdlog::info("replication: {}: bootstrapping: {}", name(), bootstrap_reason);
    if (!RunBootstrap(bootstrap_reason)) {
      pump_running_ = false;
      return;
    }
  }
  StreamLoop();
  pump_running_ = false;
}

bool ShipperSession::RunBootstrap(const std::string& reason) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ack_sequences_from_bytes_ = std::numeric_limits<uint64_t>::max();
  }
  UpdateStatus([&](SecondaryLinkStatus& st) {
    st.state = LinkState::kBootstrapping;
    st.acked_sequence = 0;  // its position confirms nothing until the checkpoint is installed
    st.bootstrap_reason = reason;
    st.bootstrap_bytes_sent = 0;
    st.bootstrap_bytes_total = 0;
  });
  source_.reset();
  std::unique_ptr<CheckpointReader> reader;
  // The WAL may move past a checkpoint's sequence while it is being made; retry a few times.
  for (int attempt = 0; attempt < 3 && !source_; ++attempt) {
    auto cp = provider_->CreateCheckpoint();
    if (!cp.ok()) {
      PumpFail(ErrorCode::kBootstrapFailed, "cannot create a checkpoint: " + cp.status().message());
      return false;
    }
    reader = std::move(*cp);
    auto src = provider_->OpenAt(reader->sequence() + 1);
    if (src.ok()) {
      source_ = std::move(*src);
    } else if (!IsNeedsBootstrap(src.status())) {
      PumpFail(ErrorCode::kWalUnavailable, "cannot read the WAL after the checkpoint: " +
                                               src.status().message());
      return false;
    }
    if (Stopping()) return false;
  }
  if (!source_) {
    PumpFail(ErrorCode::kBootstrapFailed,
             "the WAL does not hold the sequence after three fresh checkpoints; retry later");
    return false;
  }
  const auto& files = reader->files();
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  BootstrapBegin begin;
  begin.checkpoint_sequence = reader->sequence();
  begin.file_count = static_cast<uint32_t>(files.size());
  begin.total_bytes = total;
  Status st = Validate(begin, options_.limits);
  if (!st.ok()) {
    PumpFail(ErrorCode::kBootstrapFailed, "checkpoint cannot be sent: " + st.message());
    return false;
  }
  std::string frame;
  AppendMessageFrame(begin, &frame);
  if (!WaitForWindow() || !PumpSend(std::move(frame), 0)) return false;
  UpdateStatus([&](SecondaryLinkStatus& s) { s.bootstrap_bytes_total = total; });

  size_t chunk_limit;
  {
    std::lock_guard<std::mutex> l(mu_);
    chunk_limit = std::min<size_t>(options_.bootstrap_chunk_bytes, max_payload_ - 1024);
  }
  chunk_limit = std::max<size_t>(chunk_limit, 1);
  uint64_t sent_total = 0;
  std::string data;
  for (size_t i = 0; i < files.size(); ++i) {
    FileBegin fb;
    fb.name = files[i].name;
    fb.size = files[i].size;
    st = Validate(fb, options_.limits);
    if (!st.ok()) {
      PumpFail(ErrorCode::kBootstrapFailed, "checkpoint file cannot be sent: " + st.message());
      return false;
    }
    frame.clear();
    AppendMessageFrame(fb, &frame);
    if (!WaitForWindow() || !PumpSend(std::move(frame), 0)) return false;
    uint32_t crc = 0;
    uint64_t offset = 0;
    while (offset < files[i].size) {
      if (!WaitForWindow()) return false;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_limit, files[i].size - offset));
      st = reader->ReadChunk(i, offset, want, &data);
      if (!st.ok() || data.empty()) {
        PumpFail(ErrorCode::kBootstrapFailed,
                 "cannot read checkpoint file " + files[i].name + ": " +
                     (st.ok() ? std::string("shorter than announced") : st.message()));
        return false;
      }
      crc = crc32c::Extend(crc, data.data(), data.size());
      FileChunk chunk;
      chunk.offset = offset;
      chunk.data = std::move(data);
      frame.clear();
      AppendMessageFrame(chunk, &frame);
      offset += chunk.data.size();
      sent_total += chunk.data.size();
      data = std::move(chunk.data);
      if (!PumpSend(std::move(frame), 0)) return false;
      UpdateStatus([&](SecondaryLinkStatus& s) { s.bootstrap_bytes_sent = sent_total; });
    }
    FileEnd fe;
    fe.file_crc32c = crc;
    frame.clear();
    AppendMessageFrame(fe, &frame);
    if (!WaitForWindow() || !PumpSend(std::move(frame), 0)) return false;
  }
  frame.clear();
  AppendMessageFrame(BootstrapEnd{}, &frame);
  next_sequence_ = reader->sequence() + 1;
  carry_.clear();
  if (!WaitForWindow() || !PumpSend(std::move(frame), reader->sequence(), FrameKind::kBootstrapEnd)) return false;
  spdlog::info("replication: {}: checkpoint at sequence {} sent ({} files, {} bytes)", name(),
               reader->sequence(), files.size(), total);
  reader.reset();  // deletes the checkpoint
  asio::post(stream().get_executor(), [s = self()] {
    if (!s->closing()) s->phase_ = Phase::kStreaming;
  });
  UpdateStatus([&](SecondaryLinkStatus& s) { s.state = LinkState::kStreaming; });
  return true;
}

void ShipperSession::StreamLoop() {
  std::vector<WalBatch> batches;
  frame_interval_ = options_.busy_frame_interval;
  const auto poll = std::min<std::chrono::microseconds>(
      std::chrono::milliseconds(50), options_.heartbeat_interval);
  while (true) {
    if (!WaitForWindow()) return;
    size_t budget;
    uint32_t max_payload;
    {
      std::lock_guard<std::mutex> l(mu_);
      budget = static_cast<size_t>(window_ - (enqueued_bytes_ - acked_bytes_));
      max_payload = max_payload_;
    }
    // Leave room for the per-batch fields of the payload.
    const size_t frame_budget = std::min<size_t>(options_.target_frame_bytes, max_payload / 2);
    budget = std::max<size_t>(1, std::min(budget, frame_budget));
    Status st;
    if (!carry_.empty()) {
      // What the last frame had no room for goes now, before anything new is read.
      source_->Recycle(&batches);
      batches = std::move(carry_);
      carry_.clear();
    } else {
    if (!source_->WaitForWrites(next_sequence_ - 1, poll)) continue;
    source_->Recycle(&batches);  // the previous frame's batches (sent): their buffers may be reused
    st = source_->Read(budget, options_.limits.max_batches_per_frame, &batches);
    // Coalesce, as Nagle does: on an idle link (every BATCHES frame ACKed) a frame goes at once;
    // while one is un-ACKed, a frame that is not full waits for that ACK — at most coalesce_delay
    // — and then takes what was written meanwhile. So a light load is shipped without delay and
    // a heavy one in large frames (one TLS record, one ACK and one wake-up per many batches).
    // The wait is on the ACK, not on the writers: writes do not wake the pump while it waits.
    // Pacing: once a frame had to wait (the link is busy), the next one also waits until
    // busy_frame_interval after the previous frame — on loopback an ACK is back within tens of
    // microseconds, which alone would make frames of a few batches under a saturating writer.
    if (st.ok() && !batches.empty() &&
        batches.size() < options_.limits.max_batches_per_frame &&
        options_.coalesce_delay.count() > 0) {
      const size_t bytes = EncodedBatchesSize(batches);
      bool waited = false;
      if (bytes < budget) {
        const auto deadline = Clock::now() + options_.coalesce_delay;
        const auto not_before =
            link_busy_ ? std::min(deadline, last_batches_sent_ + frame_interval_)
                       : Clock::time_point{};
        std::unique_lock<std::mutex> l(mu_);
        const auto now = Clock::now();
        // Idle again: everything ACKed and no frame for a whole busy_frame_interval (the base
        // one, also when the interval in force grew): this write goes at once.
        const bool idle = in_flight_.empty() && now >= last_batches_sent_ + options_.busy_frame_interval;
        waited = !idle && (!in_flight_.empty() || now < not_before);
        if (waited) {
          cv_.wait_until(l, deadline, [&] { return stop_ || in_flight_.empty(); });
          // ACKs do not wake this wait (ShipperSession::Shutdown does): bounded by the interval.
          cv_.wait_until(l, not_before, [&] { return stop_; });
        }
      }
      link_busy_ = waited;
      if (waited) {
        st = source_->Read(budget - bytes,
                           options_.limits.max_batches_per_frame - batches.size(), &batches);
      }
    }
    }  // a read (no carry)
    if (!st.ok()) {
      if (IsNeedsBootstrap(st)) {
        spdlog::warn("replication: {}: WAL gap: {}; re-bootstrapping", name(), st.message());
        if (!RunBootstrap(st.message())) return;
        continue;
      }
      PumpFail(ErrorCode::kWalUnavailable, "cannot read the WAL: " + st.message());
      return;
    }
    if (batches.empty()) continue;
    // Continuity (invariants 1 and 2): never ship a batch that does not continue the last one.
    size_t good = 0;
    uint64_t expect = next_sequence_;
    std::string gap;
    for (; good < batches.size(); ++good) {
      if (batches[good].sequence != expect) {
        gap = "the WAL source returned sequence " + std::to_string(batches[good].sequence) +
              " where " + std::to_string(expect) + " was expected (WAL gap)";
        break;
      }
      expect = batches[good].next_sequence();
    }
    batches.resize(good);
    // A frame holds what fits in the frame limit; the rest opens the next frame (carry_). Only a
    // single batch larger than the limit is refused below.
    if (batches.size() > 1 && EncodedBatchesSize(batches) > max_payload) {
      size_t keep = 0;
      size_t total = wire::VarintLength(batches.size());
      while (keep < batches.size() && total + EncodedBatchSize(batches[keep]) <= max_payload) {
        total += EncodedBatchSize(batches[keep]);
        ++keep;
      }
      keep = std::max<size_t>(keep, 1);
      carry_.assign(std::make_move_iterator(batches.begin() + static_cast<std::ptrdiff_t>(keep)),
                    std::make_move_iterator(batches.end()));
      batches.resize(keep);
      expect = batches.back().next_sequence();
      if (!gap.empty()) carry_.clear();  // the bootstrap below restarts from a checkpoint anyway
    }
    if (!batches.empty()) {
      Status vs = ValidateBatches(batches, options_.limits);
      if (vs.ok() && EncodedBatchesSize(batches) > max_payload) {
        vs = Status::ResourceExhausted("a batch is larger than the frame limit");
      }
      if (!vs.ok()) {
        const bool too_big = vs.code() == Code::kResourceExhausted;
        PumpFail(too_big ? ErrorCode::kLimitExceeded : ErrorCode::kInternal,
                 "cannot ship the batches at sequence " +
                     std::to_string(batches.front().sequence) + ": " + vs.message() +
                     (too_big ? "; raise max_frame_payload on both sites"
                              : " (the WAL source produced an invalid batch)"));
        return;
      }
      std::string frame;
      AppendBatchesFrame(batches, &frame);
      next_sequence_ = expect;
      if (!PumpSend(std::move(frame), batches.back().last_sequence(), FrameKind::kBatches)) return;
      last_batches_sent_ = Clock::now();
      // A link that stays busy with heavy frames (a writer far faster than one frame per
      // interval) is paced at up to coalesce_delay: per-frame work (TLS record, syscalls, ACK,
      // wake-ups) shrinks per write. One light frame brings the base interval back, so a
      // moderate load keeps its lag.
      frame_interval_ = link_busy_ && batches.size() >= kHeavyFrameBatches
                            ? std::max(options_.busy_frame_interval,
                                       std::min(frame_interval_ * 2, options_.coalesce_delay))
                            : options_.busy_frame_interval;
    }
    if (!gap.empty()) {
      spdlog::warn("replication: {}: {}; re-bootstrapping", name(), gap);
      if (!RunBootstrap(gap)) return;
    }
  }
}

}  // namespace rocksdr::replication
