// AES-256-GCM sealing. Blob grammar (byte order is irrelevant: every field is a byte string):
//
//   blob       := header nonce ciphertext tag
//   header     := 'R' 'D' version:u8(=1) algorithm:u8(=1, AES-256-GCM)
//   nonce      := byte[12]        fresh CSPRNG bytes per Seal
//   ciphertext := byte[n]         n = blob size - 32, same length as the plaintext
//   tag        := byte[16]        GCM tag over (AAD = header || associated_data, ciphertext)
#include "rocksdr/crypto/aead.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <string>

#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

constexpr uint8_t kMagic0 = 'R';
constexpr uint8_t kMagic1 = 'D';

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }  // cleanses key schedule
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Explicitly fetched once: avoids OpenSSL 3's implicit fetch on every call. Thread-safe (magic
// static); the object lives for the life of the process.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

Status CheckKeyAndAad(const SecureBytes& key, std::string_view aad) {
  if (key.size() != kAeadKeySize) {
    return Status::InvalidArgument("sealing key must be " + std::to_string(kAeadKeySize) +
                                   " bytes, got " + std::to_string(key.size()));
  }
  if (aad.size() > kMaxAssociatedDataSize) {
    return Status::InvalidArgument("associated data is " + std::to_string(aad.size()) +
                                   " bytes, more than the limit of " +
                                   std::to_string(kMaxAssociatedDataSize));
  }
  return Status::OK();
}

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

}  // namespace

Result<std::string> Seal(const SecureBytes& key32, std::string_view plaintext,
                         std::string_view associated_data) {
  ROCKSDR_RETURN_IF_ERROR(CheckKeyAndAad(key32, associated_data));
  if (plaintext.size() > kMaxSealPlaintextSize) {
    return Status::InvalidArgument("plaintext is " + std::to_string(plaintext.size()) +
                                   " bytes, more than the sealing limit of " +
                                   std::to_string(kMaxSealPlaintextSize));
  }
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return Status::Internal("OpenSSL does not provide AES-256-GCM");

  std::string blob(kAeadOverhead + plaintext.size(), '\0');
  char* header = blob.data();
  char* nonce = header + kAeadHeaderSize;
  char* ciphertext = nonce + kAeadNonceSize;
  char* tag = ciphertext + plaintext.size();
  header[0] = static_cast<char>(kMagic0);
  header[1] = static_cast<char>(kMagic1);
  header[2] = static_cast<char>(kAeadVersion);
  header[3] = static_cast<char>(kAeadAlgorithmAes256Gcm);
  ROCKSDR_RETURN_IF_ERROR(RandomBytes(U(nonce), kAeadNonceSize));

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex2(ctx.get(), cipher, key32.data(), U(nonce), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(header), kAeadHeaderSize) != 1 ||
      (!associated_data.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(associated_data.data()),
                         static_cast<int>(associated_data.size())) != 1)) {
    return Status::Internal("AES-256-GCM seal failed to initialize");
  }
  int out = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), U(ciphertext), &out, U(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return Status::Internal("AES-256-GCM seal failed");
  }
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), U(ciphertext) + out, &fin) != 1 ||
      static_cast<size_t>(out + fin) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTagSize, tag) != 1) {
    return Status::Internal("AES-256-GCM seal failed to finish");
  }
  return blob;
}

Result<SecureBytes> Open(const SecureBytes& key32, std::string_view blob,
                         std::string_view associated_data) {
  ROCKSDR_RETURN_IF_ERROR(CheckKeyAndAad(key32, associated_data));
  if (blob.size() > kMaxSealedBlobSize) {
    return Status::InvalidArgument("sealed blob is " + std::to_string(blob.size()) +
                                   " bytes, more than the limit of " +
                                   std::to_string(kMaxSealedBlobSize));
  }
  if (blob.size() < kAeadOverhead) {
    return Status::Corruption("sealed blob is " + std::to_string(blob.size()) +
                              " bytes, shorter than the " + std::to_string(kAeadOverhead) +
                              "-byte minimum: it is truncated or not a rocksdr sealed blob");
  }
  const unsigned char* header = U(blob.data());
  if (header[0] != kMagic0 || header[1] != kMagic1) {
    return Status::Corruption("not a rocksdr sealed blob (bad magic)");
  }
  if (header[2] != kAeadVersion) {
    return Status::Corruption("sealed blob has format version " + std::to_string(header[2]) +
                              "; this build reads version " + std::to_string(kAeadVersion) +
                              " (upgrade rocksdr to open it)");
  }
  if (header[3] != kAeadAlgorithmAes256Gcm) {
    return Status::Corruption("sealed blob uses unknown algorithm " + std::to_string(header[3]));
  }
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return Status::Internal("OpenSSL does not provide AES-256-GCM");

  const unsigned char* nonce = header + kAeadHeaderSize;
  const unsigned char* ciphertext = nonce + kAeadNonceSize;
  const size_t n = blob.size() - kAeadOverhead;
  // EVP_CIPHER_CTX_ctrl takes a non-const pointer for the expected tag; copy it out.
  unsigned char tag[kAeadTagSize];
  std::memcpy(tag, ciphertext + n, kAeadTagSize);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex2(ctx.get(), cipher, key32.data(), nonce, nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, header, kAeadHeaderSize) != 1 ||
      (!associated_data.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(associated_data.data()),
                         static_cast<int>(associated_data.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag) != 1) {
    return Status::Internal("AES-256-GCM open failed to initialize");
  }
  SecureBytes plaintext(n);
  int out = 0;
  if (n != 0 && EVP_DecryptUpdate(ctx.get(), plaintext.data(), &out, ciphertext,
                                  static_cast<int>(n)) != 1) {
    return Status::Internal("AES-256-GCM open failed");
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + out, &fin) != 1) {
    // `plaintext` is zeroized when it goes out of scope; nothing unauthenticated escapes.
    return Status::Unauthenticated(
        "sealed blob authentication failed: wrong key, wrong purpose (associated data), or the "
        "blob was modified");
  }
  if (static_cast<size_t>(out + fin) != n) return Status::Internal("AES-256-GCM open: length mismatch");
  return plaintext;
}

}  // namespace rocksdr::crypto
