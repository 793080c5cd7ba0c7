// ApplyGate; see apply_gate.h.
#include "apply_gate.h"

#include <string>

namespace rocksdr::plugin {

namespace {
std::string Seq(const std::optional<uint64_t>& s) { return s ? std::to_string(*s) : std::string("none"); }
}  // namespace

void ApplyGate::WaitWhileParked(std::unique_lock<std::mutex>& l) {
  while (parked_ && Clock::now() < park_deadline_) cv_.wait_until(l, park_deadline_);
  if (parked_) {  // the park expired: the stream must go on
    parked_ = false;
    at_target_ = false;
    target_.reset();
    cv_.notify_all();
  }
}

Status ApplyGate::Run(const std::vector<replication::WalBatch>& batches, const ApplyFn& apply) {
  std::unique_lock<std::mutex> l(mu_);
  size_t i = 0;
  while (i < batches.size()) {
    WaitWhileParked(l);
    size_t end = batches.size();
    if (target_) {
      end = i;
      while (end < batches.size() && batches[end].last_sequence() <= *target_) ++end;
    }
    if (end > i) {
      in_apply_ = true;
      l.unlock();
      Status s = (i == 0 && end == batches.size())
                     ? apply(batches)
                     : apply(std::vector<replication::WalBatch>(batches.begin() + static_cast<std::ptrdiff_t>(i),
                                                                 batches.begin() + static_cast<std::ptrdiff_t>(end)));
      l.lock();
      in_apply_ = false;
      cv_.notify_all();
      if (!s.ok()) return s;
      i = end;
    }
    if (target_) {
      const auto cur = cursor_();
      if (cur && *cur >= *target_) {
        // Exactly at S: park for the snapshot. Past S (cannot happen when the stream is
        // continuous): RunTo reports it.
        at_target_ = *cur == *target_;
        parked_ = at_target_;
        if (!at_target_) {
          target_.reset();
          overshot_ = true;
        }
        cv_.notify_all();
      } else if (end == i && i < batches.size()) {
        // The next batch goes beyond S but the cursor is short of it: S is not a boundary of
        // this stream. Give up the target; RunTo reports it.
        target_.reset();
        cv_.notify_all();
      }
    }
  }
  return Status::OK();
}

Result<std::optional<uint64_t>> ApplyGate::Pause(Clock::time_point deadline) {
  std::unique_lock<std::mutex> l(mu_);
  parked_ = true;
  park_deadline_ = deadline;
  target_.reset();
  at_target_ = false;
  if (!cv_.wait_until(l, deadline, [&] { return !in_apply_; })) {
    parked_ = false;
    cv_.notify_all();
    return Status::DeadlineExceeded("the applier did not finish its current write in time to pause");
  }
  return cursor_();
}

Status ApplyGate::RunTo(uint64_t sequence, Clock::time_point deadline) {
  std::unique_lock<std::mutex> l(mu_);
  // Wait for a write in progress, so the cursor read below is stable while parked.
  cv_.wait_until(l, deadline, [&] { return !in_apply_; });
  const auto cur = cursor_();
  if (cur && *cur > sequence) {
    parked_ = false;
    cv_.notify_all();
    return Status::FailedPrecondition("this secondary already applied up to sequence " + std::to_string(*cur) +
                                      ", past the requested " + std::to_string(sequence) +
                                      " (pause it before the primary's snapshot is taken)");
  }
  park_deadline_ = deadline;
  if (cur && *cur == sequence && !in_apply_) {
    parked_ = true;
    at_target_ = true;
    target_ = sequence;
    return Status::OK();
  }
  target_ = sequence;
  at_target_ = false;
  overshot_ = false;
  parked_ = false;
  cv_.notify_all();
  cv_.wait_until(l, deadline, [&] { return at_target_ || !target_; });
  if (at_target_) return Status::OK();
  const bool gave_up = !target_;
  target_.reset();
  parked_ = false;
  cv_.notify_all();
  const auto now_at = cursor_();
  if (gave_up && overshot_) {
    return Status::FailedPrecondition("this secondary's position moved past sequence " + std::to_string(sequence) +
                                      " to " + Seq(now_at) +
                                      " without stopping there (a bootstrap installed a newer checkpoint); run the "
                                      "check again");
  }
  if (gave_up) {
    return Status::FailedPrecondition("sequence " + std::to_string(sequence) +
                                      " is not a batch boundary of the stream this secondary applies (now at " +
                                      Seq(now_at) + ")");
  }
  return Status::DeadlineExceeded("this secondary did not reach sequence " + std::to_string(sequence) +
                                  " in time (it is at " + Seq(now_at) +
                                  "); check its link to the primary in status and retry");
}

void ApplyGate::Resume() {
  std::lock_guard<std::mutex> l(mu_);
  parked_ = false;
  at_target_ = false;
  target_.reset();
  cv_.notify_all();
}

}  // namespace rocksdr::plugin
