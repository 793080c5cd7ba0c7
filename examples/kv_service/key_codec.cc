#include "kv_service/key_codec.h"

namespace rocksdr::examples {

namespace {
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> DecodeKey(std::string_view encoded, size_t max_bytes) {
  if (encoded.empty()) return Status::InvalidArgument("empty key: use /kv/{key} with a non-empty key");
  // Each decoded byte takes at least one encoded byte: bound the work before decoding.
  if (encoded.size() > 3 * max_bytes) {
    return Status::InvalidArgument("key longer than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    const int hi = i + 2 < encoded.size() ? HexDigit(encoded[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigit(encoded[i + 2]) : -1;
    if (lo < 0) {
      return Status::InvalidArgument("bad percent-encoding in the key at byte " + std::to_string(i) +
                                     ": '%' must be followed by two hex digits (send '%' itself as %25)");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.size() > max_bytes) {
    return Status::InvalidArgument("key of " + std::to_string(out.size()) + " bytes is longer than the limit of " +
                                   std::to_string(max_bytes) + " bytes (--max-key-bytes)");
  }
  return out;
}

std::string EncodeKey(std::string_view key) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~' || u == '/') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace rocksdr::examples
