// Listen/advertise address helpers for the sidecar: "host:port" parsing (IPv6 in brackets) and
// the loopback test that decides whether plain HTTP may be served.
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

struct HostPort {
  std::string host;  // without brackets; may be a name ("localhost") or an IP literal
  uint16_t port = 0;
};

// Parses "host:port" or "[v6]:port"; port 0..65535 (0 = any free port). Bounded to 512 chars.
Result<HostPort> ParseHostPort(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost" — addresses only this machine can reach.
bool IsLoopbackHost(std::string_view host);

// "host:port", bracketing IPv6 literals.
std::string FormatHostPort(const std::string& host, uint16_t port);

}  // namespace rocksdr::sidecar
