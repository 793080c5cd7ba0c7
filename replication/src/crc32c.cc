// CRC32C: portable slicing-by-8 tables, and the SSE4.2 instruction where the CPU has it.
#include "rocksdr/replication/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace rocksdr::replication::crc32c {
namespace {

constexpr uint32_t kPolyReflected = 0x82f63b78u;

// tables[k][b] = CRC of byte b followed by k zero bytes (slicing-by-8).
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? kPolyReflected : 0);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

inline uint64_t LoadLittleEndian64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

// Works on the raw (already inverted) CRC register.
uint32_t RawPortable(uint32_t crc, const unsigned char* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
    --n;
  }
  while (n >= 8) {
    uint64_t word = LoadLittleEndian64(p) ^ crc;
    crc = kTables[7][word & 0xff] ^ kTables[6][(word >> 8) & 0xff] ^ kTables[5][(word >> 16) & 0xff] ^
          kTables[4][(word >> 24) & 0xff] ^ kTables[3][(word >> 32) & 0xff] ^
          kTables[2][(word >> 40) & 0xff] ^ kTables[1][(word >> 48) & 0xff] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
    --n;
  }
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t RawHardware(uint32_t crc, const unsigned char* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  uint64_t crc64 = crc;
  while (n >= 32) {  // unrolled; each step depends on the previous one
    uint64_t w0, w1, w2, w3;
    std::memcpy(&w0, p, 8);
    std::memcpy(&w1, p + 8, 8);
    std::memcpy(&w2, p + 16, 8);
    std::memcpy(&w3, p + 24, 8);
    crc64 = _mm_crc32_u64(crc64, w0);
    crc64 = _mm_crc32_u64(crc64, w1);
    crc64 = _mm_crc32_u64(crc64, w2);
    crc64 = _mm_crc32_u64(crc64, w3);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    crc64 = _mm_crc32_u64(crc64, w);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(crc64);
  while (n > 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  return crc;
}
#endif

using RawFn = uint32_t (*)(uint32_t, const unsigned char*, size_t);

RawFn ChooseRaw() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) return &RawHardware;
#endif
  return &RawPortable;
}

RawFn Raw() {
  static const RawFn fn = ChooseRaw();  // thread-safe one-time initialization
  return fn;
}

}  // namespace

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  return ~Raw()(~init_crc, reinterpret_cast<const unsigned char*>(data), n);
}

uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n) {
  return ~RawPortable(~init_crc, reinterpret_cast<const unsigned char*>(data), n);
}

bool IsHardwareAccelerated() {
#if defined(__x86_64__)
  return Raw() == &RawHardware;
#else
  return false;
#endif
}

}  // namespace rocksdr::replication::crc32c
