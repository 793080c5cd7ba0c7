// WriteRing; see write_ring.h.
#include "write_ring.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <new>
#include <thread>
#include <utility>

#include "coding.h"

namespace rocksdr::plugin {

namespace {
constexpr size_t kHeaderBytes = 12;  // fixed64 sequence + fixed32 count (RocksDB write_batch.cc)

// The header's sequence (little-endian fixed64). REQUIRES: rep.size() >= 8.
uint64_t HeaderSequence(const std::string& rep) {
  uint64_t v;
  std::memcpy(&v, rep.data(), sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
}

RingEntryRef RingEntryRef::Make(std::string_view rep, RingEntry* reuse) {
  RingEntry* e = reuse;
  if (e != nullptr && e->capacity_ >= rep.size()) {
    // Nobody references it (ReleaseIfSole): reset what Finish sets; refs_ is still 1.
    e->sequence = 0;
    e->count = 0;
    e->id = 0;
    e->scan.reset();
  } else {
    if (e != nullptr) Free(e);
    // The rep's bytes follow the entry (a char array needs no alignment). Rounded up so that
    // batches of similar sizes can reuse the allocation.
    const size_t capacity = (rep.size() + 31) & ~size_t{31};
    void* block = ::operator new(sizeof(RingEntry) + capacity);
    e = new (block) RingEntry();
    e->capacity_ = capacity;
  }
  char* bytes = reinterpret_cast<char*>(e) + sizeof(RingEntry);
  if (!rep.empty()) std::memcpy(bytes, rep.data(), rep.size());
  e->rep = std::string_view(bytes, rep.size());
  RingEntryRef r;
  r.e_ = e;  // its one reference
  return r;
}

void RingEntryRef::Free(RingEntry* e) noexcept {
  e->~RingEntry();
  ::operator delete(static_cast<void*>(e));
}

void RingEntryRef::reset() noexcept {
  if (e_ == nullptr) return;
  // acq_rel: the last holder sees every other holder's reads done before it frees the entry.
  if (e_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Free(e_);
  e_ = nullptr;
}

RingEntry* RingEntryRef::ReleaseIfSole() noexcept {
  // acquire: pairs with the release of the other holders' reset (their reads are done).
  if (e_ == nullptr || e_->refs_.load(std::memory_order_acquire) != 1) return nullptr;
  return std::exchange(e_, nullptr);
}

WriteRing::~WriteRing() {
  if (RingEntry* e = spare_.exchange(nullptr)) RingEntryRef::Free(e);
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

void WriteRing::Finish(uint64_t ticket, const rocksdb::WriteBatch* written, const BatchScan* scan) {
  const std::string* rep = written != nullptr ? &written->Data() : nullptr;
  bool keep = rep != nullptr && rep->size() > kHeaderBytes && rep->size() <= max_entry_bytes_ &&
              written->GetWalTerminationPoint().is_cleared();
  uint64_t seq = 0;
  if (keep) {
    seq = HeaderSequence(*rep);
    keep = seq != 0;
  }
  RingEntryRef e;
  if (keep) {  // built outside the lock
    e = RingEntryRef::Make(*rep, spare_.exchange(nullptr, std::memory_order_acquire));
    RingEntry* m = e.mutable_get();
    m->sequence = seq;
    m->count = written->Count();
    if (scan != nullptr) m->scan.emplace(*scan);
  }
  // Evicted entries are released after the lock (the ring usually holds their last reference:
  // freeing them inside would lengthen the critical section a tailer may be spinning on).
  // Beyond the few kept here (a large batch evicting many small ones) they are freed inside.
  std::array<RingEntryRef, 4> evicted;
  size_t n_evicted = 0;
  bool notify = false;
  {
    std::lock_guard<SpinThenBlockMutex> l(mu_);
    if (!active_.empty() && active_.front() == ticket) {
      active_.pop_front();  // the usual case: tickets finish in the order they were taken
    } else {
      auto it = std::find(active_.begin(), active_.end(), ticket);
      if (it != active_.end()) active_.erase(it);
    }
    active_count_.store(static_cast<int>(active_.size()), std::memory_order_release);
    if (keep) {
      // Mostly in order: find the place from the back (after entries of the same sequence).
      size_t pos = entries_.size();
      const RingEntry* prev = pos > 0 ? entries_.back().get() : nullptr;
      while (prev != nullptr && prev->sequence > seq) {
        --pos;
        prev = pos > 0 ? entries_[pos - 1].get() : nullptr;
      }
      const bool duplicate = e->count > 0 && prev != nullptr && prev->sequence == seq && prev->count > 0;
      if (!duplicate) {
        e.mutable_get()->id = next_id_++;
        bytes_ += e->rep.size() + kEntryOverhead;
        if (pos == entries_.size()) {
          entries_.push_back(std::move(e));
        } else {
          entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(e));
        }
        ++inserted_;
        while (bytes_ > capacity_ && !entries_.empty()) {
          bytes_ -= entries_.front()->rep.size() + kEntryOverhead;
          if (n_evicted < evicted.size()) evicted[n_evicted++] = std::move(entries_.front());
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
  // Out of the ring, these can gain no reference any more: the ring's was the last one unless a
  // tailer still holds the entry. One allocation is kept for the next Finish.
  for (size_t i = 0; i < n_evicted; ++i) {
    if (RingEntry* sole = evicted[i].ReleaseIfSole()) {
      if (RingEntry* old = spare_.exchange(sole, std::memory_order_acq_rel)) RingEntryRef::Free(old);
    }
  }
}

size_t WriteRing::LowerBound(uint64_t seq) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const RingEntryRef& e, uint64_t s) { return e->sequence < s; });
  return static_cast<size_t>(it - entries_.begin());
}

bool WriteRing::HasStartLocked(uint64_t seq) const {
  for (size_t i = LowerBound(seq); i < entries_.size() && entries_[i]->sequence == seq; ++i) {
    if (entries_[i]->count > 0) return true;
  }
  return false;
}

size_t WriteRing::LowerBoundNear(uint64_t seq, uint64_t hint) const {
  // evicted_ counts the entries popped from the front: evicted_ + index names an entry for as
  // long as it is kept, unless an out-of-order insert shifted it (then the checks below fail).
  constexpr size_t kMaxSteps = 4;
  if (hint >= evicted_ && hint - evicted_ <= entries_.size()) {
    size_t i = static_cast<size_t>(hint - evicted_);
    for (size_t step = 0; step < kMaxSteps && i < entries_.size() && entries_[i]->sequence < seq; ++step) ++i;
    // The lower bound: at or past seq, and the entry before it (if any) below seq.
    if ((i == entries_.size() || entries_[i]->sequence >= seq) && (i == 0 || entries_[i - 1]->sequence < seq)) {
      return i;
    }
  }
  return LowerBound(seq);
}

void WriteRing::Take(uint64_t next_sequence, uint64_t zero_sequence, uint64_t zero_id, size_t max_bytes,
                     size_t max_entries, std::vector<RingEntryRef>* out, uint64_t* hint) const {
  // Pointers only are copied under the lock that writers need, a bounded number per call.
  max_entries = std::min<size_t>(max_entries, kMaxTakePerCall);
  std::lock_guard<SpinThenBlockMutex> l(mu_);
  if (entries_.empty() || max_entries == 0) return;
  size_t bytes = 0, taken = 0;
  uint64_t seq = next_sequence;
  size_t i = hint != nullptr ? LowerBoundNear(seq, *hint) : LowerBound(seq);
  auto stop = [&] {
    if (hint != nullptr) *hint = evicted_ + i;
  };
  while (i < entries_.size() && entries_[i]->sequence == seq) {
    const RingEntryRef& e = entries_[i];
    const bool already = e->count == 0 && seq == zero_sequence && e->id <= zero_id;
    if (!already) {
      if (taken >= max_entries || (taken > 0 && bytes >= max_bytes)) return stop();
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
  stop();
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
