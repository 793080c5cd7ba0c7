// WalTailer; see wal_tailer.h.
#include "wal_tailer.h"

#include <string>
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
  if (LatestSequence() > after_seq) return true;
  // Writes that bypass the wrapper do not notify; the final check catches them at the timeout.
  return ctx_.notifier->WaitFor(after_seq, timeout) || LatestSequence() > after_seq;
}

bool WalTailer::TakeFromIterator() {
  if (!iter_ || !iter_->Valid()) return false;
  rocksdb::BatchResult br = iter_->GetBatch();
  need_next_ = true;
  if (br.writeBatchPtr == nullptr) return false;
  pending_ = Pending{br.sequence, std::move(br.writeBatchPtr)};
  return true;
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

Status WalTailer::Fetch(bool* recreated) {
  if (pending_) return Status::OK();
  const uint64_t latest = LatestSequence();
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
    Status st = Fetch(&recreated);
    if (!st.ok()) return fail(st, replication::IsNeedsBootstrap(st));
    if (!pending_) break;

    const uint64_t seq = pending_->sequence;
    const rocksdb::WriteBatch& batch = *pending_->batch;
    const uint32_t count = batch.Count();
    if (seq > next_seq_) {
      pending_.reset();
      iter_.reset();
      return fail(Gap(seq), true);
    }
    if (seq < next_seq_) {
      pending_.reset();
      iter_.reset();
      return fail(NeedsBootstrap("WAL position " + std::to_string(next_seq_) +
                                 " is not a batch boundary: the primary's batch at " + std::to_string(seq) +
                                 " covers " + std::to_string(count) + " sequence(s) — secondary must re-bootstrap"),
                  true);
    }
    Result<BatchScan> scan = ScanBatch(batch, ctx_.local_cf_id, ctx_.replicated_cf_id);
    if (!scan.ok()) return fail(scan.status().WithContext("WAL batch at " + std::to_string(seq)), true);
    if (scan->has_2pc) {
      return fail(Status::Internal("WAL batch at " + std::to_string(seq) +
                                   " holds two-phase-commit markers (TransactionDB): rocksdr cannot replicate "
                                   "2PC transactions"),
                  true);
    }
    for (const std::string& blob : scan->marker_blobs) {
      Result<Marker> m = DecodeMarker(blob);
      if (!m.ok()) return fail(m.status().WithContext("WAL batch at " + std::to_string(seq)), true);
      if (m->kind == MarkerKind::kIngest) {
        if (out->size() > start) return Status::OK();  // ship what precedes it; report next time
        pending_.reset();
        terminal_ = NeedsBootstrap("external file ingestion at sequence " + std::to_string(seq) +
                                   " (column family id " + std::to_string(m->id) + ", " +
                                   std::to_string(m->count) + " file(s)): ingested files are not in the WAL");
        return terminal_;
      }
    }
    replication::WalBatch wb;
    wb.sequence = seq;
    wb.count = count;
    if (scan->has_local_cf) {
      Result<std::string> rep = StripLocalRecords(batch, ctx_.local_cf_id, seq);
      if (!rep.ok()) return fail(rep.status().WithContext("WAL batch at " + std::to_string(seq)), true);
      wb.rep = std::move(*rep);
    } else {
      wb.rep = batch.Data();
    }
    bytes += wb.rep.size();
    next_seq_ = seq + count;
    pending_.reset();
    out->push_back(std::move(wb));
  }
  return Status::OK();
}

}  // namespace rocksdr::plugin
