// Validation and path defaults of PluginOptions; see rocksdr/options.h.
#include "rocksdr/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "rocksdr/replication/protocol_limits.h"

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
      // The transport's own floor (every control message must fit): a smaller value passed here
      // would only fail later, when the replication server or client starts.
      CheckRange("limits.max_frame_bytes", o.max_frame_bytes, replication::kMinFramePayloadLimit, 64 * kMiB, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.max_batch_bytes", o.max_batch_bytes, 1, o.max_frame_bytes, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.max_batch_delay_us", o.max_batch_delay_us, 0, 1000000, "microseconds"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.busy_frame_interval_us", o.busy_frame_interval_us, 0,
                                     1000000, "microseconds"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.max_unacked_bytes", o.max_unacked_bytes,
                                     o.max_frame_bytes, 4 * kGiB, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.heartbeat_interval_ms", o.heartbeat_interval_ms, 10, 60000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.peer_timeout_ms", o.peer_timeout_ms,
                                     2 * o.heartbeat_interval_ms + 1, 600000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("limits.storage_retry_initial_ms", o.storage_retry_initial_ms, 10, 600000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.storage_retry_max_ms", o.storage_retry_max_ms,
                                     o.storage_retry_initial_ms, 3600000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("limits.write_ring_bytes", o.write_ring_bytes, 0, kGiB, "bytes"));
  ROCKSDR_RETURN_IF_ERROR(ValidatePreloadOptions(o));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("ack.count", o.ack_count, 1, 64, "secondaries"));
  ROCKSDR_RETURN_IF_ERROR(CheckRange("ack.timeout_ms", o.ack_timeout_ms, 1, 600000, "ms"));
  return Status::OK();
}

std::string_view AckModeName(AckMode mode) {
  switch (mode) {
    case AckMode::kAsync: return "async";
    case AckMode::kReceived: return "received";
    case AckMode::kDurable: return "durable";
  }
  return "async";
}

Result<AckMode> ParseAckMode(std::string_view name) {
  for (AckMode m : {AckMode::kAsync, AckMode::kReceived, AckMode::kDurable}) {
    if (name == AckModeName(m)) return m;
  }
  return Status::InvalidArgument("unknown ack mode '" + std::string(name.substr(0, 40)) +
                                 "' (expected one of: async, received, durable)");
}

std::string_view AckTimeoutPolicyName(AckTimeoutPolicy p) {
  return p == AckTimeoutPolicy::kDegrade ? "degrade" : "fail";
}

Result<AckTimeoutPolicy> ParseAckTimeoutPolicy(std::string_view name) {
  if (name == "fail") return AckTimeoutPolicy::kFail;
  if (name == "degrade") return AckTimeoutPolicy::kDegrade;
  return Status::InvalidArgument("unknown timeout policy '" + std::string(name.substr(0, 40)) +
                                 "' (expected fail or degrade)");
}

std::string_view PreloadOnErrorName(PreloadOnError e) {
  return e == PreloadOnError::kContinue ? "continue" : "fail";
}

Result<PreloadOnError> ParsePreloadOnError(std::string_view name) {
  if (name == "fail") return PreloadOnError::kFail;
  if (name == "continue") return PreloadOnError::kContinue;
  return Status::InvalidArgument("unknown value '" + std::string(name.substr(0, 40)) +
                                 "' (expected fail or continue)");
}

Status ValidatePreloadOptions(const PluginOptions& o) {
  const PreloadOptions& p = o.preload;
  if (p.epoch < 1 || p.epoch > (1ull << 56) - 1) {
    return Bad("preload.epoch", "is " + std::to_string(p.epoch) + ", must be between 1 and 2^56-1");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckRange("preload.close_wait.timeout_ms", p.close_wait_ms, 0, 600000, "ms"));
  ROCKSDR_RETURN_IF_ERROR(
      CheckRange("preload.close_wait.secondaries", p.close_wait_secondaries, 0, 64, "secondaries"));
  if (p.cluster_id.size() > 64 ||
      !std::all_of(p.cluster_id.begin(), p.cluster_id.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; })) {
    return Bad("preload.cluster_id", "must be at most 64 characters of [0-9A-Za-z-]");
  }
  if (p.databases.empty()) return Status::OK();
  if (p.databases.size() > 64) return Bad("preload.databases", "has more than 64 entries");
  for (size_t i = 0; i < p.databases.size(); ++i) {
    const std::string& d = p.databases[i];
    ROCKSDR_RETURN_IF_ERROR(CheckPath("preload.databases", d));
    if (d.empty() || d.front() != '/') {
      return Bad("preload.databases", "entry '" + d.substr(0, 100) + "' must be an absolute path");
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.databases[j] == d) return Bad("preload.databases", "lists '" + d.substr(0, 100) + "' twice");
    }
  }
  if (p.cluster_id.empty()) {
    return Bad("preload.cluster_id", "is required when preload.databases is set (the cluster the primary serves)");
  }
  if (o.replication_listen_address.empty()) {
    return Bad("preload.databases", "needs replication.listen_address: the address a preloaded primary listens on");
  }
  if (o.tls_cert_file.empty() || o.tls_key_file.empty() || o.tls_ca_file.empty()) {
    return Bad("preload.databases",
               "needs replication.tls { cert_file, key_file, ca_file }: a preloaded primary has no activation "
               "credentials");
  }
  if (p.databases.size() > 1) {
    if (!o.state_dir.empty() || !o.control_socket_path.empty()) {
      return Bad("preload.databases", "lists several DBs: leave state_dir and control_socket empty so that each "
                                      "DB gets its own (\"<db path>.rocksdr\")");
    }
    const std::string& a = o.replication_listen_address;
    if (a.size() < 2 || a.compare(a.size() - 2, 2, ":0") != 0) {
      return Bad("preload.databases", "lists several DBs: replication.listen_address must use port 0 (each DB "
                                      "listens on its own port, written to its preload-status.json)");
    }
  }
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
