// Authenticated encryption of secrets at rest: AES-256-GCM (OpenSSL 3 EVP) in a self-describing,
// versioned blob. Used to seal the keyring under the root key (keyring.h) and, by anyone who
// needs it, any other secret that is stored outside memory.
//
// Blob format (all fields fixed width; see aead.cc for the grammar):
//   magic "RD" | version 0x01 | algorithm 0x01 (AES-256-GCM) | nonce (12) | ciphertext | tag (16)
// The nonce is fresh CSPRNG output for every Seal (random 96-bit nonces: keep well under 2^32
// seals per key, which the keyring's use — one seal per key change — never approaches).
// The GCM associated data is the 4-byte header followed by the caller's associated_data, so the
// version is authenticated too. Callers bind the purpose and its version in associated_data
// (e.g. "rocksdr/keyring/v1"): a blob sealed for one purpose never opens as another.
//
// Contracts:
//   - Open returns plaintext only if the tag verifies under (key, header, associated_data);
//     otherwise kUnauthenticated and nothing is returned (decrypted bytes are zeroized).
//   - Sizes are bounded before any work: key exactly 32 bytes; plaintext and blob at most
//     kMaxSealedBlobSize; associated data at most kMaxAssociatedDataSize.
//   - Error messages never contain key, plaintext or blob bytes.
//
// Who may call: anyone, from any thread (pure functions; each call uses its own OpenSSL context).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

inline constexpr size_t kAeadKeySize = 32;    // AES-256
inline constexpr size_t kAeadNonceSize = 12;  // 96-bit GCM nonce
inline constexpr size_t kAeadTagSize = 16;    // 128-bit GCM tag
inline constexpr size_t kAeadHeaderSize = 4;  // magic(2) version(1) algorithm(1)
inline constexpr size_t kAeadOverhead = kAeadHeaderSize + kAeadNonceSize + kAeadTagSize;
inline constexpr uint8_t kAeadVersion = 1;
inline constexpr uint8_t kAeadAlgorithmAes256Gcm = 1;
// Largest blob Open accepts and Seal produces (16 MiB).
inline constexpr size_t kMaxSealedBlobSize = size_t{16} << 20;
inline constexpr size_t kMaxSealPlaintextSize = kMaxSealedBlobSize - kAeadOverhead;
inline constexpr size_t kMaxAssociatedDataSize = 64 * 1024;

// Encrypts and authenticates `plaintext` under `key32`, binding `associated_data`.
// Errors: kInvalidArgument (key not 32 bytes, plaintext or associated data too large),
// kInternal (OpenSSL or the RNG failed).
Result<std::string> Seal(const SecureBytes& key32, std::string_view plaintext,
                         std::string_view associated_data);

// Verifies and decrypts a blob made by Seal with the same key and associated data.
// Errors: kInvalidArgument (key not 32 bytes, blob or associated data too large),
// kCorruption (blob too short, not a rocksdr blob, unknown version or algorithm),
// kUnauthenticated (wrong key, wrong associated data, or the blob was modified),
// kInternal (OpenSSL failure).
Result<SecureBytes> Open(const SecureBytes& key32, std::string_view blob,
                         std::string_view associated_data);

}  // namespace rocksdr::crypto
