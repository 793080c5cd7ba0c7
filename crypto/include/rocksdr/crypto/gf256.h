// Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B), the
// field of HashiCorp Vault's shamir package (so shares interoperate byte for byte).
//
// Every operation runs in constant time: no table indexed by an operand and no branch on an
// operand, because the operands are bytes of keys and key shares.
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstdint>

namespace rocksdr::crypto::gf256 {

// Addition and subtraction are both XOR.
inline uint8_t Add(uint8_t a, uint8_t b) { return static_cast<uint8_t>(a ^ b); }

// a * b, by shift-and-add over the 8 bits of b with a masked reduction.
inline uint8_t Mul(uint8_t a, uint8_t b) {
  unsigned r = 0;
  for (int i = 7; i >= 0; --i) {
    unsigned bit = (static_cast<unsigned>(b) >> i) & 1U;
    // r = r * x (reduced), then add a if this bit of b is set.
    unsigned high = (r >> 7) & 1U;
    r = ((r << 1) & 0xFFU) ^ ((0U - high) & 0x1BU);
    r ^= (0U - bit) & a;
  }
  return static_cast<uint8_t>(r);
}

// a^-1 = a^254 (Fermat: a^255 = 1 for a != 0). Inv(0) = 0.
inline uint8_t Inv(uint8_t a) {
  // 254 = 0b11111110: square-and-multiply with a fixed chain independent of a.
  uint8_t a2 = Mul(a, a);        // a^2
  uint8_t a3 = Mul(a2, a);       // a^3
  uint8_t a6 = Mul(a3, a3);      // a^6
  uint8_t a7 = Mul(a6, a);       // a^7
  uint8_t a14 = Mul(a7, a7);     // a^14
  uint8_t a15 = Mul(a14, a);     // a^15
  uint8_t a30 = Mul(a15, a15);   // a^30
  uint8_t a31 = Mul(a30, a);     // a^31
  uint8_t a62 = Mul(a31, a31);   // a^62
  uint8_t a63 = Mul(a62, a);     // a^63
  uint8_t a126 = Mul(a63, a63);  // a^126
  uint8_t a127 = Mul(a126, a);   // a^127
  return Mul(a127, a127);        // a^254
}

// a / b. REQUIRES: b != 0 (Div(a, 0) returns 0; callers guarantee distinct x coordinates).
inline uint8_t Div(uint8_t a, uint8_t b) { return Mul(a, Inv(b)); }

}  // namespace rocksdr::crypto::gf256
