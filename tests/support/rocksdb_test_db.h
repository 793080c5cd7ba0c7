// Test helpers for data-plane tests that drive RocksDB directly: a temporary directory, a uint64
// add merge operator, a DB opened with rocksdr's reserved column families, reading a primary's WAL
// into WalBatch values the way the tailer ships them, and dumping a column family.
//
// Who may include: tests only. Not thread-safe; one test thread.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../plugin/src/marker.h"
#include "../../plugin/src/reserved_cf.h"
#include "rocksdr/replication/wal_batch.h"

namespace rocksdr::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rocksdr-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
inline uint64_t DecodeU64(const rocksdb::Slice& s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0 && static_cast<size_t>(i) < s.size(); --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// Counters: values are fixed64 LE; Merge adds.
class UInt64AddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    *new_value = EncodeU64((existing ? DecodeU64(*existing) : 0) + DecodeU64(value));
    return true;
  }
  const char* Name() const override { return "RocksdrTestUInt64Add"; }
};

// A DB with default, kReplicatedCf, kLocalCf and `extra` column families (created in that order
// when missing, so two fresh TestDbs get the same ids). Reopen() opens every existing CF.
class TestDb {
 public:
  explicit TestDb(std::string path, std::vector<std::string> extra = {}) : path_(std::move(path)) {
    names_ = {rocksdb::kDefaultColumnFamilyName, std::string(plugin::kReplicatedCf), std::string(plugin::kLocalCf)};
    for (auto& e : extra) names_.push_back(e);
    Open();
  }
  ~TestDb() { Close(); }

  static rocksdb::Options DefaultOptions() {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    o.merge_operator = std::make_shared<UInt64AddOperator>();
    o.WAL_ttl_seconds = 3600;  // keep archived WAL for the tailing in tests
    return o;
  }

  void Open() {
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path_, &existing).ok()) {
      for (auto& e : existing) {
        if (std::find(names_.begin(), names_.end(), e) == names_.end()) names_.push_back(e);
      }
      // Drop names that no longer exist (dropped CFs) unless they are ours to create.
      std::vector<std::string> kept;
      for (auto& n : names_) {
        if (std::find(existing.begin(), existing.end(), n) != existing.end() || n == rocksdb::kDefaultColumnFamilyName)
          kept.push_back(n);
      }
      names_ = kept;
    }
    const rocksdb::Options o = DefaultOptions();
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (auto& n : names_) descs.emplace_back(n, rocksdb::ColumnFamilyOptions(o));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(o), path_, descs, &handles, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    handles_ = handles;
  }

  void Close() {
    if (!db_) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  rocksdb::DB* db() const { return db_.get(); }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) const {
    for (auto* h : handles_) {
      if (h->GetName() == name) return h;
    }
    return nullptr;
  }
  rocksdb::ColumnFamilyHandle* local() const { return cf(std::string(plugin::kLocalCf)); }

  // Creates a CF (kept in handles()) and writes its cf-create marker batch, as the wrapper does.
  rocksdb::ColumnFamilyHandle* CreateCfWithMarker(const std::string& name) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(DefaultOptions()), name, &h);
    EXPECT_TRUE(s.ok()) << s.ToString();
    handles_.push_back(h);
    names_.push_back(name);
    plugin::Marker m;
    m.kind = plugin::MarkerKind::kCfCreate;
    m.id = h->GetID();
    m.name = name;
    WriteMarker(m);
    return h;
  }
  void DropCfWithMarker(const std::string& name) {
    rocksdb::ColumnFamilyHandle* h = cf(name);
    ASSERT_NE(h, nullptr);
    plugin::Marker m;
    m.kind = plugin::MarkerKind::kCfDrop;
    m.id = h->GetID();
    m.name = name;
    ASSERT_TRUE(db_->DropColumnFamily(h).ok());
    WriteMarker(m);
    handles_.erase(std::find(handles_.begin(), handles_.end(), h));
    names_.erase(std::find(names_.begin(), names_.end(), name));
    ASSERT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
  }
  void WriteMarker(const plugin::Marker& m) {
    rocksdb::WriteBatch wb;
    ASSERT_TRUE(wb.PutLogData(plugin::EncodeMarker(m)).ok());
    ASSERT_TRUE(wb.Put(local(), "marker", EncodeU64(db_->GetLatestSequenceNumber() + 1)).ok());
    ASSERT_TRUE(db_->Write(rocksdb::WriteOptions(), &wb).ok());
  }

  std::map<std::string, std::string> Dump(const std::string& name) const {
    std::map<std::string, std::string> out;
    rocksdb::ColumnFamilyHandle* h = cf(name);
    if (h == nullptr) return out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace(it->key().ToString(), it->value().ToString());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

 private:
  std::string path_;
  std::vector<std::string> names_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Converts one primary WAL batch into what the tailer ships: records of the node-local CF are
// dropped (a marker batch keeps only its LogData), count stays the primary's.
inline replication::WalBatch ToShipped(uint64_t sequence, rocksdb::WriteBatch& wb, uint32_t local_cf_id) {
  struct Split : rocksdb::WriteBatch::Handler {
    uint32_t local;
    bool touches_local = false;
    bool other_records = false;
    std::vector<std::string> blobs;
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Note(cf); }
    rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
    rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
    rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Note(cf); }
    rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override { return Note(cf); }
    void LogData(const rocksdb::Slice& b) override { blobs.push_back(b.ToString()); }
    rocksdb::Status Note(uint32_t cf) {
      (cf == local ? touches_local : other_records) = true;
      return rocksdb::Status::OK();
    }
  } split;
  split.local = local_cf_id;
  EXPECT_TRUE(wb.Iterate(&split).ok());
  replication::WalBatch out;
  out.sequence = sequence;
  out.count = wb.Count();
  if (!split.touches_local) {
    out.rep = wb.Data();
    return out;
  }
  EXPECT_FALSE(split.other_records) << "test primaries write the local CF only in marker batches";
  rocksdb::WriteBatch stripped;
  for (auto& b : split.blobs) EXPECT_TRUE(stripped.PutLogData(b).ok());
  out.rep = stripped.Data();
  return out;
}

// Reads the primary's WAL from `from` (a batch boundary) to its end.
inline std::vector<replication::WalBatch> ReadWal(rocksdb::DB* db, uint64_t from, uint32_t local_cf_id) {
  std::vector<replication::WalBatch> out;
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  rocksdb::Status s = db->GetUpdatesSince(from, &it);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  uint64_t expected = from;
  for (; it->Valid(); it->Next()) {
    rocksdb::BatchResult r = it->GetBatch();
    EXPECT_EQ(r.sequence, expected) << "WAL gap in the test primary";
    out.push_back(ToShipped(r.sequence, *r.writeBatchPtr, local_cf_id));
    expected = out.back().next_sequence();
  }
  return out;
}

}  // namespace rocksdr::testing
