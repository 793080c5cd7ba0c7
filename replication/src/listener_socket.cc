// See listener_socket.h.
#include "rocksdr/replication/listener_socket.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <unistd.h>

#include <utility>

namespace rocksdr::replication {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<ListenerSocket> ListenerSocket::Open(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Status::InvalidArgument("replication listen address \"" + host + "\" is not an IP address");
  }
  const tcp::endpoint endpoint(address, port);
  asio::io_context io;  // only to own the acceptor until its descriptor is released
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  uint16_t bound = 0;
  if (!ec) bound = acceptor.local_endpoint(ec).port();
  ListenerSocket out;
  if (!ec) out.fd_ = acceptor.release(ec);
  if (ec) {
    return Status::Unavailable("cannot listen for replication on " + host + ":" + std::to_string(port) + ": " +
                               ec.message());
  }
  out.ipv6_ = address.is_v6();
  out.port_ = bound;
  return out;
}

ListenerSocket::ListenerSocket(ListenerSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ipv6_(other.ipv6_), port_(other.port_) {}

ListenerSocket& ListenerSocket::operator=(ListenerSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    ipv6_ = other.ipv6_;
    port_ = other.port_;
  }
  return *this;
}

ListenerSocket::~ListenerSocket() {
  if (fd_ >= 0) ::close(fd_);
}

int ListenerSocket::Release() { return std::exchange(fd_, -1); }

}  // namespace rocksdr::replication
