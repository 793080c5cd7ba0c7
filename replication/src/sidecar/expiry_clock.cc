// Implementation of rocksdr/sidecar/expiry_clock.h.
#include "rocksdr/sidecar/expiry_clock.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <string>

namespace rocksdr::sidecar {

ExpiryClock::ExpiryClock(PluginControl* control, std::function<int64_t()> clock)
    : control_(control), clock_(std::move(clock)) {}

void ExpiryClock::LoadLocked() {
  if (loaded_ || control_ == nullptr) return;
  Result<std::optional<std::string>> raw = control_->Get(Store::kLocal, std::string(kExpiryHighWaterKey));
  if (!raw.ok()) return;  // the plugin is not reachable yet: keep the in-memory value, retry later
  loaded_ = true;
  if (!raw->has_value()) return;
  int64_t stored = 0;
  const std::string& s = **raw;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), stored);
  if (ec != std::errc() || ptr != s.data() + s.size() || stored < 0) {
    spdlog::warn("sidecar: ignoring a malformed stored clock high water ({} bytes)", s.size());
    return;
  }
  if (stored > high_) high_ = stored;
  persisted_ = stored;
}

void ExpiryClock::PersistLocked() {
  if (control_ == nullptr || high_ <= persisted_) return;
  Status st = control_->Put(Store::kLocal, std::string(kExpiryHighWaterKey), std::to_string(high_));
  if (st.ok()) {
    persisted_ = high_;
  } else {
    spdlog::debug("sidecar: storing the clock high water failed (kept in memory): {}", st.message());
  }
}

int64_t ExpiryClock::Now(bool force_persist) {
  const int64_t now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  LoadLocked();
  if (now > high_) high_ = now;
  if (force_persist || high_ >= persisted_ + kExpiryHighWaterPersistStep) PersistLocked();
  const int64_t behind = high_ - now;
  if (behind > 60 && !warned_) {
    warned_ = true;
    spdlog::warn("sidecar: the clock is {} s behind the latest time this node has seen; token expiry is checked "
                 "against that time, so no expired token becomes valid again. If the clock had been set forward "
                 "by mistake, reset it with a root token: DELETE /v1/sys/clock/high-water",
                 behind);
  } else if (behind <= 0) {
    warned_ = false;
  }
  return high_;
}

ExpiryClock::State ExpiryClock::Inspect() {
  const int64_t now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  LoadLocked();
  if (now > high_) high_ = now;
  return State{now, high_, high_ > now ? high_ - now : 0};
}

Result<ExpiryClock::State> ExpiryClock::Reset() {
  const int64_t now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  if (control_ != nullptr) {
    Status st = control_->Put(Store::kLocal, std::string(kExpiryHighWaterKey), std::to_string(now));
    if (!st.ok()) return st.WithContext("storing the reset clock high water");
  }
  const int64_t old = high_;
  loaded_ = true;
  high_ = now;
  persisted_ = now;
  warned_ = false;
  spdlog::warn("sidecar: clock high water reset by an operator from {} to {} (the clock)", old, now);
  return State{now, now, 0};
}

}  // namespace rocksdr::sidecar
