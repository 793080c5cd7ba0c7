// WriteRing; see write_ring.h.
#include "write_ring.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "coding.h"

namespace rocksdr::plugin {

namespace {
constexpr size_t kHeaderBytes = 12;  // fixed64 sequence + fixed32 count (RocksDB write_batch.cc)
}

WriteRing::WriteRing(size_t capacity_bytes)
    : capacity_(capacity_bytes), max_entry_bytes_(std::max<size_t>(capacity_bytes / 8, 1)) {}

uint64_t WriteRing::BeginWrite() {
  std::lock_guard<SpinThenBlockMutex> l(mu_);
  const uint64_t t = next_ticket_++;
  active_.push_back(t);
  active_count_.store(static_cast<int>(active_.size()), std::memory_order_release);
  return t;
}

void WriteRing::Finish(uint64_t ticket, const rocksdb::WriteBatch* written, std::optional<BatchScan> scan) {
  const std::string* rep = written != nullptr ? &written->Data() : nullptr;
  bool keep = rep != nullptr && rep->size() > kHeaderBytes && rep->size() <= max_entry_bytes_ &&
              written->GetWalTerminationPoint().is_cleared();
  uint64_t seq = 0;
  if (keep) {
    seq = DecodeFixed64(std::string_view(*rep).substr(0, 8)).value_or(0);
    keep = seq != 0;
  }
  std::shared_ptr<RingEntry> e;
  if (keep) {  // built outside the lock
    e = std::make_shared<RingEntry>();
    e->sequence = seq;
    e->count = written->Count();
    e->rep = *rep;
    e->scan = std::move(scan);
  }
  bool notify = false;
  {
    std::lock_guard<SpinThenBlockMutex> l(mu_);
    auto it = std::find(active_.begin(), active_.end(), ticket);
    if (it != active_.end()) active_.erase(it);
    active_count_.store(static_cast<int>(active_.size()), std::memory_order_release);
    if (keep) {
      // Mostly in order: find the place from the back (after entries of the same sequence).
      size_t pos = entries_.size();
      while (pos > 0 && entries_[pos - 1]->sequence > seq) --pos;
      const bool duplicate = e->count > 0 && pos > 0 && entries_[pos - 1]->sequence == seq && entries_[pos - 1]->count > 0;
      if (!duplicate) {
        e->id = next_id_++;
        bytes_ += e->rep.size() + kEntryOverhead;
        entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(e));
        ++inserted_;
        while (bytes_ > capacity_ && !entries_.empty()) {
          bytes_ -= entries_.front()->rep.size() + kEntryOverhead;
          entries_.pop_front();
          ++evicted_;
        }
      }
    } else if (written != nullptr) {
      ++not_kept_;
    }
    notify = waiters_ > 0;
  }
  if (notify) cv_.notify_all();
}

size_t WriteRing::LowerBound(uint64_t seq) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const std::shared_ptr<RingEntry>& e, uint64_t s) { return e->sequence < s; });
  return static_cast<size_t>(it - entries_.begin());
}

bool WriteRing::HasStartLocked(uint64_t seq) const {
  for (size_t i = LowerBound(seq); i < entries_.size() && entries_[i]->sequence == seq; ++i) {
    if (entries_[i]->count > 0) return true;
  }
  return false;
}

void WriteRing::Take(uint64_t next_sequence, uint64_t zero_sequence, uint64_t zero_id, size_t max_bytes,
                     size_t max_entries, std::vector<RingEntryRef>* out) const {
  // Pointers only are copied under the lock that writers need, a bounded number per call.
  max_entries = std::min<size_t>(max_entries, kMaxTakePerCall);
  std::lock_guard<SpinThenBlockMutex> l(mu_);
  if (entries_.empty() || max_entries == 0) return;
  size_t bytes = 0, taken = 0;
  uint64_t seq = next_sequence;
  size_t i = LowerBound(seq);
  while (i < entries_.size() && entries_[i]->sequence == seq) {
    const std::shared_ptr<RingEntry>& e = entries_[i];
    const bool already = e->count == 0 && seq == zero_sequence && e->id <= zero_id;
    if (!already) {
      if (taken >= max_entries || (taken > 0 && bytes >= max_bytes)) return;
      out->push_back(e);
      bytes += e->rep.size();
      ++taken;
    }
    ++i;
    if (e->count > 0) {
      seq += e->count;
      // Entries are sorted and sequences do not overlap: the next run starts at i or later.
      while (i < entries_.size() && entries_[i]->sequence < seq) ++i;
    }
  }
}

bool WriteRing::WaitFor(uint64_t sequence, Clock::time_point deadline, bool* waited) {
  std::unique_lock<SpinThenBlockMutex> l(mu_);
  const uint64_t limit = next_ticket_;
  *waited = false;
  constexpr int kSpins = 64;
  int spins = 0;
  for (;;) {
    if (HasStartLocked(sequence)) return true;
    if (active_.empty() || active_.front() >= limit) return false;
    // Older than everything kept (evicted, or written before the ring): a tailer catching up
    // from the WAL must not wait for every concurrent writer.
    if (!entries_.empty() && sequence < entries_.front()->sequence) return false;
    *waited = true;
    // The writer is usually a microsecond from Finish: poll briefly first, so that writers
    // need not wake a sleeping tailer (a futex wake per write at full speed).
    if (spins < kSpins) {
      ++spins;
      l.unlock();
      std::this_thread::yield();
      l.lock();
      continue;
    }
    ++waiters_;
    const bool timed_out = cv_.wait_until(l, deadline) == std::cv_status::timeout;
    --waiters_;
    if (timed_out) return HasStartLocked(sequence);
  }
}

bool WriteRing::Inside(uint64_t sequence) const {
  std::lock_guard<SpinThenBlockMutex> l(mu_);
  size_t i = LowerBound(sequence);
  while (i > 0) {
    const RingEntry& e = *entries_[--i];
    if (e.count == 0) continue;
    return e.sequence < sequence && sequence < e.sequence + e.count;
  }
  return false;
}

WriteRingStats WriteRing::Stats() const {
  std::lock_guard<SpinThenBlockMutex> l(mu_);
  WriteRingStats s;
  s.capacity_bytes = capacity_;
  s.bytes = bytes_;
  s.entries = entries_.size();
  s.inserted = inserted_;
  s.evicted = evicted_;
  s.not_kept = not_kept_;
  return s;
}

}  // namespace rocksdr::plugin
