// ReceiverSession: the secondary's side of one replication connection (see secondary_client.h
// for the behaviour). Internal to SecondaryClient; one per connection attempt.
//
// Threading: everything runs on the client's single network thread (the stream's executor),
// including the BatchSink calls. A slow sink therefore stops reading, which is the
// back-pressure: the primary stops at its flow-control window. The one exception is the sink's
// durable listener (BatchSink::SetDurableListener), registered from Start to OnClosed: it runs
// on the sink's sync thread and only posts an ACK to the network thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "framed_session.h"
#include "rocksdr/replication/batch_sink.h"
#include "rocksdr/replication/secondary_client.h"
#include "rocksdr/replication/session_status.h"

namespace rocksdr::replication {

// What a session needs from its client. Called on the network thread.
class ReceiverHost {
 public:
  virtual ~ReceiverHost() = default;
  virtual void UpdateStatus(const std::function<void(SecondaryClientStatus&)>& update) = 0;
  // WELCOME accepted: the connection works (resets the backoff).
  virtual void OnWelcome() = 0;
  // The sink applied or installed something after the session started: the local storage
  // works (ends a storage retry: resets its backoff and status). Once per session at most.
  virtual void OnSinkProgress() = 0;
  // The session is over. halt: do not reconnect (see secondary_client.h). storage_error: not
  // empty when a retryable local storage failure of the sink ended it (sink_retry.h); the host
  // retries with its storage backoff and BatchSink::Recover.
  virtual void OnSessionEnded(const std::string& reason, bool halt,
                              const std::string& storage_error) = 0;
};

class ReceiverSession : public FramedSession {
 public:
  static std::shared_ptr<ReceiverSession> Create(Stream stream,
                                                 const SecondaryClientOptions& options,
                                                 BatchSink* sink, ReceiverHost* host);

  // Network thread only.
  void Start();
  void Shutdown(const std::string& reason);
  bool closed() const { return closed_; }

 private:
  enum class Phase { kConnecting, kHandshaking, kAwaitBootstrap, kBootstrapping, kStreaming };

  ReceiverSession(Stream stream, const SecondaryClientOptions& options, BatchSink* sink,
                  ReceiverHost* host);
  std::shared_ptr<ReceiverSession> self() {
    return std::static_pointer_cast<ReceiverSession>(shared_from_this());
  }

  void OnResolve(const boost::system::error_code& ec,
                 boost::asio::ip::tcp::resolver::results_type results);
  void OnConnect(const boost::system::error_code& ec);
  void OnHandshake(const boost::system::error_code& ec);
  void ScheduleTick();
  void Tick();
  void OnFrame(Frame& frame, size_t wire_bytes) override;
  void OnClosed(const std::string& reason) override;

  void HandleWelcome(const Frame& frame);
  void HandleError(const Frame& frame);
  void HandleHeartbeat(const Frame& frame);
  void HandleBatches(const Frame& frame);
  void HandleBootstrapBegin(const Frame& frame);
  void HandleFileBegin(const Frame& frame);
  void HandleFileChunk(const Frame& frame);
  void HandleFileEnd(const Frame& frame);
  void HandleBootstrapEnd(const Frame& frame);
  void SendAck();
  // Posted by the sink's durable listener: an ACK carrying the new durable sequence, unless
  // one already did.
  void SendDurableAck();
  // A re-bootstrap (the sink holds a position) for `reason`: asks the sink; if it refuses,
  // fails the session (ERROR bootstrap-failed, halt) and returns false.
  bool RebootstrapAllowed(const std::string& reason);
  // Closes with ERROR and remembers whether to halt.
  void Fail(ErrorCode code, const std::string& message, bool halt);
  // The sink failed: stop for good, say why.
  // A sink call failed: a local storage failure ends the session for a retry, anything else
  // halts (sink_retry.h).
  void SinkFailed(const std::string& what, const Status& st);
  // A sink call succeeded: tells the host once per session (OnSinkProgress).
  void SinkProgressed();
  template <typename M>
  bool DecodeOrFail(const Frame& frame, M* m);

  const SecondaryClientOptions& options_;
  BatchSink* sink_;
  ReceiverHost* host_;
  PeerVerifier verifier_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer tick_timer_;

  Phase phase_ = Phase::kConnecting;
  std::chrono::steady_clock::time_point deadline_;       // connect + handshake
  std::chrono::steady_clock::time_point last_received_;
  Hello hello_;
  uint64_t received_bytes_ = 0;  // frame bytes consumed since WELCOME
  uint64_t last_echo_ = 0;
  uint64_t last_acked_durable_ = 0;  // durable_sequence of the last ACK sent
  uint64_t last_acked_applied_ = 0;  // applied_sequence of the last ACK sent
  // The sink reports each apply's durability through the listener (group sync): no ACK of its
  // own after an Apply that advanced the cursor; the durable ACK follows within one sync.
  bool sink_reports_durable_ = false;
  // Set by the durable listener when it posts SendDurableAck, cleared when that runs (at most
  // one such ACK queued at a time).
  std::shared_ptr<std::atomic<bool>> durable_ack_posted_ =
      std::make_shared<std::atomic<bool>>(false);
  uint16_t version_ = 1;         // negotiated in WELCOME
  bool send_received_ = false;   // SecondarySendsReceived(WELCOME): RECEIVED per BATCHES frame
  // Frames applied in a row with ApplyGrouped(more_waiting = true); see HandleBatches.
  static constexpr int kMaxGroupedFrames = 64;
  int grouped_frames_ = 0;
  bool halt_ = false;
  bool closed_ = false;
  std::string storage_error_;     // set by SinkFailed for a retryable local storage failure
  bool sink_progress_reported_ = false;

  // Bootstrap in progress.
  uint64_t bs_sequence_ = 0;
  uint32_t bs_file_count_ = 0;
  uint64_t bs_total_ = 0;
  uint64_t bs_received_ = 0;
  uint32_t bs_files_seen_ = 0;
  std::set<std::string> bs_names_;
  bool bs_in_file_ = false;
  std::string bs_file_;
  uint64_t bs_file_size_ = 0;
  uint64_t bs_file_offset_ = 0;
  uint32_t bs_file_crc_ = 0;
};

}  // namespace rocksdr::replication
