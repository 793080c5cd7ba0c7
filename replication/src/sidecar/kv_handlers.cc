// secret/<path>: a small key/value store (Vault's KV version 1 semantics) kept in the REPLICATED
// store under "kv/<path>", so the CLI's read/write/delete have something to act on and operators
// can check that control-plane data follows a promotion (handlers.h).
#include "rocksdr/sidecar/handlers.h"

#include <set>

namespace rocksdr::sidecar {

namespace {

constexpr std::string_view kKvPrefix = "kv/";
constexpr size_t kMaxKvPath = 512;

Result<std::string> StoreKey(const ApiRequest& req, bool allow_empty) {
  const std::string& p = req.subpath;
  if (p.empty() && !allow_empty) return Status::InvalidArgument("missing path after secret/");
  if (p.size() > kMaxKvPath) return Status::InvalidArgument("path longer than 512 characters");
  if (p.find("//") != std::string::npos || p.find("..") != std::string::npos) {
    return Status::InvalidArgument("path must not contain '//' or '..'");
  }
  return std::string(kKvPrefix) + p;
}

}  // namespace

Status RegisterKvRoutes(Router& router, Core& core) {
  PluginControl* control = core.control();
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("secret/", {Method::kGet}, AuthRequirement::kToken,
                [control](ApiRequest& r) {
                  Result<std::string> key = StoreKey(r, false);
                  if (!key.ok()) return ErrorFromStatus(key.status());
                  Result<std::optional<std::string>> v = control->Get(Store::kReplicated, *key);
                  if (!v.ok()) return ErrorFromStatus(v.status());
                  if (!v->has_value()) return Bare({{"errors", nlohmann::json::array()}}, 404);
                  nlohmann::json data = nlohmann::json::parse(**v, nullptr, false);
                  if (data.is_discarded()) return ErrorResponse(500, "stored value is not JSON");
                  return Envelope(r, std::move(data));
                })
          .SetPrefix()
          .SetDrSecondaryOk(false)));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("secret/", {Method::kPost}, AuthRequirement::kToken,
                [control](ApiRequest& r) {
                  Result<std::string> key = StoreKey(r, false);
                  if (!key.ok()) return ErrorFromStatus(key.status());
                  if (r.body.empty()) return ErrorResponse(400, "no data provided");
                  Status s = control->Put(Store::kReplicated, *key, r.body.dump());
                  if (!s.ok()) return ErrorFromStatus(s);
                  return NoContent();
                })
          .SetPrefix()
          .SetDrSecondaryOk(false)));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("secret/", {Method::kDelete}, AuthRequirement::kToken,
                [control](ApiRequest& r) {
                  Result<std::string> key = StoreKey(r, false);
                  if (!key.ok()) return ErrorFromStatus(key.status());
                  Status s = control->Delete(Store::kReplicated, *key);
                  if (!s.ok()) return ErrorFromStatus(s);
                  return NoContent();
                })
          .SetPrefix()
          .SetDrSecondaryOk(false)));
  return router.Add(RouteSpec("secret/", {Method::kList}, AuthRequirement::kToken,
                              [control](ApiRequest& r) {
                                Result<std::string> key = StoreKey(r, true);
                                if (!key.ok()) return ErrorFromStatus(key.status());
                                std::string prefix = *key;
                                if (prefix.back() != '/') prefix.push_back('/');
                                if (prefix == "kv//") prefix = "kv/";
                                auto rows = control->Scan(Store::kReplicated, prefix, 10000);
                                if (!rows.ok()) return ErrorFromStatus(rows.status());
                                std::set<std::string> keys;
                                for (const auto& [k, v] : *rows) {
                                  std::string rest = k.substr(prefix.size());
                                  const size_t slash = rest.find('/');
                                  keys.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
                                }
                                if (keys.empty()) return Bare({{"errors", nlohmann::json::array()}}, 404);
                                return Envelope(r, nlohmann::json{{"keys", keys}});
                              })
                        .SetPrefix()
                        .SetDrSecondaryOk(false));
}

}  // namespace rocksdr::sidecar
