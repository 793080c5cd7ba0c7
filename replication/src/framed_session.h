// FramedSession: one TLS connection carrying replication frames (frame.h), the part shared by
// the primary's ShipperSession and the secondary's ReceiverSession.
//
// It owns the ssl::stream, reads with a fixed 64 KiB buffer into a FrameDecoder (so at most one
// frame, bounded by ProtocolLimits::max_frame_payload, is buffered), hands each complete frame to
// OnFrame, and writes queued frames one at a time. Malformed input (oversize length, unknown
// type, bad CRC) is answered with an ERROR frame and the connection is closed; nothing of the bad
// frame reaches OnFrame. Closing is deliberate: queued frames (e.g. a final ERROR or GOODBYE) are
// flushed, then TLS close_notify is sent (bounded by kShutdownTimeout), then the socket closes and
// OnClosed(reason) runs exactly once.
//
// Threading: every method, and every virtual hook, runs on the connection's strand (the
// executor of the stream's socket). Lifetime: shared_from_this keeps the session alive while an
// operation is pending. The write queue is not bounded here: its callers bound it (the shipper by
// its flow-control window, the receiver sends one ACK per frame it consumed).
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"
#include "rocksdr/replication/protocol_limits.h"

namespace rocksdr::replication {

class FramedSession : public std::enable_shared_from_this<FramedSession> {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  static constexpr std::chrono::milliseconds kShutdownTimeout{500};

  virtual ~FramedSession() = default;
  FramedSession(const FramedSession&) = delete;
  FramedSession& operator=(const FramedSession&) = delete;

  const std::string& name() const { return name_; }

 protected:
  // `name` names the connection in logs and errors ("secondary dr-2 (10.0.0.7:5123)").
  FramedSession(Stream stream, const ProtocolLimits& limits, std::string name);

  Stream& stream() { return stream_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Starts the read loop (after the TLS handshake).
  void StartReading();
  // Queues a complete encoded frame. Ignored once closing.
  void SendFrame(std::string frame);
  // Logs, queues ERROR(code, message), and closes after it is flushed. reason = message.
  void SendErrorAndClose(ErrorCode code, const std::string& message);
  // Queues GOODBYE(reason) and closes after it is flushed.
  void SendGoodbyeAndClose(const std::string& reason);
  // Closes without sending anything more (peer gone, or an abrupt drop).
  void CloseNow(const std::string& reason);
  bool closing() const { return closing_; }
  // Bytes queued and not yet written to the socket.
  size_t queued_bytes() const { return queued_bytes_; }
  // True if more input is already here: bytes of a next frame in the decoder, bytes TLS holds,
  // or bytes in the socket's receive buffer. A hint for OnFrame (it may miss ciphertext Asio
  // buffered internally): false means "probably nothing more right now".
  bool InputWaiting();

  // A complete, CRC-checked frame; wire_bytes = its size on the wire.
  virtual void OnFrame(Frame& frame, size_t wire_bytes) = 0;
  // The connection is closed; `reason` says why. Called once.
  virtual void OnClosed(const std::string& reason) = 0;

 private:
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec, size_t n);
  void BeginClose(const std::string& reason);
  void DoShutdown();
  void FinishClose();

  Stream stream_;
  boost::asio::steady_timer shutdown_timer_;
  FrameDecoder decoder_;
  std::string name_;
  std::array<char, 64 * 1024> read_buffer_;
  std::deque<std::string> write_queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;       // no more frames accepted or read
  bool shutting_down_ = false; // TLS shutdown started
  bool closed_ = false;        // socket closed, OnClosed called
  std::string close_reason_;
};

// A readable description of a network error, e.g. "peer closed the connection".
std::string DescribeNetworkError(const boost::system::error_code& ec);

// Text that came from the peer, made safe for logs and status: printable ASCII is kept, every
// other byte becomes \xNN, and the result is cut at max_bytes (marked with "...").
std::string Printable(std::string_view text, size_t max_bytes = 512);

}  // namespace rocksdr::replication
