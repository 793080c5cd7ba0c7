// See tls_context.h.
#include "rocksdr/replication/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

namespace rocksdr::replication {

namespace ssl = boost::asio::ssl;

namespace {

constexpr size_t kMaxPemInput = 256 * 1024;

std::string SubjectOf(X509* cert) {
  if (cert == nullptr) return "(no certificate)";
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeTlsContext(TlsRole role, const TlsCredentials& creds) {
  if (creds.cert_pem.empty() || creds.cert_pem.size() > kMaxPemInput) {
    return Status::InvalidArgument("TLS certificate: missing or larger than 256 KiB");
  }
  if (creds.key_pem.empty() || creds.key_pem.size() > kMaxPemInput) {
    return Status::InvalidArgument("TLS private key: missing or larger than 256 KiB");
  }
  if (creds.ca_pem.empty() || creds.ca_pem.size() > kMaxPemInput) {
    return Status::InvalidArgument("TLS CA certificate: missing or larger than 256 KiB");
  }
  auto ctx = std::make_shared<ssl::context>(role == TlsRole::kServer ? ssl::context::tls_server
                                                                       : ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    ERR_clear_error();
    return Status::Internal("TLS: this OpenSSL does not support TLS 1.3");
  }
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression, ec);
  // The key first: loading the certificate after it drops a key that does not match, so the
  // mismatch is reported as such by SSL_CTX_check_private_key below.
  ctx->use_private_key(boost::asio::buffer(creds.key_pem.data(), creds.key_pem.size()),
                       ssl::context::pem, ec);
  if (ec) {
    ERR_clear_error();
    // ec.message() comes from OpenSSL's error queue and never contains key bytes.
    return Status::InvalidArgument("TLS private key: not a valid unencrypted PEM key (" +
                                   ec.message() + ")");
  }
  ctx->use_certificate_chain(boost::asio::buffer(creds.cert_pem.data(), creds.cert_pem.size()), ec);
  if (ec) {
    ERR_clear_error();
    return Status::InvalidArgument("TLS certificate: not a valid PEM certificate chain (" +
                                   ec.message() + ")");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("TLS private key does not match the certificate");
  }
  ctx->add_certificate_authority(boost::asio::buffer(creds.ca_pem.data(), creds.ca_pem.size()),
                                 ec);
  if (ec) {
    ERR_clear_error();
    return Status::InvalidArgument("TLS CA certificate: not a valid PEM certificate (" +
                                   ec.message() + ")");
  }
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return Status::Internal("TLS: cannot set the verify mode: " + ec.message());
  // Chains are leaf + CA only (the replication CA signs leaves directly).
  SSL_CTX_set_verify_depth(native, 2);
  return ctx;
}

PeerVerifier::PeerVerifier(std::string what, std::string expected_host)
    : what_(std::move(what)),
      expected_host_(std::move(expected_host)),
      failure_(std::make_shared<std::string>()) {}

bool PeerVerifier::operator()(bool preverified, ssl::verify_context& ctx) {
  X509_STORE_CTX* store = ctx.native_handle();
  const int depth = X509_STORE_CTX_get_error_depth(store);
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (!preverified) {
    const int err = X509_STORE_CTX_get_error(store);
    *failure_ = std::string("peer certificate refused: ") + X509_verify_cert_error_string(err) +
                " (depth " + std::to_string(depth) + ", subject " + SubjectOf(cert) + ")";
    spdlog::warn("replication TLS: {}: {}", what_, *failure_);
    return false;
  }
  if (depth == 0 && !expected_host_.empty()) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(expected_host_, ec);  // parses? then it is an IP
    int match;
    if (!ec) {
      match = X509_check_ip_asc(cert, expected_host_.c_str(), 0);
    } else {
      match = X509_check_host(cert, expected_host_.data(), expected_host_.size(), 0, nullptr);
    }
    if (match != 1) {
      *failure_ = "peer certificate refused: it does not name the host \"" + expected_host_ +
                  "\" (subject " + SubjectOf(cert) + ")";
      spdlog::warn("replication TLS: {}: {}", what_, *failure_);
      return false;
    }
  }
  return true;
}

}  // namespace rocksdr::replication
