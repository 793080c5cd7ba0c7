// KvApi: the kv_service's HTTP endpoints over a replicated DB (rocksdr::Replicator).
//
//   PUT    /kv/{key}   body = the value (raw bytes)      200 {"key","bytes"}
//   GET    /kv/{key}                                     200 the value (application/octet-stream)
//                                                        404 {"error"} if absent
//   DELETE /kv/{key}                                     200 {"deleted"}
//   POST   /bulk       key<TAB>value lines, or a JSON object (kv_service/bulk_parser.h): by the
//                      Content-Type, or ?format=text / ?format=json; validated whole, then
//                      written as one WriteBatch per chunk  200 {"written","batches"}
//   GET    /healthz    role, epoch, cluster id, replication state (JSON, always 200)
//
// {key} is percent-encoded (kv_service/key_codec.h). Keys and values live in the default column
// family. Errors are JSON {"error": "..."}: 400 bad key or body, 404 unknown path or key, 405
// wrong method (with Allow), 413 body over the limit (HttpListener, from BodyLimit()); when the
// plugin refuses the request — a DR secondary, which serves no reads or writes until promoted, or
// a fenced primary — 503 {"error": the plugin's message, "role", "epoch"}.
//
// Who may call: the HttpListener's threads, concurrently (the Replicator is thread-safe; KvApi
// holds no mutable state). The Replicator must outlive the KvApi.
#pragma once

#include <cstddef>
#include <string>

#include "kv_service/http_listener.h"
#include "kv_service/kv_limits.h"
#include "rocksdr/replicator.h"

namespace rocksdr::examples {

class KvApi {
 public:
  KvApi(Replicator* replicator, KvLimits limits) : replicator_(replicator), limits_(limits) {}

  // The largest body accepted for a request: max_value_bytes for PUT /kv/..., max_bulk_bytes for
  // POST /bulk, 0 for the rest.
  BodyLimit BodyLimitFor(const std::string& method, const std::string& target) const;
  HttpResponse Handle(HttpRequest&& request) const;

 private:
  HttpResponse Put(const std::string& key, std::string&& value) const;
  HttpResponse Get(const std::string& key) const;
  HttpResponse Delete(const std::string& key) const;
  HttpResponse Bulk(const HttpRequest& request) const;
  HttpResponse Healthz() const;

  Replicator* replicator_;
  KvLimits limits_;
};

}  // namespace rocksdr::examples
