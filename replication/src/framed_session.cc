// See framed_session.h.
#include "framed_session.h"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace rocksdr::replication {

namespace asio = boost::asio;

std::string DescribeNetworkError(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return "peer closed the connection";
  if (ec == asio::ssl::error::stream_truncated) {
    return "peer closed the connection without TLS close_notify (dropped or crashed)";
  }
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  if (ec == asio::error::operation_aborted) return "operation aborted (connection closed locally)";
  if (ec.category() == asio::error::get_ssl_category()) return "TLS error: " + ec.message();
  return ec.message();
}

std::string Printable(std::string_view text, size_t max_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

FramedSession::FramedSession(Stream stream, const ProtocolLimits& limits, std::string name)
    : stream_(std::move(stream)),
      shutdown_timer_(stream_.get_executor()),
      decoder_(limits),
      name_(std::move(name)) {}

void FramedSession::StartReading() { DoRead(); }

void FramedSession::DoRead() {
  if (closing_) return;
  stream_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void FramedSession::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    if (!closing_) spdlog::info("replication: {}: {}", name_, DescribeNetworkError(ec));
    CloseNow(DescribeNetworkError(ec));
    return;
  }
  if (closing_) return;  // draining towards a close: ignore what the peer still sends
  decoder_.Feed(read_buffer_.data(), n);
  while (!closing_) {
    auto next = decoder_.Next();
    if (!next.ok()) {
      const ErrorCode code = next.status().code() == Code::kResourceExhausted
                                 ? ErrorCode::kLimitExceeded
                                 : ErrorCode::kProtocolViolation;
      SendErrorAndClose(code, "malformed frame from peer: " + next.status().message());
      return;
    }
    if (!next->has_value()) break;
    Frame& frame = **next;
    const size_t wire = frame.payload.size() + kFrameOverhead;
    OnFrame(frame, wire);
  }
  DoRead();
}

bool FramedSession::InputWaiting() {
  if (decoder_.buffered_bytes() > 0) return true;
  SSL* ssl = stream_.native_handle();
  if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return true;
  boost::system::error_code ec;
  const size_t n = stream_.next_layer().available(ec);
  return !ec && n > 0;
}

void FramedSession::SendFrame(std::string frame) {
  if (closing_) return;
  queued_bytes_ += frame.size();
  write_queue_.push_back(std::move(frame));
  if (!writing_) DoWrite();
}

void FramedSession::DoWrite() {
  if (write_queue_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(stream_, asio::buffer(write_queue_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->OnWrite(ec, n);
                    });
}

void FramedSession::OnWrite(const boost::system::error_code& ec, size_t /*n*/) {
  writing_ = false;
  if (closed_) {
    write_queue_.clear();
    return;
  }
  if (ec) {
    spdlog::info("replication: {}: write failed: {}", name_, DescribeNetworkError(ec));
    CloseNow("write failed: " + DescribeNetworkError(ec));
    return;
  }
  queued_bytes_ -= write_queue_.front().size();
  write_queue_.pop_front();
  if (!write_queue_.empty()) {
    DoWrite();
  } else if (closing_ && !shutting_down_) {
    DoShutdown();
  }
}

void FramedSession::SendErrorAndClose(ErrorCode code, const std::string& message) {
  if (closing_) return;
  spdlog::warn("replication: {}: closing with ERROR {}: {}", name_,
               ErrorCodeName(static_cast<uint16_t>(code)), message);
  ErrorMessage m;
  m.code = static_cast<uint16_t>(code);
  m.message = message.substr(0, ProtocolLimits().max_text_length);
  std::string frame;
  AppendMessageFrame(m, &frame);
  SendFrame(std::move(frame));
  BeginClose(message);
}

void FramedSession::SendGoodbyeAndClose(const std::string& reason) {
  if (closing_) return;
  Goodbye m;
  m.reason = reason.substr(0, ProtocolLimits().max_text_length);
  std::string frame;
  AppendMessageFrame(m, &frame);
  SendFrame(std::move(frame));
  BeginClose(reason);
}

void FramedSession::BeginClose(const std::string& reason) {
  closing_ = true;
  if (close_reason_.empty()) close_reason_ = reason;
  if (!writing_ && !shutting_down_) DoShutdown();
}

void FramedSession::DoShutdown() {
  shutting_down_ = true;
  shutdown_timer_.expires_after(kShutdownTimeout);
  shutdown_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->FinishClose();
  });
  stream_.async_shutdown(
      [self = shared_from_this()](const boost::system::error_code&) { self->FinishClose(); });
}

void FramedSession::CloseNow(const std::string& reason) {
  closing_ = true;
  if (close_reason_.empty()) close_reason_ = reason;
  FinishClose();
}

void FramedSession::FinishClose() {
  if (closed_) return;
  closed_ = true;
  shutdown_timer_.cancel();
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  // An async_write in progress still reads the front buffer until its handler runs (the SSL
  // engine encrypts it before noticing the closed socket): keep that one alive until OnWrite.
  while (write_queue_.size() > (writing_ ? 1u : 0u)) write_queue_.pop_back();
  queued_bytes_ = 0;
  OnClosed(close_reason_);
}

}  // namespace rocksdr::replication
