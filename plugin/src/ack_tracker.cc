// See ack_tracker.h.
#include "ack_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

namespace rocksdr::plugin {

namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AckTracker::Config AckTracker::FromOptions(const PluginOptions& o) {
  Config c;
  c.mode = o.ack_mode;
  c.count = std::max<uint64_t>(1, o.ack_count);
  c.timeout = std::chrono::milliseconds(std::max<uint64_t>(1, o.ack_timeout_ms));
  c.on_timeout = o.ack_on_timeout;
  return c;
}

AckTracker::WaitResult AckTracker::WaitFor(uint64_t last_sequence) {
  WaitResult r;
  if (!enabled()) return r;
  std::unique_lock<std::mutex> l(mu_);
  latest_written_ = std::max(latest_written_, last_sequence);
  if (degraded_) {
    ++unconfirmed_writes_;
    r.outcome = Outcome::kDegraded;
    r.confirmed_sequence = confirmed_;
    return r;
  }
  const uint64_t generation = interrupts_;
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  ++waiting_;
  Waiter self;
  const auto registered = waiters_.emplace(last_sequence, &self);
  const bool done = self.cv.wait_until(l, deadline, [&] {
    return confirmed_ >= last_sequence || degraded_ || interrupts_ != generation;
  });
  waiters_.erase(registered);
  --waiting_;
  r.confirmed_sequence = confirmed_;
  if (confirmed_ >= last_sequence) {
    ++confirmed_writes_;
    return r;
  }
  if (interrupts_ != generation) {
    r.outcome = Outcome::kInterrupted;
    r.reason = interrupt_reason_;
    return r;
  }
  if (done && degraded_) {  // another writer's timeout degraded the DB while this one waited
    ++unconfirmed_writes_;
    r.outcome = Outcome::kDegraded;
    return r;
  }
  ++timeouts_;
  if (config_.on_timeout == AckTimeoutPolicy::kFail) {
    r.outcome = Outcome::kTimedOut;
    return r;
  }
  degraded_ = true;
  ++degradations_;
  ++unconfirmed_writes_;
  degraded_since_unix_ms_ = NowUnixMs();
  catch_up_target_ = latest_written_;
  catch_up_started_ = std::chrono::steady_clock::now();
  degraded_reason_ = "sequence " + std::to_string(last_sequence) + " was not confirmed by " +
                     std::to_string(config_.count) + " secondar" + (config_.count == 1 ? "y" : "ies") +
                     " (ack mode " + std::string(AckModeName(config_.mode)) + ") within " +
                     std::to_string(config_.timeout.count()) + " ms; " + DescribeLocked();
  spdlog::error(
      "rocksdr: SYNCHRONOUS REPLICATION DEGRADED TO ASYNC: {}. Writes now return without waiting for "
      "secondaries (a failover may lose them) until enough secondaries catch up; check the secondaries' "
      "status and the network",
      degraded_reason_);
  r.outcome = Outcome::kDegraded;
  WakeLocked(std::numeric_limits<uint64_t>::max());  // every waiter returns, degraded
  return r;
}

void AckTracker::OnProgress(const std::string& secondary_id, uint64_t received_sequence, uint64_t applied_sequence,
                            uint64_t durable_sequence) {
  if (!enabled()) return;
  const uint64_t value = config_.mode == AckMode::kDurable
                             ? durable_sequence
                             : std::max(received_sequence, applied_sequence);
  std::lock_guard<std::mutex> l(mu_);
  uint64_t& slot = confirmed_by_[secondary_id];
  if (slot == value) return;
  slot = value;
  const uint64_t before = confirmed_;
  const bool was_degraded = degraded_;
  RecomputeLocked();
  if (confirmed_ > before) WakeLocked(confirmed_);
  if (was_degraded != degraded_) WakeLocked(std::numeric_limits<uint64_t>::max());
}

void AckTracker::WakeLocked(uint64_t up_to) {
  // Under mu_: a waiter erases itself (under mu_) before its Waiter goes away.
  for (auto it = waiters_.begin(); it != waiters_.end() && it->first <= up_to; ++it) {
    it->second->cv.notify_one();
  }
}

void AckTracker::ResetSecondaries() {
  std::lock_guard<std::mutex> l(mu_);
  confirmed_by_.clear();
  confirmed_ = 0;
}

void AckTracker::Interrupt(const std::string& reason) {
  std::lock_guard<std::mutex> l(mu_);
  ++interrupts_;
  interrupt_reason_ = reason;
  WakeLocked(std::numeric_limits<uint64_t>::max());
}

void AckTracker::FillStatus(SyncReplicationStatus* out) const {
  out->mode = config_.mode;
  out->count = config_.count;
  out->timeout_ms = static_cast<uint64_t>(config_.timeout.count());
  out->on_timeout = config_.on_timeout;
  std::lock_guard<std::mutex> l(mu_);
  out->degraded = degraded_;
  out->degraded_since_unix_ms = degraded_ ? degraded_since_unix_ms_ : 0;
  out->degraded_reason = degraded_ ? degraded_reason_ : std::string();
  out->confirmed_sequence = confirmed_;
  out->writes_waiting = waiting_;
  out->writes_confirmed = confirmed_writes_;
  out->writes_unconfirmed = unconfirmed_writes_;
  out->timeouts = timeouts_;
  out->degradations = degradations_;
}

void AckTracker::RecomputeLocked() {
  if (confirmed_by_.size() < config_.count) {
    confirmed_ = 0;
  } else {
    std::vector<uint64_t> v;
    v.reserve(confirmed_by_.size());
    for (const auto& [id, seq] : confirmed_by_) v.push_back(seq);
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(config_.count - 1), v.end(),
                     std::greater<uint64_t>());
    confirmed_ = v[config_.count - 1];
  }
  if (!degraded_ || confirmed_ < catch_up_target_) return;
  // A catch-up round is over: the secondaries now hold what the primary had written when it
  // started. Quick enough (or nothing written since): synchronous writes would be confirmed
  // well within the timeout again. Otherwise start another round from here.
  const auto now = std::chrono::steady_clock::now();
  if (confirmed_ >= latest_written_ || now - catch_up_started_ <= config_.timeout / 2) {
    spdlog::warn("rocksdr: synchronous replication restored (ack mode {}, {} secondar{} confirmed up to "
                 "sequence {}, degraded since unix ms {}: {})",
                 AckModeName(config_.mode), config_.count, config_.count == 1 ? "y" : "ies", confirmed_,
                 degraded_since_unix_ms_, degraded_reason_);
    degraded_ = false;
    degraded_since_unix_ms_ = 0;
    degraded_reason_.clear();
    return;
  }
  catch_up_target_ = latest_written_;
  catch_up_started_ = now;
}

std::string AckTracker::DescribeLocked() const {
  if (confirmed_by_.empty()) return "no secondary has connected to this primary";
  std::string s = "confirmed so far:";
  size_t shown = 0;
  for (const auto& [id, seq] : confirmed_by_) {
    if (++shown > 8) {
      s += " ...";
      break;
    }
    s += " " + id.substr(0, 64) + "=" + std::to_string(seq);
  }
  return s;
}

}  // namespace rocksdr::plugin
