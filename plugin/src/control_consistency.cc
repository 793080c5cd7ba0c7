// HandleConsistencyOp; see control_consistency.h. Wire shapes: replication/PROTOCOL.md.
#include "control_consistency.h"

#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/replication/control_protocol.h"

namespace rocksdr::plugin {

namespace ctl = replication::control;
using nlohmann::json;

namespace {

Result<std::chrono::milliseconds> Timeout(const json& args, const char* op) {
  auto t = ctl::GetUint(args, "timeout_ms", /*required=*/false);
  if (!t.ok()) return t.status().WithContext(op);
  uint64_t ms = *t == 0 ? 10'000 : *t;
  if (ms > ctl::kMaxConsistencyTimeoutMs) {
    return Status::InvalidArgument(std::string(op) + ": timeout_ms is above " +
                                   std::to_string(ctl::kMaxConsistencyTimeoutMs));
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

Result<json> HandleConsistencyOp(Replicator* replicator, const std::string& op, const json& args) {
  if (op == ctl::kOpConsistencyPause) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"timeout_ms"}, "consistency_pause"));
    auto t = Timeout(args, "consistency_pause");
    if (!t.ok()) return t.status();
    auto seq = replicator->PauseApply(*t);
    if (!seq.ok()) return seq.status();
    return json{{"sequence", *seq}};
  }
  if (op == ctl::kOpConsistencySnapshot) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"at_sequence", "timeout_ms"}, "consistency_snapshot"));
    auto t = Timeout(args, "consistency_snapshot");
    if (!t.ok()) return t.status();
    std::optional<uint64_t> at;
    if (args.contains("at_sequence") && !args["at_sequence"].is_null()) {
      auto a = ctl::GetUint(args, "at_sequence");
      if (!a.ok()) return a.status().WithContext("consistency_snapshot");
      at = *a;
    }
    auto snap = replicator->TakeConsistencySnapshot(at, *t);
    if (!snap.ok()) return snap.status();
    return json{{"snapshot_id", snap->id},
                {"sequence", snap->sequence},
                {"role", std::string(RoleName(snap->role))},
                {"epoch", snap->epoch},
                {"cluster_id", snap->cluster_id},
                {"column_families", snap->column_families}};
  }
  if (op == ctl::kOpConsistencyDigest) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(
        args, {"snapshot_id", "bucket_keys", "max_buckets", "start_cf", "start_after_b64"}, "consistency_digest"));
    DigestRequest r;
    auto id = ctl::GetUint(args, "snapshot_id");
    if (!id.ok()) return id.status().WithContext("consistency_digest");
    r.snapshot_id = *id;
    auto keys = ctl::GetUint(args, "bucket_keys", /*required=*/false);
    if (!keys.ok()) return keys.status().WithContext("consistency_digest");
    if (*keys != 0) r.bucket_keys = *keys;
    auto buckets = ctl::GetUint(args, "max_buckets", /*required=*/false);
    if (!buckets.ok()) return buckets.status().WithContext("consistency_digest");
    if (*buckets != 0) r.max_buckets = *buckets;
    auto cf = ctl::GetString(args, "start_cf", ctl::kMaxCfNameBytes, /*required=*/false);
    if (!cf.ok()) return cf.status().WithContext("consistency_digest");
    r.start.cf = *cf;
    if (args.contains("start_after_b64")) {
      auto after = ctl::GetBytes(args, "start_after_b64", ctl::kMaxDigestKeyBytes, /*required=*/true);
      if (!after.ok()) return after.status().WithContext("consistency_digest");
      if (r.start.cf.empty()) return Status::InvalidArgument("consistency_digest: start_after_b64 needs start_cf");
      r.start.has_after = true;
      r.start.after = *after;
    }
    auto page = replicator->DigestConsistencySnapshot(r);
    if (!page.ok()) return page.status();
    json out = json::array();
    for (const DigestBucket& b : page->buckets) {
      out.push_back({{"cf", b.cf},
                     {"first_key_b64", ctl::EncodeBytes(b.first_key)},
                     {"last_key_b64", ctl::EncodeBytes(b.last_key)},
                     {"keys", b.keys},
                     {"hash", b.hash}});
    }
    json result{{"buckets", std::move(out)}, {"more", page->more}};
    if (page->more) {
      result["next_cf"] = page->next.cf;
      if (page->next.has_after) result["next_after_b64"] = ctl::EncodeBytes(page->next.after);
    }
    return result;
  }
  if (op == ctl::kOpConsistencyRelease) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"snapshot_id"}, "consistency_release"));
    auto id = ctl::GetUint(args, "snapshot_id");
    if (!id.ok()) return id.status().WithContext("consistency_release");
    ROCKSDR_RETURN_IF_ERROR(replicator->ReleaseConsistencySnapshot(*id));
    return json::object();
  }
  return Status::InvalidArgument("not a consistency op: '" + op.substr(0, ctl::kMaxOpBytes) + "'");
}

}  // namespace rocksdr::plugin
