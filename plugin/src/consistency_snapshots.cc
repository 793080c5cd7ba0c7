// ConsistencySnapshots; see consistency_snapshots.h.
#include "consistency_snapshots.h"

#include <openssl/evp.h>

#include <algorithm>

namespace rocksdr::plugin {

namespace {

constexpr uint64_t kMaxBucketKeys = 100'000;
constexpr uint64_t kMaxBuckets = 10'000;
constexpr uint64_t kMaxKeysPerPage = 2'000'000;
// First/last keys of a page's buckets, before base64: keeps a page well under the control
// socket's 4 MiB message limit.
constexpr size_t kMaxPageKeyBytes = 1'500'000;

void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Incremental SHA-256 of one bucket.
class BucketHash {
 public:
  BucketHash() : ctx_(EVP_MD_CTX_new()) { Reset(); }
  ~BucketHash() { EVP_MD_CTX_free(ctx_); }
  BucketHash(const BucketHash&) = delete;
  BucketHash& operator=(const BucketHash&) = delete;
  bool ok() const { return ok_; }
  void Reset() { ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1; }
  void Add(const rocksdb::Slice& key, const rocksdb::Slice& value) {
    std::string len;
    PutVarint32(&len, static_cast<uint32_t>(key.size()));
    ok_ = ok_ && EVP_DigestUpdate(ctx_, len.data(), len.size()) == 1 &&
          EVP_DigestUpdate(ctx_, key.data(), key.size()) == 1;
    len.clear();
    PutVarint32(&len, static_cast<uint32_t>(value.size()));
    ok_ = ok_ && EVP_DigestUpdate(ctx_, len.data(), len.size()) == 1 &&
          EVP_DigestUpdate(ctx_, value.data(), value.size()) == 1;
  }
  std::string HexAndReset() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ok_ = ok_ && EVP_DigestFinal_ex(ctx_, md, &n) == 1;
    static const char* d = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < 16 && i < n; ++i) {
      hex.push_back(d[md[i] >> 4]);
      hex.push_back(d[md[i] & 15]);
    }
    const bool was_ok = ok_;
    Reset();
    ok_ = ok_ && was_ok;
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

}  // namespace

void ConsistencySnapshots::Free(Held& h) {
  h.iterators.clear();
  if (h.db != nullptr && h.snapshot != nullptr) h.db->ReleaseSnapshot(h.snapshot);
  h.snapshot = nullptr;
}

void ConsistencySnapshots::ExpireLocked() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = held_.begin(); it != held_.end();) {
    if (now - it->second.last_used > kConsistencySnapshotIdle) {
      Free(it->second);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<ConsistencySnapshot> ConsistencySnapshots::Add(
    rocksdb::DB* db, std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> cfs,
    const std::function<Result<uint64_t>(const rocksdb::Snapshot*)>& sequence_of, ConsistencySnapshot info) {
  std::lock_guard<std::mutex> l(mu_);
  ExpireLocked();
  if (held_.size() >= kMaxConsistencySnapshots) {
    return Status::ResourceExhausted("already " + std::to_string(held_.size()) +
                                     " consistency snapshots held: release one (or wait " +
                                     std::to_string(kConsistencySnapshotIdle.count()) + " minutes for expiry)");
  }
  std::sort(cfs.begin(), cfs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < cfs.size(); ++i) {
    if (cfs[i].first == cfs[i - 1].first) return Status::Internal("column family '" + cfs[i].first + "' listed twice");
  }
  Held h;
  h.db = db;
  h.snapshot = db->GetSnapshot();
  h.last_used = std::chrono::steady_clock::now();
  auto seq = sequence_of(h.snapshot);
  if (!seq.ok()) {
    Free(h);
    return seq.status();
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = h.snapshot;
  ro.fill_cache = false;
  info.column_families.clear();
  for (auto& [name, handle] : cfs) {
    h.iterators.emplace_back(name, std::unique_ptr<rocksdb::Iterator>(db->NewIterator(ro, handle)));
    info.column_families.push_back(name);
  }
  info.id = next_id_++;
  info.sequence = *seq;
  held_.emplace(info.id, std::move(h));
  return info;
}

Result<DigestPage> ConsistencySnapshots::Digest(const DigestRequest& r) {
  if (r.bucket_keys < 1 || r.bucket_keys > kMaxBucketKeys) {
    return Status::InvalidArgument("bucket_keys must be within 1.." + std::to_string(kMaxBucketKeys));
  }
  if (r.max_buckets < 1 || r.max_buckets > kMaxBuckets) {
    return Status::InvalidArgument("max_buckets must be within 1.." + std::to_string(kMaxBuckets));
  }
  std::lock_guard<std::mutex> l(mu_);
  ExpireLocked();
  auto found = held_.find(r.snapshot_id);
  if (found == held_.end()) {
    return Status::NotFound("no consistency snapshot " + std::to_string(r.snapshot_id) +
                            " (released, expired, or the DB was reopened by a bootstrap/promotion): take a new one");
  }
  Held& h = found->second;
  h.last_used = std::chrono::steady_clock::now();
  const uint64_t max_buckets = std::min(r.max_buckets, std::max<uint64_t>(1, kMaxKeysPerPage / r.bucket_keys));

  size_t cf_index = 0;
  if (!r.start.cf.empty()) {
    while (cf_index < h.iterators.size() && h.iterators[cf_index].first != r.start.cf) ++cf_index;
    if (cf_index == h.iterators.size()) {
      return Status::InvalidArgument("column family '" + r.start.cf + "' is not in this snapshot");
    }
  }
  DigestPage page;
  BucketHash hash;
  size_t key_bytes = 0;
  bool first_cf = true;
  for (; cf_index < h.iterators.size(); ++cf_index, first_cf = false) {
    const std::string& name = h.iterators[cf_index].first;
    rocksdb::Iterator* it = h.iterators[cf_index].second.get();
    const auto full = [&] { return page.buckets.size() >= max_buckets || key_bytes > kMaxPageKeyBytes; };
    const auto stop_here = [&] {
      page.more = true;
      if (!page.buckets.empty() && page.buckets.back().cf == name && page.buckets.back().keys > 0) {
        page.next = DigestPosition{name, true, page.buckets.back().last_key};
      } else {
        page.next = DigestPosition{name, false, ""};
      }
    };
    if (first_cf && !r.start.cf.empty() && r.start.has_after) {
      it->Seek(r.start.after);
      if (it->Valid() && it->key() == rocksdb::Slice(r.start.after)) it->Next();
    } else {
      if (full()) {
        stop_here();
        return page;
      }
      it->SeekToFirst();
      if (!it->Valid() && it->status().ok()) {
        page.buckets.push_back(DigestBucket{name, "", "", 0, hash.HexAndReset()});  // empty column family
      }
    }
    while (it->Valid()) {
      if (full()) {
        stop_here();
        return page;
      }
      DigestBucket b;
      b.cf = name;
      b.first_key = it->key().ToString();
      for (; it->Valid() && b.keys < r.bucket_keys; it->Next()) {
        hash.Add(it->key(), it->value());
        b.last_key.assign(it->key().data(), it->key().size());
        ++b.keys;
      }
      b.hash = hash.HexAndReset();
      key_bytes += b.first_key.size() + b.last_key.size();
      page.buckets.push_back(std::move(b));
    }
    if (!it->status().ok()) {
      return Status::IOError("reading column family '" + name + "' at the snapshot: " + it->status().ToString());
    }
  }
  if (!hash.ok()) return Status::Internal("SHA-256 failed (OpenSSL)");
  return page;
}

Status ConsistencySnapshots::Release(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = held_.find(id);
  if (it == held_.end()) return Status::NotFound("no consistency snapshot " + std::to_string(id));
  Free(it->second);
  held_.erase(it);
  return Status::OK();
}

void ConsistencySnapshots::ReleaseAll() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id, h] : held_) Free(h);
  held_.clear();
}

}  // namespace rocksdr::plugin
