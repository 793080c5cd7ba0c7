// Byte containers for key material: memory is zeroized (OPENSSL_cleanse) before it is released,
// including every buffer a vector or string gives back when it grows.
//
// Who may call: anyone. Thread safety: like std::vector / std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdr::crypto {

// Zeroizes `n` bytes at `p` in a way the compiler may not optimize away.
void Zeroize(void* p, size_t n);

template <typename T>
struct ZeroizingAllocator {
  using value_type = T;
  ZeroizingAllocator() noexcept = default;
  template <typename U>
  ZeroizingAllocator(const ZeroizingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    Zeroize(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const ZeroizingAllocator<U>&) const noexcept { return true; }
};

// Secret bytes (keys, shares, tokens in binary form).
using SecureBytes = std::vector<uint8_t, ZeroizingAllocator<uint8_t>>;

// Secret text (tokens, OTPs, PEM private keys). Note: strings short enough for the small-string
// buffer live inside the object itself; call Zeroize on them or prefer SecureBytes for short keys.
using SecureString = std::basic_string<char, std::char_traits<char>, ZeroizingAllocator<char>>;

inline SecureBytes ToSecureBytes(std::string_view s) { return SecureBytes(s.begin(), s.end()); }
inline std::string_view AsStringView(const SecureBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace rocksdr::crypto
