// WriteRing: the batches a primary wrote recently, kept in memory so that WAL tailers ship them
// without reading the WAL back (the WAL read — a WriteBatch per record, RocksDB's software
// CRC32C — was the largest part of the primary's replication CPU; bench/RESULTS.md).
//
// Writers (the DB wrapper, ReplicatedDBImpl, for every batch it writes on a primary):
//   ticket = BeginWrite();  DB::Write(batch);  Finish(ticket, ok ? &batch : nullptr, scan);
// After a successful DB::Write the batch's header holds the first sequence RocksDB gave it (also
// for every member of a group commit). Entries are kept by first sequence; concurrent writers
// may finish out of order. Once the ring holds more than `capacity_bytes` (reps + a fixed
// per-entry overhead) the oldest entries are evicted; a batch larger than capacity/8, an empty
// one, or one with a WAL termination point (its WAL record differs from the batch) is not kept.
//
// Tailers (WalTailer): Take() hands out the run of entries that continues EXACTLY at a position
// (shared, immutable entries: the lock is held only to copy pointers, never a batch's bytes);
// when the entry a tailer needs is missing, WaitFor() tells whether a writer that may own it is
// still between DB::Write and Finish, and waits for it (bounded): BeginWrite hands out
// increasing tickets, and a writer that owns a sequence the tailer saw as written (DB latest
// sequence >= position, read BEFORE WaitFor) took its ticket before that sequence existed — so
// once no ticket below the one current at WaitFor's start is active, the entry will never come.
// Inside() tells whether a position falls strictly inside a kept batch (not a batch boundary).
//
// Not in the ring (tailers read the WAL for them): writes that bypass the wrapper (base DB,
// state_store, timestamped and wide-column single writes), evicted or unkept batches, and
// anything written before this process opened the DB or while it was not a primary.
//
// Count-0 (LogData-only) batches carry the sequence of the batch written after them; they are
// kept after any entry of the same sequence already there (insertion order) and taken before
// the count > 0 entry of their sequence when both are present. Best effort, as on the WAL path
// (wal_tailer.h): a count-0 batch finished after the batch that took its sequence is not shipped.
//
// A writer's cost: two short critical sections (ticket, insert) and a copy of its rep into an
// entry (outside the lock). An entry is one allocation; once the ring is full, a writer reuses
// the allocation of an entry it evicted (one spare, kept after the lock), so that a steady
// stream of similar batches allocates and frees nothing. A tailer that catches up with the
// writers does not wait for the one still in DB::Write (writers_active(), WalTailer): it ships
// what was recorded and is woken by that writer's notification.
//
// Threading: every method may be called from any thread. One mutex guards the entries; it is
// held to copy entry pointers, never a batch's bytes, and never across I/O or a DB call.
#pragma once

#include <rocksdb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batch_scan.h"

namespace rocksdr::plugin {

class RingEntryRef;

// One kept batch. Immutable once recorded, shared between the ring and the tailers that took it
// (RingEntryRef). One allocation holds the entry and, right after it, the bytes of its rep; the
// ring reuses the allocation of an entry it evicted when nobody else holds it any more.
struct RingEntry {
  uint64_t sequence = 0;  // first sequence (header of rep)
  uint32_t count = 0;     // WriteBatch::Count()
  uint64_t id = 0;        // insertion order, increasing (count-0 bookkeeping of tailers)
  std::string_view rep;   // WriteBatch::Data() after the write (stored in this entry's allocation)
  std::optional<BatchScan> scan;  // ScanBatch(rep) as known by the writer; empty: unknown

  RingEntry(const RingEntry&) = delete;
  RingEntry& operator=(const RingEntry&) = delete;

 private:
  friend class RingEntryRef;
  RingEntry() = default;
  ~RingEntry() = default;
  std::atomic<uint32_t> refs_{1};
  size_t capacity_ = 0;  // bytes allocated after the entry (>= rep.size())
};

// A counted reference to an immutable RingEntry (like std::shared_ptr<const RingEntry>, with the
// count inside the entry: one allocation per entry). Copies may be used and dropped on any
// thread; the last one frees the entry.
class RingEntryRef {
 public:
  RingEntryRef() = default;
  RingEntryRef(const RingEntryRef& o) noexcept : e_(o.e_) {
    if (e_ != nullptr) e_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  RingEntryRef(RingEntryRef&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
  RingEntryRef& operator=(const RingEntryRef& o) noexcept {
    RingEntryRef(o).swap(*this);
    return *this;
  }
  RingEntryRef& operator=(RingEntryRef&& o) noexcept {
    RingEntryRef(std::move(o)).swap(*this);
    return *this;
  }
  ~RingEntryRef() { reset(); }

  // An entry holding a copy of `rep` (its other fields default), referenced once. `reuse`: an
  // entry nobody references (ReleaseIfSole), recycled when its allocation is large enough and
  // freed otherwise; nullptr: a new allocation.
  static RingEntryRef Make(std::string_view rep, RingEntry* reuse = nullptr);

  void reset() noexcept;
  void swap(RingEntryRef& o) noexcept { std::swap(e_, o.e_); }
  const RingEntry* get() const { return e_; }
  const RingEntry& operator*() const { return *e_; }
  const RingEntry* operator->() const { return e_; }
  explicit operator bool() const { return e_ != nullptr; }

 private:
  friend class WriteRing;  // fills sequence, count, scan and id before the entry is shared
  RingEntry* mutable_get() { return e_; }
  // When this is the only reference left (and no other can appear: the entry is out of the ring),
  // gives the entry up for Make's `reuse` and returns it; else nullptr, unchanged.
  RingEntry* ReleaseIfSole() noexcept;
  static void Free(RingEntry* e) noexcept;
  RingEntry* e_ = nullptr;
};

struct WriteRingStats {
  uint64_t capacity_bytes = 0;
  uint64_t bytes = 0;       // reps + per-entry overhead now held
  uint64_t entries = 0;
  uint64_t inserted = 0;    // since construction
  uint64_t evicted = 0;
  uint64_t not_kept = 0;    // successful writes not kept (too large, empty, WAL termination point)
};

// A mutex that spins briefly before blocking: the ring's critical sections are a few dozen
// instructions, so a writer that finds the tailer inside one would otherwise pay a futex sleep
// and wake-up for a wait of well under a microsecond. One atomic word (0 free, 1 held, 2 held
// and a thread may be asleep: Drepper's "Futexes Are Tricky" mutex, on std::atomic wait and
// notify): lock and unlock are one atomic instruction each when nobody waits, where
// pthread_mutex_trylock + unlock cost ~80 instructions per pair.
class SpinThenBlockMutex {
 public:
  void lock() {
    int c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) return;
    for (int i = 0; i < 128; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();  // spin-wait hint; other architectures just retry
#endif
      c = 0;
      if (state_.load(std::memory_order_relaxed) == 0 &&
          state_.compare_exchange_weak(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        return;
      }
    }
    // Mark it contended (2) so that the holder's unlock wakes a sleeper; 0 back means it was
    // released meanwhile and is now ours (held as 2: at worst one needless wake-up).
    c = state_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      state_.wait(2, std::memory_order_relaxed);
      c = state_.exchange(2, std::memory_order_acquire);
    }
  }
  bool try_lock() {
    int c = 0;
    return state_.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
  }

 private:
  std::atomic<int> state_{0};
};

class WriteRing {
 public:
  using Clock = std::chrono::steady_clock;
  // Accounting overhead per entry, added to rep.size(): the entry (~104 bytes), its allocation's
  // header and rounding (Make rounds the rep's room up to 32 bytes).
  static constexpr size_t kEntryOverhead = 128;
  // Entries one Take hands out at most (it holds the writers' lock meanwhile).
  static constexpr size_t kMaxTakePerCall = 64;

  // REQUIRES: capacity_bytes > 0.
  explicit WriteRing(size_t capacity_bytes);
  ~WriteRing();
  WriteRing(const WriteRing&) = delete;
  WriteRing& operator=(const WriteRing&) = delete;

  size_t capacity_bytes() const { return capacity_; }

  // --- writers
  // Before DB::Write. Every ticket must be finished exactly once.
  uint64_t BeginWrite();
  // After DB::Write. `written`: the batch when the write succeeded (its header holds its
  // sequence), nullptr otherwise. `scan`: ScanBatch of that batch when the writer knows it
  // (copied into the entry), nullptr otherwise.
  void Finish(uint64_t ticket, const rocksdb::WriteBatch* written, const BatchScan* scan);

  // --- tailers
  // Appends to *out the entries that continue exactly at `next_sequence`: the
  // count-0 entries of that sequence not taken yet (all of them, or when zero_sequence ==
  // next_sequence only those with id > zero_id), then the count > 0 entry starting there, then
  // the same from its end, and so on. Stops before max_entries (at most kMaxTakePerCall) or once max_bytes of rep were
  // appended (at least one entry when one is there), or where no count > 0 entry starts.
  // `hint` (optional, one per tailer, start at 0): where the previous Take of this tailer stopped,
  // updated by each call. A tailer that follows the writers finds its position there at once
  // instead of by a binary search over the ring (pointer chasing, under the writers' lock); a
  // stale hint (an entry inserted out of order, a tailer that read the WAL meanwhile) only costs
  // that search. The result never depends on the hint.
  void Take(uint64_t next_sequence, uint64_t zero_sequence, uint64_t zero_id, size_t max_bytes,
            size_t max_entries, std::vector<RingEntryRef>* out, uint64_t* hint = nullptr) const;

  // Writers between BeginWrite and Finish now (a hint: may change right after the call).
  int writers_active() const { return active_count_.load(std::memory_order_acquire); }

  // Blocks until a count > 0 entry starts at `sequence` (true), or no writer that began before
  // this call is still between BeginWrite and Finish, or `deadline` (false). Does not wait for a
  // sequence older than the oldest entry kept (catch-up: the WAL has it). *waited: whether
  // it had to block. REQUIRES: the caller saw DB latest sequence >= sequence before calling.
  bool WaitFor(uint64_t sequence, Clock::time_point deadline, bool* waited);

  // Whether a kept entry covers `sequence` without starting at it (then `sequence` is not a
  // batch boundary of the primary's history).
  bool Inside(uint64_t sequence) const;

  WriteRingStats Stats() const;

 private:
  // REQUIRES: mu_ held. Index of the first entry with sequence >= seq.
  size_t LowerBound(uint64_t seq) const;
  // REQUIRES: mu_ held. LowerBound(seq), found near `hint` (an absolute position: evicted_ + index)
  // when it is close, else by LowerBound.
  size_t LowerBoundNear(uint64_t seq, uint64_t hint) const;
  bool HasStartLocked(uint64_t seq) const;

  const size_t capacity_;
  const size_t max_entry_bytes_;
  mutable SpinThenBlockMutex mu_;
  std::condition_variable_any cv_;
  std::deque<RingEntryRef> entries_;  // GUARDED_BY(mu_), by (sequence, id)
  std::deque<uint64_t> active_;       // GUARDED_BY(mu_), tickets begun and not finished, ascending
  uint64_t next_ticket_ = 1;          // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;              // GUARDED_BY(mu_)
  int waiters_ = 0;                   // GUARDED_BY(mu_)
  std::atomic<int> active_count_{0};  // active_.size(), readable without mu_
  size_t bytes_ = 0;                  // GUARDED_BY(mu_)
  std::atomic<RingEntry*> spare_{nullptr};  // an evicted entry's allocation, for the next Finish
  uint64_t inserted_ = 0, evicted_ = 0, not_kept_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace rocksdr::plugin
