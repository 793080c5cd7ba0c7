// Little-endian fixed-width integers, varints and length-prefixed strings for the replication
// protocol codec (PROTOCOL.md), plus WireReader: a bounds-checked cursor over a received payload.
//
// Who may include: replication/src protocol codec files only. Pure functions and values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace rocksdr::replication::wire {

inline void PutFixed16(std::string* dst, uint16_t v) {
  char b[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  dst->append(b, 2);
}

inline void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void PutFixed32(std::string* dst, uint32_t v) {
  char b[4];
  EncodeFixed32(b, v);
  dst->append(b, 4);
}

inline void PutFixed64(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(b, 8);
}

inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) | (static_cast<uint32_t>(u[3]) << 24);
}

inline uint64_t DecodeFixed64(const char* p) {
  return static_cast<uint64_t>(DecodeFixed32(p)) | (static_cast<uint64_t>(DecodeFixed32(p + 4)) << 32);
}

inline void PutVarint32(std::string* dst, uint32_t v) {
  char b[5];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  dst->append(b, n);
}

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// string := length:varint32 bytes[length]
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s.data(), s.size());
}

// Reads fields front to back. Every getter returns false (and reads nothing) if the payload is too
// short or the field is malformed; the caller turns that into a Status naming the field.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  bool GetUint8(uint8_t* v) {
    if (data_.empty()) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool GetFixed16(uint16_t* v) {
    if (data_.size() < 2) return false;
    const auto* u = reinterpret_cast<const unsigned char*>(data_.data());
    *v = static_cast<uint16_t>(u[0] | (u[1] << 8));
    data_.remove_prefix(2);
    return true;
  }
  bool GetFixed32(uint32_t* v) {
    if (data_.size() < 4) return false;
    *v = DecodeFixed32(data_.data());
    data_.remove_prefix(4);
    return true;
  }
  bool GetFixed64(uint64_t* v) {
    if (data_.size() < 8) return false;
    *v = DecodeFixed64(data_.data());
    data_.remove_prefix(8);
    return true;
  }
  // Canonical varint32 only: at most 5 bytes, no bits above 32, no redundant trailing zero bytes.
  bool GetVarint32(uint32_t* v) {
    uint32_t result = 0;
    for (size_t i = 0; i < 5 && i < data_.size(); ++i) {
      uint32_t byte = static_cast<unsigned char>(data_[i]);
      if (i == 4 && byte > 0x0f) return false;  // more than 32 bits
      result |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        if (i > 0 && byte == 0) return false;  // non-canonical (overlong) encoding
        *v = result;
        data_.remove_prefix(i + 1);
        return true;
      }
    }
    return false;
  }
  // Reads a length-prefixed string whose length is at most max_length. Sets *too_long (and reads
  // nothing) if the length is over the bound; the bytes are never copied before the check.
  bool GetLengthPrefixed(size_t max_length, std::string_view* s, bool* too_long) {
    *too_long = false;
    WireReader probe = *this;
    uint32_t len;
    if (!probe.GetVarint32(&len)) return false;
    if (len > max_length) {
      *too_long = true;
      return false;
    }
    if (probe.data_.size() < len) return false;
    *s = probe.data_.substr(0, len);
    probe.data_.remove_prefix(len);
    *this = probe;
    return true;
  }
  bool GetBytes(size_t n, std::string_view* s) {
    if (data_.size() < n) return false;
    *s = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  // The rest of the payload.
  std::string_view TakeRest() {
    std::string_view rest = data_;
    data_ = {};
    return rest;
  }

 private:
  std::string_view data_;
};

}  // namespace rocksdr::replication::wire
