// See backoff.h.
#include "rocksdr/replication/backoff.h"

#include <algorithm>
#include <cmath>

#include "rocksdr/crypto/random.h"

namespace rocksdr::replication {

namespace {

uint64_t CsprngUint64() {
  uint64_t v = 0;
  if (!crypto::RandomBytes(reinterpret_cast<uint8_t*>(&v), sizeof(v)).ok()) {
    // The RNG failing leaves jitter at its midpoint; delays stay bounded either way.
    return UINT64_MAX / 2;
  }
  return v;
}

}  // namespace

Backoff::Backoff(BackoffOptions options, RandomFn random)
    : options_(options), random_(random ? std::move(random) : RandomFn(CsprngUint64)) {
  if (options_.initial.count() < 1) options_.initial = std::chrono::milliseconds(1);
  if (!(options_.multiplier >= 1.0)) options_.multiplier = 1.0;  // also catches NaN
  if (options_.cap < options_.initial) options_.cap = options_.initial;
}

std::chrono::milliseconds Backoff::NextDelay() {
  if (failures_ < UINT32_MAX) ++failures_;
  const double cap = static_cast<double>(options_.cap.count());
  // initial * multiplier^(failures-1), saturating at the cap (pow may overflow to inf: min fixes it).
  double ceiling = static_cast<double>(options_.initial.count()) *
                   std::pow(options_.multiplier, static_cast<double>(failures_ - 1));
  ceiling = std::min(ceiling, cap);
  const uint64_t hi = static_cast<uint64_t>(ceiling);
  const uint64_t lo = std::max<uint64_t>(1, hi / 2);
  const uint64_t span = hi - lo + 1;
  const uint64_t delay = lo + random_() % span;
  return std::chrono::milliseconds(static_cast<int64_t>(delay));
}

}  // namespace rocksdr::replication
