// TLS for replication connections: TLS 1.3 only, mutual authentication against the replication
// CA (DESIGN.md "Wire protocol"; crypto/x509_ca.h makes the certificates).
//
//  - MakeTlsContext builds a Boost.Asio ssl::context from PEM strings: our certificate (leaf
//    first, then any intermediates), our private key, and the CA certificate(s) we trust. The
//    server requires a client certificate (verify_peer | verify_fail_if_no_peer_cert); the
//    client requires the server's. OpenSSL's default purpose check applies: a server accepts
//    only certificates usable for clientAuth, a client only ones usable for serverAuth.
//  - PeerVerifier is the per-connection verify callback. It logs (spdlog, warn) why a peer
//    certificate is refused — the X509_STORE_CTX error string, e.g. "certificate has expired"
//    or "unable to get local issuer certificate" for another CA's certificate — and keeps that
//    reason for the session's status, since the TLS error itself only says "certificate verify
//    failed". The peer learns through the TLS alert (and logs it on its side).
//  - A client also checks that the server's certificate names the host it connected to (DNS or
//    IP SAN), unless told not to.
//
// Key material: the private key is handed to OpenSSL from memory and never logged; errors name
// which input is wrong, not its content.
// Who may call: anyone; an ssl::context is shared by all connections of one server or client
// and is only read after construction (thread-safe in OpenSSL 3).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

struct TlsCredentials {
  std::string cert_pem;           // our certificate (+ intermediates), PEM
  crypto::SecureString key_pem;   // our private key, unencrypted PKCS#8 PEM
  std::string ca_pem;             // trusted CA certificate(s), PEM
};

enum class TlsRole { kServer, kClient };

// Errors: kInvalidArgument naming the input that does not parse or does not match
// ("certificate", "private key", "CA certificate", "private key does not match the certificate").
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(TlsRole role,
                                                                  const TlsCredentials& creds);

// The verify callback of one connection. Copyable (Asio copies it); copies share the reason.
class PeerVerifier {
 public:
  // `what` names the connection in logs ("secondary 10.0.0.5:51234", "primary db1:8201").
  // If expected_host is not empty, the leaf certificate must name it (DNS or IP SAN).
  PeerVerifier(std::string what, std::string expected_host);

  bool operator()(bool preverified, boost::asio::ssl::verify_context& ctx);

  // Why verification failed ("" if it did not fail). Thread-safe to read after the handshake
  // completed (the handshake runs on the connection's strand).
  std::string failure() const { return *failure_; }

 private:
  std::string what_;
  std::string expected_host_;
  std::shared_ptr<std::string> failure_;
};

}  // namespace rocksdr::replication
