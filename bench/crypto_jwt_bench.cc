// Micro-benchmarks of ES512 activation tokens: issue (P-521 ECDSA sign + JSON + base64url) and
// verify (strict parse + ECDSA verify + claim checks), plus the unverified peek and key
// generation for scale. Run: build/bench/crypto_jwt_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "rocksdr/crypto/ec_key.h"
#include "rocksdr/crypto/jwt.h"

namespace rocksdr::crypto {
namespace {

constexpr int64_t kNow = 1700000000;

struct Fixture {
  Fixture() {
    auto k = EcPrivateKey::Generate();
    if (!k.ok()) std::abort();
    key = std::move(*k);
    auto p = key->PublicKey();
    if (!p.ok()) std::abort();
    pub = std::move(*p);
    auto c = NewActivationClaims("https://primary.example.com:8200", "4a8d5a2b-0c1e-4f7e-9a3d-2b6c8e1f0a9d", kNow);
    if (!c.ok()) std::abort();
    claims = *c;
    auto t = IssueActivationToken(*key, claims);
    if (!t.ok()) std::abort();
    token = *t;
  }
  std::optional<EcPrivateKey> key;
  std::optional<EcPublicKey> pub;
  ActivationClaims claims;
  std::string token;
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_IssueActivationToken(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto t = IssueActivationToken(*f.key, f.claims);
    if (!t.ok()) state.SkipWithError("issue failed");
    benchmark::DoNotOptimize(t);
  }
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
}
BENCHMARK(BM_IssueActivationToken)->Unit(benchmark::kMicrosecond);

void BM_VerifyActivationToken(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto c = VerifyActivationToken(f.token, *f.pub, kNow + 10);
    if (!c.ok()) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_VerifyActivationToken)->Unit(benchmark::kMicrosecond);

// Cost of refusing a forgery (signature check fails): what an attacker can make us spend.
void BM_VerifyRejectsTampered(benchmark::State& state) {
  Fixture& f = F();
  std::string bad = f.token;
  bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
  for (auto _ : state) {
    auto c = VerifyActivationToken(bad, *f.pub, kNow + 10);
    if (c.ok()) state.SkipWithError("tampered token verified");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_VerifyRejectsTampered)->Unit(benchmark::kMicrosecond);

void BM_PeekActivationClaims(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto c = PeekActivationClaims(f.token);
    if (!c.ok()) state.SkipWithError("peek failed");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_PeekActivationClaims)->Unit(benchmark::kMicrosecond);

void BM_GenerateP521Key(benchmark::State& state) {
  for (auto _ : state) {
    auto k = EcPrivateKey::Generate();
    if (!k.ok()) state.SkipWithError("generate failed");
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_GenerateP521Key)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rocksdr::crypto

BENCHMARK_MAIN();
