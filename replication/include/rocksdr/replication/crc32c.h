// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of every
// replication frame and of every bootstrap file (FILE_END).
//
// On x86-64 CPUs with SSE4.2 the CRC32 instruction is used (chosen once, at first use, with
// __builtin_cpu_supports); elsewhere a portable slicing-by-8 table implementation. Both give the
// same values (tested): the known answers of RFC 3720 B.4.
//
// Mask/Unmask follow LevelDB's crc32c::Mask: a CRC stored next to the data it covers is masked, so
// that computing the CRC of a string that contains embedded CRCs stays well-behaved.
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rocksdr::replication::crc32c {

// Returns the CRC32C of concat(A, data[0,n)) where init_crc is the CRC32C of some string A.
// Extend(0, data, n) == Value(data, n).
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

// Returns the CRC32C of data[0,n).
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// The same computation without the CPU instruction, whatever the CPU; for tests and benchmarks.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);

// True if Extend uses the SSE4.2 CRC32 instruction on this CPU.
bool IsHardwareAccelerated();

inline constexpr uint32_t kMaskDelta = 0xa282ead8u;

// Returns a masked representation of crc (rotate right 15 bits, add a constant).
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

// Returns the crc whose masked representation is masked_crc.
inline uint32_t Unmask(uint32_t masked_crc) {
  uint32_t rot = masked_crc - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace rocksdr::replication::crc32c
