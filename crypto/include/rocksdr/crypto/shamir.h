// Shamir's secret sharing over GF(2^8), byte-compatible with HashiCorp Vault's shamir package
// (shamir/shamir.go): shares produced here combine in Vault and vice versa.
//
// Share format (the contract):   share = y[0] y[1] ... y[n-1] x        (n = secret length)
// x is the share's x coordinate, distinct per share and drawn at random from 1..255; for each
// secret byte s[b] a fresh random polynomial f_b of degree threshold-1 with f_b(0) = s[b] gives
// y[b] = f_b(x). Combine Lagrange-interpolates every byte at x = 0.
//
// Shamir has no integrity check: a wrong or corrupted share yields a wrong secret without an
// error. Callers must verify the result (e.g. the reconstructed root key must decrypt the keyring).
//
// Who may call: anyone, from any thread (no shared state; randomness from crypto/random.h).
// Error messages are Vault's, and never contain share or secret bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto::shamir {

// Bytes a share adds to the secret (the x coordinate).
inline constexpr size_t kShareOverhead = 1;
// Largest secret Split accepts (root keys are 32 bytes; this is a sanity bound).
inline constexpr size_t kMaxSecretBytes = 64 * 1024;
// Most parts (and threshold) a split may have: x coordinates are the 255 non-zero bytes.
inline constexpr int kMaxParts = 255;

// Splits `secret` into `parts` shares, any `threshold` of which reconstruct it.
// REQUIRES nothing; every argument is validated:
//   2 <= threshold <= parts <= 255, 1 <= secret.size() <= kMaxSecretBytes.
Result<std::vector<SecureBytes>> Split(std::string_view secret, int parts, int threshold);

// Reconstructs the secret from at least `threshold` shares of one split (order does not matter).
// Validates: 2..255 parts, all the same length, 2..kMaxSecretBytes+1 bytes, no repeated x.
// With fewer than `threshold` shares, or a share from another split, the result is garbage.
Result<SecureBytes> Combine(const std::vector<SecureBytes>& parts);

namespace internal {

// The deterministic core of Split, for known-answer tests: share i gets x coordinate xs[i];
// the polynomial for secret byte b is
//   f_b(x) = secret[b] + sum_{k=1}^{threshold-1} coefficients[b*(threshold-1) + k-1] * x^k.
// Validates like Split, plus: xs distinct and non-zero, coefficients.size() = secret.size()*(threshold-1).
Result<std::vector<SecureBytes>> SplitWithCoefficients(std::string_view secret, const std::vector<uint8_t>& xs,
                                                       int threshold, const SecureBytes& coefficients);

}  // namespace internal

}  // namespace rocksdr::crypto::shamir
