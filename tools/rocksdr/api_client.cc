// Implementation of api_client.h.
#include "api_client.h"

#include <cstdlib>

#include "rocksdr/sidecar/http_client.h"

namespace rocksdr::cli {

namespace {

std::string Env(const char* a, const char* b) {
  if (const char* v = std::getenv(a); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv(b); v != nullptr && *v != '\0') return v;
  return "";
}

}  // namespace

void AddClientFlags(CLI::App* cmd, ClientFlags* flags) {
  cmd->add_option("--address", flags->address, "Address of the rocksdr sidecar ($ROCKSDR_ADDR)");
  cmd->add_option("--token", flags->token, "Token to authenticate with ($ROCKSDR_TOKEN)");
  cmd->add_option("--ca-cert", flags->ca_cert, "PEM CA certificate file to verify the server ($ROCKSDR_CACERT)");
  cmd->add_flag("--tls-skip-verify", flags->tls_skip_verify, "Do not verify the server's certificate (insecure)");
  cmd->add_option("--format", flags->format, "Output format: table or json ($ROCKSDR_FORMAT)");
}

Result<ApiReply> CallApi(const ClientFlags& flags, const std::string& method, const std::string& path,
                         const nlohmann::json& body) {
  std::string address = flags.address.empty() ? Env("ROCKSDR_ADDR", "VAULT_ADDR") : flags.address;
  if (address.empty()) address = "https://127.0.0.1:8200";
  while (!address.empty() && address.back() == '/') address.pop_back();
  if (const size_t scheme = address.find("://"); address.find('/', scheme == std::string::npos ? 0 : scheme + 3) !=
                                                  std::string::npos) {
    return Status::InvalidArgument("the address " + address +
                                   " has a path: give scheme://host:port only (rocksdr adds /v1/... itself)");
  }
  const std::string token = flags.token.empty() ? Env("ROCKSDR_TOKEN", "VAULT_TOKEN") : flags.token;
  sidecar::HttpClientOptions opts;
  opts.ca_cert_file = flags.ca_cert.empty() ? Env("ROCKSDR_CACERT", "VAULT_CACERT") : flags.ca_cert;
  opts.tls_skip_verify = flags.tls_skip_verify;
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("X-Vault-Token", token);
  const std::string target = "/v1/" + path;
  Result<sidecar::HttpResult> r =
      sidecar::HttpRequest(address, method, target, body.is_null() ? "" : body.dump(), headers, opts);
  if (!r.ok()) return r.status();
  ApiReply out;
  out.status = r->status;
  out.raw = r->body;
  out.url = method + " " + address + target;
  out.sent_token = !token.empty();
  if (!r->body.empty()) {
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
  }
  return out;
}

std::string ApiErrorText(const ApiReply& reply) {
  std::string out = "Error making API request.\n\nURL: " + reply.url + "\nCode: " + std::to_string(reply.status) +
                    ". Errors:\n\n";
  if (reply.body.is_object() && reply.body.contains("errors") && reply.body["errors"].is_array()) {
    for (const auto& e : reply.body["errors"]) out += "* " + (e.is_string() ? e.get<std::string>() : e.dump()) + "\n";
  } else if (!reply.raw.empty()) {
    out += "* " + reply.raw.substr(0, 512) + "\n";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (reply.status == 403 && !reply.sent_token) {
    out += "\n\nNo token was sent: set ROCKSDR_TOKEN (or VAULT_TOKEN), or pass -token";
  }
  return out;
}

}  // namespace rocksdr::cli
