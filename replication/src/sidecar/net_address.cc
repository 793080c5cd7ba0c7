// Implementation of net_address.h.
#include "rocksdr/sidecar/net_address.h"

#include <charconv>

#include <boost/asio/ip/address.hpp>

namespace rocksdr::sidecar {

Result<HostPort> ParseHostPort(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty address (expected host:port)");
  if (text.size() > 512) return Status::InvalidArgument("address longer than 512 characters");
  HostPort out;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("invalid address (expected [ipv6]:port)");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Status::InvalidArgument("address has no port (expected host:port)");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("IPv6 addresses must be written in brackets, e.g. [::1]:8200");
    }
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return Status::InvalidArgument("address has no host (use 0.0.0.0 for all interfaces)");
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    return Status::InvalidArgument("invalid port (expected 0..65535)");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && addr.is_loopback();
}

std::string FormatHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace rocksdr::sidecar
