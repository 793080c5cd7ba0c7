// The replication CA: a private X.509 certificate authority per DR primary cluster, used only
// for the mutual TLS between a primary and its DR secondaries (DESIGN.md "Activation").
// OpenSSL 3; all keys are ECDSA P-256 (cheap TLS 1.3 handshakes); signatures are ECDSA-SHA256.
//
// Certificates made here:
//   CA   : subject CN=<common_name>, O=rocksdr; self-signed; basicConstraints critical CA:TRUE
//          pathlen:0; keyUsage critical keyCertSign+cRLSign; subjectKeyIdentifier.
//   Leaf : subject CN=<common_name>, O=rocksdr; issued by the CA; basicConstraints critical
//          CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage serverAuth and/or
//          clientAuth; subjectKeyIdentifier, authorityKeyIdentifier; subjectAltName with the
//          DNS names, IP addresses (v4/v6) and — when a cluster id is given — the URI
//          "rocksdr://cluster/<cluster-id>" (kClusterIdUriPrefix). That URI SAN is THE place
//          where a certificate names its cluster (ClusterIdOf); we chose a URI SAN over the OU
//          because SANs are typed, multi-valued and not confused with the display name.
//   Every certificate is X.509 v3 with a random positive 128-bit serial number.
//
// Time: absolute times are time_t (seconds since the epoch, UTC); durations std::chrono::seconds.
// not_before may be injected (tests make expired or not-yet-valid certificates); by default it
// is now minus kClockSkewAllowance, and notAfter is then now + validity.
//
// PEM: certificates are "CERTIFICATE" blocks; private keys unencrypted PKCS#8 "PRIVATE KEY"
// blocks held in SecureString (zeroized on release; store them only inside the sealed keyring).
// Encrypted PEM keys are refused (never a passphrase prompt). Each PEM input is bounded
// (kMaxPemSize) before it is parsed; errors say what is wrong, never include key material, and
// leave OpenSSL's per-thread error queue empty.
//
// Who may call: anyone, from any thread (no shared state; every call builds its own objects).
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

inline constexpr size_t kMaxPemSize = 64 * 1024;
inline constexpr size_t kMaxCommonNameSize = 64;  // RFC 5280 ub-common-name
inline constexpr size_t kMaxSanEntries = 64;      // DNS + IP entries per certificate
inline constexpr size_t kMaxClusterIdSize = 64;
inline constexpr std::string_view kClusterIdUriPrefix = "rocksdr://cluster/";
inline constexpr std::chrono::seconds kClockSkewAllowance{300};
inline constexpr std::chrono::seconds kMaxCaValidity{std::chrono::hours(24 * 366 * 30)};
inline constexpr std::chrono::seconds kMaxLeafValidity{std::chrono::hours(24 * 366 * 10)};

// A certificate and its private key, both PEM.
struct CertifiedKey {
  std::string cert_pem;
  SecureString key_pem;
};

enum class CertificateUsage {
  kServer,  // extendedKeyUsage serverAuth
  kClient,  // extendedKeyUsage clientAuth
  kBoth,    // both (a node that both accepts and opens replication connections)
};

struct CertificateRequest {
  // 1..kMaxCommonNameSize printable characters. Required.
  std::string common_name;
  // DNS subjectAltNames: LDH labels separated by dots, optionally starting with "*.",
  // at most 253 characters. Default: none.
  std::vector<std::string> dns_names;
  // IP subjectAltNames in textual form, IPv4 ("10.0.0.1") or IPv6 ("::1"). Default: none.
  std::vector<std::string> ip_addresses;
  // If not empty, adds the URI SAN "rocksdr://cluster/<cluster_id>"; 1..kMaxClusterIdSize
  // characters of [A-Za-z0-9._-]. Default: none.
  std::string cluster_id;
  // Default: 1 year. Must be positive and at most kMaxLeafValidity.
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  // Default: now - kClockSkewAllowance (and notAfter = now + validity). If set, the certificate
  // is valid from *not_before to *not_before + validity.
  std::optional<time_t> not_before;
  // Default: kBoth.
  CertificateUsage usage = CertificateUsage::kBoth;
};

// What a certificate says, for status pages, tests and peer checks.
struct CertificateInfo {
  std::string subject_common_name;  // "" if none
  std::string issuer_common_name;   // "" if none
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // textual ("10.0.0.1", "::1")
  std::vector<std::string> uris;
  std::string serial_hex;  // lower-case hex, no leading zeros
  time_t not_before = 0;
  time_t not_after = 0;
  bool is_ca = false;
};

// A new self-signed CA with a fresh P-256 key. validity must be positive and at most
// kMaxCaValidity. Errors: kInvalidArgument (bad name or validity), kInternal (OpenSSL).
Result<CertifiedKey> CreateCa(std::string_view common_name, std::chrono::seconds validity,
                              std::optional<time_t> not_before = {});

// A new leaf certificate and fresh P-256 key signed by `ca`. Refuses an issuer that is not a
// CA certificate or whose key does not match it. Errors: kInvalidArgument (bad request, bad
// or non-CA issuer), kInternal (OpenSSL).
Result<CertifiedKey> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& req);

// Verifies that cert_pem chains to one of the CA certificates in ca_pem (one or more
// CERTIFICATE blocks, each a CA; no partial chains) at time `at` (default: now), and, if
// `usage` is given, that the leaf may be used for it (kBoth: for both). cert_pem holds the
// leaf first, optionally followed by untrusted intermediates; the leaf must not be a CA
// certificate. Errors: kUnauthenticated with the reason (expired, not yet valid, issued by
// another CA / unknown issuer, bad signature, an issuer that is not a CA, a CA presented as the
// leaf, wrong usage), kInvalidArgument (malformed or oversized PEM, an anchor that is not a CA).
Status VerifyPeerCertificate(std::string_view ca_pem, std::string_view cert_pem,
                             std::optional<time_t> at = {},
                             std::optional<CertificateUsage> usage = {});

// Parses the first certificate in cert_pem. Errors: kInvalidArgument (malformed/oversized PEM).
Result<CertificateInfo> InspectCertificate(std::string_view cert_pem);

// The cluster id in the certificate's "rocksdr://cluster/<id>" URI SAN. Errors:
// kNotFound (no such SAN), kInvalidArgument (malformed PEM, more than one, or an invalid id).
Result<std::string> ClusterIdOf(std::string_view cert_pem);

// Checks that both PEM blocks parse, and that the private key belongs to the certificate
// (e.g. after loading a bootstrap bundle or a CA from the keyring). Errors: kInvalidArgument.
Status CheckCertifiedKey(const CertifiedKey& pair);

}  // namespace rocksdr::crypto
