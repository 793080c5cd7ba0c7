#include "kv_service/kv_api.h"

#include <rocksdb/write_batch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <utility>

#include "kv_service/bulk_parser.h"
#include "kv_service/key_codec.h"

namespace rocksdr::examples {

namespace {

constexpr std::string_view kKvPrefix = "/kv/";

HttpResponse Json(unsigned status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse MethodNotAllowed(const std::string& method, const std::string& path, const std::string& allow) {
  HttpResponse r = JsonError(405, method + " is not allowed on " + path + ": use " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// What one access to the DB gave: the runtime's status (the DB may be closed for a bootstrap),
// RocksDB's (the plugin's refusals are NotSupported), and the role and epoch it ran under.
struct DbOutcome {
  Status runtime;
  rocksdb::Status db;
  Role role = Role::kDisabled;
  uint64_t epoch = 0;
  bool ok() const { return runtime.ok() && db.ok(); }
};

DbOutcome RunOnDb(Replicator* r, const std::function<rocksdb::Status(ReplicatedDB*)>& op) {
  DbOutcome out;
  out.runtime = r->WithDb([&](ReplicatedDB* db, const std::vector<rocksdb::ColumnFamilyHandle*>&) {
    out.role = db->role();
    out.epoch = db->epoch();
    out.db = op(db);
    return Status::OK();
  });
  return out;
}

std::string RocksMessage(const rocksdb::Status& s) {
  return s.getState() != nullptr ? std::string(s.getState()) : s.ToString();
}

// Maps a failed DbOutcome to the response (see kv_api.h).
HttpResponse DbError(const DbOutcome& o) {
  if (!o.runtime.ok()) {
    return JsonError(503, "the database is not available: " + o.runtime.message() + "; retry shortly");
  }
  const rocksdb::Status& s = o.db;
  unsigned status = 500;
  if (s.IsNotSupported() || s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsIncomplete()) status = 503;
  else if (s.IsInvalidArgument()) status = 400;
  nlohmann::json body{{"error", RocksMessage(s)}, {"role", std::string(RoleName(o.role))}, {"epoch", o.epoch}};
  if (s.IsNotSupported() && o.role == Role::kSecondary) {
    body["hint"] = "this site is a DR secondary: send requests to the primary, or promote this site first";
  }
  return Json(status, body);
}

std::string_view ConnectionStateText(ConnectionState s) {
  switch (s) {
    case ConnectionState::kDisconnected: return "disconnected";
    case ConnectionState::kConnecting: return "connecting";
    case ConnectionState::kBootstrapping: return "bootstrapping";
    case ConnectionState::kStreaming: return "streaming";
    case ConnectionState::kNeedsBootstrap: return "needs-bootstrap";
    case ConnectionState::kRevoked: return "revoked";
  }
  return "unknown";
}

}  // namespace

BodyLimit KvApi::BodyLimitFor(const std::string& method, const std::string& target) const {
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const std::string shown(path.substr(0, 256));
  // A method the route refuses is answered 405 (as Handle would) before its body is read, so a
  // body is never what gets it refused (413).
  BodyLimit none{0, method + " " + shown, std::nullopt};
  if (path.substr(0, kKvPrefix.size()) == kKvPrefix || path == "/kv") {
    if (method == "PUT") return {limits_.max_value_bytes, "PUT /kv/{key} (--max-value-bytes)", std::nullopt};
    if (method != "GET" && method != "DELETE") none.refusal = MethodNotAllowed(method, "/kv/{key}", "GET, PUT, DELETE");
    return none;
  }
  if (path == "/bulk") {
    if (method == "POST") return {limits_.max_bulk_bytes, "POST /bulk (--max-bulk-bytes)", std::nullopt};
    none.refusal = MethodNotAllowed(method, shown, "POST");
    return none;
  }
  if (path == "/healthz" && method != "GET") none.refusal = MethodNotAllowed(method, shown, "GET");
  return none;
}

HttpResponse KvApi::Handle(HttpRequest&& req) const {
  const std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/healthz") {
    if (req.method != "GET") return MethodNotAllowed(req.method, path, "GET");
    return Healthz();
  }
  if (path == "/bulk") {
    if (req.method != "POST") return MethodNotAllowed(req.method, path, "POST");
    return Bulk(req);
  }
  if (path.compare(0, kKvPrefix.size(), kKvPrefix) == 0 || path == "/kv") {
    if (req.method != "GET" && req.method != "PUT" && req.method != "DELETE") {
      return MethodNotAllowed(req.method, "/kv/{key}", "GET, PUT, DELETE");
    }
    auto key = DecodeKey(path.size() > kKvPrefix.size() ? std::string_view(path).substr(kKvPrefix.size())
                                                        : std::string_view(),
                         limits_.max_key_bytes);
    if (!key.ok()) return JsonError(400, key.status().message());
    if (req.method == "PUT") return Put(*key, std::move(req.body));
    if (req.method == "GET") return Get(*key);
    return Delete(*key);
  }
  return JsonError(404, "no such endpoint: " + path.substr(0, 256) +
                            " (the service answers /kv/{key}, /bulk and /healthz)");
}

HttpResponse KvApi::Put(const std::string& key, std::string&& value) const {
  const DbOutcome o = RunOnDb(replicator_, [&](ReplicatedDB* db) { return db->Put(rocksdb::WriteOptions(), key, value); });
  if (!o.ok()) return DbError(o);
  return Json(200, {{"key", key}, {"bytes", value.size()}});
}

HttpResponse KvApi::Get(const std::string& key) const {
  std::string value;
  const DbOutcome o = RunOnDb(replicator_, [&](ReplicatedDB* db) { return db->Get(rocksdb::ReadOptions(), key, &value); });
  if (o.runtime.ok() && o.db.IsNotFound()) return JsonError(404, "key '" + EncodeKey(key) + "' not found");
  if (!o.ok()) return DbError(o);
  HttpResponse r;
  r.content_type = "application/octet-stream";
  r.body = std::move(value);
  return r;
}

HttpResponse KvApi::Delete(const std::string& key) const {
  const DbOutcome o = RunOnDb(replicator_, [&](ReplicatedDB* db) { return db->Delete(rocksdb::WriteOptions(), key); });
  if (!o.ok()) return DbError(o);
  return Json(200, {{"deleted", key}});
}

HttpResponse KvApi::Bulk(const HttpRequest& req) const {
  // ?format=text|json overrides the Content-Type.
  const size_t q = req.target.find('?');
  const std::string query = q == std::string::npos ? "" : "&" + req.target.substr(q + 1) + "&";
  std::string content_type = req.content_type;
  if (query.find("&format=json&") != std::string::npos) {
    content_type = "application/json";
  } else if (query.find("&format=text&") != std::string::npos) {
    content_type = "text/plain";
  } else if (query.find("format=") != std::string::npos) {
    return JsonError(400, "format must be text or json");
  }
  auto records = ParseBulk(content_type, req.body, limits_);
  if (!records.ok()) return JsonError(400, records.status().message());
  size_t written = 0, batches = 0;
  while (written < records->size()) {
    rocksdb::WriteBatch batch;
    size_t n = 0, bytes = 0;
    while (written + n < records->size() && n < limits_.bulk_chunk_records && bytes < limits_.bulk_chunk_bytes) {
      const KvRecord& rec = (*records)[written + n];
      const rocksdb::Status s = batch.Put(rec.first, rec.second);
      if (!s.ok()) return JsonError(500, "building the write batch: " + s.ToString());
      bytes += rec.first.size() + rec.second.size();
      ++n;
    }
    const DbOutcome o = RunOnDb(replicator_, [&](ReplicatedDB* db) { return db->Write(rocksdb::WriteOptions(), &batch); });
    if (!o.ok()) {
      HttpResponse r = DbError(o);
      // Say how far the load got: the chunks before this one are written (each atomically).
      nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      if (body.is_object()) {
        body["written"] = written;
        body["batches"] = batches;
        r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      return r;
    }
    written += n;
    ++batches;
  }
  return Json(200, {{"written", written}, {"batches", batches}});
}

HttpResponse KvApi::Healthz() const {
  const ReplicationStatus st = replicator_->GetStatus();
  nlohmann::json j{{"status", st.background_error.empty() ? "ok" : "degraded"},
                   {"role", std::string(RoleName(st.role))},
                   {"epoch", st.epoch},
                   {"cluster_id", st.cluster_id},
                   {"writes_accepted", st.role != Role::kSecondary && st.fenced_reason.empty()},
                   {"last_sequence", st.last_sequence_written}};
  if (!st.fenced_reason.empty()) j["fenced_reason"] = st.fenced_reason;
  if (!st.background_error.empty()) j["background_error"] = st.background_error;
  nlohmann::json repl;
  if (st.role == Role::kPrimary) {
    repl["state"] = replicator_->port() != 0 ? "serving" : "not-listening";
    repl["listen_port"] = replicator_->port();
    nlohmann::json secs = nlohmann::json::array();
    for (const SecondaryStatus& s : st.secondaries) {
      secs.push_back({{"id", s.id},
                      {"state", std::string(ConnectionStateText(s.state))},
                      {"acked_sequence", s.acked_sequence},
                      {"lag_sequences", s.lag_sequences},
                      {"lag_bytes", s.lag_bytes},
                      {"lag_ms", s.lag_ms},
                      {"last_heartbeat_unix_ms", s.last_heartbeat_unix_ms}});
    }
    repl["secondaries"] = std::move(secs);
  } else if (st.role == Role::kSecondary) {
    const PrimaryLinkStatus& p = st.primary_link;
    repl["state"] = std::string(ConnectionStateText(p.state));
    repl["primary_address"] = p.primary_address;
    repl["primary_epoch"] = p.primary_epoch;
    repl["applied_sequence"] = st.last_sequence_applied.value_or(0);
    repl["primary_sequence"] = p.primary_sequence;
    repl["lag_sequences"] = p.lag_sequences;
    repl["last_heartbeat_unix_ms"] = p.last_heartbeat_unix_ms;
    repl["reconnects"] = p.reconnects;
    if (p.halted) repl["halted"] = true;
    if (!p.last_error.empty()) repl["last_error"] = p.last_error;
    if (st.bootstrap.active) {
      repl["bootstrap"] = {{"files_done", st.bootstrap.files_done},
                           {"files_total", st.bootstrap.files_total},
                           {"bytes_done", st.bootstrap.bytes_done},
                           {"bytes_total", st.bootstrap.bytes_total}};
    }
  } else {
    repl["state"] = "disabled";
  }
  j["replication"] = std::move(repl);
  return Json(200, j);
}

}  // namespace rocksdr::examples
