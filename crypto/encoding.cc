// Implementation of rocksdr/crypto/encoding.h.
//
// The character <-> value mappings are computed with masks instead of table lookups or
// branches on the data, so that encoding and decoding key material does not leak it through
// cache or branch timing (the technique of libsodium's codecs.c). Only the *validity* of a
// character is branched on, which reveals nothing about a well-formed secret.
#include "rocksdr/crypto/encoding.h"

#include <cstdint>

namespace rocksdr::crypto {

namespace {

// Masks: 0xFF when the relation holds, 0 otherwise. Arguments are in 0..255.
inline unsigned Eq(unsigned x, unsigned y) { return (((0U - (x ^ y)) >> 8) & 0xFF) ^ 0xFF; }
inline unsigned Gt(unsigned x, unsigned y) { return ((y - x) >> 8) & 0xFF; }
inline unsigned Ge(unsigned x, unsigned y) { return Gt(y, x) ^ 0xFF; }
inline unsigned Lt(unsigned x, unsigned y) { return Gt(y, x); }
inline unsigned Le(unsigned x, unsigned y) { return Ge(y, x); }

struct Alphabet {
  char c62;
  char c63;
  const char* name;
};
constexpr Alphabet kStd{'+', '/', "base64"};
constexpr Alphabet kUrl{'-', '_', "base64url"};

// 6-bit value -> character.
inline char SextetToChar(unsigned x, const Alphabet& a) {
  unsigned c = (Lt(x, 26) & (x + 'A')) | (Ge(x, 26) & Lt(x, 52) & (x + ('a' - 26))) |
               (Ge(x, 52) & Lt(x, 62) & (x + '0' - 52)) | (Eq(x, 62) & static_cast<unsigned char>(a.c62)) |
               (Eq(x, 63) & static_cast<unsigned char>(a.c63));
  return static_cast<char>(c);
}

// Character -> 6-bit value, or 0xFF if the character is not in the alphabet.
inline unsigned CharToSextet(char ch, const Alphabet& a) {
  unsigned c = static_cast<unsigned char>(ch);
  unsigned valid = (Ge(c, 'A') & Le(c, 'Z')) | (Ge(c, 'a') & Le(c, 'z')) | (Ge(c, '0') & Le(c, '9')) |
                   Eq(c, static_cast<unsigned char>(a.c62)) | Eq(c, static_cast<unsigned char>(a.c63));
  unsigned x = (Ge(c, 'A') & Le(c, 'Z') & (c - 'A')) | (Ge(c, 'a') & Le(c, 'z') & (c - ('a' - 26))) |
               (Ge(c, '0') & Le(c, '9') & (c + 52 - '0')) | (Eq(c, static_cast<unsigned char>(a.c62)) & 62) |
               (Eq(c, static_cast<unsigned char>(a.c63)) & 63);
  return (x & valid) | (valid ^ 0xFF);
}

std::string EncodeBase64(std::string_view data, bool padded, const Alphabet& a) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (; i + 3 <= data.size(); i += 3) {
    unsigned v = (unsigned{p[i]} << 16) | (unsigned{p[i + 1]} << 8) | p[i + 2];
    out.push_back(SextetToChar((v >> 18) & 63, a));
    out.push_back(SextetToChar((v >> 12) & 63, a));
    out.push_back(SextetToChar((v >> 6) & 63, a));
    out.push_back(SextetToChar(v & 63, a));
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    unsigned v = unsigned{p[i]} << 16;
    out.push_back(SextetToChar((v >> 18) & 63, a));
    out.push_back(SextetToChar((v >> 12) & 63, a));
    if (padded) out.append("==");
  } else if (rest == 2) {
    unsigned v = (unsigned{p[i]} << 16) | (unsigned{p[i + 1]} << 8);
    out.push_back(SextetToChar((v >> 18) & 63, a));
    out.push_back(SextetToChar((v >> 12) & 63, a));
    out.push_back(SextetToChar((v >> 6) & 63, a));
    if (padded) out.push_back('=');
  }
  return out;
}

Status TooLong(const char* name, size_t size, size_t max_input) {
  return Status::InvalidArgument(std::string(name) + " input is " + std::to_string(size) +
                                 " characters, more than the limit of " + std::to_string(max_input));
}

Status BadChar(const char* name, size_t pos) {
  return Status::InvalidArgument(std::string(name) + " input has an invalid character at position " +
                                 std::to_string(pos));
}

Result<SecureBytes> DecodeBase64(std::string_view text, bool padded, const Alphabet& a, size_t max_input) {
  if (text.size() > max_input) return TooLong(a.name, text.size(), max_input);
  // Characters first (the most useful diagnosis of a pasted value), then the structure.
  size_t data_len = text.find('=');
  if (data_len == std::string_view::npos) data_len = text.size();
  for (size_t i = 0; i < data_len; ++i) {
    if (CharToSextet(text[i], a) == 0xFF) return BadChar(a.name, i);
  }
  for (size_t i = data_len; i < text.size(); ++i) {
    if (text[i] != '=') {
      return Status::InvalidArgument(std::string(a.name) + " input has padding '=' at position " +
                                     std::to_string(data_len) + " where data is expected");
    }
  }
  if (!padded && data_len < text.size()) {
    return Status::InvalidArgument(std::string(a.name) + " input has padding '=' at position " +
                                   std::to_string(data_len) + " but this encoding is unpadded");
  }
  if (data_len % 4 == 1) {
    return Status::InvalidArgument(std::string(a.name) + " input has " + std::to_string(data_len) +
                                   " data characters, an impossible length for this encoding (truncated?)");
  }
  if (padded && text.size() % 4 != 0) {
    return Status::InvalidArgument(std::string(a.name) + " input length " + std::to_string(text.size()) +
                                   " is not a multiple of 4 (padding missing or input truncated)");
  }
  if (padded && text.size() - data_len != (4 - data_len % 4) % 4) {
    return Status::InvalidArgument(std::string(a.name) + " input has wrong padding");
  }
  SecureBytes out;
  out.reserve(data_len / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    unsigned v = CharToSextet(text[i], a);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
      acc &= (1U << bits) - 1;
    }
  }
  // Canonical form: the unused low bits of the last character must be zero.
  if (bits > 0 && acc != 0) {
    acc = 0;
    Zeroize(out.data(), out.size());
    return Status::InvalidArgument(std::string(a.name) +
                                   " input is not canonical: the last character has non-zero unused bits");
  }
  acc = 0;
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data, bool padded) { return EncodeBase64(data, padded, kStd); }

Result<SecureBytes> Base64Decode(std::string_view text, bool padded, size_t max_input) {
  return DecodeBase64(text, padded, kStd, max_input);
}

std::string Base64UrlEncode(std::string_view data) { return EncodeBase64(data, false, kUrl); }

Result<SecureBytes> Base64UrlDecode(std::string_view text, size_t max_input) {
  return DecodeBase64(text, false, kUrl, max_input);
}

std::string HexEncode(std::string_view data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (char ch : data) {
    unsigned b = static_cast<unsigned char>(ch);
    unsigned hi = b >> 4, lo = b & 0x0f;
    out.push_back(static_cast<char>('0' + hi + (Gt(hi, 9) & ('a' - '0' - 10))));
    out.push_back(static_cast<char>('0' + lo + (Gt(lo, 9) & ('a' - '0' - 10))));
  }
  return out;
}

namespace {
// Hex digit -> value, or 0xFF if not a hex digit.
inline unsigned HexValue(char ch) {
  unsigned c = static_cast<unsigned char>(ch);
  unsigned digit = Ge(c, '0') & Le(c, '9');
  unsigned lower = Ge(c, 'a') & Le(c, 'f');
  unsigned upper = Ge(c, 'A') & Le(c, 'F');
  unsigned valid = digit | lower | upper;
  unsigned x = (digit & (c - '0')) | (lower & (c - 'a' + 10)) | (upper & (c - 'A' + 10));
  return (x & valid) | (valid ^ 0xFF);
}
}  // namespace

Result<SecureBytes> HexDecode(std::string_view text, size_t max_input) {
  if (text.size() > max_input) return TooLong("hex", text.size(), max_input);
  if (text.size() % 2 != 0) {
    return Status::InvalidArgument("hex input has odd length " + std::to_string(text.size()) +
                                   "; every byte needs two digits");
  }
  SecureBytes out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned hi = HexValue(text[i]);
    unsigned lo = HexValue(text[i + 1]);
    if (hi == 0xFF || lo == 0xFF) {
      Zeroize(out.data(), out.size());
      return BadChar("hex", hi == 0xFF ? i : i + 1);
    }
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

bool IsBase62(std::string_view text) {
  for (char ch : text) {
    unsigned c = static_cast<unsigned char>(ch);
    if (((Ge(c, '0') & Le(c, '9')) | (Ge(c, 'A') & Le(c, 'Z')) | (Ge(c, 'a') & Le(c, 'z'))) == 0) return false;
  }
  return true;
}

}  // namespace rocksdr::crypto
