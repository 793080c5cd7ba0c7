// ApplyGate: parks a secondary's applier at an exact primary sequence, for the consistency check
// (rocksdr/consistency.h). DbSink::Apply runs every call through Run(); the control thread uses
// Pause / RunTo / Resume.
//
//   Pause(deadline)       from now on, Run() does not start applying; returns once no Apply is in
//                         progress (the cursor is then stable). The park ends by itself at the
//                         deadline (the stream must not stall for long: heartbeats and ACKs wait).
//   RunTo(S, deadline)    lets the applier run up to exactly S: a call's batches are split at S
//                         (S is a batch boundary on the primary; a batch ending at S is applied, the
//                         next one is not), then the applier parks again. Returns once parked at
//                         S; kFailedPrecondition when the cursor is already past S; kDeadlineExceeded
//                         when S was not reached in time (the link is down or slow).
//   Resume()              ends the park (also Cancel(): on transport stop, so Stop never waits).
// While parked (between a successful Pause/RunTo and Resume), the apply thread is blocked inside
// Run() before touching the applier, so the control thread may read the applier's state.
//
// Threading: Run() from the sink's apply thread only; the others from any thread, one
// consistency operation at a time (the caller serializes them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "rocksdr/replication/wal_batch.h"
#include "rocksdr/status.h"

namespace rocksdr::plugin {

class ApplyGate {
 public:
  using Clock = std::chrono::steady_clock;
  using ApplyFn = std::function<Status(const std::vector<replication::WalBatch>&)>;
  using CursorFn = std::function<std::optional<uint64_t>()>;

  explicit ApplyGate(CursorFn cursor) : cursor_(std::move(cursor)) {}

  // The apply thread's entry: applies `batches` through `apply`, honouring a park.
  Status Run(const std::vector<replication::WalBatch>& batches, const ApplyFn& apply);

  // Returns the cursor at which the applier is parked.
  Result<std::optional<uint64_t>> Pause(Clock::time_point deadline);
  Status RunTo(uint64_t sequence, Clock::time_point deadline);
  void Resume();
  void Cancel() { Resume(); }

 private:
  // REQUIRES: mu_ held. Blocks while parked (until resumed or the park deadline).
  void WaitWhileParked(std::unique_lock<std::mutex>& l);

  const CursorFn cursor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool parked_ = false;                     // GUARDED_BY(mu_): Run() must not start
  Clock::time_point park_deadline_;         // GUARDED_BY(mu_)
  std::optional<uint64_t> target_;          // GUARDED_BY(mu_): RunTo's S
  bool in_apply_ = false;                   // GUARDED_BY(mu_)
  bool at_target_ = false;                  // GUARDED_BY(mu_): parked at target_
  bool overshot_ = false;                   // GUARDED_BY(mu_): the cursor passed target_ (bootstrap)
};

}  // namespace rocksdr::plugin
