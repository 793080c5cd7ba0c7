// ShipperSession: the primary's side of one replication connection (see primary_server.h for
// the protocol walk-through). Internal to PrimaryServer.
//
// Two threads of control:
//  - the connection's strand (FramedSession): TLS handshake, HELLO checks, ACK processing,
//    heartbeats and the dead-peer timeout (all timeouts in one periodic Tick(), as in Redis's
//    replicationCron), writing frames;
//  - the pump thread: everything that may block — OpenAt, WaitForWrites, Read, checkpoint
//    reads, CRCs. It encodes frames and posts them to the strand. Before reading more it waits
//    until fewer than `window` frame bytes are un-ACKed, so the strand's write queue never holds
//    more than window + one frame + heartbeats.
// They share only the fields under mu_ (flow-control counters, stop flag).
//
// Invariants the pump keeps (invariant 1 and 2): batches are sent in order starting exactly at
// the secondary's cursor + 1; a batch that does not start at the previous next_sequence() (or a
// source answering NeedsBootstrap) is a WAL gap and leads to a bootstrap on the same connection,
// never to a skipped range.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "framed_session.h"
#include "rocksdr/replication/batch_source.h"
#include "rocksdr/replication/primary_server.h"
#include "rocksdr/replication/session_status.h"

namespace rocksdr::replication {

class ShipperSession;

// What a session needs from its server. Implemented by PrimaryServer::Impl; thread-safe.
class ShipperHost {
 public:
  virtual ~ShipperHost() = default;
  // Registers `session` as the live session of secondary_id (closing an older one), or
  // refuses: returns the error code and message to send.
  virtual std::optional<std::pair<ErrorCode, std::string>> Admit(
      const std::string& secondary_id, const std::shared_ptr<ShipperSession>& session) = 0;
  // Whether secondary_id may connect at all (not revoked, `authorize` accepts it), without
  // registering anything: nullopt, or the error code and message to send. Checked before a
  // HELLO's newer epoch is believed, so that only an allowed member can fence this primary.
  virtual std::optional<std::pair<ErrorCode, std::string>> Authorize(const std::string& secondary_id) const = 0;
  // Marks the server fenced by newer_epoch (first call wins and runs on_fenced).
  virtual void Fence(uint64_t newer_epoch, const std::string& secondary_id) = 0;
  virtual std::optional<std::string> FencedReason() const = 0;
  // Applies `update` to secondary_id's status if `session` is its live session (a replaced
  // session closing late must not overwrite its successor's state).
  virtual void UpdateStatus(const std::string& secondary_id, const ShipperSession* session,
                            const std::function<void(SecondaryLinkStatus&)>& update) = 0;
};

class ShipperSession : public FramedSession {
 public:
  static std::shared_ptr<ShipperSession> Create(Stream stream, const PrimaryServerOptions& options,
                                                std::shared_ptr<SourceProvider> provider,
                                                ShipperHost* host, std::string peer_address);
  ~ShipperSession() override;

  // All thread-safe (they post to the strand).
  void Start();
  // Orderly close (GOODBYE with reason). Also wakes and stops the pump at once.
  void Shutdown(const std::string& reason);
  // Closes with ERROR(code, message).
  void Refuse(ErrorCode code, const std::string& message);
  // Abrupt close, as a network failure.
  void Drop(const std::string& reason);
  // Joins the pump thread. REQUIRES: not called from the pump thread; after Shutdown/close.
  void Join();
  // Closed and the pump has exited (Join() will not block).
  bool finished() const { return closed_.load() && !pump_running_.load(); }
  // "" until HELLO was accepted.
  std::string secondary_id() const;
  // The peer completed the TLS handshake (its certificate is from the cluster's CA). Until then
  // the connection counts as pending (PrimaryServerOptions::max_pending_handshakes). Any thread.
  bool tls_established() const { return tls_established_.load(); }
  // Closes a connection still in its TLS handshake to make room for a newer one (the listener's
  // pool of pending handshakes is full). evicted() is true from the call on. Any thread.
  void Evict(const std::string& reason) {
    evicted_.store(true);
    Drop(reason);
  }
  bool evicted() const { return evicted_.load(); }

 private:
  enum class Phase { kTls, kAwaitHello, kDeciding, kBootstrapping, kStreaming, kClosed };

  ShipperSession(Stream stream, const PrimaryServerOptions& options,
                 std::shared_ptr<SourceProvider> provider, ShipperHost* host,
                 std::string peer_address);
  std::shared_ptr<ShipperSession> self() {
    return std::static_pointer_cast<ShipperSession>(shared_from_this());
  }

  // Strand.
  void OnHandshake(const boost::system::error_code& ec);
  void OnFrame(Frame& frame, size_t wire_bytes) override;
  void OnClosed(const std::string& reason) override;
  void HandleHello(const Frame& frame);
  void HandleAck(const Frame& frame);
  void HandleReceived(const Frame& frame);
  void ReportProgress();
  Status CheckPeerCertificate(const Hello& hello);
  void ScheduleTick();
  void Tick();
  void UpdateStatus(const std::function<void(SecondaryLinkStatus&)>& update);

  // Pump thread.
  void PumpMain(Hello hello);
  // Sends a frame from the pump once the window allows; false if the session is stopping.
  enum class FrameKind { kOther, kBatches, kBootstrapEnd };
  bool PumpSend(std::string frame, uint64_t last_sequence, FrameKind kind = FrameKind::kOther);
  bool WaitForWindow();
  bool Stopping();
  // Streams a checkpoint and opens the source after it. false: session is over.
  bool RunBootstrap(const std::string& reason);
  void StreamLoop();
  // Posts an ERROR + close from the pump.
  void PumpFail(ErrorCode code, const std::string& message);

  const PrimaryServerOptions& options_;
  std::shared_ptr<SourceProvider> provider_;
  ShipperHost* host_;
  const std::string peer_address_;
  std::atomic<bool> tls_established_{false};
  std::atomic<bool> evicted_{false};
  PeerVerifier verifier_;

  // Strand only.
  Phase phase_ = Phase::kTls;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point handshake_deadline_;
  std::chrono::steady_clock::time_point last_received_;
  std::chrono::steady_clock::time_point last_heartbeat_;
  uint64_t frames_received_ = 0;
  // Set once on the strand when HELLO is accepted, before the pump starts; read without a lock
  // by UpdateStatus (strand and pump) afterwards.
  bool registered_ = false;
  std::string id_;
  uint16_t version_ = kProtocolVersion;  // set before the pump starts
  bool wants_received_ = false;          // the secondary sends RECEIVED; set before WELCOME is sent
  SecondaryProgress progress_;           // for options_.on_progress

  // Shared with the pump.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string secondary_id_;
  uint64_t window_ = 0;
  uint32_t max_payload_ = 0;      // min(ours, the secondary's)
  uint64_t enqueued_bytes_ = 0;   // frame bytes handed to the strand since WELCOME
  uint64_t acked_bytes_ = 0;      // ACK.received_bytes
  uint64_t sent_sequence_ = 0;    // last sequence handed to the strand
  uint64_t acked_sequence_ = 0;
  // GUARDED_BY(mu_). An ACK's sequences count (status, synchronous-replication progress) only
  // once the secondary has received this many bytes: during a bootstrap it ACKs file chunks with
  // the position it had before, which may belong to another history (a primary that lost its
  // unsynced WAL tail, an older epoch) and must not confirm this primary's writes. UINT64_MAX
  // from the decision to bootstrap until BOOTSTRAP_END is written on the strand; then the bytes
  // accounted at that moment (at least the bytes through it in wire order: a heartbeat written
  // before it is accounted before it).
  uint64_t ack_sequences_from_bytes_ = 0;
  // GUARDED_BY(mu_); set on the strand with BOOTSTRAP_END, read and cleared by HandleAck: the
  // next counting ACK confirms a bootstrap's install, so the secondary's position is trusted.
  bool trust_on_ack_ = false;
  struct InFlight {
    uint64_t last_sequence;
    std::chrono::steady_clock::time_point sent;
  };
  std::deque<InFlight> in_flight_;  // BATCHES frames not yet ACKed (for lag in ms)

  // Pump only.
  std::unique_ptr<BatchSource> source_;
  uint64_t next_sequence_ = 0;
  // Pump thread only: batches read but left out of the last frame because the frame limit was
  // reached (the source may hand out one batch past its budget, and a coalescing read adds to
  // the first); they open the next frame. Cleared by a bootstrap.
  std::vector<WalBatch> carry_;
  // Pacing (options_.busy_frame_interval): when the last BATCHES frame went, whether it had
  // to wait first (the link was busy), and the interval in force: busy_frame_interval, doubled
  // after each busy frame of at least kHeavyFrameBatches batches up to coalesce_delay, back to
  // busy_frame_interval after a lighter one (PROTOCOL.md, "How an asynchronous primary sizes
  // frames").
  static constexpr size_t kHeavyFrameBatches = 64;
  std::chrono::steady_clock::time_point last_batches_sent_{};
  bool link_busy_ = false;
  std::chrono::microseconds frame_interval_{0};
  std::thread pump_;
  std::atomic<bool> pump_running_{false};
  std::atomic<bool> closed_{false};
};

}  // namespace rocksdr::replication
