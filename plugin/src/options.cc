// Validation and path defaults of PluginOptions; see rocksdr/options.h.
#include "rocksdr/options.h"

#include <cctype>
#include <charconv>
#include <string_view>

namespace rocksdr {

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr size_t kMaxUnixSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr size_t kMaxPathBytes = 4096;

Status Bad(std::string_view field, std::string reason) {
  return Status::InvalidArgument(std::string(field) + " " + std::move(reason));
}

Status CheckRange(std::string_view field, uint64_t value, uint64_t lo, uint64_t hi,
                  std::string_view unit) {
  if (value < lo || value > hi) {
    return Bad(field, "is " + std::to_string(value) + " " + std::string(unit) + ", must be between " +
                          std::to_string(lo) + " and " + std::to_string(hi));
  }
  return Status::OK();
}

Status CheckPath(std::string_view field, const std::string& path) {
  if (path.size() > kMaxPathBytes) return Bad(field, "is longer than 4096 bytes");
  if (path.find('\0') != std::string::npos) return Bad(field, "contains a NUL byte");
  return Status::OK();
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}
bool IsV6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

Status CheckListenAddress(std::string_view field, std::string_view addr) {
  if (addr.empty()) return Status::OK();
  if (addr.size() > 300) return Bad(field, "is longer than 300 bytes");
  std::string_view host, port;
  if (addr.front() == '[') {
    const size_t close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      return Bad(field, "must look like [v6-address]:port");
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
    for (char c : host) {
      if (!IsV6Char(c)) return Bad(field, "has an invalid character in its IPv6 address");
    }
  } else {
    const size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos) return Bad(field, "must look like host:port (e.g. 0.0.0.0:8201)");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
    for (char c : host) {
      if (!IsHostChar(c)) {
        return Bad(field, "has an invalid character in its host part (IPv6 addresses go in brackets)");
      }
    }
  }
  if (host.empty()) return Bad(field, "has an empty host part");
  if (port.empty() || port.size() > 5) return Bad(field, "must end with a port number 0..65535");
  uint32_t p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return Bad(field, "must end with a port number 0..65535");
  }
  return Status::OK();
}

}  // namespace

Status ValidatePluginOptions(const PluginOptions& o) {
  ROCKSDR_RETURN_IF_ERROR(CheckPath("state_dir", o.state_dir));
  ROCKSDR_RETURN_IF_ERROR(CheckPath("control_socket", o.control_socket_path));
  if (o.control_socket_path.size() > kMaxUnixSocketPath) {
    return Bad("control_socket", "is longer than 107 bytes (the limit of a Unix socket path)");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckListenAddress("replication.listen_address", o.replication_listen_address));
  ROCKSDR_RETURN_IF_ERROR(CheckPath("replication.tls.cert_file", o.tls_cert_file));
  ROCKSDR_RETURN_IF_ERROR(CheckPath("replication.tls.key_file", o.tls_key_file));
  ROCKSDR_RETURN_IF_ERROR(CheckPath("replication.tls.ca_file", o.tls_ca_file));
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return Bad(o.tls_cert_file.empty() ? "replication.tls.cert_file" : "replication.tls.key_file",
               "must be set together with the other one (a certificate needs its key)");
  }
  if (o.wal_ttl_seconds == 0 && o.wal_size_limit_mb == 0) {
    return Bad("wal_retention.ttl_seconds",
               "and wal_retention.size_mb are both 0: without a WAL archive any lag forces a full "
               "re-bootstrap; set at least one");
  }
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("wal_retention.ttl_seconds", o.wal_ttl_seconds, 0, 365ull * 86400, "seconds"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("wal_retention.size_mb", o.wal_size_limit_mb, 0, 1024ull * 1024 * 1024, "MB"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.max_frame_bytes", o.max_frame_bytes, 4 * kKiB, 64 * kMiB, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.max_batch_bytes", o.max_batch_bytes, 1, o.max_frame_bytes, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.max_batch_delay_us", o.max_batch_delay_us, 0, 1000000, "microseconds"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.max_unacked_bytes", o.max_unacked_bytes,
                                     o.max_frame_bytes, 4 * kGiB, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.heartbeat_interval_ms", o.heartbeat_interval_ms, 10, 60000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.peer_timeout_ms", o.peer_timeout_ms,
                                     2 * o.heartbeat_interval_ms + 1, 600000, "ms"));
  return Status::OK();
}

std::string ResolveStateDir(const PluginOptions& options, const std::string& db_path) {
  if (!options.state_dir.empty()) return options.state_dir;
  std::string base = db_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + ".rocksdr";
}

std::string ResolveControlSocketPath(const PluginOptions& options, const std::string& db_path) {
  if (!options.control_socket_path.empty()) return options.control_socket_path;
  return ResolveStateDir(options, db_path) + "/control.sock";
}

}  // namespace rocksdr
