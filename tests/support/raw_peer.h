// RawPeer: one connection on a replication port driven byte by byte from the test thread, to stand
// in for a misbehaving or hostile primary or secondary: a TLS server (Listen + Accept) or client
// (Connect) with given credentials, a TLS client that presents no certificate, or a plain TCP
// client. It writes raw bytes (well-formed frames from FrameOf, or anything else) and reads frames
// back. Every step is bounded (5 s): on timeout the connection is closed and the step returns
// asio::error::timed_out.
//
// Who may call: tests only, one thread (the test thread). Not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rocksdr/replication/frame.h"
#include "rocksdr/replication/messages.h"
#include "rocksdr/replication/tls_context.h"

namespace rocksdr::testing {

class RawPeer {
 public:
  // TLS in `role`, presenting `creds`' certificate and trusting its CA. A non-fatal failure (and
  // a peer without TLS) if the credentials do not make a TLS context.
  RawPeer(replication::TlsRole role, const replication::TlsCredentials& creds);
  // A TLS client that presents no certificate and verifies nothing.
  static RawPeer TlsClientWithoutCertificate();
  // A client that speaks plain TCP (no TLS).
  static RawPeer PlainTcpClient();

  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  // The TLS context (TLS peers only), e.g. to restrict protocol versions before Connect/Accept.
  boost::asio::ssl::context& ctx() { return *ctx_; }

  // Server side: listens on 127.0.0.1 port 0 and returns the port; Accept takes one connection
  // and, when TLS, completes the server handshake.
  uint16_t Listen();
  boost::system::error_code Accept();
  // Client side: TCP connect to 127.0.0.1:port, then the TLS handshake when TLS. In TLS 1.3 the
  // client's handshake may complete before the server has checked the client's certificate: a
  // refusal shows on the next read.
  boost::system::error_code Connect(uint16_t port);

  boost::system::error_code Write(const std::string& bytes);
  // The next frame, or std::nullopt on error / close / timeout.
  std::optional<replication::Frame> ReadFrame();
  // Reads until the other side closes; true if it did within the step bound.
  bool ServerClosed();

  // `m` encoded as one frame.
  template <typename M>
  static std::string FrameOf(const M& m) {
    std::string out;
    replication::AppendMessageFrame(m, &out);
    return out;
  }

 private:
  using tcp = boost::asio::ip::tcp;
  using Done = std::function<void(const boost::system::error_code&)>;

  explicit RawPeer(std::shared_ptr<boost::asio::ssl::context> ctx);
  // A fresh socket (TLS stream when TLS) for the next Accept/Connect.
  void NewSocket();
  tcp::socket& Socket();
  // Starts an operation with `start(done)` and runs the io_context until it is done (bounded).
  boost::system::error_code Run(const std::function<void(Done)>& start, bool* timed_out = nullptr);

  boost::asio::io_context io_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<tcp::socket> plain_;
  std::optional<boost::asio::ssl::stream<tcp::socket>> tls_;
  replication::FrameDecoder decoder_;
};

}  // namespace rocksdr::testing
