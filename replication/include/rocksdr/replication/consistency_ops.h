// Control-socket ops of the consistency check (replication/PROTOCOL.md, "Control socket",
// consistency ops; the plugin side is rocksdr/consistency.h). Shared by the plugin's control
// handler, the sidecar's routes and the comparing client (rocksdr/sidecar/consistency_check.h).
// Constants and a pure function only: any caller, any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace rocksdr::replication::control {

inline constexpr std::string_view kOpConsistencyPause = "consistency_pause";
inline constexpr std::string_view kOpConsistencySnapshot = "consistency_snapshot";
inline constexpr std::string_view kOpConsistencyDigest = "consistency_digest";
inline constexpr std::string_view kOpConsistencyRelease = "consistency_release";

inline bool IsConsistencyOp(std::string_view op) {
  return op == kOpConsistencyPause || op == kOpConsistencySnapshot || op == kOpConsistencyDigest ||
         op == kOpConsistencyRelease;
}

// Longest wait a consistency op may ask for (timeout_ms); the plugin caps it at 30 s as well.
inline constexpr uint64_t kMaxConsistencyTimeoutMs = 30'000;
// A column family name in a digest position.
inline constexpr size_t kMaxCfNameBytes = 1024;
// A digest position's key (start_after_b64), before base64.
inline constexpr size_t kMaxDigestKeyBytes = 1 << 20;

}  // namespace rocksdr::replication::control
