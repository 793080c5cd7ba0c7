#include "rocksdr/crypto/x509_ca.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

template <auto F>
struct Free {
  template <typename T>
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BN_clear_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Free<GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Free<ASN1_STRING_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // does not own the certs
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

constexpr size_t kMaxCertsPerPem = 16;
constexpr size_t kMaxDnsNameSize = 253;

// Leaves OpenSSL's per-thread error queue empty when a public function returns, so that our
// failures never surface later as a bogus error in unrelated TLS code on the same thread.
struct ErrorQueueGuard {
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

// Never prompt for a passphrase: encrypted keys are refused.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string OpenSslReason() {
  unsigned long e = ERR_peek_last_error();
  const char* r = e == 0 ? nullptr : ERR_reason_error_string(e);
  return r == nullptr ? std::string("OpenSSL: unknown reason") : "OpenSSL: " + std::string(r);
}

std::string FormatTime(time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

time_t Asn1TimeToTimeT(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

// ---- PEM in ----------------------------------------------------------------------------

Result<std::vector<X509Ptr>> ReadCertificates(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxPemSize) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(pem.size()) +
                                   " bytes, more than the PEM limit of " +
                                   std::to_string(kMaxPemSize));
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) +
                                   " is not a PEM certificate: no '-----BEGIN CERTIFICATE-----' "
                                   "line (a PEM file is expected, not DER or a path)");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return Status::Internal("out of memory reading a certificate");
  std::vector<X509Ptr> certs;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) {
      unsigned long e = ERR_peek_last_error();
      if (!certs.empty() && ERR_GET_LIB(e) == ERR_LIB_PEM &&
          ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;  // no more blocks
      }
      return Status::InvalidArgument(std::string(what) + " is malformed: certificate block " +
                                     std::to_string(certs.size() + 1) + " does not parse (" +
                                     OpenSslReason() + ")");
    }
    if (certs.size() == kMaxCertsPerPem) {
      return Status::InvalidArgument(std::string(what) + " holds more than " +
                                     std::to_string(kMaxCertsPerPem) + " certificates");
    }
    certs.push_back(std::move(cert));
  }
  return certs;
}

Result<X509Ptr> ReadOneCertificate(std::string_view pem, std::string_view what) {
  Result<std::vector<X509Ptr>> certs = ReadCertificates(pem, what);
  if (!certs.ok()) return certs.status();
  if (certs->size() != 1) {
    return Status::InvalidArgument(std::string(what) + " must hold exactly one certificate, found " +
                                   std::to_string(certs->size()));
  }
  return std::move((*certs)[0]);
}

Result<PkeyPtr> ReadPrivateKey(const SecureString& pem, std::string_view what) {
  std::string_view text(pem.data(), pem.size());
  if (text.size() > kMaxPemSize) {
    return Status::InvalidArgument(std::string(what) + " is larger than the PEM limit of " +
                                   std::to_string(kMaxPemSize) + " bytes");
  }
  if (text.find("ENCRYPTED") != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) +
                                   " is an encrypted PEM key; rocksdr needs an unencrypted PKCS#8 "
                                   "key (it is protected by the sealed keyring instead)");
  }
  if (text.find("-----BEGIN ") == std::string_view::npos ||
      text.find("PRIVATE KEY-----") == std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) +
                                   " is not a PEM private key: no '-----BEGIN PRIVATE KEY-----' "
                                   "line");
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) return Status::Internal("out of memory reading a private key");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return Status::InvalidArgument(std::string(what) + " is malformed and does not parse (" +
                                   OpenSslReason() + ")");
  }
  char group[64] = {0};
  size_t group_len = 0;
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_len) != 1 ||
      std::string_view(group, group_len) != "prime256v1") {
    return Status::InvalidArgument(std::string(what) +
                                   " is not an ECDSA P-256 key (the replication CA uses P-256 only)");
  }
  return key;
}

// ---- PEM out ---------------------------------------------------------------------------

Result<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Status::Internal("cannot encode a certificate as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<SecureString> KeyToPem(EVP_PKEY* key) {
  // A secure-memory BIO: its buffers are cleansed when they grow and when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Internal("cannot encode a private key as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return SecureString(data, static_cast<size_t>(n));
}

// ---- validation of requests -------------------------------------------------------------

Status CheckCommonName(std::string_view cn) {
  if (cn.empty() || cn.size() > kMaxCommonNameSize) {
    return Status::InvalidArgument("common name must be 1-" + std::to_string(kMaxCommonNameSize) +
                                   " characters, got " + std::to_string(cn.size()));
  }
  for (char c : cn) {
    if (c < 0x20 || c > 0x7e) {
      return Status::InvalidArgument("common name must be printable ASCII");
    }
  }
  return Status::OK();
}

bool IsValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsNameSize) return false;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool IsValidClusterId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClusterIdSize) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Parses a textual IPv4/IPv6 address strictly (inet_pton) into 4 or 16 bytes.
bool ParseIp(const std::string& text, std::string* bytes) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

Status CheckValidity(std::chrono::seconds validity, std::chrono::seconds max) {
  if (validity.count() <= 0 || validity > max) {
    return Status::InvalidArgument("certificate validity must be between 1 second and " +
                                   std::to_string(max.count()) + " seconds, got " +
                                   std::to_string(validity.count()));
  }
  return Status::OK();
}

// ---- building certificates ----------------------------------------------------------------

Result<PkeyPtr> GenerateP256() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return Status::Internal("cannot generate a P-256 key (" + OpenSslReason() + ")");
  return key;
}

Status SetRandomSerial(X509* cert) {
  unsigned char buf[16];
  do {
    ROCKSDR_RETURN_IF_ERROR(RandomBytes(buf, sizeof(buf)));
    buf[0] &= 0x7f;  // positive INTEGER, at most 16 content octets
  } while (std::all_of(buf, buf + sizeof(buf), [](unsigned char b) { return b == 0; }));
  BnPtr bn(BN_bin2bn(buf, sizeof(buf), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Status::Internal("cannot set the certificate serial number");
  }
  return Status::OK();
}

Status SetName(X509* cert, std::string_view cn) {
  X509_NAME* name = X509_get_subject_name(cert);
  std::string cn_str(cn);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("rocksdr"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn_str.c_str()), -1, -1,
                                 0) != 1) {
    return Status::Internal("cannot set the certificate subject");
  }
  return Status::OK();
}

Status SetValidity(X509* cert, std::chrono::seconds validity, std::optional<time_t> not_before) {
  time_t now = time(nullptr);
  time_t from = not_before ? *not_before : now - kClockSkewAllowance.count();
  time_t until = (not_before ? *not_before : now) + validity.count();
  if (ASN1_TIME_set(X509_getm_notBefore(cert), from) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), until) == nullptr) {
    return Status::InvalidArgument("certificate validity period cannot be represented");
  }
  return Status::OK();
}

// Adds an extension from a fixed configuration string (never from user input).
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::Internal(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid));
  }
  return Status::OK();
}

Status PushName(GENERAL_NAMES* names, int type, std::string_view value) {
  Asn1StringPtr str(type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new());
  GeneralNamePtr gn(GENERAL_NAME_new());
  if (str == nullptr || gn == nullptr ||
      ASN1_STRING_set(str.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return Status::Internal("out of memory building subjectAltName");
  }
  GENERAL_NAME_set0_value(gn.get(), type, str.release());
  if (sk_GENERAL_NAME_push(names, gn.get()) == 0) return Status::Internal("out of memory building subjectAltName");
  gn.release();
  return Status::OK();
}

// subjectAltName built as typed GeneralNames (never through a config string, so a name can
// not smuggle in extra entries).
Status AddSubjectAltNames(X509* cert, const CertificateRequest& req) {
  if (req.dns_names.size() + req.ip_addresses.size() > kMaxSanEntries) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxSanEntries) +
                                   " DNS and IP subjectAltNames are allowed");
  }
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return Status::Internal("out of memory building subjectAltName");
  for (const std::string& dns : req.dns_names) {
    if (!IsValidDnsName(dns)) {
      return Status::InvalidArgument("'" + dns +
                                     "' is not a valid DNS name (letters, digits and '-' in "
                                     "dot-separated labels, optionally starting with '*.')");
    }
    ROCKSDR_RETURN_IF_ERROR(PushName(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : req.ip_addresses) {
    std::string bytes;
    if (ip.size() > 64 || !ParseIp(ip, &bytes)) {
      return Status::InvalidArgument("'" + ip.substr(0, 64) +
                                     "' is not an IPv4 or IPv6 address (e.g. 10.0.0.1 or ::1)");
    }
    ROCKSDR_RETURN_IF_ERROR(PushName(names.get(), GEN_IPADD, bytes));
  }
  if (!req.cluster_id.empty()) {
    if (!IsValidClusterId(req.cluster_id)) {
      return Status::InvalidArgument("cluster id must be 1-" + std::to_string(kMaxClusterIdSize) +
                                     " characters of [A-Za-z0-9._-]");
    }
    ROCKSDR_RETURN_IF_ERROR(
        PushName(names.get(), GEN_URI, std::string(kClusterIdUriPrefix) + req.cluster_id));
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return Status::OK();
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_APPEND) != 1) {
    return Status::Internal("cannot add subjectAltName");
  }
  return Status::OK();
}

Result<CertifiedKey> Finish(X509* cert, EVP_PKEY* signing_key, EVP_PKEY* subject_key) {
  if (X509_sign(cert, signing_key, EVP_sha256()) == 0) {
    return Status::Internal("cannot sign the certificate (" + OpenSslReason() + ")");
  }
  Result<std::string> cert_pem = CertToPem(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  Result<SecureString> key_pem = KeyToPem(subject_key);
  if (!key_pem.ok()) return key_pem.status();
  return CertifiedKey{std::move(*cert_pem), std::move(*key_pem)};
}

bool IsCaCert(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0; }

std::string SubjectCn(X509* cert) {
  if (cert == nullptr) return "";
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::string IssuerCn(X509* cert) {
  X509_NAME* name = X509_get_issuer_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

Status VerifyFailure(X509_STORE_CTX* ctx) {
  int err = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* current = X509_STORE_CTX_get_current_cert(ctx);
  std::string who = (depth == 0 ? "certificate '" : "issuer certificate '") + SubjectCn(current) + "'";
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Status::Unauthenticated(
          who + " has expired (notAfter " +
          FormatTime(Asn1TimeToTimeT(X509_get0_notAfter(current))) +
          (depth == 0 ? "); issue a new one (for a DR secondary: generate a new activation token)"
                      : "); the replication CA must be replaced"));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Status::Unauthenticated(
          who + " is not yet valid (notBefore " +
          FormatTime(Asn1TimeToTimeT(X509_get0_notBefore(current))) + "); check the clocks");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return Status::Unauthenticated(
          who + " was not issued by the trusted replication CA (unknown issuer '" +
          (current == nullptr ? std::string() : IssuerCn(current)) +
          "'): it belongs to another cluster or CA");
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return Status::Unauthenticated(who + " has a bad signature: it was altered or forged");
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return Status::Unauthenticated(who + " is used as an issuer but is not a CA certificate");
    case X509_V_ERR_INVALID_PURPOSE:
      return Status::Unauthenticated(who + " may not be used for this kind of TLS peer "
                                           "(extendedKeyUsage lacks serverAuth/clientAuth)");
    default:
      return Status::Unauthenticated(who + " does not verify: " +
                                     X509_verify_cert_error_string(err));
  }
}

}  // namespace

Result<CertifiedKey> CreateCa(std::string_view common_name, std::chrono::seconds validity,
                              std::optional<time_t> not_before) {
  ErrorQueueGuard guard;
  ROCKSDR_RETURN_IF_ERROR(CheckCommonName(common_name));
  ROCKSDR_RETURN_IF_ERROR(CheckValidity(validity, kMaxCaValidity));
  Result<PkeyPtr> key = GenerateP256();
  if (!key.ok()) return key.status();
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Status::Internal("out of memory creating a certificate");
  }
  ROCKSDR_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  ROCKSDR_RETURN_IF_ERROR(SetName(cert.get(), common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return Status::Internal("cannot set the CA issuer or public key");
  }
  ROCKSDR_RETURN_IF_ERROR(SetValidity(cert.get(), validity, not_before));
  ROCKSDR_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  ROCKSDR_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  ROCKSDR_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  return Finish(cert.get(), key->get(), key->get());
}

Result<CertifiedKey> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& req) {
  ErrorQueueGuard guard;
  ROCKSDR_RETURN_IF_ERROR(CheckCommonName(req.common_name));
  ROCKSDR_RETURN_IF_ERROR(CheckValidity(req.validity, kMaxLeafValidity));
  Result<X509Ptr> ca_cert = ReadOneCertificate(ca.cert_pem, "CA certificate");
  if (!ca_cert.ok()) return ca_cert.status();
  if (!IsCaCert(ca_cert->get())) {
    return Status::InvalidArgument(
        "the issuer certificate '" + SubjectCn(ca_cert->get()) +
        "' is not a CA certificate (basicConstraints CA:FALSE): a leaf cannot issue certificates");
  }
  Result<PkeyPtr> ca_key = ReadPrivateKey(ca.key_pem, "CA private key");
  if (!ca_key.ok()) return ca_key.status();
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
    return Status::InvalidArgument("the CA private key does not belong to the CA certificate");
  }
  Result<PkeyPtr> key = GenerateP256();
  if (!key.ok()) return key.status();

  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Status::Internal("out of memory creating a certificate");
  }
  ROCKSDR_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  ROCKSDR_RETURN_IF_ERROR(SetName(cert.get(), req.common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert->get())) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return Status::Internal("cannot set the certificate issuer or public key");
  }
  ROCKSDR_RETURN_IF_ERROR(SetValidity(cert.get(), req.validity, req.not_before));
  const char* eku = req.usage == CertificateUsage::kServer   ? "serverAuth"
                    : req.usage == CertificateUsage::kClient ? "clientAuth"
                                                             : "serverAuth,clientAuth";
  X509* issuer = ca_cert->get();
  ROCKSDR_RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
  ROCKSDR_RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature"));
  ROCKSDR_RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_ext_key_usage, eku));
  ROCKSDR_RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash"));
  ROCKSDR_RETURN_IF_ERROR(
      AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always"));
  ROCKSDR_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), req));
  return Finish(cert.get(), ca_key->get(), key->get());
}

Status VerifyPeerCertificate(std::string_view ca_pem, std::string_view cert_pem,
                             std::optional<time_t> at, std::optional<CertificateUsage> usage) {
  ErrorQueueGuard guard;
  Result<std::vector<X509Ptr>> anchors = ReadCertificates(ca_pem, "CA certificate");
  if (!anchors.ok()) return anchors.status();
  Result<std::vector<X509Ptr>> presented = ReadCertificates(cert_pem, "peer certificate");
  if (!presented.ok()) return presented.status();

  StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return Status::Internal("out of memory verifying a certificate");
  }
  for (size_t i = 0; i < anchors->size(); ++i) {
    X509* anchor = (*anchors)[i].get();
    if (!IsCaCert(anchor)) {
      return Status::InvalidArgument("CA certificate " + std::to_string(i + 1) + " ('" +
                                     SubjectCn(anchor) +
                                     "') is not a CA certificate and cannot be trusted as one");
    }
    if (X509_STORE_add_cert(store.get(), anchor) != 1) {
      return Status::Internal("cannot add the CA certificate to the trust store");
    }
  }
  X509* leaf = (*presented)[0].get();
  if (IsCaCert(leaf)) {
    return Status::Unauthenticated("peer certificate '" + SubjectCn(leaf) +
                                   "' is a CA certificate; a peer must present a leaf certificate");
  }
  for (size_t i = 1; i < presented->size(); ++i) {
    if (sk_X509_push(untrusted.get(), (*presented)[i].get()) == 0) {
      return Status::Internal("out of memory verifying a certificate");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return Status::Internal("cannot initialize certificate verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (at) X509_STORE_CTX_set_time(ctx.get(), 0, *at);
  if (usage) {
    int purpose = *usage == CertificateUsage::kClient ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER;
    if (X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
      return Status::Internal("cannot set the verification purpose");
    }
  }
  if (X509_verify_cert(ctx.get()) != 1) return VerifyFailure(ctx.get());
  if (usage && *usage == CertificateUsage::kBoth &&
      X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    return Status::Unauthenticated("certificate '" + SubjectCn(leaf) +
                                   "' may not be used as a TLS client (no clientAuth usage)");
  }
  return Status::OK();
}

Result<CertificateInfo> InspectCertificate(std::string_view cert_pem) {
  ErrorQueueGuard guard;
  Result<std::vector<X509Ptr>> certs = ReadCertificates(cert_pem, "certificate");
  if (!certs.ok()) return certs.status();
  X509* cert = (*certs)[0].get();
  CertificateInfo info;
  info.subject_common_name = SubjectCn(cert);
  info.issuer_common_name = IssuerCn(cert);
  info.not_before = Asn1TimeToTimeT(X509_get0_notBefore(cert));
  info.not_after = Asn1TimeToTimeT(X509_get0_notAfter(cert));
  info.is_ca = IsCaCert(cert);
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial == nullptr) return Status::InvalidArgument("certificate has an unreadable serial number");
  char* hex = BN_bn2hex(serial.get());
  if (hex == nullptr) return Status::Internal("out of memory reading a serial number");
  info.serial_hex = hex;
  OPENSSL_free(hex);
  for (char& c : info.serial_hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  int crit = 0;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (names == nullptr && crit == -2) {
    return Status::InvalidArgument("certificate has more than one subjectAltName extension");
  }
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const ASN1_STRING* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(gn, &type));
    if (value == nullptr) continue;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<size_t>(ASN1_STRING_length(value)));
    if (type == GEN_DNS) {
      info.dns_names.push_back(std::move(text));
    } else if (type == GEN_URI) {
      info.uris.push_back(std::move(text));
    } else if (type == GEN_IPADD) {
      char buf[INET6_ADDRSTRLEN] = {0};
      int family = text.size() == 4 ? AF_INET : text.size() == 16 ? AF_INET6 : -1;
      if (family == -1 || inet_ntop(family, text.data(), buf, sizeof(buf)) == nullptr) {
        return Status::InvalidArgument("certificate has a malformed IP subjectAltName");
      }
      info.ip_addresses.emplace_back(buf);
    }
  }
  return info;
}

Result<std::string> ClusterIdOf(std::string_view cert_pem) {
  Result<CertificateInfo> info = InspectCertificate(cert_pem);
  if (!info.ok()) return info.status();
  std::optional<std::string> found;
  for (const std::string& uri : info->uris) {
    if (uri.size() < kClusterIdUriPrefix.size() ||
        std::string_view(uri).substr(0, kClusterIdUriPrefix.size()) != kClusterIdUriPrefix) {
      continue;
    }
    if (found) {
      return Status::InvalidArgument("certificate names more than one cluster id");
    }
    found = uri.substr(kClusterIdUriPrefix.size());
  }
  if (!found) {
    return Status::NotFound("certificate '" + info->subject_common_name +
                            "' has no '" + std::string(kClusterIdUriPrefix) +
                            "<cluster-id>' subjectAltName: it was not issued for a rocksdr cluster");
  }
  if (!IsValidClusterId(*found)) {
    return Status::InvalidArgument("certificate carries a malformed cluster id");
  }
  return *found;
}

Status CheckCertifiedKey(const CertifiedKey& pair) {
  ErrorQueueGuard guard;
  Result<X509Ptr> cert = ReadOneCertificate(pair.cert_pem, "certificate");
  if (!cert.ok()) return cert.status();
  Result<PkeyPtr> key = ReadPrivateKey(pair.key_pem, "private key");
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return Status::InvalidArgument("the private key does not belong to certificate '" +
                                   SubjectCn(cert->get()) + "'");
  }
  return Status::OK();
}

}  // namespace rocksdr::crypto
