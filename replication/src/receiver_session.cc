// See receiver_session.h.
#include "receiver_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>

#include "rocksdr/replication/crc32c.h"
#include "rocksdr/replication/handshake.h"
#include "message_reader.h"
#include "rocksdr/replication/sink_retry.h"

namespace rocksdr::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::shared_ptr<ReceiverSession> ReceiverSession::Create(Stream stream,
                                                         const SecondaryClientOptions& options,
                                                         BatchSink* sink, ReceiverHost* host) {
  return std::shared_ptr<ReceiverSession>(
      new ReceiverSession(std::move(stream), options, sink, host));
}

ReceiverSession::ReceiverSession(Stream stream, const SecondaryClientOptions& options,
                                 BatchSink* sink, ReceiverHost* host)
    : FramedSession(std::move(stream), options.limits,
                    "primary at " + options.primary_host + ":" +
                        std::to_string(options.primary_port)),
      options_(options),
      sink_(sink),
      host_(host),
      verifier_("primary at " + options.primary_host + ":" + std::to_string(options.primary_port),
                options.verify_primary_host ? options.primary_host : std::string()),
      resolver_(this->stream().get_executor()),
      tick_timer_(this->stream().get_executor()) {}

void ReceiverSession::Start() {
  // Group sync: the sink reports durability after Apply returned; ACK it at once (the primary's
  // writers in ack mode `durable` wait for it).
  sink_reports_durable_ = sink_->SetDurableListener([w = weak_from_this(), posted = durable_ack_posted_] {
    if (posted->exchange(true)) return;  // one is queued and will read the newest value
    auto s = std::static_pointer_cast<ReceiverSession>(w.lock());
    if (!s) return;
    asio::post(s->stream().get_executor(), [s] { s->SendDurableAck(); });
  });
  phase_ = Phase::kConnecting;
  deadline_ = Clock::now() + options_.connect_timeout;
  ScheduleTick();
  resolver_.async_resolve(options_.primary_host, std::to_string(options_.primary_port),
                          [s = self()](const boost::system::error_code& ec,
                                       asio::ip::tcp::resolver::results_type r) {
                            s->OnResolve(ec, std::move(r));
                          });
}

void ReceiverSession::Shutdown(const std::string& reason) {
  if (phase_ == Phase::kConnecting) {
    resolver_.cancel();
    CloseNow(reason);
  } else {
    SendGoodbyeAndClose(reason);
  }
}

void ReceiverSession::OnResolve(const boost::system::error_code& ec,
                                asio::ip::tcp::resolver::results_type results) {
  if (closing()) return;
  if (ec) {
    CloseNow("cannot resolve " + options_.primary_host + ": " + ec.message());
    return;
  }
  asio::async_connect(stream().lowest_layer(), results,
                      [s = self()](const boost::system::error_code& e, const auto&) {
                        s->OnConnect(e);
                      });
}

void ReceiverSession::OnConnect(const boost::system::error_code& ec) {
  if (closing()) return;
  if (ec) {
    CloseNow("cannot connect: " + ec.message());
    return;
  }
  boost::system::error_code ignored;
  stream().lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
  stream().set_verify_callback(verifier_);
  stream().async_handshake(asio::ssl::stream_base::client,
                           [s = self()](const boost::system::error_code& e) { s->OnHandshake(e); });
}

void ReceiverSession::OnHandshake(const boost::system::error_code& ec) {
  if (closing()) return;
  if (ec) {
    std::string why = verifier_.failure();
    if (why.empty()) why = DescribeNetworkError(ec);
    spdlog::warn("replication: {}: TLS handshake failed: {}", name(), why);
    CloseNow("TLS handshake failed: " + why);
    return;
  }
  phase_ = Phase::kHandshaking;
  host_->UpdateStatus([](SecondaryClientStatus& s) { s.state = ClientState::kHandshaking; });
  hello_ = Hello();
  hello_.max_version = options_.max_protocol_version;
  hello_.cluster_id = options_.cluster_id;
  hello_.epoch = options_.epoch;
  hello_.secondary_id = options_.secondary_id;
  const std::optional<uint64_t> cursor = sink_->Cursor();
  hello_.has_cursor = cursor.has_value();
  hello_.last_applied_sequence = cursor.value_or(0);
  if (cursor && hello_.max_version >= kHelloHistoryVersion) {
    std::string history = sink_->History();
    // A malformed id is sent as unknown rather than making the HELLO invalid.
    if (CheckId("HELLO", "history", history, kMaxHistoryIdLength).ok()) hello_.history = std::move(history);
  }
  hello_.max_frame_payload = options_.limits.max_frame_payload;
  hello_.window_bytes = options_.window_bytes;
  std::string frame;
  AppendMessageFrame(hello_, &frame);
  SendFrame(std::move(frame));
  last_received_ = Clock::now();
  StartReading();
}

void ReceiverSession::ScheduleTick() {
  const auto period = std::clamp<std::chrono::milliseconds>(
      options_.dead_timeout / 8, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  tick_timer_.expires_after(period);
  tick_timer_.async_wait([s = self()](const boost::system::error_code& ec) {
    if (!ec) s->Tick();
  });
}

void ReceiverSession::Tick() {
  if (closing()) return;
  const auto now = Clock::now();
  if (phase_ == Phase::kConnecting || phase_ == Phase::kHandshaking) {
    if (now > deadline_) {
      const std::string why = "no WELCOME from the primary within " +
                              std::to_string(options_.connect_timeout.count()) + " ms";
      spdlog::warn("replication: {}: {}", name(), why);
      CloseNow(why);
      return;
    }
  } else {
    const auto silent =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - last_received_).count();
    if (silent > options_.dead_timeout.count()) {
      const std::string why = "no frame from the primary for " + std::to_string(silent) +
                              " ms (dead timeout " +
                              std::to_string(options_.dead_timeout.count()) + " ms)";
      spdlog::warn("replication: {}: {}; reconnecting", name(), why);
      CloseNow(why);
      return;
    }
  }
  ScheduleTick();
}

template <typename M>
bool ReceiverSession::DecodeOrFail(const Frame& frame, M* m) {
  Status st = Decode(frame.payload, m, options_.limits);
  if (st.ok()) return true;
  Fail(st.code() == Code::kResourceExhausted ? ErrorCode::kLimitExceeded
                                             : ErrorCode::kProtocolViolation,
       "bad " + std::string(FrameTypeName(frame.type)) + " from the primary: " + st.message(),
       false);
  return false;
}

void ReceiverSession::Fail(ErrorCode code, const std::string& message, bool halt) {
  halt_ = halt_ || halt;
  SendErrorAndClose(code, message);
}

void ReceiverSession::SinkFailed(const std::string& what, const Status& st) {
  if (SinkFailureIsRetryable(st)) {
    // Local storage (disk full, RocksDB read-only): nothing more is applied on this connection;
    // the client retries after its storage backoff, once the sink recovered (sink_retry.h).
    storage_error_ = what + ": " + st.ToString();
    SendGoodbyeAndClose("local storage failed: " + storage_error_);
    return;
  }
  const std::string why = what + ": " + st.ToString() +
                          "; replication stopped (nothing more is applied) until the secondary "
                          "is restarted";
  spdlog::error("replication: {}: {}", name(), why);
  halt_ = true;
  SendGoodbyeAndClose(why);
}

void ReceiverSession::SinkProgressed() {
  if (sink_progress_reported_) return;
  sink_progress_reported_ = true;
  host_->OnSinkProgress();
}

void ReceiverSession::OnFrame(Frame& frame, size_t wire_bytes) {
  last_received_ = Clock::now();
  if (!PrimaryMaySend(frame.type)) {
    Fail(ErrorCode::kProtocolViolation,
         "a primary may not send " + std::string(FrameTypeName(frame.type)), false);
    return;
  }
  if (frame.type == FrameType::kError) {
    HandleError(frame);
    return;
  }
  if (frame.type == FrameType::kGoodbye) {
    Goodbye m;
    Status st = Decode(frame.payload, &m, options_.limits);
    const std::string why =
        "primary said goodbye: " + (st.ok() ? Printable(m.reason) : st.message());
    spdlog::info("replication: {}: {}", name(), why);
    CloseNow(why);
    return;
  }
  if (phase_ == Phase::kHandshaking) {
    if (frame.type != FrameType::kWelcome) {
      Fail(ErrorCode::kProtocolViolation,
           "expected WELCOME, got " + std::string(FrameTypeName(frame.type)), false);
      return;
    }
    HandleWelcome(frame);
    return;
  }
  received_bytes_ += wire_bytes;
  host_->UpdateStatus([](SecondaryClientStatus& s) {
    s.last_frame_time = std::chrono::system_clock::now();
  });
  switch (frame.type) {
    case FrameType::kHeartbeat: HandleHeartbeat(frame); return;
    case FrameType::kBatches: HandleBatches(frame); return;
    case FrameType::kBootstrapBegin: HandleBootstrapBegin(frame); return;
    case FrameType::kFileBegin: HandleFileBegin(frame); return;
    case FrameType::kFileChunk: HandleFileChunk(frame); return;
    case FrameType::kFileEnd: HandleFileEnd(frame); return;
    case FrameType::kBootstrapEnd: HandleBootstrapEnd(frame); return;
    default:
      Fail(ErrorCode::kProtocolViolation,
           "unexpected " + std::string(FrameTypeName(frame.type)) + " after WELCOME", false);
      return;
  }
}

void ReceiverSession::HandleError(const Frame& frame) {
  ErrorMessage m;
  Status st = Decode(frame.payload, &m, options_.limits);
  if (!st.ok()) {
    CloseNow("primary sent a malformed ERROR: " + st.message());
    return;
  }
  const Status as_status = ToStatus(m, "primary");
  switch (static_cast<ErrorCode>(m.code)) {
    case ErrorCode::kClusterMismatch:
    case ErrorCode::kStaleEpoch:
    case ErrorCode::kNotAuthorized:
    case ErrorCode::kUnsupportedVersion:
      halt_ = true;  // retrying cannot help; an operator must act
      break;
    default:
      break;
  }
  const std::string why = Printable(as_status.message());
  spdlog::warn("replication: {}: {}", name(), why);
  CloseNow(why);
}

void ReceiverSession::HandleWelcome(const Frame& frame) {
  Welcome welcome;
  if (!DecodeOrFail(frame, &welcome)) return;
  ErrorCode code = ErrorCode::kProtocolViolation;
  Status st = CheckWelcome(hello_, welcome, &code);
  if (!st.ok()) {
    // Another cluster, an older (superseded) primary, or no common version: refuse and stop.
    const std::string why = Printable(st.message());
    spdlog::error("replication: {}: refusing the primary: {}", name(), why);
    Fail(code, why, /*halt=*/true);
    return;
  }
  version_ = welcome.version;
  send_received_ = SecondarySendsReceived(welcome);
  if (welcome.mode == ResumeMode::kStream) {
    const std::optional<uint64_t> cursor = sink_->Cursor();
    if (!cursor || welcome.stream_from_sequence != *cursor + 1) {
      Fail(ErrorCode::kProtocolViolation,
           "WELCOME streams from sequence " + std::to_string(welcome.stream_from_sequence) +
               " but this secondary's cursor is " +
               (cursor ? std::to_string(*cursor) : std::string("unset")),
           false);
      return;
    }
    phase_ = Phase::kStreaming;
  } else {
    if (!RebootstrapAllowed(Printable(welcome.bootstrap_reason))) return;
    phase_ = Phase::kAwaitBootstrap;
    spdlog::info("replication: {}: the primary bootstraps this secondary: {}", name(),
                 Printable(welcome.bootstrap_reason));
  }
  received_bytes_ = 0;
  host_->OnWelcome();
  host_->UpdateStatus([&](SecondaryClientStatus& s) {
    s.state = phase_ == Phase::kStreaming ? ClientState::kStreaming : ClientState::kBootstrapping;
    s.primary_epoch = welcome.epoch;
    s.primary_sequence = welcome.primary_latest_sequence;
    s.last_frame_time = std::chrono::system_clock::now();
    if (phase_ != Phase::kStreaming) {
      s.bootstrap_reason = Printable(welcome.bootstrap_reason);
      s.bootstrap_bytes_received = 0;
      s.bootstrap_bytes_total = 0;
    }
    s.last_error.clear();
  });
}

void ReceiverSession::SendDurableAck() {
  durable_ack_posted_->store(false);
  if (closing() || phase_ != Phase::kStreaming) return;
  if (sink_->DurableSequence() == last_acked_durable_ &&
      sink_->Cursor().value_or(0) == last_acked_applied_) {
    return;  // an ACK already carried both
  }
  SendAck();
}

void ReceiverSession::SendAck() {
  if (closing()) return;
  Ack ack;
  ack.applied_sequence = sink_->Cursor().value_or(0);
  ack.durable_sequence = std::min(sink_->DurableSequence(), ack.applied_sequence);
  last_acked_durable_ = ack.durable_sequence;
  last_acked_applied_ = ack.applied_sequence;
  ack.echo_send_monotonic_micros = last_echo_;
  ack.received_bytes = received_bytes_;
  std::string frame;
  AppendMessageFrame(ack, &frame);
  SendFrame(std::move(frame));
}

void ReceiverSession::HandleHeartbeat(const Frame& frame) {
  Heartbeat hb;
  if (!DecodeOrFail(frame, &hb)) return;
  last_echo_ = hb.primary_send_monotonic_micros;
  host_->UpdateStatus([&](SecondaryClientStatus& s) {
    s.primary_sequence = hb.primary_latest_sequence;
    s.primary_clock = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
        std::chrono::microseconds(hb.primary_wall_clock_micros)));
  });
  SendAck();
}

void ReceiverSession::HandleBatches(const Frame& frame) {
  if (phase_ != Phase::kStreaming) {
    Fail(ErrorCode::kProtocolViolation, "BATCHES while not streaming (during a bootstrap)",
         false);
    return;
  }
  Batches m;
  if (!DecodeOrFail(frame, &m)) return;
  if (m.batches.empty()) {
    SendAck();
    return;
  }
  // Continuity (invariant 1): the frame must start at cursor + 1 and be contiguous.
  const std::optional<uint64_t> cursor = sink_->Cursor();
  uint64_t expect = cursor ? *cursor + 1 : 0;
  for (const auto& b : m.batches) {
    if (!cursor || b.sequence != expect) {
      Fail(ErrorCode::kProtocolViolation,
           "batch at sequence " + std::to_string(b.sequence) + " does not continue at " +
               (cursor ? std::to_string(expect) : std::string("(no cursor)")) +
               "; nothing applied",
           false);
      return;
    }
    expect = b.next_sequence();
  }
  if (send_received_) {
    // Synchronous replication (ack mode "received") waits for this, not for the apply below.
    Received received;
    received.received_sequence = m.batches.back().last_sequence();
    std::string out;
    AppendMessageFrame(received, &out);
    SendFrame(std::move(out));
  }
  // Group sync: with more frames already here (a burst from concurrent writers), the sink's
  // next sync waits for them, so one sync covers the burst instead of this frame alone and then
  // the rest (at most kMaxGroupedFrames frames in a row; the sink bounds the wait too).
  const bool more_waiting =
      sink_reports_durable_ && ++grouped_frames_ < kMaxGroupedFrames && InputWaiting();
  if (!more_waiting) grouped_frames_ = 0;
  Status st = sink_->ApplyGrouped(m.batches, more_waiting);
  if (!st.ok()) {
    SinkFailed("applying the batches at sequence " + std::to_string(m.batches.front().sequence) +
                   ".." + std::to_string(m.batches.back().last_sequence()) + " failed",
               st);
    return;
  }
  SinkProgressed();
  // Group sync: the sink's listener sends the ACK (applied, durable and the flow credit) once a
  // sync covered this frame — one ACK per sync instead of one per frame plus one per sync.
  if (sink_reports_durable_ && sink_->Cursor().value_or(0) > *cursor) return;
  SendAck();
}

bool ReceiverSession::RebootstrapAllowed(const std::string& reason) {
  if (!sink_->Cursor()) return true;  // joining: nothing to replace
  Status st = sink_->MayRebootstrap(reason);
  if (st.ok()) return true;
  spdlog::error("replication: {}: refusing the re-bootstrap: {}", name(), st.message());
  host_->UpdateStatus([&](SecondaryClientStatus& s) { s.bootstrap_reason = reason; });
  Fail(ErrorCode::kBootstrapFailed, "the secondary refuses the re-bootstrap: " + st.message(),
       /*halt=*/true);
  return false;
}

void ReceiverSession::HandleBootstrapBegin(const Frame& frame) {
  if (phase_ != Phase::kAwaitBootstrap && phase_ != Phase::kStreaming) {
    Fail(ErrorCode::kProtocolViolation, "BOOTSTRAP_BEGIN during a bootstrap", false);
    return;
  }
  BootstrapBegin m;
  if (!DecodeOrFail(frame, &m)) return;
  if (phase_ == Phase::kStreaming) {
    const std::string reason =
        "the primary started a re-bootstrap while streaming (a WAL gap or an external file "
        "ingestion on the primary; its status names which)";
    if (!RebootstrapAllowed(reason)) return;
    host_->UpdateStatus([&](SecondaryClientStatus& s) { s.bootstrap_reason = reason; });
  }
  bs_sequence_ = m.checkpoint_sequence;
  bs_file_count_ = m.file_count;
  bs_total_ = m.total_bytes;
  bs_received_ = 0;
  bs_files_seen_ = 0;
  bs_names_.clear();
  bs_in_file_ = false;
  phase_ = Phase::kBootstrapping;
  Status st = sink_->BeginBootstrap(m.checkpoint_sequence, m.file_count, m.total_bytes);
  if (!st.ok()) {
    SinkFailed("cannot start installing the checkpoint", st);
    return;
  }
  spdlog::info("replication: {}: receiving a checkpoint at sequence {} ({} files, {} bytes)",
               name(), m.checkpoint_sequence, m.file_count, m.total_bytes);
  host_->UpdateStatus([&](SecondaryClientStatus& s) {
    s.state = ClientState::kBootstrapping;
    s.bootstrap_bytes_received = 0;
    s.bootstrap_bytes_total = m.total_bytes;
  });
}

void ReceiverSession::HandleFileBegin(const Frame& frame) {
  FileBegin m;
  if (phase_ != Phase::kBootstrapping || bs_in_file_) {
    Fail(ErrorCode::kProtocolViolation, "FILE_BEGIN out of place", false);
    return;
  }
  if (!DecodeOrFail(frame, &m)) return;
  if (bs_files_seen_ >= bs_file_count_ || !bs_names_.insert(m.name).second ||
      m.size > bs_total_ - bs_received_) {
    Fail(ErrorCode::kProtocolViolation,
         "FILE_BEGIN \"" + m.name + "\" exceeds the announced files or bytes, or repeats a name",
         false);
    return;
  }
  ++bs_files_seen_;
  bs_in_file_ = true;
  bs_file_ = m.name;
  bs_file_size_ = m.size;
  bs_file_offset_ = 0;
  bs_file_crc_ = 0;
  Status st = sink_->BeginFile(m.name, m.size);
  if (!st.ok()) SinkFailed("cannot create checkpoint file " + m.name, st);
}

void ReceiverSession::HandleFileChunk(const Frame& frame) {
  FileChunk m;
  if (phase_ != Phase::kBootstrapping || !bs_in_file_) {
    Fail(ErrorCode::kProtocolViolation, "FILE_CHUNK outside a file", false);
    return;
  }
  if (!DecodeOrFail(frame, &m)) return;
  if (m.offset != bs_file_offset_ || m.data.size() > bs_file_size_ - bs_file_offset_) {
    Fail(ErrorCode::kProtocolViolation,
         "FILE_CHUNK of " + bs_file_ + " at offset " + std::to_string(m.offset) + " (+" +
             std::to_string(m.data.size()) + ") does not continue at " +
             std::to_string(bs_file_offset_) + " within size " + std::to_string(bs_file_size_),
         false);
    return;
  }
  bs_file_crc_ = crc32c::Extend(bs_file_crc_, m.data.data(), m.data.size());
  Status st = sink_->WriteFileChunk(m.offset, m.data);
  if (!st.ok()) {
    SinkFailed("cannot write checkpoint file " + bs_file_, st);
    return;
  }
  bs_file_offset_ += m.data.size();
  bs_received_ += m.data.size();
  const uint64_t received = bs_received_;
  host_->UpdateStatus([&](SecondaryClientStatus& s) { s.bootstrap_bytes_received = received; });
  SendAck();
}

void ReceiverSession::HandleFileEnd(const Frame& frame) {
  FileEnd m;
  if (phase_ != Phase::kBootstrapping || !bs_in_file_) {
    Fail(ErrorCode::kProtocolViolation, "FILE_END outside a file", false);
    return;
  }
  if (!DecodeOrFail(frame, &m)) return;
  if (bs_file_offset_ != bs_file_size_) {
    Fail(ErrorCode::kProtocolViolation,
         "FILE_END of " + bs_file_ + " after " + std::to_string(bs_file_offset_) + " of " +
             std::to_string(bs_file_size_) + " bytes",
         false);
    return;
  }
  if (m.file_crc32c != bs_file_crc_) {
    Fail(ErrorCode::kBootstrapFailed,
         "checkpoint file " + bs_file_ + " arrived corrupted (CRC32C mismatch)", false);
    return;
  }
  bs_in_file_ = false;
  Status st = sink_->FinishFile(m.file_crc32c);
  if (!st.ok()) SinkFailed("cannot finish checkpoint file " + bs_file_, st);
}

void ReceiverSession::HandleBootstrapEnd(const Frame& frame) {
  BootstrapEnd m;
  if (phase_ != Phase::kBootstrapping || bs_in_file_) {
    Fail(ErrorCode::kProtocolViolation, "BOOTSTRAP_END out of place", false);
    return;
  }
  if (!DecodeOrFail(frame, &m)) return;
  if (bs_files_seen_ != bs_file_count_ || bs_received_ != bs_total_) {
    Fail(ErrorCode::kProtocolViolation,
         "BOOTSTRAP_END after " + std::to_string(bs_files_seen_) + " of " +
             std::to_string(bs_file_count_) + " files and " + std::to_string(bs_received_) +
             " of " + std::to_string(bs_total_) + " bytes",
         false);
    return;
  }
  Status st = sink_->CommitBootstrap();
  if (!st.ok()) {
    SinkFailed("cannot install the checkpoint", st);
    return;
  }
  const std::optional<uint64_t> cursor = sink_->Cursor();
  if (!cursor || *cursor != bs_sequence_) {
    SinkFailed("after installing the checkpoint the sink's cursor is not the checkpoint's "
               "sequence " + std::to_string(bs_sequence_),
               Status::Internal("BatchSink contract broken"));
    return;
  }
  phase_ = Phase::kStreaming;
  SinkProgressed();
  spdlog::info("replication: {}: checkpoint at sequence {} installed; streaming", name(),
               bs_sequence_);
  host_->UpdateStatus([](SecondaryClientStatus& s) { s.state = ClientState::kStreaming; });
  SendAck();
}

void ReceiverSession::OnClosed(const std::string& reason) {
  sink_->SetDurableListener(nullptr);  // waits for a running listener; the next session sets its own
  closed_ = true;
  tick_timer_.cancel();
  resolver_.cancel();
  if (phase_ == Phase::kBootstrapping || phase_ == Phase::kAwaitBootstrap) {
    sink_->AbortBootstrap();
  }
  host_->OnSessionEnded(reason, halt_, halt_ ? std::string() : storage_error_);
}

}  // namespace rocksdr::replication
