// Micro-benchmarks of the keyring crypto: AEAD seal/open of a 4 KiB blob, sealing/opening a
// realistic keyring, token hashing, and the replication CA (create, issue, verify).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "rocksdr/crypto/aead.h"
#include "rocksdr/crypto/keyring.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/token_hash.h"
#include "rocksdr/crypto/x509_ca.h"

namespace rocksdr::crypto {
namespace {

SecureBytes Key32() {
  Result<SecureBytes> k = RandomSecureBytes(32);
  if (!k.ok()) std::abort();
  return *k;
}

template <typename T>
const T& Must(const Result<T>& r) {
  if (!r.ok()) std::abort();
  return *r;
}

constexpr std::string_view kAad = "rocksdr/bench/v1";

void BM_Seal4KiB(benchmark::State& state) {
  SecureBytes key = Key32();
  std::string plain(4096, 'k');
  for (auto _ : state) {
    Result<std::string> blob = Seal(key, plain, kAad);
    benchmark::DoNotOptimize(blob);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Seal4KiB);

void BM_Open4KiB(benchmark::State& state) {
  SecureBytes key = Key32();
  std::string blob = Must(Seal(key, std::string(4096, 'k'), kAad));
  for (auto _ : state) {
    Result<SecureBytes> plain = Open(key, blob, kAad);
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Open4KiB);

// The sidecar's keyring: CA key PEM, JWT signing key PEM (P-521 size), token HMAC key.
Keyring SidecarKeyring() {
  CertifiedKey ca = Must(CreateCa("bench CA", std::chrono::hours(24)));
  Keyring k;
  if (!k.Put(kReplicationCaKeyName, SecureBytes(ca.key_pem.begin(), ca.key_pem.end())).ok() ||
      !k.Put(kJwtSigningKeyName, SecureBytes(384, 'j')).ok() ||
      !k.Put(kTokenHmacKeyName, Key32()).ok()) {
    std::abort();
  }
  return k;
}

void BM_SealKeyring(benchmark::State& state) {
  SecureBytes root = Must(GenerateRootKey());
  Keyring k = SidecarKeyring();
  for (auto _ : state) {
    Result<std::string> sealed = SealKeyring(root, k);
    benchmark::DoNotOptimize(sealed);
  }
}
BENCHMARK(BM_SealKeyring);

void BM_OpenKeyring(benchmark::State& state) {
  SecureBytes root = Must(GenerateRootKey());
  std::string sealed = Must(SealKeyring(root, SidecarKeyring()));
  for (auto _ : state) {
    Result<Keyring> k = OpenKeyring(root, sealed);
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_OpenKeyring);

void BM_OpenKeyringWrongRootKey(benchmark::State& state) {
  SecureBytes root = Must(GenerateRootKey());
  SecureBytes wrong = Must(GenerateRootKey());
  std::string sealed = Must(SealKeyring(root, SidecarKeyring()));
  for (auto _ : state) {
    Result<Keyring> k = OpenKeyring(wrong, sealed);
    if (k.ok()) std::abort();
  }
}
BENCHMARK(BM_OpenKeyringWrongRootKey);

void BM_HashToken(benchmark::State& state) {
  SecureBytes key = Key32();
  std::string token = "hvs.CAESIJ1wEl8sN4-rdx8Cb1zQn1sYzF2MDBlZjY1";
  for (auto _ : state) {
    std::string h = HashToken(key, token);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_HashToken);

void BM_CreateCa(benchmark::State& state) {
  for (auto _ : state) {
    Result<CertifiedKey> ca = CreateCa("bench CA", std::chrono::hours(24 * 365));
    benchmark::DoNotOptimize(ca);
  }
}
BENCHMARK(BM_CreateCa);

CertificateRequest NodeRequest() {
  CertificateRequest req;
  req.common_name = "secondary-1";
  req.dns_names = {"dr.example.com"};
  req.ip_addresses = {"10.0.0.7", "::1"};
  req.cluster_id = "bab0ea36-23f6-d21d-4ca6-a9c3673766a3";
  return req;
}

void BM_IssueCertificate(benchmark::State& state) {
  CertifiedKey ca = Must(CreateCa("bench CA", std::chrono::hours(24 * 365)));
  CertificateRequest req = NodeRequest();
  for (auto _ : state) {
    Result<CertifiedKey> cert = IssueCertificate(ca, req);
    if (!cert.ok()) std::abort();
  }
}
BENCHMARK(BM_IssueCertificate);

void BM_VerifyPeerCertificate(benchmark::State& state) {
  CertifiedKey ca = Must(CreateCa("bench CA", std::chrono::hours(24 * 365)));
  CertifiedKey leaf = Must(IssueCertificate(ca, NodeRequest()));
  for (auto _ : state) {
    Status s = VerifyPeerCertificate(ca.cert_pem, leaf.cert_pem, {}, CertificateUsage::kBoth);
    if (!s.ok()) std::abort();
  }
}
BENCHMARK(BM_VerifyPeerCertificate);

}  // namespace
}  // namespace rocksdr::crypto

BENCHMARK_MAIN();
