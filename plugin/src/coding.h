// Fixed-width little-endian integers, as rocksdr stores them in the node-local column family
// (cursor, epoch). Who may include: plugin/src only. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rocksdr::plugin {

inline std::string EncodeFixed64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// std::nullopt unless `bytes` is exactly 8 bytes long.
inline std::optional<uint64_t> DecodeFixed64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

}  // namespace rocksdr::plugin
