// Router: the sidecar's route table. Each route is registered once, at start-up, with its path,
// methods, authentication requirement and whether it may run while sealed; Dispatch applies the
// checks in Vault's order and then calls the handler with a parsed request.
//
// Registration (how endpoint files add themselves; e.g. sys_handlers.cc):
//
//   router.Add(RouteSpec("sys/replication/dr/primary/enable", {Method::kPost},   // PUT is POST
//                        AuthRequirement::kRoot,
//                        [core](ApiRequest& req) { ...; return Envelope(req, data, {"warning"}); })
//                  .SetSealedOk(false).SetDrSecondaryOk(true));
//
// A path may be registered several times with disjoint methods (e.g. GET/POST/DELETE on
// .../generate-operation-token/attempt with three handlers). `prefix = true` matches every path
// that starts with `path` (which then ends in '/'), and the mount itself (`path` without its '/',
// subpath ""); the remainder is in ApiRequest::subpath; the
// longest prefix wins, and an exact route beats a prefix route.
//
// Dispatch order (each step answers with Vault's status and message and stops):
//   1. no route for the path                         -> 404 "unsupported path"
//   2. route exists, method not registered           -> 405 "unsupported operation"
//   3. sealed and the route is not sealed_ok         -> 503 "rocksdr is sealed"
//   4. DR secondary and the route is not dr_secondary_ok
//                                                    -> 400 "path disabled in replication DR secondary mode"
//   5. auth kToken/kRoot: missing/unknown/expired token, or not root for kRoot
//                                                    -> 403 "permission denied"
//      (the token entry is put in ApiRequest::token; a use is consumed for limited-use tokens)
//   6. body: empty -> {}, else must be a JSON object nested at most kMaxRequestJsonDepth (32)
//      levels deep (json_depth.h)                    -> 400 "failed to parse JSON input: ..."
//   7. the handler; an exception escaping it        -> 500 "internal error" (logged, no details)
//
// Who may call: Add from one thread before the server starts; Dispatch from any number of server
// threads concurrently afterwards (the table is read-only then). Handlers must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/sidecar/api.h"
#include "rocksdr/sidecar/token_entry.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

using Handler = std::function<ApiResponse(ApiRequest&)>;

struct RouteSpec {
  RouteSpec(std::string p, std::vector<Method> ms, AuthRequirement a, Handler h)
      : path(std::move(p)), methods(std::move(ms)), auth(a), handler(std::move(h)) {}
  RouteSpec& SetSealedOk(bool v = true) { sealed_ok = v; return *this; }
  RouteSpec& SetDrSecondaryOk(bool v = true) { dr_secondary_ok = v; return *this; }
  RouteSpec& SetPrefix(bool v = true) { prefix = v; return *this; }
  // The body fields the handler reads. When set, fields outside it are named in the answer, as
  // Vault 1.13+ does ("Endpoint ignored these unrecognized parameters: [tll]"): a warning on a
  // success, one more error on a failure; so a misspelt ttl= does not pass silently.
  RouteSpec& SetFields(std::vector<std::string> f) { fields = std::move(f); return *this; }
  // With SetFields: refuse a request with an unknown field (400) instead of noting it, on routes
  // where a misspelt field changes what the call does.
  RouteSpec& RejectUnrecognizedFields(bool v = true) { reject_unrecognized = v; return *this; }

  std::string path;                 // without "/v1/", e.g. "sys/init"; prefix routes end in '/'
  std::vector<Method> methods;      // at least one
  AuthRequirement auth = AuthRequirement::kToken;
  bool sealed_ok = false;           // may run while sealed or uninitialized
  bool dr_secondary_ok = true;      // may run while this node is a DR secondary
  Handler handler;
  bool prefix = false;
  std::optional<std::vector<std::string>> fields;  // see SetFields; nullopt: not checked
  bool reject_unrecognized = false;                 // see RejectUnrecognizedFields
};

// What the router needs to know about the node for each request. Implemented by Core.
class RequestGate {
 public:
  virtual ~RequestGate() = default;
  virtual bool Sealed() = 0;
  virtual bool IsDrSecondary() = 0;
  // Resolves a client token (consuming one use of a limited-use token). Any error means 403.
  virtual Result<TokenEntry> Authenticate(std::string_view token) = 0;
  // Called once per dispatched request with the final status (metrics). Default: nothing.
  virtual void OnResponse(const ApiRequest& /*req*/, int /*status*/) {}
};

class Router {
 public:
  // `gate` must outlive the router.
  explicit Router(RequestGate* gate) : gate_(gate) {}

  // Adds a route. Errors: kInvalidArgument (empty path, leading '/', no methods, no handler, a
  // prefix route not ending in '/'), kAlreadyExists (path+method already registered).
  Status Add(RouteSpec spec);

  // Runs the checks above and the handler. req.path, method, query, raw_body, client_token and
  // request_id must be set; body, subpath and token are filled here.
  ApiResponse Dispatch(ApiRequest& req) const;

  // All registered (path, method) pairs, sorted, for docs and tests.
  std::vector<std::string> Describe() const;

 private:
  ApiResponse Route(ApiRequest& req) const;
  // Routes registered for exactly this path, or the longest matching prefix route(s).
  const std::vector<size_t>* Find(std::string_view path, std::string* subpath) const;

  RequestGate* gate_;
  std::vector<RouteSpec> routes_;
  std::map<std::string, std::vector<size_t>, std::less<>> exact_;
  std::map<std::string, std::vector<size_t>, std::less<>> prefixes_;
};

}  // namespace rocksdr::sidecar
