// WalTailer; see wal_tailer.h.
#include "wal_tailer.h"

#include <string>
#include <thread>
#include <utility>

#include "batch_scan.h"
#include "marker.h"
#include "rocks_status.h"
#include "wal_window.h"

namespace rocksdr::plugin {

using replication::NeedsBootstrap;

WalTailer::WalTailer(WalTailerContext ctx, uint64_t next_sequence)
    : ctx_(std::move(ctx)), next_seq_(next_sequence) {}

Result<std::unique_ptr<WalTailer>> WalTailer::Open(WalTailerContext ctx, uint64_t next_sequence) {
  if (next_sequence == 0) return Status::InvalidArgument("WAL position 0 is invalid: sequences start at 1");
  if (ctx.base == nullptr || ctx.notifier == nullptr) return Status::InvalidArgument("WalTailer needs a DB and a notifier");
  const uint64_t latest = ctx.base->GetLatestSequenceNumber();
  if (next_sequence > latest + 1) {
    return NeedsBootstrap("the secondary asks for sequence " + std::to_string(next_sequence) +
                          " but the primary's latest is " + std::to_string(latest) +
                          ": the secondary has another history");
  }
  Result<uint64_t> oldest = plugin::OldestAvailableSequence(ctx.base);
  if (!oldest.ok()) return oldest.status();
  if (next_sequence < *oldest) {
    return NeedsBootstrap("WAL gap: needed sequence " + std::to_string(next_sequence) +
                          ", oldest available " + std::to_string(*oldest) +
                          " (the WAL holding it was purged: see wal_retention) — secondary must re-bootstrap");
  }
  return std::make_unique<WalTailer>(std::move(ctx), next_sequence);
}

uint64_t WalTailer::LatestSequence() { return ctx_.base->GetLatestSequenceNumber(); }

Result<uint64_t> WalTailer::OldestAvailableSequence() { return plugin::OldestAvailableSequence(ctx_.base); }

bool WalTailer::WaitForWrites(uint64_t after_seq, std::chrono::microseconds timeout) {
  if (ctx_.notifier->latest() > after_seq) return true;
  // Written but not notified yet: by a writer of the wrapper that is still recording its batch in
  // the ring (it notifies when it has: wait for that, not for DB::Write), or by a write that
  // bypasses the wrapper (never notified: read it now).
  if (LatestSequence() > after_seq && (ctx_.ring == nullptr || ctx_.ring->writers_active() == 0)) return true;
  // Bypassing writes made while wrapper writers are active: the final check catches them at the timeout.
  return ctx_.notifier->WaitFor(after_seq, timeout) || LatestSequence() > after_seq;
}

bool WalTailer::TakeFromRing(size_t max_bytes, size_t max_batches) {
  ring_buf_.clear();
  ctx_.ring->Take(next_seq_, zero_seq_, zero_id_, max_bytes, max_batches, &ring_buf_, &ring_hint_);
  for (RingEntryRef& e : ring_buf_) {
    Candidate c;
    c.sequence = e->sequence;
    c.count = e->count;
    c.from_ring = true;
    c.ring_id = e->id;
    c.entry = std::move(e);
    pending_.push_back(std::move(c));
  }
  const bool took = !ring_buf_.empty();
  ring_buf_.clear();  // the ring may evict them now
  return took;
}

bool WalTailer::TakeFromIterator() {
  while (iter_ && iter_->Valid()) {
    rocksdb::BatchResult br = iter_->GetBatch();
    need_next_ = true;
    if (br.writeBatchPtr == nullptr) return false;
    const uint32_t count = br.writeBatchPtr->Count();
    iter_next_seq_ = br.sequence + count;
    if (br.sequence < next_seq_ && br.sequence + count <= next_seq_) {
      // Ends before the position: already shipped (from the ring). Bounded by kMaxIteratorSkip.
      need_next_ = false;
      iter_->Next();
      continue;
    }
    Candidate c;
    c.sequence = br.sequence;
    c.count = count;
    c.batch = std::move(br.writeBatchPtr);
    pending_.push_back(std::move(c));
    return true;
  }
  return false;
}

Status WalTailer::Gap(uint64_t next_available) {
  std::string why;
  if (ctx_.events && ctx_.events->IngestionBetween(next_seq_, next_available - 1)) {
    why = "external file ingestion took sequence(s) that have no WAL record";
  } else {
    why = "the WAL holding it was purged (see wal_retention) or written with disableWAL";
  }
  std::string avail = next_available == UINT64_MAX ? std::string("none") : std::to_string(next_available);
  return NeedsBootstrap("WAL gap: needed sequence " + std::to_string(next_seq_) + ", next available " +
                        avail + " (" + why + ") — secondary must re-bootstrap");
}

Status WalTailer::Fetch(bool* recreated, size_t max_bytes, size_t max_batches) {
  if (!pending_.empty()) return Status::OK();
  if (ctx_.ring != nullptr && TakeFromRing(max_bytes, max_batches)) return Status::OK();
  const uint64_t latest = LatestSequence();
  if (ctx_.ring != nullptr && latest >= next_seq_) {
    // Written, not notified, and a writer is still recording it: that writer is usually a
    // microsecond from notifying. Wait for it briefly WITHOUT the ring's lock (yielding, reading
    // only the notifier's and the ring's atomics), so that a tailer following a writer at full
    // speed keeps filling its frame (as a group commit would) instead of shipping a frame per
    // batch, and never contends with the writer for the ring's lock. If it takes longer, ship
    // what came before it; the writer's notification wakes the pump (WaitForWrites).
    if (next_seq_ > ctx_.notifier->latest() && ctx_.ring->writers_active() > 0) {
      for (int spin = 0; spin < kWriterSpins && next_seq_ > ctx_.notifier->latest() &&
                         ctx_.ring->writers_active() > 0;
           ++spin) {
        std::this_thread::yield();
      }
      if (next_seq_ > ctx_.notifier->latest()) {
        if (ctx_.ring->writers_active() > 0) return Status::OK();
        if (TakeFromRing(max_bytes, max_batches)) return Status::OK();
      } else if (TakeFromRing(max_bytes, max_batches)) {
        return Status::OK();
      }
    }
    // Written but not in the ring: a writer may be between DB::Write and recording it.
    bool waited = false;
    const bool there = ctx_.ring->WaitFor(next_seq_, WriteRing::Clock::now() + kRingWait, &waited);
    if (waited) Count(&TailerCounters::ring_waits);
    if (there && TakeFromRing(max_bytes, max_batches)) return Status::OK();
    ++ring_misses_;
    Count(&TailerCounters::ring_misses);
  }
  return FetchFromWal(recreated, latest);
}

Status WalTailer::FetchFromWal(bool* recreated, uint64_t latest) {
  if (iter_ && next_seq_ > iter_next_seq_ + kMaxIteratorSkip) {
    iter_.reset();  // the ring carried the position far past it: re-seek instead of reading forward
    need_next_ = false;
  }
  if (iter_) {
    if (need_next_) {
      need_next_ = false;
      iter_->Next();
    } else if (!iter_->Valid() && iter_->status().ok() && latest >= next_seq_) {
      iter_->Next();  // at the tail of the last file: read what was appended since (UnmarkEOF)
    }
    if (TakeFromIterator()) return Status::OK();
  }
  if (latest < next_seq_) return Status::OK();  // nothing new
  if (*recreated) return Status::OK();          // at most one directory scan per Read
  *recreated = true;
  iter_.reset();
  need_next_ = false;
  ++iterator_creations_;
  Count(&TailerCounters::iterator_creations);
  rocksdb::TransactionLogIterator::ReadOptions ro;
  ro.verify_checksums_ = true;
  rocksdb::Status s = ctx_.base->GetUpdatesSince(next_seq_, &iter_, ro);
  if (TakeFromIterator()) return Status::OK();
  iter_.reset();
  if (s.IsIOError() || s.IsBusy() || s.IsIncomplete()) return FromRocks(s, "reading the WAL");
  // The DB has sequences >= next_seq_ but no WAL batch at or after it is readable: they were
  // consumed without WAL records (ingestion, disableWAL) or their files were purged.
  Result<uint64_t> oldest = plugin::OldestAvailableSequence(ctx_.base);
  return Gap(oldest.ok() && *oldest > next_seq_ && *oldest <= latest ? *oldest : UINT64_MAX);
}

std::string WalTailer::CopyRep(std::string_view rep) {
  std::string s;
  if (!spare_reps_.empty() && rep.size() <= kMaxSpareRepBytes) {
    s = std::move(spare_reps_.back());
    spare_reps_.pop_back();
  }
  s.assign(rep);
  return s;
}

void WalTailer::Recycle(std::vector<replication::WalBatch>* done) {
  for (replication::WalBatch& b : *done) {
    if (spare_reps_.size() >= kMaxSpareReps) break;
    if (b.rep.capacity() > kMaxSpareRepBytes || b.rep.capacity() < 64) continue;
    b.rep.clear();
    spare_reps_.push_back(std::move(b.rep));
  }
  done->clear();
}

Status WalTailer::Admit(Candidate& c, replication::WalBatch* out) {
  auto at = [&] { return "WAL batch at " + std::to_string(c.sequence); };
  // A WriteBatch of the candidate's rep (a ring entry is copied; the entry stays immutable).
  auto parse = [&] {
    if (!c.batch) c.batch = std::make_unique<rocksdb::WriteBatch>(std::string(c.entry->rep));
  };
  if (!c.scan && !(c.entry && c.entry->scan)) {
    parse();
    Result<BatchScan> scan = ScanBatch(*c.batch, ctx_.local_cf_id, ctx_.replicated_cf_id);
    if (!scan.ok()) return scan.status().WithContext(at());
    c.scan = std::move(*scan);
  }
  const BatchScan& scan = c.scan ? *c.scan : *c.entry->scan;
  if (scan.has_2pc) {
    return Status::Internal(at() + " holds two-phase-commit markers (TransactionDB): rocksdr cannot replicate "
                                   "2PC transactions");
  }
  for (const std::string& blob : scan.marker_blobs) {
    Result<Marker> m = DecodeMarker(blob);
    if (!m.ok()) return m.status().WithContext(at());
    if (m->kind == MarkerKind::kIngest) {
      return NeedsBootstrap("external file ingestion at sequence " + std::to_string(c.sequence) +
                            " (column family id " + std::to_string(m->id) + ", " + std::to_string(m->count) +
                            " file(s)): ingested files are not in the WAL");
    }
  }
  out->sequence = c.sequence;
  out->count = c.count;
  if (scan.has_local_cf) {
    parse();
    Result<std::string> rep = StripLocalRecords(*c.batch, ctx_.local_cf_id, c.sequence);
    if (!rep.ok()) return rep.status().WithContext(at());
    out->rep = std::move(*rep);
  } else {
    // (Not a conditional expression: its operands, a const lvalue and a prvalue, would make a
    // const temporary, copied instead of moved into out->rep.)
    if (c.batch) {
      out->rep = c.batch->Data();
    } else {
      out->rep = CopyRep(c.entry->rep);
    }
  }
  return Status::OK();
}

Status WalTailer::Read(size_t max_bytes, size_t max_batches, std::vector<replication::WalBatch>* out) {
  if (!terminal_.ok()) return terminal_;
  const size_t start = out->size();
  size_t bytes = 0;
  bool recreated = false;
  auto fail = [&](Status st, bool sticky) {
    if (sticky) terminal_ = st;
    return out->size() > start ? Status::OK() : st;  // deliver what came before the problem first
  };
  while (out->size() - start < max_batches && bytes < max_bytes) {
    Status st = Fetch(&recreated, max_bytes - bytes, max_batches - (out->size() - start));
    if (!st.ok()) return fail(st, replication::IsNeedsBootstrap(st));
    if (pending_.empty()) break;

    Candidate& c = pending_.front();
    if (c.sequence > next_seq_) {
      const uint64_t seq = c.sequence;
      pending_.clear();
      iter_.reset();
      return fail(Gap(seq), true);
    }
    if (c.sequence < next_seq_) {
      // A WAL record that covers the position (ring candidates always start at it).
      const uint64_t skip = next_seq_ - c.sequence;
      const bool inside = ctx_.ring != nullptr && ctx_.ring->Inside(next_seq_);
      Result<std::string> cut = inside || skip >= c.count
                                    ? Result<std::string>(Status::InvalidArgument("inside one writer's batch"))
                                    : DropLeadingSequences(*c.batch, static_cast<uint32_t>(skip), next_seq_);
      if (!cut.ok()) {
        const std::string why = "WAL position " + std::to_string(next_seq_) +
                                " is not a batch boundary: the primary's batch at " + std::to_string(c.sequence) +
                                " covers " + std::to_string(c.count) + " sequence(s) (" + cut.status().message() +
                                ") — secondary must re-bootstrap";
        pending_.clear();
        iter_.reset();
        return fail(NeedsBootstrap(why), true);
      }
      c.batch = std::make_unique<rocksdb::WriteBatch>(std::move(*cut));
      c.count -= static_cast<uint32_t>(skip);
      c.sequence = next_seq_;
      c.scan.reset();
      ++trims_;
      Count(&TailerCounters::trims);
    }
    replication::WalBatch wb;
    st = Admit(c, &wb);
    if (!st.ok()) return fail(st, true);
    bytes += wb.rep.size();
    next_seq_ = c.sequence + c.count;
    if (c.from_ring) {
      ++ring_batches_;
      Count(&TailerCounters::ring_batches);
      if (c.count == 0) {
        zero_seq_ = c.sequence;
        zero_id_ = c.ring_id;
      }
    } else {
      ++wal_batches_;
      Count(&TailerCounters::wal_batches);
    }
    pending_.pop_front();
    out->push_back(std::move(wb));
  }
  return Status::OK();
}

}  // namespace rocksdr::plugin
