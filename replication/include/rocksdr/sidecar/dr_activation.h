// Activation plumbing shared by the primary's and the secondary's DR endpoints:
//  - the activation bundle's JSON form (the `data` of sys/wrapping/unwrap), strictly validated
//    when read from the network;
//  - the subjectAltNames of a primary's replication server certificate;
//  - the secondary side of activation: unwrapping the token at the primary, with an error message
//    for each way it fails (expired, already used, tampered, unreachable primary).
//
// Who may call: the DR handlers, from any thread (pure functions and one blocking HTTP call).
// UnwrapAtPrimary must not be called from a server thread of the server it talks to.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/http_client.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

// What sys/wrapping/unwrap answers for a used, revoked or unknown token (Vault's message).
inline constexpr std::string_view kWrappingTokenInvalid = "wrapping token is not valid or does not exist";

// JSON of a bundle; the client key is included only if `include_key` (the unwrap answer, and the
// copy kept in the node-local store from which the re-arm loop re-attaches a restarted secondary).
nlohmann::json BundleToJson(const ActivationBundle& bundle, bool include_key);
// Validates types and bounds (ids, PEM sizes, at most 16 addresses). `require_key`: the client key
// must be present. Errors: kInvalidArgument naming the field.
Result<ActivationBundle> BundleFromJson(const nlohmann::json& j, bool require_key);

// DNS names and IP addresses for a replication server certificate: always "localhost",
// "127.0.0.1" and "::1", plus the host of each address given ("https://h:8200", "h:8201", "h"),
// skipping empty and wildcard hosts ("0.0.0.0", "::"). Duplicates removed.
void CertificateSans(const std::vector<std::string>& addresses, std::vector<std::string>* dns_names,
                     std::vector<std::string>* ip_addresses);

// The host of "scheme://host:port/...", "host:port", "[v6]:port" or "host"; "" if none.
std::string HostOf(std::string_view address);

struct UnwrapOptions {
  std::string ca_file;  // PEM to trust for the primary's API TLS; "" = the system store
  std::chrono::milliseconds timeout{30000};
  // Seconds since the epoch, for the local expiry pre-check.
  int64_t now = 0;
};

// The secondary side of activation. Peeks the (unverified) claims for `addr` and `exp`, refuses a
// token that is already expired (no network call), then POSTs sys/wrapping/unwrap at
// `primary_api_addr` (or the token's addr when empty) and parses the bundle.
// Errors (kInvalidArgument unless said otherwise), each saying what to do:
//   "activation token is malformed: ..."                       (not a JWT, bad claims)
//   "activation token expired at <time> ...; generate a new one on the primary"
//   "activation token was already used (or revoked) ...; generate a new one on the primary"
//   "the primary rejected the activation token: ... (tampered, or issued by another primary)"
//   kUnavailable "could not reach the primary at <addr>: ...; check primary_api_addr"
//   "the primary at <addr> answered <status>: ..."             (any other refusal)
Result<ActivationBundle> UnwrapAtPrimary(std::string_view token, std::string primary_api_addr,
                                         const UnwrapOptions& options);

}  // namespace rocksdr::sidecar
