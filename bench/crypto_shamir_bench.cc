// Micro-benchmarks of the secret-sharing and token primitives: Split/Combine of a 32-byte root
// key with Vault's default 5 shares / threshold 3, and the OTP operations of generate-root.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/shamir.h"

namespace rocksdr::crypto {
namespace {

// Returns the value, or aborts the benchmark run with the error.
template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) {
    std::cerr << r.status().ToString() << "\n";
    std::abort();
  }
  return std::move(r).value();
}

void BM_ShamirSplit32Key5of3(benchmark::State& state) {
  const SecureBytes key = Check(RandomSecureBytes(32));
  for (auto _ : state) {
    auto shares = shamir::Split(AsStringView(key), 5, 3);
    benchmark::DoNotOptimize(shares);
  }
}
BENCHMARK(BM_ShamirSplit32Key5of3);

void BM_ShamirCombine3of32Key(benchmark::State& state) {
  const SecureBytes key = Check(RandomSecureBytes(32));
  const std::vector<SecureBytes> shares = Check(shamir::Split(AsStringView(key), 5, 3));
  const std::vector<SecureBytes> three(shares.begin(), shares.begin() + 3);
  for (auto _ : state) {
    auto secret = shamir::Combine(three);
    benchmark::DoNotOptimize(secret);
  }
}
BENCHMARK(BM_ShamirCombine3of32Key);

void BM_GenerateOtp(benchmark::State& state) {
  for (auto _ : state) {
    auto otp = GenerateOtp();
    benchmark::DoNotOptimize(otp);
  }
}
BENCHMARK(BM_GenerateOtp);

void BM_EncodeToken(benchmark::State& state) {
  const SecureString token = Check(GenerateToken());
  const SecureString otp = Check(GenerateOtp());
  const std::string_view t(token.data(), token.size()), o(otp.data(), otp.size());
  for (auto _ : state) {
    auto enc = EncodeToken(t, o);
    benchmark::DoNotOptimize(enc);
  }
}
BENCHMARK(BM_EncodeToken);

void BM_DecodeToken(benchmark::State& state) {
  const SecureString token = Check(GenerateToken());
  const SecureString otp = Check(GenerateOtp());
  const std::string_view o(otp.data(), otp.size());
  const std::string enc = Check(EncodeToken(std::string_view(token.data(), token.size()), o));
  for (auto _ : state) {
    auto dec = DecodeToken(enc, o);
    benchmark::DoNotOptimize(dec);
  }
}
BENCHMARK(BM_DecodeToken);

}  // namespace
}  // namespace rocksdr::crypto

BENCHMARK_MAIN();
