// Applier implementation. See applier.h for the contracts.
//
// A WriteBatch rep (RocksDB db/write_batch.cc) is
//   sequence: fixed64 | count: fixed32 | records...
// where count is the number of records that consume a sequence number (LogData does not). A group
// is built by concatenating the records of consecutive reps behind a fresh 12-byte header whose
// count is the sum of the reps' header counts; the cursor Put is then appended with the public
// WriteBatch API, which keeps the header count right.
#include "applier.h"

#include <rocksdb/write_batch.h>

#include <cstring>
#include <set>
#include <utility>

#include "marker.h"
#include "reserved_cf.h"

namespace rocksdr::plugin {

namespace {

constexpr size_t kHeaderBytes = 12;

std::string Fixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::OK();
  const std::string msg = context + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError()) return Status::IOError(msg);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

Status NeedsBootstrap(const std::string& reason) {
  return Status::FailedPrecondition("needs bootstrap: " + reason);
}

// Reads an optional fixed64 value of local_cf.
Result<std::optional<uint64_t>> ReadFixed64(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf,
                                            std::string_view key) {
  std::string value;
  const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), local_cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "reading rocksdr local key '" + std::string(key) + "'");
  if (value.size() != 8) {
    return Status::Corruption("rocksdr local key '" + std::string(key) + "' holds " + std::to_string(value.size()) +
                              " bytes, expected 8 (fixed64): the secondary needs bootstrap");
  }
  return std::optional<uint64_t>(DecodeFixed64(value.data()));
}

// Walks one shipped rep: collects the column families it writes and its rocksdr markers, and
// refuses what the applier cannot replay.
class Scanner : public rocksdb::WriteBatch::Handler {
 public:
  Scanner(uint64_t sequence, uint32_t local_cf_id) : sequence_(sequence), local_cf_id_(local_cf_id) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status PutEntityCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Note(cf);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Note(cf);
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status PutBlobIndexCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Fail(Status::InvalidArgument(Where() + "holds a blob index (stacked BlobDB), which points into the "
                                        "primary's blob files and cannot be replicated"));
  }
  void LogData(const rocksdb::Slice& blob) override {
    auto m = DecodeMarker(std::string_view(blob.data(), blob.size()));
    if (m.ok()) {
      markers.push_back(std::move(*m));
    } else if (m.status().code() != Code::kNotFound) {
      error = m.status().WithContext(Where());
    }
  }
  rocksdb::Status MarkBeginPrepare(bool) override { return Refuse2pc(); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return Refuse2pc(); }
  rocksdb::Status MarkNoop(bool) override { return Refuse2pc(); }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return Refuse2pc(); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return Refuse2pc(); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Refuse2pc();
  }
  bool Continue() override { return error.ok(); }

  std::set<uint32_t> cf_ids;
  std::vector<Marker> markers;
  Status error;

 private:
  std::string Where() const { return "batch at sequence " + std::to_string(sequence_) + " "; }
  rocksdb::Status Note(uint32_t cf) {
    if (cf == local_cf_id_) {
      return Fail(Status::InvalidArgument(Where() + "writes rocksdr's node-local column family (id " +
                                          std::to_string(cf) + "); the primary's tailer must drop those records"));
    }
    cf_ids.insert(cf);
    return rocksdb::Status::OK();
  }
  rocksdb::Status Refuse2pc() {
    return Fail(Status::InvalidArgument(Where() + "holds two-phase-commit records (TransactionDB 2PC), which "
                                        "rocksdr does not replicate"));
  }
  rocksdb::Status Fail(Status s) {
    error = std::move(s);
    return rocksdb::Status::Aborted("rocksdr: refused");
  }

  const uint64_t sequence_;
  const uint32_t local_cf_id_;
};

}  // namespace

struct Applier::Scanned {
  uint32_t header_count = 0;
  std::vector<Marker> markers;
};

Applier::Applier(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf, ApplierOptions options)
    : db_(db), local_cf_(local_cf), options_(std::move(options)) {}

Applier::~Applier() {
  for (auto& [id, cf] : cfs_) {
    if (cf.owned) db_->DestroyColumnFamilyHandle(cf.handle).PermitUncheckedError();
  }
}

Result<std::unique_ptr<Applier>> Applier::Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf,
                                               const std::vector<rocksdb::ColumnFamilyHandle*>& column_families,
                                               ApplierOptions options) {
  if (db == nullptr || local_cf == nullptr) return Status::InvalidArgument("Applier::Open: null db or local handle");
  if (local_cf->GetName() != kLocalCf) {
    return Status::InvalidArgument("Applier::Open: local handle names column family '" + local_cf->GetName() +
                                   "', expected '" + std::string(kLocalCf) + "'");
  }
  if (options.max_group_bytes == 0) return Status::InvalidArgument("Applier::Open: max_group_bytes must be > 0");
  std::unique_ptr<Applier> a(new Applier(db, local_cf, std::move(options)));
  bool saw_local = false;
  for (rocksdb::ColumnFamilyHandle* h : column_families) {
    if (h == nullptr) return Status::InvalidArgument("Applier::Open: null column family handle");
    if (!a->cfs_.emplace(h->GetID(), Cf{h, false}).second) {
      return Status::InvalidArgument("Applier::Open: two handles for column family id " + std::to_string(h->GetID()));
    }
    saw_local = saw_local || h->GetID() == local_cf->GetID();
  }
  if (!saw_local) return Status::InvalidArgument("Applier::Open: column_families must include the local handle");

  auto cursor = ReadFixed64(db, local_cf, kLocalKeyCursor);
  if (!cursor.ok()) return cursor.status();
  auto epoch = ReadFixed64(db, local_cf, kLocalKeyEpoch);
  if (!epoch.ok()) return epoch.status();
  std::string cluster;
  const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), local_cf,
                                    rocksdb::Slice(kLocalKeyClusterId.data(), kLocalKeyClusterId.size()), &cluster);
  if (s.ok()) {
    a->cluster_id_ = std::move(cluster);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading rocksdr local key 'cluster_id'");
  }
  a->cursor_ = *cursor;
  a->epoch_ = *epoch;
  if (a->cursor_) {
    a->applied_plus_one_.store(*a->cursor_ + 1);
    a->durable_plus_one_.store(*a->cursor_ + 1);  // what DB::Open recovered
  }
  return a;
}

Status Applier::WriteCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* local_cf, uint64_t sequence, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db->Put(wo, local_cf, rocksdb::Slice(kLocalKeyCursor.data(), kLocalKeyCursor.size()),
                           Fixed64(sequence)),
                   "writing the rocksdr cursor");
}

Result<std::optional<uint64_t>> Applier::cursor() const { return ReadFixed64(db_, local_cf_, kLocalKeyCursor); }

std::vector<rocksdb::ColumnFamilyHandle*> Applier::created_column_families() const {
  std::vector<rocksdb::ColumnFamilyHandle*> out;
  for (const auto& [id, cf] : cfs_) {
    if (cf.owned) out.push_back(cf.handle);
  }
  return out;
}

Status Applier::MarkNeedsBootstrap(std::string reason) {
  needs_bootstrap_ = reason;
  return NeedsBootstrap(reason);
}

Status Applier::Validate(const std::vector<replication::WalBatch>& batches, std::vector<Scanned>* scanned) {
  std::map<uint32_t, std::string> known;
  for (const auto& [id, cf] : cfs_) known.emplace(id, cf.handle->GetName());
  std::optional<uint64_t> epoch = epoch_;
  uint64_t expected = *cursor_ + 1;
  const uint32_t local_id = local_cf_->GetID();

  for (size_t i = 0; i < batches.size(); ++i) {
    const replication::WalBatch& b = batches[i];
    const std::string at = "batch " + std::to_string(i) + " of " + std::to_string(batches.size()) + " (sequence " +
                           std::to_string(b.sequence) + ")";
    if (b.sequence != expected) {
      return Status::FailedPrecondition(at + ": expected sequence " + std::to_string(expected) + ", got " +
                                        std::to_string(b.sequence) + " (a gap or a duplicate); nothing of this call "
                                        "was applied — resume from the secondary's cursor");
    }
    if (b.count > 0 && b.sequence > UINT64_MAX - b.count) {
      return Status::Corruption(at + ": sequence + count overflows");
    }
    if (b.rep.size() < kHeaderBytes) {
      return Status::Corruption(at + ": rep of " + std::to_string(b.rep.size()) +
                                " bytes is shorter than the 12-byte WriteBatch header");
    }
    Scanned sc;
    sc.header_count = DecodeFixed32(b.rep.data() + 8);
    if (sc.header_count > b.count) {
      return Status::Corruption(at + ": rep header counts " + std::to_string(sc.header_count) +
                                " records but the batch covers only " + std::to_string(b.count) + " sequences");
    }
    Scanner scanner(b.sequence, local_id);
    const rocksdb::WriteBatch wb(b.rep);
    const rocksdb::Status it = wb.Iterate(&scanner);
    if (!scanner.error.ok()) return scanner.error;
    if (!it.ok()) return Status::Corruption(at + ": malformed WriteBatch rep: " + it.ToString());

    bool stop = false;
    if (!scanner.markers.empty()) {
      if (sc.header_count != 0 || b.count == 0) {
        return Status::Corruption(at + ": a rocksdr marker batch must own one sequence and carry no data records "
                                  "(header count " + std::to_string(sc.header_count) + ", count " +
                                  std::to_string(b.count) + ")");
      }
      for (const Marker& m : scanner.markers) {
        const bool cf_marker = m.kind == MarkerKind::kCfCreate || m.kind == MarkerKind::kCfDrop;
        if (cf_marker && m.id > UINT32_MAX) return Status::Corruption(at + ": column family id out of range");
        const auto id = static_cast<uint32_t>(m.id);
        switch (m.kind) {
          case MarkerKind::kCfCreate: {
            auto found = known.find(id);
            if (found != known.end() && found->second != m.name) {
              return MarkNeedsBootstrap(at + ": the primary created column family '" + m.name + "' with id " +
                                             std::to_string(id) + ", which is '" + found->second + "' here");
            }
            for (const auto& [kid, kname] : known) {
              if (kname == m.name && kid != id) {
                return MarkNeedsBootstrap(at + ": the primary created column family '" + m.name + "' with id " +
                                               std::to_string(id) + ", but it exists here with id " +
                                               std::to_string(kid));
              }
            }
            known[id] = m.name;
            break;
          }
          case MarkerKind::kCfDrop: {
            if (id == 0 || id == local_id) {
              return Status::Corruption(at + ": marker drops column family id " + std::to_string(id) +
                                        ", which cannot be dropped");
            }
            auto found = known.find(id);
            if (found != known.end() && found->second != m.name) {
              return MarkNeedsBootstrap(at + ": the primary dropped column family '" + m.name + "' (id " +
                                             std::to_string(id) + "), which is '" + found->second + "' here");
            }
            known.erase(id);
            break;
          }
          case MarkerKind::kIngest:
            stop = true;  // executed (and reported) by Apply; nothing after it can apply
            break;
          case MarkerKind::kEpoch:
            if (epoch && m.id < *epoch) {
              return Status::FailedPrecondition(at + ": stream from epoch " + std::to_string(m.id) +
                                                ", older than this secondary's epoch " + std::to_string(*epoch) +
                                                " (a newer primary exists); refused");
            }
            if (cluster_id_ && m.name != *cluster_id_) {
              return Status::FailedPrecondition(at + ": epoch marker of another cluster; refused");
            }
            epoch = m.id;
            break;
        }
        if (stop) break;
      }
    }
    for (uint32_t id : scanner.cf_ids) {
      if (known.count(id) == 0) {
        return MarkNeedsBootstrap(at + ": writes column family id " + std::to_string(id) +
                                       ", which this secondary does not have");
      }
    }
    sc.markers = std::move(scanner.markers);
    scanned->push_back(std::move(sc));
    if (stop) break;
    expected = b.next_sequence();
  }
  return Status::OK();
}

Status Applier::Apply(const std::vector<replication::WalBatch>& batches) {
  if (needs_bootstrap_) return NeedsBootstrap(*needs_bootstrap_);
  if (!cursor_) {
    return NeedsBootstrap("this secondary has no replication position (no cursor in its local column family)");
  }
  if (batches.empty()) return Status::OK();
  std::vector<Scanned> scanned;
  scanned.reserve(batches.size());
  ROCKSDR_RETURN_IF_ERROR(Validate(batches, &scanned));

  std::string group;  // header + records of the current group
  uint32_t records = 0;
  uint64_t group_cursor = *cursor_;
  auto flush = [&]() -> Status {
    if (records == 0 && group_cursor == *cursor_) {
      group.clear();  // only LogData of count-0 batches: nothing to persist
      return Status::OK();
    }
    Status s = WriteGroup(&group, records, group_cursor, nullptr);
    records = 0;
    return s;
  };

  for (size_t i = 0; i < scanned.size(); ++i) {
    const replication::WalBatch& b = batches[i];
    const Scanned& sc = scanned[i];
    if (sc.markers.empty()) {
      const size_t body = b.rep.size() - kHeaderBytes;
      if (group.size() > kHeaderBytes && group.size() - kHeaderBytes + body > options_.max_group_bytes) {
        ROCKSDR_RETURN_IF_ERROR(flush());
      }
      if (group.empty()) group.assign(kHeaderBytes, '\0');
      group.append(b.rep, kHeaderBytes, std::string::npos);
      records += sc.header_count;
      if (b.count > 0) group_cursor = b.last_sequence();
      continue;
    }
    ROCKSDR_RETURN_IF_ERROR(flush());
    const Marker* new_epoch = nullptr;
    for (const Marker& m : sc.markers) {
      switch (m.kind) {
        case MarkerKind::kCfCreate:
          ROCKSDR_RETURN_IF_ERROR(ExecuteCfCreate(m.id, m.name));
          break;
        case MarkerKind::kCfDrop:
          ROCKSDR_RETURN_IF_ERROR(ExecuteCfDrop(m.id, m.name));
          break;
        case MarkerKind::kIngest:
          return MarkNeedsBootstrap("external file ingestion on the primary (column family id " +
                                    std::to_string(m.id) + ", " + std::to_string(m.count) +
                                    " files) at sequence " + std::to_string(b.sequence) +
                                    "; applied up to sequence " + std::to_string(*cursor_));
        case MarkerKind::kEpoch:
          new_epoch = &m;
          break;
      }
    }
    group_cursor = b.last_sequence();
    std::string empty;
    ROCKSDR_RETURN_IF_ERROR(WriteGroup(&empty, 0, group_cursor, new_epoch));
  }
  return flush();
}

Status Applier::WriteGroup(std::string* rep, uint32_t records, uint64_t new_cursor, const Marker* epoch) {
  if (rep->empty()) rep->assign(kHeaderBytes, '\0');
  std::memset(rep->data(), 0, 8);  // the secondary assigns its own sequence numbers
  EncodeFixed32(rep->data() + 8, records);
  rocksdb::WriteBatch wb(std::move(*rep));
  rep->clear();
  rocksdb::Status s = wb.Put(local_cf_, rocksdb::Slice(kLocalKeyCursor.data(), kLocalKeyCursor.size()),
                             Fixed64(new_cursor));
  if (s.ok() && epoch != nullptr) {
    s = wb.Put(local_cf_, rocksdb::Slice(kLocalKeyEpoch.data(), kLocalKeyEpoch.size()), Fixed64(epoch->id));
    const rocksdb::Slice history(kLocalKeyHistory.data(), kLocalKeyHistory.size());
    if (s.ok()) s = epoch->history.empty() ? wb.Delete(local_cf_, history) : wb.Put(local_cf_, history, epoch->history);
  }
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    s = db_->Write(wo, &wb);
  }
  if (!s.ok()) {
    return FromRocks(s, "applying primary batches up to sequence " + std::to_string(new_cursor) +
                            " (the secondary stays at sequence " + std::to_string(*cursor_) + ")");
  }
  cursor_ = new_cursor;
  applied_plus_one_.store(new_cursor + 1, std::memory_order_release);
  if (options_.sync) durable_plus_one_.store(new_cursor + 1, std::memory_order_release);
  if (epoch != nullptr) epoch_ = epoch->id;
  return Status::OK();
}

Status Applier::SyncWal() {
  const uint64_t applied = applied_plus_one_.load(std::memory_order_acquire);
  ROCKSDR_RETURN_IF_ERROR(FromRocks(db_->FlushWAL(/*sync=*/true), "syncing the secondary's WAL"));
  durable_plus_one_.store(applied, std::memory_order_release);
  return Status::OK();
}

Status Applier::ExecuteCfCreate(uint64_t id64, const std::string& name) {
  const auto id = static_cast<uint32_t>(id64);
  auto found = cfs_.find(id);
  if (found != cfs_.end()) {
    if (found->second.handle->GetName() == name) return Status::OK();  // replayed after a crash
    return MarkNeedsBootstrap("the primary created column family '" + name + "' with id " + std::to_string(id) +
                              ", which is '" + found->second.handle->GetName() + "' here");
  }
  const rocksdb::ColumnFamilyOptions cf_options =
      options_.cf_options ? options_.cf_options(name)
                          : rocksdb::ColumnFamilyOptions(db_->GetOptions(db_->DefaultColumnFamily()));
  rocksdb::ColumnFamilyHandle* h = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(cf_options, name, &h);
  if (!s.ok()) return FromRocks(s, "creating column family '" + name + "' as the primary did");
  if (h->GetID() != id) {
    const uint32_t got = h->GetID();
    db_->DropColumnFamily(h).PermitUncheckedError();
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    return MarkNeedsBootstrap("column family '" + name + "' got id " + std::to_string(got) +
                              " here but has id " + std::to_string(id) + " on the primary");
  }
  cfs_.emplace(id, Cf{h, true});
  return Status::OK();
}

Status Applier::ExecuteCfDrop(uint64_t id64, const std::string& name) {
  const auto id = static_cast<uint32_t>(id64);
  auto found = cfs_.find(id);
  if (found == cfs_.end()) return Status::OK();  // already dropped (replayed after a crash)
  rocksdb::Status s = db_->DropColumnFamily(found->second.handle);
  if (!s.ok()) return FromRocks(s, "dropping column family '" + name + "' as the primary did");
  if (found->second.owned) db_->DestroyColumnFamilyHandle(found->second.handle).PermitUncheckedError();
  cfs_.erase(found);
  return Status::OK();
}

}  // namespace rocksdr::plugin
