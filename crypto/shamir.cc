// Implementation of rocksdr/crypto/shamir.h (Vault-compatible Shamir secret sharing).
#include "rocksdr/crypto/shamir.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <string>

#include "rocksdr/crypto/gf256.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto::shamir {

namespace {

// Vault's checks, in Vault's order, then our size bound.
Status ValidateSplit(std::string_view secret, int parts, int threshold) {
  if (parts < threshold) return Status::InvalidArgument("parts cannot be less than threshold");
  if (parts > kMaxParts) return Status::InvalidArgument("parts cannot exceed 255");
  if (threshold < 2) return Status::InvalidArgument("threshold must be at least 2");
  if (threshold > kMaxParts) return Status::InvalidArgument("threshold cannot exceed 255");
  if (secret.empty()) return Status::InvalidArgument("cannot split an empty secret");
  if (secret.size() > kMaxSecretBytes) {
    return Status::InvalidArgument("secret of " + std::to_string(secret.size()) + " bytes exceeds the limit of " +
                                   std::to_string(kMaxSecretBytes) + " bytes");
  }
  return Status::OK();
}

std::vector<SecureBytes> AllocateShares(size_t secret_len, const std::vector<uint8_t>& xs) {
  std::vector<SecureBytes> out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    out[i].resize(secret_len + kShareOverhead);
    out[i][secret_len] = xs[i];
  }
  return out;
}

// Writes y[b] = f_b(x_i) into every share for secret bytes [begin, end). `coefficients` holds
// the threshold-1 non-constant coefficients (lowest degree first) of byte begin, then begin+1...
void EvaluateShares(std::string_view secret, size_t begin, size_t end, const std::vector<uint8_t>& xs,
                    int threshold, const uint8_t* coefficients, std::vector<SecureBytes>* shares) {
  const size_t degree = static_cast<size_t>(threshold) - 1;
  for (size_t b = begin; b < end; ++b) {
    const uint8_t* c = coefficients + (b - begin) * degree;
    const auto intercept = static_cast<uint8_t>(secret[b]);
    for (size_t i = 0; i < xs.size(); ++i) {
      const uint8_t x = xs[i];
      // Horner: ((c[d-1] x + c[d-2]) x + ... + c[0]) x + intercept.
      uint8_t y = c[degree - 1];
      for (size_t k = degree - 1; k > 0; --k) y = gf256::Add(gf256::Mul(y, x), c[k - 1]);
      (*shares)[i][b] = gf256::Add(gf256::Mul(y, x), intercept);
    }
  }
}

// `count` distinct x coordinates drawn uniformly from 1..255 (a partial Fisher-Yates shuffle
// driven by the CSPRNG, with rejection sampling so every index is unbiased).
Result<std::vector<uint8_t>> RandomXCoordinates(int count) {
  std::array<uint8_t, 255> pool{};
  std::iota(pool.begin(), pool.end(), uint8_t{1});
  std::array<uint8_t, 128> rnd{};
  size_t used = rnd.size();
  for (int i = 0; i < count; ++i) {
    const unsigned range = 255U - static_cast<unsigned>(i);  // choose from pool[i..254]
    const unsigned limit = 256U / range * range;
    unsigned r = 0;
    do {
      if (used == rnd.size()) {
        ROCKSDR_RETURN_IF_ERROR(RandomBytes(rnd.data(), rnd.size()));
        used = 0;
      }
      r = rnd[used++];
    } while (r >= limit);
    std::swap(pool[static_cast<size_t>(i)], pool[static_cast<size_t>(i) + r % range]);
  }
  return std::vector<uint8_t>(pool.begin(), pool.begin() + count);
}

}  // namespace

Result<std::vector<SecureBytes>> Split(std::string_view secret, int parts, int threshold) {
  ROCKSDR_RETURN_IF_ERROR(ValidateSplit(secret, parts, threshold));
  auto xs = RandomXCoordinates(parts);
  if (!xs.ok()) return xs.status().WithContext("failed to generate x coordinates");
  std::vector<SecureBytes> shares = AllocateShares(secret.size(), *xs);

  // Coefficients are drawn in chunks of at most kMaxRandomBytes (a 64 KiB secret with threshold
  // 255 needs 16 MB of them).
  const size_t degree = static_cast<size_t>(threshold) - 1;
  const size_t chunk = std::min(secret.size(), kMaxRandomBytes / degree);
  SecureBytes coefficients(chunk * degree);
  for (size_t begin = 0; begin < secret.size(); begin += chunk) {
    const size_t end = std::min(secret.size(), begin + chunk);
    Status s = RandomBytes(coefficients.data(), (end - begin) * degree);
    if (!s.ok()) return s.WithContext("failed to generate polynomial");
    EvaluateShares(secret, begin, end, *xs, threshold, coefficients.data(), &shares);
  }
  return shares;
}

Result<SecureBytes> Combine(const std::vector<SecureBytes>& parts) {
  if (parts.size() < 2) {
    return Status::InvalidArgument("less than two parts cannot be used to reconstruct the secret");
  }
  if (parts.size() > static_cast<size_t>(kMaxParts)) {
    return Status::InvalidArgument("more than 255 parts cannot come from one split; got " +
                                   std::to_string(parts.size()));
  }
  const size_t part_len = parts[0].size();
  if (part_len < 2) return Status::InvalidArgument("parts must be at least two bytes");
  if (part_len > kMaxSecretBytes + kShareOverhead) {
    return Status::InvalidArgument("parts must be at most " + std::to_string(kMaxSecretBytes + kShareOverhead) +
                                   " bytes");
  }
  for (const SecureBytes& p : parts) {
    if (p.size() != part_len) return Status::InvalidArgument("all parts must be the same length");
  }
  // x coordinates are public (stored in clear in each share), so a lookup on them is fine.
  std::array<bool, 256> seen{};
  std::vector<uint8_t> xs(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const uint8_t x = parts[i][part_len - 1];
    if (seen[x]) return Status::InvalidArgument("duplicate part detected");
    seen[x] = true;
    xs[i] = x;
  }

  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_i - x_j). Depends on the xs only, so it
  // is computed once for all bytes. Denominators are non-zero because the xs are distinct.
  std::vector<uint8_t> basis(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    uint8_t num = 1, den = 1;
    for (size_t j = 0; j < xs.size(); ++j) {
      if (j == i) continue;
      num = gf256::Mul(num, xs[j]);
      den = gf256::Mul(den, gf256::Add(xs[i], xs[j]));
    }
    basis[i] = gf256::Div(num, den);
  }

  SecureBytes secret(part_len - kShareOverhead);
  for (size_t b = 0; b < secret.size(); ++b) {
    uint8_t acc = 0;
    for (size_t i = 0; i < parts.size(); ++i) acc = gf256::Add(acc, gf256::Mul(parts[i][b], basis[i]));
    secret[b] = acc;
  }
  return secret;
}

namespace internal {

Result<std::vector<SecureBytes>> SplitWithCoefficients(std::string_view secret, const std::vector<uint8_t>& xs,
                                                       int threshold, const SecureBytes& coefficients) {
  if (xs.size() > static_cast<size_t>(kMaxParts)) return Status::InvalidArgument("parts cannot exceed 255");
  ROCKSDR_RETURN_IF_ERROR(ValidateSplit(secret, static_cast<int>(xs.size()), threshold));
  std::array<bool, 256> seen{};
  for (uint8_t x : xs) {
    if (x == 0) return Status::InvalidArgument("x coordinate 0 would reveal the secret");
    if (seen[x]) return Status::InvalidArgument("x coordinates must be distinct");
    seen[x] = true;
  }
  const size_t degree = static_cast<size_t>(threshold) - 1;
  if (coefficients.size() != secret.size() * degree) {
    return Status::InvalidArgument("expected " + std::to_string(secret.size() * degree) + " coefficients, got " +
                                   std::to_string(coefficients.size()));
  }
  std::vector<SecureBytes> shares = AllocateShares(secret.size(), xs);
  EvaluateShares(secret, 0, secret.size(), xs, threshold, coefficients.data(), &shares);
  return shares;
}

}  // namespace internal

}  // namespace rocksdr::crypto::shamir
