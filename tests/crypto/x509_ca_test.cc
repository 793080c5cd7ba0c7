#include "rocksdr/crypto/x509_ca.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <set>
#include <string>

namespace rocksdr::crypto {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
constexpr time_t kDay = 24 * 3600;

CertifiedKey MakeCa(std::string_view cn = "rocksdr replication CA") {
  Result<CertifiedKey> ca = CreateCa(cn, hours(24 * 365 * 10));
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return ca.ok() ? *ca : CertifiedKey{};
}

CertificateRequest NodeRequest() {
  CertificateRequest req;
  req.common_name = "secondary-1";
  req.dns_names = {"dr.example.com", "*.nodes.example.com", "localhost"};
  req.ip_addresses = {"10.0.0.7", "::1", "fd00:0:0::1"};
  req.cluster_id = "bab0ea36-23f6-d21d-4ca6-a9c3673766a3";
  return req;
}

CertifiedKey Issue(const CertifiedKey& ca, const CertificateRequest& req) {
  Result<CertifiedKey> cert = IssueCertificate(ca, req);
  EXPECT_TRUE(cert.ok()) << cert.status().ToString();
  return cert.ok() ? *cert : CertifiedKey{};
}

std::string Msg(const Status& s) { return s.message(); }

// ---- OpenSSL helpers for building certificates our API refuses to build ----
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

X509Ptr ParseCert(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}
PkeyPtr ParseKey(const SecureString& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}
std::string ToPem(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// A leaf certificate signed with the key of `issuer` — a leaf (CA:FALSE) — as if it were a CA.
std::string ForgeSignedBy(const CertifiedKey& issuer) {
  X509Ptr issuer_cert = ParseCert(issuer.cert_pem);
  PkeyPtr issuer_key = ParseKey(issuer.key_pem);
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr x(X509_new());
  EXPECT_TRUE(issuer_cert && issuer_key && key && x);
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("forged"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(issuer_cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    EXPECT_NE(ext, nullptr);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x.get(), issuer_key.get(), EVP_sha256()), 0);
  return ToPem(x.get());
}

// ---- creation ---------------------------------------------------------------------------

TEST(X509Ca, CreateCaMakesACaCertificate) {
  CertifiedKey ca = MakeCa("cluster CA");
  EXPECT_NE(ca.cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(std::string_view(ca.key_pem.data(), ca.key_pem.size()).find("-----BEGIN PRIVATE KEY-----"),
            std::string::npos);
  Result<CertificateInfo> info = InspectCertificate(ca.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject_common_name, "cluster CA");
  EXPECT_EQ(info->issuer_common_name, "cluster CA");
  EXPECT_TRUE(CheckCertifiedKey(ca).ok());

  X509Ptr x = ParseCert(ca.cert_pem);
  ASSERT_TRUE(x);
  EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);
  int crit = 0;
  BASIC_CONSTRAINTS* bc =
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  uint32_t ku = X509_get_key_usage(x.get());
  EXPECT_TRUE(ku & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(ku & KU_CRL_SIGN);
  EXPECT_FALSE(ku & KU_DIGITAL_SIGNATURE);
  EXPECT_NE(X509_get0_subject_key_id(x.get()), nullptr);
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  char group[32] = {0};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof(group), &len), 1);
  EXPECT_EQ(std::string(group, len), "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
}

TEST(X509Ca, CreateCaValidatesInput) {
  EXPECT_EQ(CreateCa("", hours(1)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateCa(std::string(kMaxCommonNameSize + 1, 'a'), hours(1)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CreateCa("bad\nname", hours(1)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateCa("ca", seconds(0)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateCa("ca", seconds(-5)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateCa("ca", kMaxCaValidity + seconds(1)).status().code(), Code::kInvalidArgument);
}

TEST(X509Ca, IssuedCertificateHasTheRequestedContents) {
  CertifiedKey ca = MakeCa();
  CertificateRequest req = NodeRequest();
  req.usage = CertificateUsage::kClient;
  time_t before = time(nullptr);
  CertifiedKey leaf = Issue(ca, req);
  Result<CertificateInfo> info = InspectCertificate(leaf.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->subject_common_name, "secondary-1");
  EXPECT_EQ(info->issuer_common_name, "rocksdr replication CA");
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"dr.example.com", "*.nodes.example.com", "localhost"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"10.0.0.7", "::1", "fd00::1"}));
  EXPECT_EQ(info->uris,
            (std::vector<std::string>{"rocksdr://cluster/bab0ea36-23f6-d21d-4ca6-a9c3673766a3"}));
  EXPECT_LE(info->not_before, before - kClockSkewAllowance.count() + 2);
  EXPECT_GE(info->not_before, before - kClockSkewAllowance.count() - 2);
  EXPECT_NEAR(static_cast<double>(info->not_after - before), 365.0 * kDay, 5.0);
  EXPECT_TRUE(CheckCertifiedKey(leaf).ok());

  X509Ptr x = ParseCert(leaf.cert_pem);
  ASSERT_TRUE(x);
  EXPECT_TRUE(X509_get_key_usage(x.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(x.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_extended_key_usage(x.get()) & XKU_SSL_CLIENT);
  EXPECT_FALSE(X509_get_extended_key_usage(x.get()) & XKU_SSL_SERVER);
  EXPECT_NE(X509_get0_authority_key_id(x.get()), nullptr);
  EXPECT_EQ(X509_check_host(x.get(), "dr.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x.get(), "a.nodes.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "10.0.0.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "10.0.0.8", 0), 0);
}

TEST(X509Ca, ClusterIdIsReadBack) {
  CertifiedKey ca = MakeCa();
  CertifiedKey leaf = Issue(ca, NodeRequest());
  Result<std::string> id = ClusterIdOf(leaf.cert_pem);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "bab0ea36-23f6-d21d-4ca6-a9c3673766a3");

  CertificateRequest no_cluster = NodeRequest();
  no_cluster.cluster_id.clear();
  CertifiedKey anon = Issue(ca, no_cluster);
  EXPECT_EQ(ClusterIdOf(anon.cert_pem).status().code(), Code::kNotFound);
  EXPECT_EQ(ClusterIdOf(ca.cert_pem).status().code(), Code::kNotFound);
  EXPECT_EQ(ClusterIdOf("garbage").status().code(), Code::kInvalidArgument);
}

TEST(X509Ca, SerialsAreRandomAndDistinct) {
  CertifiedKey ca = MakeCa();
  std::set<std::string> serials;
  CertificateRequest req;
  req.common_name = "n";
  for (int i = 0; i < 20; ++i) {
    CertifiedKey leaf = Issue(ca, req);
    Result<CertificateInfo> info = InspectCertificate(leaf.cert_pem);
    ASSERT_TRUE(info.ok());
    EXPECT_LE(info->serial_hex.size(), 32u);
    EXPECT_GE(info->serial_hex.size(), 16u);  // 2^-64 chance of a false failure
    serials.insert(info->serial_hex);
  }
  Result<CertificateInfo> ca_info = InspectCertificate(ca.cert_pem);
  ASSERT_TRUE(ca_info.ok());
  serials.insert(ca_info->serial_hex);
  EXPECT_EQ(serials.size(), 21u);
}

TEST(X509Ca, EveryCertificateHasItsOwnKey) {
  CertifiedKey ca = MakeCa();
  CertificateRequest req;
  req.common_name = "n";
  CertifiedKey a = Issue(ca, req);
  CertifiedKey b = Issue(ca, req);
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_NE(a.key_pem, ca.key_pem);
  // Mixing a certificate with another's key is detected.
  CertifiedKey mixed{a.cert_pem, b.key_pem};
  Status s = CheckCertifiedKey(mixed);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(Msg(s).find("does not belong"), std::string::npos);
}

TEST(X509Ca, IssueValidatesTheRequest) {
  CertifiedKey ca = MakeCa();
  auto code_of = [&](CertificateRequest req) { return IssueCertificate(ca, req).status().code(); };
  CertificateRequest r = NodeRequest();
  EXPECT_EQ(code_of(r), Code::kOk);
  for (const char* bad : {"a..b", "-x.example", "x y", "a,IP:1.2.3.4", "", "ex*ample.com",
                          "foo.*.example.com", "trailing-.example"}) {
    r = NodeRequest();
    r.dns_names = {bad};
    EXPECT_EQ(code_of(r), Code::kInvalidArgument) << bad;
  }
  for (const char* bad : {"1.2.3", "1.2.3.4x", "256.0.0.1", "::g", "", "localhost"}) {
    r = NodeRequest();
    r.ip_addresses = {bad};
    EXPECT_EQ(code_of(r), Code::kInvalidArgument) << bad;
  }
  r = NodeRequest();
  r.common_name = "";
  EXPECT_EQ(code_of(r), Code::kInvalidArgument);
  r = NodeRequest();
  r.cluster_id = "a/b";
  EXPECT_EQ(code_of(r), Code::kInvalidArgument);
  r = NodeRequest();
  r.validity = seconds(0);
  EXPECT_EQ(code_of(r), Code::kInvalidArgument);
  r = NodeRequest();
  r.validity = kMaxLeafValidity + seconds(1);
  EXPECT_EQ(code_of(r), Code::kInvalidArgument);
  r = NodeRequest();
  r.dns_names.assign(kMaxSanEntries + 1, "a.example");
  EXPECT_EQ(code_of(r), Code::kInvalidArgument);
}

// ---- verification -------------------------------------------------------------------------

TEST(X509Ca, ChainVerifies) {
  CertifiedKey ca = MakeCa();
  CertifiedKey leaf = Issue(ca, NodeRequest());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem).ok());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem, time(nullptr) + 300 * kDay).ok());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem, {}, CertificateUsage::kServer).ok());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem, {}, CertificateUsage::kClient).ok());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem, {}, CertificateUsage::kBoth).ok());
  // A trust bundle with another CA as well (CA rotation) still verifies.
  CertifiedKey other = MakeCa("next CA");
  EXPECT_TRUE(VerifyPeerCertificate(other.cert_pem + ca.cert_pem, leaf.cert_pem).ok());
}

TEST(X509Ca, CertificateFromAnotherCaIsRefused) {
  CertifiedKey ca = MakeCa("cluster A CA");
  CertifiedKey other = MakeCa("cluster B CA");
  CertifiedKey foreign = Issue(other, NodeRequest());
  Status s = VerifyPeerCertificate(ca.cert_pem, foreign.cert_pem);
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(s).find("not issued by the trusted replication CA"), std::string::npos) << Msg(s);
  EXPECT_NE(Msg(s).find("cluster B CA"), std::string::npos) << Msg(s);

  // Same subject name, different key: refused too (matching is by key, not by name).
  CertifiedKey twin = MakeCa("cluster A CA");
  CertifiedKey twin_leaf = Issue(twin, NodeRequest());
  Status t = VerifyPeerCertificate(ca.cert_pem, twin_leaf.cert_pem);
  EXPECT_EQ(t.code(), Code::kUnauthenticated) << Msg(t);
  // A CA certificate presented as a peer is not trusted because it is self-signed.
  EXPECT_EQ(VerifyPeerCertificate(ca.cert_pem, other.cert_pem).code(), Code::kUnauthenticated);
  // Even the trusted CA itself is not accepted as a peer certificate.
  Status self = VerifyPeerCertificate(ca.cert_pem, ca.cert_pem);
  EXPECT_EQ(self.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(self).find("is a CA certificate"), std::string::npos) << Msg(self);
}

TEST(X509Ca, ExpiredCertificateIsRefused) {
  Result<CertifiedKey> made = CreateCa("rocksdr replication CA", hours(24 * 30), time(nullptr) - 3 * kDay);
  ASSERT_TRUE(made.ok());
  CertifiedKey ca = *made;
  CertificateRequest req = NodeRequest();
  req.not_before = time(nullptr) - 2 * kDay;
  req.validity = hours(24);
  CertifiedKey old = Issue(ca, req);
  Status s = VerifyPeerCertificate(ca.cert_pem, old.cert_pem);
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(s).find("has expired"), std::string::npos) << Msg(s);
  // And it was valid during its window (the CA was too).
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, old.cert_pem, time(nullptr) - kDay - 3600).ok());

  // A fresh 1-year certificate is expired two years from now.
  CertifiedKey fresh = Issue(ca, NodeRequest());
  Status later = VerifyPeerCertificate(ca.cert_pem, fresh.cert_pem, time(nullptr) + 2 * 365 * kDay);
  EXPECT_NE(Msg(later).find("has expired"), std::string::npos) << Msg(later);
}

TEST(X509Ca, NotYetValidCertificateIsRefused) {
  CertifiedKey ca = MakeCa();
  CertificateRequest req = NodeRequest();
  req.not_before = time(nullptr) + kDay;
  CertifiedKey future = Issue(ca, req);
  Status s = VerifyPeerCertificate(ca.cert_pem, future.cert_pem);
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(s).find("not yet valid"), std::string::npos) << Msg(s);
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, future.cert_pem, time(nullptr) + 2 * kDay).ok());
}

TEST(X509Ca, ExpiredCaIsRefused) {
  Result<CertifiedKey> ca = CreateCa("old CA", hours(24), time(nullptr) - 10 * kDay);
  ASSERT_TRUE(ca.ok());
  CertifiedKey leaf = Issue(*ca, NodeRequest());  // the leaf itself is within its validity
  Status s = VerifyPeerCertificate(ca->cert_pem, leaf.cert_pem);
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(s).find("issuer certificate 'old CA' has expired"), std::string::npos) << Msg(s);
}

TEST(X509Ca, LeafUsedAsCaIsRefused) {
  CertifiedKey ca = MakeCa();
  CertifiedKey leaf = Issue(ca, NodeRequest());
  // Our API refuses to issue with a leaf.
  Result<CertifiedKey> by_leaf = IssueCertificate(leaf, NodeRequest());
  EXPECT_EQ(by_leaf.status().code(), Code::kInvalidArgument);
  EXPECT_NE(Msg(by_leaf.status()).find("not a CA"), std::string::npos);
  // A certificate forged with the leaf's key does not verify, whether the leaf is presented as an
  // intermediate or offered as the trust anchor.
  std::string forged = ForgeSignedBy(leaf);
  ASSERT_FALSE(forged.empty());
  Status chained = VerifyPeerCertificate(ca.cert_pem, forged + leaf.cert_pem);
  EXPECT_EQ(chained.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(chained).find("not a CA"), std::string::npos) << Msg(chained);
  Status anchored = VerifyPeerCertificate(leaf.cert_pem, forged);
  EXPECT_EQ(anchored.code(), Code::kInvalidArgument);
  EXPECT_NE(Msg(anchored).find("not a CA"), std::string::npos) << Msg(anchored);
  Status alone = VerifyPeerCertificate(ca.cert_pem, forged);
  EXPECT_EQ(alone.code(), Code::kUnauthenticated);
}

TEST(X509Ca, TamperedSignatureIsRefused) {
  CertifiedKey ca = MakeCa();
  CertifiedKey leaf = Issue(ca, NodeRequest());
  X509Ptr x = ParseCert(leaf.cert_pem);
  ASSERT_TRUE(x);
  unsigned char* der = nullptr;
  int n = i2d_X509(x.get(), &der);
  ASSERT_GT(n, 0);
  der[n - 1] ^= 0x01;  // last byte of the ECDSA signature's s
  const unsigned char* p = der;
  X509Ptr bad(d2i_X509(nullptr, &p, n));
  OPENSSL_free(der);
  ASSERT_TRUE(bad);
  Status s = VerifyPeerCertificate(ca.cert_pem, ToPem(bad.get()));
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(Msg(s).find("bad signature"), std::string::npos) << Msg(s);
}

TEST(X509Ca, UsageIsEnforced) {
  CertifiedKey ca = MakeCa();
  CertificateRequest req = NodeRequest();
  req.usage = CertificateUsage::kServer;
  CertifiedKey server = Issue(ca, req);
  req.usage = CertificateUsage::kClient;
  CertifiedKey client = Issue(ca, req);
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, server.cert_pem, {}, CertificateUsage::kServer).ok());
  EXPECT_TRUE(VerifyPeerCertificate(ca.cert_pem, client.cert_pem, {}, CertificateUsage::kClient).ok());
  Status s1 = VerifyPeerCertificate(ca.cert_pem, server.cert_pem, {}, CertificateUsage::kClient);
  EXPECT_EQ(s1.code(), Code::kUnauthenticated);
  Status s2 = VerifyPeerCertificate(ca.cert_pem, client.cert_pem, {}, CertificateUsage::kServer);
  EXPECT_EQ(s2.code(), Code::kUnauthenticated);
  EXPECT_EQ(VerifyPeerCertificate(ca.cert_pem, server.cert_pem, {}, CertificateUsage::kBoth).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(VerifyPeerCertificate(ca.cert_pem, client.cert_pem, {}, CertificateUsage::kBoth).code(),
            Code::kUnauthenticated);
}

// ---- PEM input ----------------------------------------------------------------------------

TEST(X509Ca, MalformedPemIsRefused) {
  CertifiedKey ca = MakeCa();
  CertifiedKey leaf = Issue(ca, NodeRequest());
  std::string truncated = leaf.cert_pem.substr(0, leaf.cert_pem.size() / 2);
  std::string corrupt = leaf.cert_pem;
  corrupt[40] = '!';
  std::string body_swapped = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  for (const std::string& bad : {std::string(), std::string("garbage"), truncated, corrupt, body_swapped,
                                 std::string(kMaxPemSize + 1, 'A')}) {
    Status v = VerifyPeerCertificate(ca.cert_pem, bad);
    EXPECT_EQ(v.code(), Code::kInvalidArgument) << Msg(v);
    EXPECT_EQ(VerifyPeerCertificate(bad, leaf.cert_pem).code(), Code::kInvalidArgument);
    EXPECT_EQ(InspectCertificate(bad).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(IssueCertificate(CertifiedKey{bad, ca.key_pem}, NodeRequest()).status().code(),
              Code::kInvalidArgument);
  }
  EXPECT_NE(Msg(VerifyPeerCertificate(ca.cert_pem, "garbage")).find("BEGIN CERTIFICATE"),
            std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left non-empty";
}

TEST(X509Ca, BadCaKeysAreRefusedWithoutLeakingThem) {
  CertifiedKey ca = MakeCa();
  CertifiedKey other = MakeCa("other");
  // Key of another CA.
  Result<CertifiedKey> mismatch = IssueCertificate(CertifiedKey{ca.cert_pem, other.key_pem}, NodeRequest());
  EXPECT_EQ(mismatch.status().code(), Code::kInvalidArgument);
  EXPECT_NE(Msg(mismatch.status()).find("does not belong"), std::string::npos);
  // Garbage, truncated and encrypted keys.
  SecureString truncated = ca.key_pem.substr(0, ca.key_pem.size() / 2);
  SecureString corrupt = ca.key_pem;
  corrupt[40] = '!';
  SecureString encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
  for (const SecureString& bad : {SecureString(), SecureString("nope"), truncated, corrupt, encrypted}) {
    Result<CertifiedKey> r = IssueCertificate(CertifiedKey{ca.cert_pem, bad}, NodeRequest());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << Msg(r.status());
    EXPECT_EQ(Msg(r.status()).find(std::string(ca.key_pem.substr(28, 40))), std::string::npos);
    EXPECT_EQ(CheckCertifiedKey(CertifiedKey{ca.cert_pem, bad}).code(), Code::kInvalidArgument);
  }
  // A key that is not P-256.
  PkeyPtr p384(EVP_EC_gen("P-384"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), p384.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  Result<CertifiedKey> wrong_curve =
      IssueCertificate(CertifiedKey{ca.cert_pem, SecureString(data, static_cast<size_t>(n))}, NodeRequest());
  EXPECT_EQ(wrong_curve.status().code(), Code::kInvalidArgument);
  EXPECT_NE(Msg(wrong_curve.status()).find("P-256"), std::string::npos);
}

// ---- the certificates work for mutual TLS 1.3 ---------------------------------------------

struct SslCtxFree { void operator()(SSL_CTX* c) const { SSL_CTX_free(c); } };
struct SslFree { void operator()(SSL* s) const { SSL_free(s); } };

std::unique_ptr<SSL_CTX, SslCtxFree> TlsContext(bool server, const CertifiedKey& ca,
                                                 const CertifiedKey& me) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  X509Ptr cert = ParseCert(me.cert_pem);
  PkeyPtr key = ParseKey(me.key_pem);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert.get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), 1);
  X509Ptr ca_cert = ParseCert(ca.cert_pem);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca_cert.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

// Runs a handshake over in-memory BIOs; returns true if both sides complete.
bool Handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const char* host) {
  std::unique_ptr<SSL, SslFree> server(SSL_new(server_ctx));
  std::unique_ptr<SSL, SslFree> client(SSL_new(client_ctx));
  BIO* s_bio = nullptr;
  BIO* c_bio = nullptr;
  BIO_new_bio_pair(&s_bio, 0, &c_bio, 0);
  SSL_set_bio(server.get(), s_bio, s_bio);
  SSL_set_bio(client.get(), c_bio, c_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  SSL_set1_host(client.get(), host);
  bool s_done = false, c_done = false;
  for (int i = 0; i < 20 && !(s_done && c_done); ++i) {
    if (!c_done) {
      int r = SSL_do_handshake(client.get());
      if (r == 1) c_done = true;
      else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) break;
    }
    if (!s_done) {
      int r = SSL_do_handshake(server.get());
      if (r == 1) s_done = true;
      else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) break;
    }
  }
  // In TLS 1.3 the server checks the client certificate after the client finished: exchange data.
  if (s_done && c_done) {
    char byte = 'x';
    if (SSL_write(client.get(), &byte, 1) != 1) return false;
    if (SSL_read(server.get(), &byte, 1) != 1) return false;
  }
  ERR_clear_error();
  return s_done && c_done;
}

TEST(X509Ca, CertificatesWorkForMutualTls13) {
  CertifiedKey ca = MakeCa();
  CertificateRequest sreq = NodeRequest();
  sreq.common_name = "primary";
  sreq.usage = CertificateUsage::kServer;
  CertifiedKey server = Issue(ca, sreq);
  CertificateRequest creq;
  creq.common_name = "secondary";
  creq.usage = CertificateUsage::kClient;
  CertifiedKey client = Issue(ca, creq);
  auto sctx = TlsContext(true, ca, server);
  auto cctx = TlsContext(false, ca, client);
  EXPECT_TRUE(Handshake(sctx.get(), cctx.get(), "dr.example.com"));
  EXPECT_FALSE(Handshake(sctx.get(), cctx.get(), "other.example.com"));  // hostname check

  // A client whose certificate comes from another CA is rejected by the server.
  CertifiedKey other_ca = MakeCa("other");
  CertifiedKey stranger = Issue(other_ca, creq);
  auto stranger_ctx = TlsContext(false, ca, stranger);
  EXPECT_FALSE(Handshake(sctx.get(), stranger_ctx.get(), "dr.example.com"));
}

}  // namespace
}  // namespace rocksdr::crypto
