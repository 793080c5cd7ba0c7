// Test PKI for replication transport tests: a replication CA (crypto/x509_ca.h) and helpers
// that issue server/client credentials from it, plus a log capture for asserting what
// spdlog reported. Test-only.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/replication/tls_context.h"

namespace rocksdr::testing {

class TestPki {
 public:
  // A fresh CA named ca_name. Aborts the test (ADD_FAILURE + empty creds) on error.
  explicit TestPki(const std::string& ca_name = "rocksdr replication CA");

  // Server credentials for 127.0.0.1 / localhost, cluster `cluster_id` ("" = no cluster SAN).
  replication::TlsCredentials Server(const std::string& cluster_id = "") const;
  // Client credentials with CN = secondary_id. not_before/validity as in CertificateRequest.
  replication::TlsCredentials Client(const std::string& secondary_id,
                                     const std::string& cluster_id = "",
                                     std::optional<time_t> not_before = {},
                                     std::chrono::seconds validity = std::chrono::hours(24)) const;
  const std::string& ca_pem() const { return ca_.cert_pem; }

 private:
  crypto::CertifiedKey ca_;
};

// Captures every message of spdlog's default logger while alive. Create it before starting
// threads that log and destroy it after they stopped (the sink list itself is not thread-safe).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string Text() const;
  bool Contains(const std::string& needle) const { return Text().find(needle) != std::string::npos; }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace rocksdr::testing
