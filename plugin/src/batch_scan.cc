// ScanBatch / StripLocalRecords; see batch_scan.h.
//
// The rebuilt batch names column families by numeric id through IdOnlyHandle (a handle that
// knows only its id and has no timestamp), so records are copied byte for byte — keys that
// carry user-defined timestamps included — and column families dropped since the batch was
// written need no live handle. The header layout used to set the sequence is RocksDB's
// documented WriteBatch rep: fixed64 sequence, fixed32 count, records (db/write_batch.cc).
#include "batch_scan.h"

#include <rocksdb/comparator.h>
#include <rocksdb/db.h>

#include "coding.h"
#include "reserved_cf.h"

namespace rocksdr::plugin {

namespace {

class ScanHandler : public rocksdb::WriteBatch::Handler {
 public:
  ScanHandler(uint32_t local_id, uint32_t replicated_id, BatchScan* out)
      : local_id_(local_id), replicated_id_(replicated_id), out_(out) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Record(cf); }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Record(cf); }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Record(cf); }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Record(cf);
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Record(cf); }
  rocksdb::Status PutEntityCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    out_->has_entity = true;
    return Record(cf);
  }
  rocksdb::Status PutBlobIndexCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    out_->has_blob_index = true;
    return Record(cf);
  }
  void LogData(const rocksdb::Slice& blob) override {
    if (blob.starts_with(rocksdb::Slice(kMarkerPrefix.data(), kMarkerPrefix.size()))) {
      out_->marker_blobs.push_back(blob.ToString());
    }
  }
  rocksdb::Status MarkBeginPrepare(bool) override { return TwoPc(); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return TwoPc(); }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return TwoPc(); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return TwoPc(); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override { return TwoPc(); }
  rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }

 private:
  rocksdb::Status Record(uint32_t cf) {
    ++out_->records;
    if (cf == local_id_) out_->has_local_cf = true;
    if (cf == replicated_id_) out_->has_replicated_cf = true;
    return rocksdb::Status::OK();
  }
  rocksdb::Status TwoPc() {
    out_->has_2pc = true;
    return rocksdb::Status::OK();
  }

  uint32_t local_id_;
  uint32_t replicated_id_;
  BatchScan* out_;
};

class IdOnlyHandle : public rocksdb::ColumnFamilyHandle {
 public:
  explicit IdOnlyHandle(uint32_t id) : id_(id) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported("IdOnlyHandle has no descriptor");
  }
  const rocksdb::Comparator* GetComparator() const override { return rocksdb::BytewiseComparator(); }

 private:
  uint32_t id_;
  std::string name_;
};

class StripHandler : public rocksdb::WriteBatch::Handler {
 public:
  StripHandler(uint32_t local_id, rocksdb::WriteBatch* out) : local_id_(local_id), out_(out) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    if (cf == local_id_) return rocksdb::Status::OK();
    IdOnlyHandle h(cf);
    return out_->Put(&h, k, v);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
    if (cf == local_id_) return rocksdb::Status::OK();
    IdOnlyHandle h(cf);
    return out_->Delete(&h, k);
  }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
    if (cf == local_id_) return rocksdb::Status::OK();
    IdOnlyHandle h(cf);
    return out_->SingleDelete(&h, k);
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& b, const rocksdb::Slice& e) override {
    if (cf == local_id_) return rocksdb::Status::OK();
    IdOnlyHandle h(cf);
    return out_->DeleteRange(&h, b, e);
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    if (cf == local_id_) return rocksdb::Status::OK();
    IdOnlyHandle h(cf);
    return out_->Merge(&h, k, v);
  }
  rocksdb::Status PutEntityCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Unsupported("a wide-column entity");
  }
  rocksdb::Status PutBlobIndexCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Unsupported("a blob index");
  }
  void LogData(const rocksdb::Slice& blob) override {
    if (status_.ok()) status_ = out_->PutLogData(blob);
  }
  rocksdb::Status MarkBeginPrepare(bool) override { return Unsupported("a 2PC marker"); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return Unsupported("a 2PC marker"); }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return Unsupported("a 2PC marker"); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return Unsupported("a 2PC marker"); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Unsupported("a 2PC marker");
  }
  rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }

  const rocksdb::Status& status() const { return status_; }
  bool unsupported() const { return unsupported_; }

 private:
  rocksdb::Status Unsupported(const char* what) {
    unsupported_ = true;
    return rocksdb::Status::NotSupported(std::string("cannot rebuild a batch holding ") + what +
                                         " next to rocksdr node-local records");
  }

  uint32_t local_id_;
  rocksdb::WriteBatch* out_;
  rocksdb::Status status_;
  bool unsupported_ = false;
};

// Finds where the skip-th sequence-consuming record ends: the slices a Handler receives point
// into the batch's rep, and a record's last field (value, end key, entity) ends it.
class CutHandler : public rocksdb::WriteBatch::Handler {
 public:
  explicit CutHandler(uint32_t skip) : skip_(skip) {}

  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice& v) override { return Record(v); }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& k) override { return Record(k); }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice& k) override { return Record(k); }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice& e) override { return Record(e); }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice& v) override { return Record(v); }
  rocksdb::Status PutEntityCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice& e) override { return Record(e); }
  rocksdb::Status PutBlobIndexCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice& v) override { return Record(v); }
  void LogData(const rocksdb::Slice&) override {}
  rocksdb::Status MarkBeginPrepare(bool) override { return rocksdb::Status::OK(); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MarkNoop(bool) override { return rocksdb::Status::OK(); }
  bool Continue() override { return seen_ < skip_; }

  const char* end() const { return end_; }
  uint32_t seen() const { return seen_; }

 private:
  rocksdb::Status Record(const rocksdb::Slice& last_field) {
    if (++seen_ == skip_) end_ = last_field.data() + last_field.size();
    return rocksdb::Status::OK();
  }

  uint32_t skip_;
  uint32_t seen_ = 0;
  const char* end_ = nullptr;
};

}  // namespace

Result<std::string> DropLeadingSequences(const rocksdb::WriteBatch& batch, uint32_t skip, uint64_t sequence) {
  const uint32_t count = batch.Count();
  if (skip == 0 || skip >= count) {
    return Status::InvalidArgument("cannot drop " + std::to_string(skip) + " of the " + std::to_string(count) +
                                   " sequence(s) of a write batch");
  }
  CutHandler cut(skip);
  rocksdb::Status s = batch.Iterate(&cut);
  const std::string& rep = batch.Data();
  constexpr size_t kHeader = 12;
  if (!s.ok() || cut.seen() != skip || cut.end() == nullptr || cut.end() < rep.data() + kHeader ||
      cut.end() > rep.data() + rep.size()) {
    return Status::Corruption("cannot cut a write batch after its first " + std::to_string(skip) +
                              " record(s)" + (s.ok() ? std::string() : ": " + s.ToString()));
  }
  const size_t offset = static_cast<size_t>(cut.end() - rep.data());
  std::string out;
  out.reserve(kHeader + rep.size() - offset);
  out += EncodeFixed64(sequence);
  const uint32_t kept = count - skip;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((kept >> (8 * i)) & 0xff));
  out.append(rep, offset, std::string::npos);
  // The cut must leave exactly the records the header announces, all parsable.
  BatchScan check;
  ScanHandler verify(UINT32_MAX, UINT32_MAX, &check);
  rocksdb::WriteBatch rebuilt(out);
  s = rebuilt.Iterate(&verify);
  if (!s.ok() || check.records != kept) {
    return Status::Corruption("cutting a write batch after " + std::to_string(skip) + " record(s) left " +
                              std::to_string(check.records) + " record(s) instead of " + std::to_string(kept) +
                              (s.ok() ? std::string() : ": " + s.ToString()));
  }
  return out;
}

namespace {

// RocksDB's GetVarint32 (util/coding.h): at most 5 bytes, little-endian groups of 7 bits.
bool ReadVarint32(std::string_view* in, uint32_t* v) {
  uint32_t result = 0;
  for (uint32_t shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    const uint32_t byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    if ((byte & 128) == 0) {
      *v = result | (byte << shift);
      return true;
    }
    result |= (byte & 127) << shift;
  }
  return false;
}

// RocksDB's GetLengthPrefixedSlice.
bool ReadLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint32_t n = 0;
  if (!ReadVarint32(in, &n) || in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

std::optional<BatchScan> ScanSimpleBatch(std::string_view rep, uint32_t local_cf_id, uint32_t replicated_cf_id) {
  // The record layout of RocksDB's ReadRecordFromWriteBatch (db/write_batch.cc): a tag byte,
  // for the column-family variants a varint32 column family id, then length-prefixed fields.
  // Tags (db/dbformat.h ValueType): only those below; anything else goes to Iterate.
  constexpr char kDeletion = 0x0, kValue = 0x1, kMerge = 0x2, kLogData = 0x3, kCfDeletion = 0x4,
                 kCfValue = 0x5, kCfMerge = 0x6, kSingleDeletion = 0x7, kCfSingleDeletion = 0x8,
                 kCfRangeDeletion = 0xE, kRangeDeletion = 0xF;
  constexpr size_t kHeader = 12;
  if (rep.size() < kHeader) return std::nullopt;
  const uint32_t count = static_cast<uint32_t>(static_cast<unsigned char>(rep[8])) |
                         static_cast<uint32_t>(static_cast<unsigned char>(rep[9])) << 8 |
                         static_cast<uint32_t>(static_cast<unsigned char>(rep[10])) << 16 |
                         static_cast<uint32_t>(static_cast<unsigned char>(rep[11])) << 24;
  std::string_view in = rep.substr(kHeader);
  BatchScan scan;
  std::string_view a, b;
  while (!in.empty()) {
    const char tag = in.front();
    in.remove_prefix(1);
    uint32_t cf = 0;
    bool ok = true;
    switch (tag) {
      case kCfValue:
      case kCfMerge:
        ok = ReadVarint32(&in, &cf);
        [[fallthrough]];
      case kValue:
      case kMerge:
        ok = ok && ReadLengthPrefixed(&in, &a) && ReadLengthPrefixed(&in, &b);
        break;
      case kCfDeletion:
      case kCfSingleDeletion:
        ok = ReadVarint32(&in, &cf);
        [[fallthrough]];
      case kDeletion:
      case kSingleDeletion:
        ok = ok && ReadLengthPrefixed(&in, &a);
        break;
      case kCfRangeDeletion:
        ok = ReadVarint32(&in, &cf);
        [[fallthrough]];
      case kRangeDeletion:
        ok = ok && ReadLengthPrefixed(&in, &a) && ReadLengthPrefixed(&in, &b);
        break;
      case kLogData:
        if (!ReadLengthPrefixed(&in, &a)) return std::nullopt;
        if (a.substr(0, kMarkerPrefix.size()) == kMarkerPrefix) scan.marker_blobs.emplace_back(a);
        continue;  // consumes no sequence
      default:
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    ++scan.records;
    if (cf == local_cf_id) scan.has_local_cf = true;
    if (cf == replicated_cf_id) scan.has_replicated_cf = true;
  }
  if (scan.records != count) return std::nullopt;  // Iterate: "WriteBatch has wrong count"
  return scan;
}

Result<BatchScan> ScanBatch(const rocksdb::WriteBatch& batch, uint32_t local_cf_id, uint32_t replicated_cf_id) {
  if (std::optional<BatchScan> simple = ScanSimpleBatch(batch.Data(), local_cf_id, replicated_cf_id)) {
    return std::move(*simple);
  }
  BatchScan scan;
  ScanHandler handler(local_cf_id, replicated_cf_id, &scan);
  rocksdb::Status s = batch.Iterate(&handler);
  if (!s.ok()) return Status::Corruption("cannot parse write batch: " + s.ToString());
  return scan;
}

Result<std::string> StripLocalRecords(const rocksdb::WriteBatch& batch, uint32_t local_cf_id, uint64_t sequence) {
  rocksdb::WriteBatch out;
  StripHandler handler(local_cf_id, &out);
  rocksdb::Status s = batch.Iterate(&handler);
  if (s.ok()) s = handler.status();
  if (!s.ok()) {
    if (handler.unsupported()) return Status::FailedPrecondition(s.ToString());
    return Status::Corruption("cannot rebuild write batch: " + s.ToString());
  }
  std::string rep = out.Data();
  const std::string seq = EncodeFixed64(sequence);
  rep.replace(0, seq.size(), seq);
  return rep;
}

}  // namespace rocksdr::plugin
