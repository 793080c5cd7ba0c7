// RunConsistencyCheck; see rocksdr/sidecar/consistency_check.h.
#include "rocksdr/sidecar/consistency_check.h"

#include <algorithm>
#include <deque>

#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/replication/control_protocol.h"

namespace rocksdr::sidecar {

namespace ctl = replication::control;
using nlohmann::json;

namespace {

struct Bucket {
  std::string cf, first, last, hash;
  uint64_t keys = 0;
  bool operator==(const Bucket& o) const {
    return cf == o.cf && first == o.first && last == o.last && keys == o.keys && hash == o.hash;
  }
};

struct Snap {
  uint64_t id = 0, sequence = 0, epoch = 0;
  std::string role;
};

Result<Snap> ParseSnap(const json& j, const std::string& who) {
  Snap s;
  auto id = ctl::GetUint(j, "snapshot_id");
  auto seq = ctl::GetUint(j, "sequence");
  auto epoch = ctl::GetUint(j, "epoch", false);
  auto role = ctl::GetString(j, "role", 64, false);
  if (!id.ok() || !seq.ok() || !epoch.ok() || !role.ok()) {
    return Status::Corruption(who + " answered a snapshot without snapshot_id/sequence");
  }
  s.id = *id;
  s.sequence = *seq;
  s.epoch = *epoch;
  s.role = *role;
  return s;
}

// Reads one node's digest bucket by bucket, a page at a time.
class Reader {
 public:
  Reader(const ConsistencyNode& node, uint64_t snapshot, uint64_t bucket_keys, uint64_t page_buckets,
         json start = json::object())
      : node_(node), snapshot_(snapshot), bucket_keys_(bucket_keys), page_buckets_(page_buckets),
        next_(std::move(start)) {}

  // The next bucket, or nullopt at the end.
  Result<std::optional<Bucket>> Next() {
    while (buf_.empty() && more_) {
      json args = next_;
      args["snapshot_id"] = snapshot_;
      args["bucket_keys"] = bucket_keys_;
      args["max_buckets"] = page_buckets_;
      auto page = node_.call(ctl::kOpConsistencyDigest, args);
      if (!page.ok()) return page.status().WithContext(node_.name + " digest");
      if (!page->is_object() || !(*page)["buckets"].is_array()) {
        return Status::Corruption(node_.name + " answered a digest page without buckets");
      }
      for (const json& b : (*page)["buckets"]) {
        Bucket x;
        auto cf = ctl::GetString(b, "cf", ctl::kMaxCfNameBytes);
        auto first = ctl::GetBytes(b, "first_key_b64", ctl::kMaxDigestKeyBytes, false);
        auto last = ctl::GetBytes(b, "last_key_b64", ctl::kMaxDigestKeyBytes, false);
        auto keys = ctl::GetUint(b, "keys", false);
        auto hash = ctl::GetString(b, "hash", 128);
        if (!cf.ok() || !first.ok() || !last.ok() || !keys.ok() || !hash.ok()) {
          return Status::Corruption(node_.name + " answered a malformed digest bucket");
        }
        x.cf = *cf;
        x.first = *first;
        x.last = *last;
        x.keys = *keys;
        x.hash = *hash;
        buf_.push_back(std::move(x));
      }
      more_ = page->value("more", false);
      if (more_) {
        next_ = json::object();
        next_["start_cf"] = page->value("next_cf", "");
        if (page->contains("next_after_b64")) next_["start_after_b64"] = (*page)["next_after_b64"];
        if (buf_.empty() && (*page)["buckets"].empty() && ++empty_pages_ > 2) {
          return Status::Corruption(node_.name + " answered empty digest pages that promise more");
        }
      }
    }
    if (buf_.empty()) return std::optional<Bucket>();
    Bucket b = std::move(buf_.front());
    buf_.pop_front();
    return std::optional<Bucket>(std::move(b));
  }

 private:
  const ConsistencyNode& node_;
  const uint64_t snapshot_, bucket_keys_, page_buckets_;
  json next_;
  bool more_ = true;
  int empty_pages_ = 0;
  std::deque<Bucket> buf_;
};

ConsistencyRange Range(const std::optional<Bucket>& b) {
  ConsistencyRange r;
  if (!b) return r;
  r.cf = b->cf;
  r.first_key = b->first;
  r.last_key = b->last;
  r.keys = b->keys;
  r.present = true;
  return r;
}

// Key-by-key comparison from `start` on, over at most `limit` keys: names the first differing key.
Status DrillDown(const ConsistencyNode& a, const Snap& sa, const ConsistencyNode& b, const Snap& sb,
                 const json& start, uint64_t limit, ConsistencyReport* report) {
  Reader ra(a, sa.id, 1, std::min<uint64_t>(limit, 10'000), start);
  Reader rb(b, sb.id, 1, std::min<uint64_t>(limit, 10'000), start);
  for (uint64_t i = 0; i <= limit; ++i) {
    auto x = ra.Next();
    if (!x.ok()) return x.status();
    auto y = rb.Next();
    if (!y.ok()) return y.status();
    if (!*x && !*y) return Status::OK();
    const std::optional<Bucket>& p = *x;
    const std::optional<Bucket>& q = *y;
    if (p && q && *p == *q) continue;
    // Digest order: column families by name, then keys; an empty column family's bucket (no key)
    // sorts after any key of that column family.
    const auto before = [](const Bucket& u, const Bucket& v) {
      if (u.cf != v.cf) return u.cf < v.cf;
      if (u.keys == 0) return false;
      if (v.keys == 0) return true;
      return u.first < v.first;
    };
    const auto only_on = [&](const Bucket& u, const std::string& side) {
      report->first_differing_key = u.first;
      report->difference = u.keys == 0 ? "column family '" + u.cf + "' exists (empty) only on " + side
                                       : "column family '" + u.cf + "', key '" + EscapeKey(u.first) + "': only on " + side;
    };
    if (p && q && p->cf == q->cf && p->keys == 1 && q->keys == 1 && p->first == q->first) {
      report->first_differing_key = p->first;
      report->difference = "column family '" + p->cf + "', key '" + EscapeKey(p->first) + "': values differ";
    } else if (p && (!q || before(*p, *q))) {
      only_on(*p, a.name);
    } else if (q) {
      only_on(*q, b.name);
    }
    return Status::OK();
  }
  return Status::OK();
}

}  // namespace

std::string EscapeKey(std::string_view key) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < key.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(d[c >> 4]);
      out.push_back(d[c & 15]);
    }
  }
  if (key.size() > 200) out += "...";
  return out;
}

json ConsistencyReport::ToJson(const std::string& a_name, const std::string& b_name) const {
  auto range = [](const ConsistencyRange& r) {
    if (!r.present) return json(nullptr);
    return json{{"cf", r.cf},
                {"first_key", EscapeKey(r.first_key)},
                {"last_key", EscapeKey(r.last_key)},
                {"first_key_b64", ctl::EncodeBytes(r.first_key)},
                {"last_key_b64", ctl::EncodeBytes(r.last_key)},
                {"keys", r.keys}};
  };
  json j{{"match", match},
         {"buckets_compared", buckets_compared},
         {"keys_compared", keys_compared},
         {"nodes",
          {{a_name, {{"sequence", a_sequence}, {"epoch", a_epoch}, {"role", a_role}}},
           {b_name, {{"sequence", b_sequence}, {"epoch", b_epoch}, {"role", b_role}}}}}};
  if (a_sequence == b_sequence) j["sequence"] = a_sequence;
  if (!match) {
    json d{{"description", difference}, {a_name, range(a_range)}, {b_name, range(b_range)}};
    if (first_differing_key) {
      d["key"] = EscapeKey(*first_differing_key);
      d["key_b64"] = ctl::EncodeBytes(*first_differing_key);
    }
    j["first_difference"] = std::move(d);
  }
  return j;
}

Result<ConsistencyReport> RunConsistencyCheck(const ConsistencyNode& a, const ConsistencyNode& b,
                                              const ConsistencyCheckOptions& o) {
  if (o.bucket_keys < 1 || o.bucket_keys > 100'000) return Status::InvalidArgument("bucket_keys must be within 1..100000");
  if (o.page_buckets < 1 || o.page_buckets > 10'000) return Status::InvalidArgument("page_buckets must be within 1..10000");
  if (o.timeout_ms < 1 || o.timeout_ms > ctl::kMaxConsistencyTimeoutMs) {
    return Status::InvalidArgument("timeout must be within 1 ms..30 s");
  }
  std::optional<Snap> sa, sb;
  auto release = [&] {
    if (sa) (void)a.call(ctl::kOpConsistencyRelease, json{{"snapshot_id", sa->id}});
    if (sb) (void)b.call(ctl::kOpConsistencyRelease, json{{"snapshot_id", sb->id}});
  };
  auto run = [&]() -> Result<ConsistencyReport> {
    if (o.mode == ConsistencyMode::kLive) {
      auto paused = b.call(ctl::kOpConsistencyPause, json{{"timeout_ms", o.timeout_ms}});
      if (!paused.ok()) return paused.status().WithContext(b.name + " pause");
    }
    auto ja = a.call(ctl::kOpConsistencySnapshot, json{{"timeout_ms", o.timeout_ms}});
    if (!ja.ok()) return ja.status().WithContext(a.name + " snapshot");
    auto pa = ParseSnap(*ja, a.name);
    if (!pa.ok()) return pa.status();
    sa = *pa;
    json args{{"timeout_ms", o.timeout_ms}};
    if (o.mode == ConsistencyMode::kLive) args["at_sequence"] = sa->sequence;
    auto jb = b.call(ctl::kOpConsistencySnapshot, args);
    if (!jb.ok()) return jb.status().WithContext(b.name + " snapshot");
    auto pb = ParseSnap(*jb, b.name);
    if (!pb.ok()) return pb.status();
    sb = *pb;

    ConsistencyReport report;
    report.a_sequence = sa->sequence;
    report.b_sequence = sb->sequence;
    report.a_epoch = sa->epoch;
    report.b_epoch = sb->epoch;
    report.a_role = sa->role;
    report.b_role = sb->role;
    Reader ra(a, sa->id, o.bucket_keys, o.page_buckets);
    Reader rb(b, sb->id, o.bucket_keys, o.page_buckets);
    std::optional<Bucket> prev;
    while (true) {
      auto x = ra.Next();
      if (!x.ok()) return x.status();
      auto y = rb.Next();
      if (!y.ok()) return y.status();
      if (!*x && !*y) {
        report.match = true;
        return report;
      }
      if (*x && *y && **x == **y) {
        ++report.buckets_compared;
        report.keys_compared += (*x)->keys;
        prev = *x;
        continue;
      }
      report.a_range = Range(*x);
      report.b_range = Range(*y);
      // The difference starts in the column family that comes first in digest order (by name): when
      // one side has extra keys at the end of a column family, its bucket there faces the other
      // side's bucket of the NEXT column family.
      const std::string cf = *x && *y ? std::min((*x)->cf, (*y)->cf) : *x ? (*x)->cf : (*y)->cf;
      report.difference = "the digests differ in column family '" + cf + "'";
      // Key by key from the end of the last equal bucket (or the start of the column family).
      json start{{"start_cf", cf}};
      if (prev && prev->cf == cf && prev->keys > 0) start["start_after_b64"] = ctl::EncodeBytes(prev->last);
      ROCKSDR_RETURN_IF_ERROR(DrillDown(a, *sa, b, *sb, start, o.bucket_keys, &report));
      return report;
    }
  };
  Result<ConsistencyReport> r = run();
  release();
  return r;
}

}  // namespace rocksdr::sidecar
