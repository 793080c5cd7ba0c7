// Implementation of dr_activation.h.
#include "rocksdr/sidecar/dr_activation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>

#include "rocksdr/crypto/jwt.h"
#include "rocksdr/crypto/x509_ca.h"

namespace rocksdr::sidecar {

namespace {

constexpr size_t kMaxIdField = 256;
constexpr size_t kMaxAddrField = 512;
constexpr size_t kMaxAddrs = 16;

std::string FormatTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> Str(const nlohmann::json& j, const char* field, size_t max, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string("activation bundle: missing \"") + field + "\"");
    return std::string();
  }
  if (!it->is_string()) return Status::InvalidArgument(std::string("activation bundle: \"") + field + "\" must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max) return Status::InvalidArgument(std::string("activation bundle: \"") + field + "\" is too long");
  if (required && s.empty()) return Status::InvalidArgument(std::string("activation bundle: \"") + field + "\" is empty");
  return s;
}

bool IsIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The first error message of a Vault error body, or the body itself (bounded).
std::string ErrorText(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_string()) {
    return j["errors"][0].get<std::string>().substr(0, 1024);
  }
  return body.substr(0, 256);
}

}  // namespace

nlohmann::json BundleToJson(const ActivationBundle& b, bool include_key) {
  nlohmann::json j = {{"cluster_id", b.cluster_id},
                      {"secondary_id", b.secondary_id},
                      {"primary_replication_addrs", b.primary_replication_addrs},
                      {"primary_api_addr", b.primary_api_addr},
                      {"ca_cert_pem", b.ca_cert_pem},
                      {"client_cert_pem", b.client_cert_pem},
                      {"epoch", b.epoch}};
  if (include_key) j["client_key_pem"] = std::string(b.client_key_pem.data(), b.client_key_pem.size());
  return j;
}

Result<ActivationBundle> BundleFromJson(const nlohmann::json& j, bool require_key) {
  if (!j.is_object()) return Status::InvalidArgument("activation bundle: not a JSON object");
  ActivationBundle b;
  Result<std::string> s = Str(j, "cluster_id", kMaxIdField, true);
  if (!s.ok()) return s.status();
  b.cluster_id = *s;
  if (s = Str(j, "secondary_id", kMaxIdField, true); !s.ok()) return s.status();
  b.secondary_id = *s;
  if (s = Str(j, "primary_api_addr", kMaxAddrField, false); !s.ok()) return s.status();
  b.primary_api_addr = *s;
  if (s = Str(j, "ca_cert_pem", crypto::kMaxPemSize, true); !s.ok()) return s.status();
  b.ca_cert_pem = *s;
  if (s = Str(j, "client_cert_pem", crypto::kMaxPemSize, true); !s.ok()) return s.status();
  b.client_cert_pem = *s;
  if (s = Str(j, "client_key_pem", crypto::kMaxPemSize, require_key); !s.ok()) return s.status();
  b.client_key_pem = crypto::SecureString(s->begin(), s->end());
  auto addrs = j.find("primary_replication_addrs");
  if (addrs == j.end() || !addrs->is_array() || addrs->empty() || addrs->size() > kMaxAddrs) {
    return Status::InvalidArgument("activation bundle: \"primary_replication_addrs\" must be a list of 1..16 addresses");
  }
  for (const auto& a : *addrs) {
    if (!a.is_string() || a.get_ref<const std::string&>().empty() || a.get_ref<const std::string&>().size() > kMaxAddrField) {
      return Status::InvalidArgument("activation bundle: \"primary_replication_addrs\" holds an invalid address");
    }
    b.primary_replication_addrs.push_back(a.get<std::string>());
  }
  auto epoch = j.find("epoch");
  if (epoch == j.end() || !epoch->is_number_unsigned()) {
    return Status::InvalidArgument("activation bundle: \"epoch\" must be a non-negative integer");
  }
  b.epoch = epoch->get<uint64_t>();
  return b;
}

std::string HostOf(std::string_view address) {
  std::string_view a = address;
  if (size_t scheme = a.find("://"); scheme != std::string_view::npos) a = a.substr(scheme + 3);
  if (size_t slash = a.find('/'); slash != std::string_view::npos) a = a.substr(0, slash);
  if (a.empty()) return "";
  if (a.front() == '[') {
    size_t close = a.find(']');
    return close == std::string_view::npos ? "" : std::string(a.substr(1, close - 1));
  }
  size_t first = a.find(':');
  if (first != std::string_view::npos && a.find(':', first + 1) != std::string_view::npos) {
    return std::string(a);  // bare IPv6 literal without a port
  }
  return std::string(a.substr(0, first));
}

void CertificateSans(const std::vector<std::string>& addresses, std::vector<std::string>* dns_names,
                     std::vector<std::string>* ip_addresses) {
  dns_names->assign({"localhost"});
  ip_addresses->assign({"127.0.0.1", "::1"});
  for (const auto& a : addresses) {
    std::string host = HostOf(a);
    if (host.empty() || host == "0.0.0.0" || host == "::" || host == "*") continue;
    auto& list = IsIp(host) ? *ip_addresses : *dns_names;
    if (std::find(list.begin(), list.end(), host) == list.end() && list.size() < crypto::kMaxSanEntries / 2) {
      list.push_back(host);
    }
  }
}

Result<ActivationBundle> UnwrapAtPrimary(std::string_view token, std::string primary_api_addr,
                                         const UnwrapOptions& options) {
  Result<crypto::ActivationClaims> claims = crypto::PeekActivationClaims(token);
  if (!claims.ok()) {
    return Status::InvalidArgument("activation token is malformed: " + claims.status().message() +
                                   "; copy the whole wrapping_token from the primary's secondary-token answer");
  }
  constexpr int64_t kSkew = 30;
  if (options.now >= claims->exp + kSkew) {
    return Status::InvalidArgument("activation token expired at " + FormatTime(claims->exp) + " (now " +
                                   FormatTime(options.now) +
                                   "); generate a new one on the primary "
                                   "(sys/replication/dr/primary/secondary-token) and activate again");
  }
  if (primary_api_addr.empty()) primary_api_addr = claims->addr;
  HttpClientOptions http;
  http.ca_cert_file = options.ca_file;
  http.timeout = options.timeout;
  http.max_response_bytes = 1 << 20;
  Result<HttpResult> r =
      HttpRequest(primary_api_addr, "POST", "/v1/sys/wrapping/unwrap", "{}",
                  {{"X-Vault-Token", std::string(token)}, {"Content-Type", "application/json"}}, http);
  if (!r.ok()) {
    return Status::Unavailable("could not reach the primary at " + primary_api_addr + ": " + r.status().message() +
                               "; check primary_api_addr (and ca_file for TLS), and that the primary is up");
  }
  if (r->status != 200) {
    const std::string err = ErrorText(r->body);
    if (r->status == 400 && err == kWrappingTokenInvalid) {
      return Status::InvalidArgument(
          "activation token was already used (or revoked, or not issued by the primary at " + primary_api_addr +
          "); generate a new one on the primary (sys/replication/dr/primary/secondary-token)");
    }
    if (r->status == 400 && err.find("expired at") != std::string::npos) {
      const size_t at = err.find("activation token expired");
      return Status::InvalidArgument(at == std::string::npos ? err : err.substr(at));
    }
    if (r->status == 400 && err.rfind(kWrappingTokenInvalid, 0) == 0) {
      return Status::InvalidArgument("the primary at " + primary_api_addr + " rejected the activation token" +
                                     err.substr(kWrappingTokenInvalid.size()) +
                                     " (tampered, or issued by another primary); generate a new one on the primary");
    }
    return Status::FailedPrecondition("the primary at " + primary_api_addr + " answered " +
                                      std::to_string(r->status) + ": " + err);
  }
  nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
  crypto::Zeroize(r->body.data(), r->body.size());  // it holds the client key
  if (!body.is_object() || !body.contains("data")) {
    return Status::InvalidArgument("the primary at " + primary_api_addr + " answered the unwrap without data");
  }
  Result<ActivationBundle> bundle = BundleFromJson(body["data"], /*require_key=*/true);
  if (!bundle.ok()) return bundle.status().WithContext("the primary at " + primary_api_addr);
  if (bundle->primary_api_addr.empty()) bundle->primary_api_addr = primary_api_addr;
  return bundle;
}

}  // namespace rocksdr::sidecar
