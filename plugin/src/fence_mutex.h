// FenceMutex: the reader-writer lock of the DB wrapper's write fence (ReplicatedDBImpl::fence_mu_).
//
// Every application write holds it shared for a few hundred nanoseconds; role changes and
// marker writes hold it exclusively, rarely. std::shared_mutex (pthread_rwlock) costs ~190
// instructions per shared lock + unlock on that path; this costs one compare-and-swap and one
// fetch_sub when no exclusive holder is involved.
//
// Semantics as std::shared_mutex on glibc (PTHREAD_RWLOCK_PREFER_READER_NP, the default): a
// shared lock is granted whenever no exclusive holder HOLDS it, even while one waits (so a
// thread already holding it shared may take it shared again without deadlocking behind a
// waiting writer); exclusive holders are serialised and wait for the readers to drain (they can
// be delayed by a continuous stream of overlapping readers, as with pthread_rwlock).
//
// One atomic word: bits 0..29 the readers inside, bit 30 an exclusive locker waiting for them,
// bit 31 held exclusively. Sleeping uses std::atomic wait/notify (futex): the last reader to
// leave wakes a waiting writer; the writer's unlock wakes the readers that found it held.
//
// Threading: any thread; lock/unlock and lock_shared/unlock_shared in pairs on the same thread.
// Not recursive for exclusive holders.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace rocksdr::plugin {

class FenceMutex {
 public:
  FenceMutex() = default;
  FenceMutex(const FenceMutex&) = delete;
  FenceMutex& operator=(const FenceMutex&) = delete;

  void lock_shared() {
    uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & kHeld) == 0) {
        if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed)) return;
        continue;  // s was reloaded
      }
      state_.wait(s, std::memory_order_relaxed);
      s = state_.load(std::memory_order_relaxed);
    }
  }

  void unlock_shared() {
    const uint32_t prev = state_.fetch_sub(1, std::memory_order_release);
    if ((prev & kReaders) == 1 && (prev & kWaiting) != 0) state_.notify_all();
  }

  void lock() {
    writers_.lock();  // one exclusive locker at a time: it alone sets kWaiting and kHeld
    uint32_t s = state_.fetch_or(kWaiting, std::memory_order_relaxed) | kWaiting;
    for (;;) {
      if ((s & kReaders) == 0) {
        if (state_.compare_exchange_weak(s, kHeld, std::memory_order_acquire, std::memory_order_relaxed)) return;
        continue;
      }
      state_.wait(s, std::memory_order_relaxed);  // the last reader out notifies
      s = state_.load(std::memory_order_relaxed);
    }
  }

  void unlock() {
    // Held: no reader could enter, so the word is exactly kHeld.
    state_.store(0, std::memory_order_release);
    state_.notify_all();
    writers_.unlock();
  }

 private:
  static constexpr uint32_t kReaders = (1u << 30) - 1;
  static constexpr uint32_t kWaiting = 1u << 30;
  static constexpr uint32_t kHeld = 1u << 31;

  std::atomic<uint32_t> state_{0};
  std::mutex writers_;
};

}  // namespace rocksdr::plugin
