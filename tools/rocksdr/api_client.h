// The `rocksdr` CLI's connection to a sidecar: the common client flags (as Vault's), address and
// token resolution, one API call, and Vault's error text.
//
//   -address   default $ROCKSDR_ADDR, then $VAULT_ADDR, then https://127.0.0.1:8200
//   -token     default $ROCKSDR_TOKEN, then $VAULT_TOKEN (Vault's ~/.vault-token is not read)
//   -ca-cert   PEM CA file to verify the server's certificate ($ROCKSDR_CACERT, $VAULT_CACERT)
//   -tls-skip-verify
//   -format    table | json (output.h)
//
// Who may call: command callbacks, on the main thread.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "rocksdr/status.h"

namespace rocksdr::cli {

struct ClientFlags {
  std::string address;
  std::string token;
  std::string ca_cert;
  bool tls_skip_verify = false;
  std::string format;
};

// Adds the flags above to `cmd`.
void AddClientFlags(CLI::App* cmd, ClientFlags* flags);

struct ApiReply {
  int status = 0;
  nlohmann::json body;  // parsed JSON, or null (204 / non-JSON)
  std::string raw;
  std::string url;      // "METHOD https://host/v1/path", for error messages
  bool sent_token = false;  // whether a token went with the request (a 403 without one says so)
};

// Sends one request to /v1/<path>. A transport failure is an error; any HTTP status is a reply.
Result<ApiReply> CallApi(const ClientFlags& flags, const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);

// Vault's text for an error reply:
//   "Error making API request.\n\nURL: PUT ...\nCode: 400. Errors:\n\n* message"
std::string ApiErrorText(const ApiReply& reply);

// True for 2xx.
inline bool IsSuccess(const ApiReply& r) { return r.status >= 200 && r.status < 300; }

}  // namespace rocksdr::cli
