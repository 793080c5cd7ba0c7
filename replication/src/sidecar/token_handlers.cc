// auth/token/lookup-self and auth/token/create (handlers.h), with Vault's response shapes.
#include <ctime>

#include "rocksdr/sidecar/handlers.h"

namespace rocksdr::sidecar {

namespace {

std::string Rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ApiResponse LookupSelf(Core& core, ApiRequest& req) {
  const TokenEntry& e = *req.token;
  const int64_t now = core.Now();
  nlohmann::json data = {{"accessor", e.accessor},
                         {"creation_time", e.creation_time},
                         {"creation_ttl", e.ttl_seconds},
                         {"display_name", e.display_name},
                         {"entity_id", ""},
                         {"expire_time", e.expire_time > 0 ? nlohmann::json(Rfc3339(e.expire_time)) : nlohmann::json()},
                         {"explicit_max_ttl", 0},
                         {"id", req.client_token},
                         {"meta", nullptr},
                         {"num_uses", e.num_uses},
                         {"orphan", true},
                         {"path", e.IsRoot() && e.display_name == "root" ? "auth/token/root" : "auth/token/create"},
                         {"policies", e.policies},
                         {"renewable", false},
                         {"ttl", e.expire_time > 0 ? std::max<int64_t>(0, e.expire_time - now) : 0},
                         {"type", e.type}};
  return Envelope(req, std::move(data));
}

Result<std::vector<std::string>> Policies(const nlohmann::json& body) {
  auto it = body.find("policies");
  if (it == body.end() || it->is_null()) return std::vector<std::string>{std::string(kRootPolicy)};
  std::vector<std::string> out;
  if (it->is_string()) {
    std::string s = it->get<std::string>();
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t comma = s.find(',', pos);
      std::string p = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      p.erase(0, p.find_first_not_of(' '));
      p.erase(p.find_last_not_of(' ') + 1);
      if (!p.empty()) out.push_back(p);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  } else if (it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_string()) return Status::InvalidArgument("invalid value for field \"policies\": expected strings");
      out.push_back(p.get<std::string>());
    }
  } else {
    return Status::InvalidArgument("invalid value for field \"policies\": expected a list of strings");
  }
  if (out.empty()) return Status::InvalidArgument("invalid value for field \"policies\": no policy given");
  if (out.size() > 64) return Status::InvalidArgument("invalid value for field \"policies\": more than 64 policies");
  for (const auto& p : out) {
    if (p.size() > 128) return Status::InvalidArgument("invalid value for field \"policies\": policy name too long");
  }
  return out;
}

ApiResponse Create(Core& core, ApiRequest& req) {
  Result<std::vector<std::string>> policies = Policies(req.body);
  if (!policies.ok()) return ErrorFromStatus(policies.status());
  Result<int64_t> ttl = GetDurationSeconds(req.body, "ttl", 0, 0, int64_t{10} * 365 * 24 * 3600);
  if (!ttl.ok()) return ErrorFromStatus(ttl.status());
  Result<int64_t> uses = GetInt(req.body, "num_uses", 0, 0, 1000000);
  if (!uses.ok()) return ErrorFromStatus(uses.status());
  Result<std::string> name = GetString(req.body, "display_name", "token");
  if (!name.ok()) return ErrorFromStatus(name.status());
  if (name->size() > 128) return ErrorResponse(400, "invalid value for field \"display_name\": longer than 128");
  TokenEntry proto;
  proto.policies = *policies;
  proto.ttl_seconds = *ttl;
  proto.num_uses = *uses;
  proto.display_name = name->empty() ? "token" : "token-" + *name;
  Result<CreatedToken> created = core.CreateToken(std::move(proto));
  if (!created.ok()) return ErrorFromStatus(created.status());
  EnvelopeParts parts;
  parts.auth = {{"client_token", std::string(created->token)},
                {"accessor", created->entry.accessor},
                {"policies", created->entry.policies},
                {"token_policies", created->entry.policies},
                {"metadata", nullptr},
                {"lease_duration", created->entry.ttl_seconds},
                {"renewable", false},
                {"entity_id", ""},
                {"token_type", "service"},
                {"orphan", false},
                {"num_uses", created->entry.num_uses}};
  return Envelope(req, std::move(parts));
}

}  // namespace

Status RegisterTokenRoutes(Router& router, Core& core) {
  Core* c = &core;
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("auth/token/lookup-self", {Method::kGet, Method::kPost},
                                               AuthRequirement::kToken,
                                               [c](ApiRequest& r) { return LookupSelf(*c, r); })));
  return router.Add(
      RouteSpec("auth/token/create", {Method::kPost}, AuthRequirement::kRoot, [c](ApiRequest& r) { return Create(*c, r); }));
}

}  // namespace rocksdr::sidecar
