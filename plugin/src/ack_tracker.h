// AckTracker: synchronous replication's wait. A write on a primary whose batch ends at sequence
// S returns to the application only once `count` secondaries have confirmed S (received it, or
// applied and synced it, by ack mode), or the timeout decides (fail the write, or degrade the DB
// to async until the secondaries catch up).
//
// Group commit: confirmations are cumulative (a secondary applies in order, so confirming S
// confirms everything before it). The tracker keeps each secondary's latest confirmed sequence
// and the `count`-th highest of them, `confirmed`; every waiter whose S <= confirmed is released
// by the same update. A writer waits only for its own last sequence, never for later writes.
//
// Fed by the replication runtime with each secondary's progress (PrimaryServerOptions::
// on_progress: RECEIVED and ACK frames). Degrade: on a timeout with policy kDegrade the tracker
// becomes "degraded" (an ERROR log line, status fields): every waiter is released and later
// writes do not wait. It returns to the configured mode by itself (a WARNING log line) when the
// secondaries have caught up: `confirmed` reaches the highest sequence written so far, or
// completes a catch-up round (reaches what was written when the round started) within half the
// timeout — so writes would again be confirmed well within the timeout.
//
// Who may call: the DB wrapper's write path (WaitFor), the transport's network threads
// (OnProgress), status readers (GetStats), the runtime (ResetSecondaries, Interrupt). Every
// method is thread-safe; WaitFor blocks up to the timeout and must not be called with a DB lock
// held (it would stall role changes for that long).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <limits>
#include <mutex>
#include <string>

#include "rocksdr/options.h"
#include "rocksdr/replication_status.h"

namespace rocksdr::plugin {

class AckTracker {
 public:
  struct Config {
    AckMode mode = AckMode::kAsync;
    uint64_t count = 1;
    std::chrono::milliseconds timeout{5000};
    AckTimeoutPolicy on_timeout = AckTimeoutPolicy::kFail;
  };
  static Config FromOptions(const PluginOptions& o);

  explicit AckTracker(Config config) : config_(config) {}

  // False in async mode: WaitFor returns at once and nothing is tracked.
  bool enabled() const { return config_.mode != AckMode::kAsync; }
  const Config& config() const { return config_; }

  enum class Outcome {
    kConfirmed,    // `count` secondaries confirmed the sequence (or async mode)
    kDegraded,     // not confirmed, but the DB is (now) degraded to async: the write succeeds
    kTimedOut,     // not confirmed within the timeout, policy fail
    kInterrupted,  // the primary stopped serving (role change, close) while waiting
  };
  struct WaitResult {
    Outcome outcome = Outcome::kConfirmed;
    uint64_t confirmed_sequence = 0;  // the count-th best confirmation when it returned
    std::string reason;               // kInterrupted: why
  };
  // Waits until `last_sequence` is confirmed (see the header comment). last_sequence is the
  // last sequence the caller's batch consumed.
  WaitResult WaitFor(uint64_t last_sequence);

  // A secondary's latest progress (any order across secondaries; per secondary in frame order).
  void OnProgress(const std::string& secondary_id, uint64_t received_sequence, uint64_t applied_sequence,
                  uint64_t durable_sequence);
  // Forgets every secondary (a new listener, or a new history after promotion).
  void ResetSecondaries();
  // Releases every current waiter with kInterrupted (the primary stops serving).
  void Interrupt(const std::string& reason);

  // Fills the ack fields of a status (mode, count, degraded, waiting, timeouts ...).
  void FillStatus(SyncReplicationStatus* out) const;

 private:
  // REQUIRES: mu_ held. Recomputes confirmed_ and leaves degraded mode when caught up.
  void RecomputeLocked();
  std::string DescribeLocked() const;

  // One per waiting writer (on its stack), so that a confirmation wakes only the writers it
  // confirms (16 writers waiting for a group sync must not all wake for each ACK).
  struct Waiter {
    std::condition_variable cv;
  };
  // REQUIRES: mu_ held. Wakes the waiters whose sequence is <= up_to.
  void WakeLocked(uint64_t up_to);

  const Config config_;
  mutable std::mutex mu_;
  std::multimap<uint64_t, Waiter*> waiters_;      // GUARDED_BY(mu_) by the sequence waited for
  std::map<std::string, uint64_t> confirmed_by_;  // GUARDED_BY(mu_) secondary id -> sequence
  uint64_t confirmed_ = 0;                        // GUARDED_BY(mu_) count-th highest
  uint64_t latest_written_ = 0;                   // GUARDED_BY(mu_) highest sequence waited for
  uint64_t interrupts_ = 0;                       // GUARDED_BY(mu_) generation
  std::string interrupt_reason_;                  // GUARDED_BY(mu_)
  bool degraded_ = false;                         // GUARDED_BY(mu_)
  uint64_t catch_up_target_ = 0;                  // GUARDED_BY(mu_) see RecomputeLocked
  std::chrono::steady_clock::time_point catch_up_started_;  // GUARDED_BY(mu_)
  int64_t degraded_since_unix_ms_ = 0;            // GUARDED_BY(mu_)
  std::string degraded_reason_;                   // GUARDED_BY(mu_)
  uint64_t waiting_ = 0;                          // GUARDED_BY(mu_)
  uint64_t confirmed_writes_ = 0;                 // GUARDED_BY(mu_)
  uint64_t timeouts_ = 0;                         // GUARDED_BY(mu_)
  uint64_t degradations_ = 0;                     // GUARDED_BY(mu_)
  uint64_t unconfirmed_writes_ = 0;               // GUARDED_BY(mu_) returned OK while degraded
};

}  // namespace rocksdr::plugin
