// WriteNotifier; see write_notifier.h.
//
// No lost wake-up: a waiter increments waiters_ and re-checks latest_ while holding mu_, and
// releases mu_ only inside cv_.wait. Notify stores latest_ before reading waiters_ (both
// seq_cst), so either the waiter sees the new value, or Notify sees the waiter and then takes
// mu_ — which it can only get once the waiter is inside wait() — before notify_all.
#include "write_notifier.h"

#include <thread>

namespace rocksdr::plugin {

void WriteNotifier::Notify(uint64_t latest_sequence) {
  uint64_t current = latest_.load();
  while (current < latest_sequence && !latest_.compare_exchange_weak(current, latest_sequence)) {
  }
  if (waiters_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
}

bool WriteNotifier::WaitFor(uint64_t after_sequence, std::chrono::microseconds timeout) {
  // A write is often a few microseconds away under load: yield briefly before sleeping, so that
  // writers need not pay a futex wake-up (Notify's mutex + notify_all) for every write.
  for (int spin = 0; spin < kSpinsBeforeSleep; ++spin) {
    if (latest_.load() > after_sequence || shutdown_.load()) return latest_.load() > after_sequence;
    std::this_thread::yield();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  waiters_.fetch_add(1);
  while (latest_.load() <= after_sequence && !shutdown_.load()) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  waiters_.fetch_sub(1);
  return latest_.load() > after_sequence;
}

void WriteNotifier::Shutdown() {
  shutdown_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

}  // namespace rocksdr::plugin
