// RawPeer; see raw_peer.h.
#include "support/raw_peer.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/write.hpp>
#include <chrono>

namespace rocksdr::testing {

namespace asio = boost::asio;

RawPeer::RawPeer(replication::TlsRole role, const replication::TlsCredentials& creds) {
  auto ctx = replication::MakeTlsContext(role, creds);
  EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
  if (ctx.ok()) ctx_ = *ctx;
  NewSocket();
}

RawPeer RawPeer::TlsClientWithoutCertificate() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_verify_mode(asio::ssl::verify_none);
  return RawPeer(ctx);
}

RawPeer RawPeer::PlainTcpClient() { return RawPeer(nullptr); }

RawPeer::RawPeer(std::shared_ptr<asio::ssl::context> ctx) : ctx_(std::move(ctx)) { NewSocket(); }

void RawPeer::NewSocket() {
  tls_.reset();
  plain_.reset();
  if (ctx_) {
    tls_.emplace(io_, *ctx_);
  } else {
    plain_.emplace(io_);
  }
}

RawPeer::tcp::socket& RawPeer::Socket() { return tls_ ? tls_->next_layer() : *plain_; }

uint16_t RawPeer::Listen() {
  acceptor_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor_->local_endpoint().port();
}

boost::system::error_code RawPeer::Accept() {
  NewSocket();
  auto ec = Run([&](Done done) { acceptor_->async_accept(Socket(), done); });
  if (ec || !tls_) return ec;
  return Run([&](Done done) { tls_->async_handshake(asio::ssl::stream_base::server, done); });
}

boost::system::error_code RawPeer::Connect(uint16_t port) {
  NewSocket();
  auto ec = Run([&](Done done) {
    Socket().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), done);
  });
  if (ec || !tls_) return ec;
  return Run([&](Done done) { tls_->async_handshake(asio::ssl::stream_base::client, done); });
}

boost::system::error_code RawPeer::Write(const std::string& bytes) {
  return Run([&](Done done) {
    auto cb = [done](const boost::system::error_code& e, size_t) { done(e); };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(bytes), cb);
    } else {
      asio::async_write(*plain_, asio::buffer(bytes), cb);
    }
  });
}

std::optional<replication::Frame> RawPeer::ReadFrame() {
  while (true) {
    auto next = decoder_.Next();
    if (!next.ok()) return std::nullopt;
    if (next->has_value()) return std::move(**next);
    std::array<char, 4096> buf;
    size_t got = 0;
    auto ec = Run([&](Done done) {
      auto cb = [&got, done](const boost::system::error_code& e, size_t n) {
        got = n;
        done(e);
      };
      if (tls_) {
        tls_->async_read_some(asio::buffer(buf), cb);
      } else {
        plain_->async_read_some(asio::buffer(buf), cb);
      }
    });
    if (ec) return std::nullopt;
    decoder_.Feed(buf.data(), got);
  }
}

bool RawPeer::ServerClosed() {
  while (true) {
    std::array<char, 4096> buf;
    bool timed_out = false;
    auto ec = Run([&](Done done) {
      auto cb = [done](const boost::system::error_code& e, size_t) { done(e); };
      if (tls_) {
        tls_->async_read_some(asio::buffer(buf), cb);
      } else {
        plain_->async_read_some(asio::buffer(buf), cb);
      }
    }, &timed_out);
    if (timed_out) return false;
    if (ec) return true;
  }
}

boost::system::error_code RawPeer::Run(const std::function<void(Done)>& start, bool* timed_out) {
  boost::system::error_code result = asio::error::would_block;
  io_.restart();
  start([&result](const boost::system::error_code& ec) { result = ec; });
  io_.run_for(std::chrono::seconds(5));
  if (result == asio::error::would_block) {
    boost::system::error_code ignored;
    Socket().close(ignored);
    io_.restart();
    io_.run_for(std::chrono::milliseconds(100));
    if (timed_out) *timed_out = true;
    return asio::error::timed_out;
  }
  return result;
}

}  // namespace rocksdr::testing
