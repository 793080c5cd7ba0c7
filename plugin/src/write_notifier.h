// WriteNotifier: the primary's "latest sequence written" watermark, on which WAL tailers wait.
//
// The DB wrapper calls Notify() after every successful write; tailers call WaitFor() to sleep
// until a write passes their position (no busy polling: a few yields, then a sleep) or a timeout
// passes (coalescing, and a safety net for writes that bypass the wrapper). Notify() costs one atomic max and, only
// when a tailer is waiting, a mutex + notify_all.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace rocksdr::plugin {

class WriteNotifier {
 public:
  explicit WriteNotifier(uint64_t initial_sequence = 0) : latest_(initial_sequence) {}
  WriteNotifier(const WriteNotifier&) = delete;
  WriteNotifier& operator=(const WriteNotifier&) = delete;

  // Raises the watermark to latest_sequence (never lowers it) and wakes waiters.
  void Notify(uint64_t latest_sequence);

  uint64_t latest() const { return latest_.load(std::memory_order_acquire); }

  // Blocks until latest() > after_sequence, Shutdown(), or `timeout`; returns latest() > after_sequence.
  bool WaitFor(uint64_t after_sequence, std::chrono::microseconds timeout);

  // Wakes every waiter now and makes later WaitFor calls return at once (DB closing).
  void Shutdown();

 private:
  static constexpr int kSpinsBeforeSleep = 32;  // yields before a waiter sleeps (WaitFor)
  std::atomic<uint64_t> latest_;
  std::atomic<int> waiters_{0};
  std::atomic<bool> shutdown_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace rocksdr::plugin
