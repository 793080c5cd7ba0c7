// RegisterDrRoutes (dr_handlers.h) and the helpers shared by both sides (dr_context.h).
#include <memory>

#include "dr_context.h"
#include "rocksdr/crypto/keyring.h"
#include "rocksdr/sidecar/dr_activation.h"
#include "rocksdr/sidecar/dr_consistency.h"
#include "rocksdr/sidecar/net_address.h"

namespace rocksdr::sidecar {

Result<PluginRole> ReadPluginRole(Core& core) {
  Result<nlohmann::json> st = core.control()->Status();
  if (!st.ok()) return st.status().WithContext("plugin status");
  PluginRole r;
  if (!st->is_object()) return Status::Corruption("plugin status is not a JSON object");
  r.role = st->value("role", "disabled");
  if (st->contains("epoch") && (*st)["epoch"].is_number_unsigned()) r.epoch = (*st)["epoch"].get<uint64_t>();
  if (st->contains("cluster_id") && (*st)["cluster_id"].is_string()) r.cluster_id = (*st)["cluster_id"].get<std::string>();
  if (st->contains("secondary") && (*st)["secondary"].is_object()) {
    const nlohmann::json& sec = (*st)["secondary"];
    r.connected_to_primary = sec.value("connection_state", "") == "connected";
    if (sec.contains("primary_api_addr") && sec["primary_api_addr"].is_string()) {
      r.primary_api_addr = sec["primary_api_addr"].get<std::string>();
    }
  }
  return r;
}

Result<std::string> ReadClusterAddr(const nlohmann::json& body) {
  Result<std::string> raw = GetString(body, "primary_cluster_addr");
  if (!raw.ok()) return raw.status();
  if (raw->empty()) return std::string();
  if (raw->size() > 512) return Status::InvalidArgument("primary_cluster_addr is longer than 512 characters");
  std::string_view v = *raw;
  if (size_t scheme = v.find("://"); scheme != std::string_view::npos) v = v.substr(scheme + 3);
  while (!v.empty() && v.back() == '/') v.remove_suffix(1);
  Result<HostPort> hp = ParseHostPort(v);
  if (!hp.ok() || hp->port == 0) {
    return Status::InvalidArgument("primary_cluster_addr must be host:port of the replication listener (e.g. "
                                   "\"10.0.0.5:8201\")" + (hp.ok() ? std::string() : ": " + hp.status().message()));
  }
  return FormatHostPort(hp->host, hp->port);
}

Result<crypto::CertifiedKey> LoadCa(DrContext& ctx, const DrClusterRecord& cluster) {
  Result<crypto::SecureBytes> key = ctx.core->seal().KeyringValue(crypto::kReplicationCaKeyName);
  if (!key.ok()) return key.status().WithContext("replication CA key");
  crypto::CertifiedKey ca;
  ca.cert_pem = cluster.ca_cert_pem;
  ca.key_pem = crypto::SecureString(key->begin(), key->end());
  return ca;
}

Result<crypto::CertifiedKey> IssueServerCertificate(DrContext& ctx, const DrClusterRecord& cluster,
                                                    const std::string& primary_cluster_addr) {
  Result<crypto::CertifiedKey> ca = LoadCa(ctx, cluster);
  if (!ca.ok()) return ca.status();
  std::vector<std::string> hosts = {ctx.core->api_addr(), primary_cluster_addr};
  hosts.insert(hosts.end(), ctx.options.extra_cert_hosts.begin(), ctx.options.extra_cert_hosts.end());
  crypto::CertificateRequest req;
  req.common_name = "rocksdr-primary";
  CertificateSans(hosts, &req.dns_names, &req.ip_addresses);
  req.cluster_id = cluster.cluster_id;
  req.usage = crypto::CertificateUsage::kServer;
  return crypto::IssueCertificate(*ca, req);
}

Status RegisterDrRoutesWithOptions(Router& router, Core& core, DrOptions options) {
  auto ctx = std::make_shared<DrContext>(&core, std::move(options));
  using H = ApiResponse (*)(DrContext&, ApiRequest&);
  auto bind = [ctx](H h) { return [ctx, h](ApiRequest& r) { return h(*ctx, r); }; };
  const std::string p = "sys/replication/dr/primary/";
  const std::string s = "sys/replication/dr/secondary/";

  // Primary side: root token, unsealed, not on a DR secondary.
  // Each route names the body fields its handler reads (RouteSpec::SetFields): others are
  // reported back, so a misspelt ttl= or token= does not pass silently.
  using Fields = std::vector<std::string>;
  const Fields unwrap_fields = {"token", "primary_api_addr", "ca_file", "ca_path"};
  struct Root {
    const char* path;
    H h;
    Fields fields;
  };
  for (const Root& r : {Root{"enable", &HandlePrimaryEnable, {"primary_cluster_addr"}},
                        Root{"secondary-token", &HandleSecondaryToken, {"id", "ttl"}},
                        Root{"revoke-secondary", &HandleRevokeSecondary, {"id"}},
                        Root{"demote", &HandlePrimaryDemote, {}}, Root{"disable", &HandlePrimaryDisable, {}}}) {
    ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec(p + r.path, {Method::kPost}, AuthRequirement::kRoot, bind(r.h))
                                           .SetDrSecondaryOk(false)
                                           .SetFields(r.fields)));
  }
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/wrapping/unwrap", {Method::kPost}, AuthRequirement::kNone, bind(&HandleUnwrap))
          .SetDrSecondaryOk(false)
          .SetFields({"token"})));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec(s + "enable", {Method::kPost}, AuthRequirement::kRoot, bind(&HandleSecondaryEnable))
          .SetDrSecondaryOk(false)
          .SetFields(unwrap_fields)));

  // Secondary side: authenticated by the DR operation token (or not at all), sealed ok.
  const std::string gen = s + "generate-operation-token/";
  struct Open {
    std::string path;
    Method m;
    H h;
    Fields fields;
  };
  Fields update_primary_fields = unwrap_fields;
  update_primary_fields.push_back("dr_operation_token");
  for (const Open& o : {Open{gen + "attempt", Method::kGet, &HandleAttemptStatus, {}},
                        Open{gen + "attempt", Method::kPost, &HandleAttemptStart, {"otp", "pgp_key"}},
                        Open{gen + "attempt", Method::kDelete, &HandleAttemptCancel, {}},
                        Open{gen + "update", Method::kPost, &HandleAttemptUpdate, {"key", "nonce"}},
                        Open{s + "promote", Method::kPost, &HandlePromote,
                             {"dr_operation_token", "primary_cluster_addr", "force"}},
                        Open{s + "update-primary", Method::kPost, &HandleUpdatePrimary, update_primary_fields},
                        Open{s + "disable", Method::kPost, &HandleSecondaryDisable, {"dr_operation_token"}},
                        Open{s + "operation-token/delete", Method::kPost, &HandleOperationTokenDelete,
                             {"dr_operation_token"}},
                        Open{s + "request-bootstrap", Method::kPost, &HandleRequestBootstrap, {"dr_operation_token"}}}) {
    ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec(o.path, {o.m}, AuthRequirement::kNone, bind(o.h))
                                           .SetSealedOk()
                                           .SetDrSecondaryOk()
                                           .SetFields(o.fields)
                                           // Without token= it forgets the primary: a misspelt token is refused.
                                           .RejectUnrecognizedFields(o.h == &HandleUpdatePrimary)));
  }
  ROCKSDR_RETURN_IF_ERROR(RegisterDrConsistencyRoutes(router, core));
  StartDrRearm(ctx);
  return Status::OK();
}

Status RegisterDrRoutes(Router& router, Core& core) { return RegisterDrRoutesWithOptions(router, core, DrOptions()); }

}  // namespace rocksdr::sidecar
