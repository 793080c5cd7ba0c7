// Backoff: exponential reconnect delays with full jitter and a cap, for SecondaryClient.
//
// The n-th consecutive failure (n = 1, 2, ...) waits a delay drawn uniformly from
// [c/2, c] with c = min(cap, initial * multiplier^(n-1)) — "equal jitter": never zero, spread
// out (no reconnect storm after a primary restart), never above the cap. Reset() after a successful handshake.
//
// Randomness is injectable (tests pass a deterministic source); the default draws from the
// OS CSPRNG through rocksdr::crypto (cheap enough: at most one draw per connection attempt).
// Who may call: one owner thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace rocksdr::replication {

struct BackoffOptions {
  // Default: 100 ms. Must be > 0.
  std::chrono::milliseconds initial{100};
  // Default: 2.0. Must be >= 1.
  double multiplier = 2.0;
  // Default: 30 s. Must be >= initial.
  std::chrono::milliseconds cap{30000};
};

class Backoff {
 public:
  // Returns a uniformly distributed 64-bit value.
  using RandomFn = std::function<uint64_t()>;

  // Invalid options are clamped to the nearest valid value (initial >= 1 ms,
  // multiplier >= 1, cap >= initial). random == nullptr uses the CSPRNG.
  explicit Backoff(BackoffOptions options, RandomFn random = nullptr);

  // The delay before the next attempt; each call counts one more failure.
  std::chrono::milliseconds NextDelay();
  void Reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  BackoffOptions options_;
  RandomFn random_;
  uint32_t failures_ = 0;
};

}  // namespace rocksdr::replication
