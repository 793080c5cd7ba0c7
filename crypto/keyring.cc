// Keyring encoding. Grammar (integers little-endian, fixed width):
//
//   keyring := magic:"RDKR" schema:u8(=1) generation:u64 count:u32 entry{count}
//   entry   := name_size:u8 name:byte{name_size} value_size:u32 value:byte{value_size}
//
// count <= kMaxKeyringKeys; 1 <= name_size <= kMaxKeyNameSize and the name is valid
// (Keyring::IsValidName); 1 <= value_size <= kMaxKeySize; the sum of value sizes is at most
// kMaxKeyringValueBytes; names are strictly ascending (so the encoding is canonical and has no
// duplicates); nothing follows the last entry.
#include "rocksdr/crypto/keyring.h"

#include <string>
#include <utility>

#include "rocksdr/crypto/aead.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

constexpr std::string_view kMagic = "RDKR";

void PutFixed(SecureBytes* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A bounds-checked reader over the encoding.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ReadFixed(int bytes, uint64_t* v) {
    if (in_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    uint64_t r = 0;
    for (int i = 0; i < bytes; ++i) {
      r |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    *v = r;
    return true;
  }
  bool ReadBytes(size_t n, std::string_view* out) {
    if (in_.size() - pos_ < n) return false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return in_.size() - pos_; }
  size_t pos() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

Status Truncated(const Reader& r, const char* what) {
  return Status::Corruption(std::string("keyring encoding is truncated while reading ") + what +
                            " at offset " + std::to_string(r.pos()));
}

}  // namespace

bool Keyring::IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyNameSize) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Keyring Keyring::Clone() const {
  Keyring copy;
  for (const auto& [name, value] : keys_) copy.keys_.emplace(name, value);
  copy.value_bytes_ = value_bytes_;
  copy.generation_ = generation_;
  return copy;
}

Status Keyring::Put(std::string_view name, SecureBytes value) {
  if (!IsValidName(name)) {
    return Status::InvalidArgument(
        "key name must be 1-" + std::to_string(kMaxKeyNameSize) +
        " characters of [a-z0-9._/-]");
  }
  if (value.empty() || value.size() > kMaxKeySize) {
    return Status::InvalidArgument("key '" + std::string(name) + "' must be 1-" +
                                   std::to_string(kMaxKeySize) + " bytes, got " +
                                   std::to_string(value.size()));
  }
  auto it = keys_.find(name);
  size_t old_size = it == keys_.end() ? 0 : it->second.size();
  if (it == keys_.end() && keys_.size() >= kMaxKeyringKeys) {
    return Status::ResourceExhausted("keyring already holds the maximum of " +
                                     std::to_string(kMaxKeyringKeys) + " keys");
  }
  size_t new_total = value_bytes_ - old_size + value.size();
  if (new_total > kMaxKeyringValueBytes) {
    return Status::ResourceExhausted("keyring values would total " + std::to_string(new_total) +
                                     " bytes, more than the limit of " +
                                     std::to_string(kMaxKeyringValueBytes));
  }
  if (it == keys_.end()) {
    keys_.emplace(std::string(name), std::move(value));
  } else {
    it->second = std::move(value);  // the old buffer is released through ZeroizingAllocator
  }
  value_bytes_ = new_total;
  ++generation_;
  return Status::OK();
}

const SecureBytes* Keyring::Get(std::string_view name) const {
  auto it = keys_.find(name);
  return it == keys_.end() ? nullptr : &it->second;
}

bool Keyring::Remove(std::string_view name) {
  auto it = keys_.find(name);
  if (it == keys_.end()) return false;
  value_bytes_ -= it->second.size();
  keys_.erase(it);
  ++generation_;
  return true;
}

std::vector<std::string> Keyring::Names() const {
  std::vector<std::string> names;
  names.reserve(keys_.size());
  for (const auto& kv : keys_) names.push_back(kv.first);
  return names;
}

Result<SecureBytes> Keyring::Encode() const {
  if (keys_.size() > kMaxKeyringKeys || value_bytes_ > kMaxKeyringValueBytes) {
    return Status::Internal("keyring exceeds its bounds; refusing to encode");
  }
  size_t total = kMagic.size() + 1 + 8 + 4;
  for (const auto& [name, value] : keys_) total += 1 + name.size() + 4 + value.size();
  SecureBytes out;
  out.reserve(total);  // one allocation: no stray copies of secrets from regrowth
  out.insert(out.end(), kMagic.begin(), kMagic.end());
  out.push_back(kKeyringSchemaVersion);
  PutFixed(&out, generation_, 8);
  PutFixed(&out, keys_.size(), 4);
  for (const auto& [name, value] : keys_) {
    PutFixed(&out, name.size(), 1);
    out.insert(out.end(), name.begin(), name.end());
    PutFixed(&out, value.size(), 4);
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

Result<Keyring> Keyring::Decode(std::string_view encoded) {
  Reader r(encoded);
  std::string_view magic;
  if (!r.ReadBytes(kMagic.size(), &magic) || magic != kMagic) {
    return Status::Corruption("not a rocksdr keyring encoding (bad magic)");
  }
  uint64_t schema = 0, generation = 0, count = 0;
  if (!r.ReadFixed(1, &schema)) return Truncated(r, "the schema version");
  if (schema != kKeyringSchemaVersion) {
    return Status::Corruption("keyring has schema version " + std::to_string(schema) +
                              "; this build reads version " +
                              std::to_string(kKeyringSchemaVersion) +
                              " (it was written by a newer rocksdr: upgrade to open it)");
  }
  if (!r.ReadFixed(8, &generation)) return Truncated(r, "the generation");
  if (!r.ReadFixed(4, &count)) return Truncated(r, "the key count");
  if (count > kMaxKeyringKeys) {
    return Status::Corruption("keyring claims " + std::to_string(count) +
                              " keys, more than the limit of " + std::to_string(kMaxKeyringKeys));
  }
  Keyring keyring;
  std::string_view previous;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t name_size = 0, value_size = 0;
    std::string_view name, value;
    if (!r.ReadFixed(1, &name_size)) return Truncated(r, "a key name size");
    if (name_size == 0 || name_size > kMaxKeyNameSize) {
      return Status::Corruption("keyring entry " + std::to_string(i) + " has a name of " +
                                std::to_string(name_size) + " bytes");
    }
    if (!r.ReadBytes(name_size, &name)) return Truncated(r, "a key name");
    if (!IsValidName(name)) {
      return Status::Corruption("keyring entry " + std::to_string(i) + " has an invalid name");
    }
    if (i > 0 && !(previous < name)) {
      return Status::Corruption("keyring entry '" + std::string(name) +
                                "' is out of order or duplicated");
    }
    if (!r.ReadFixed(4, &value_size)) return Truncated(r, "a key size");
    if (value_size == 0 || value_size > kMaxKeySize) {
      return Status::Corruption("keyring entry '" + std::string(name) + "' claims " +
                                std::to_string(value_size) + " bytes, outside 1-" +
                                std::to_string(kMaxKeySize));
    }
    if (!r.ReadBytes(value_size, &value)) return Truncated(r, "a key value");
    Status s = keyring.Put(name, ToSecureBytes(value));
    if (!s.ok()) return Status::Corruption("keyring entry '" + std::string(name) + "': " + s.message());
    previous = name;
  }
  if (r.remaining() != 0) {
    return Status::Corruption("keyring encoding has " + std::to_string(r.remaining()) +
                              " unexpected trailing bytes");
  }
  keyring.generation_ = generation;
  return keyring;
}

Result<SecureBytes> GenerateRootKey() { return RandomSecureBytes(kRootKeySize); }

Result<std::string> SealKeyring(const SecureBytes& root_key, const Keyring& keyring) {
  if (root_key.size() != kRootKeySize) {
    return Status::InvalidArgument("root key must be " + std::to_string(kRootKeySize) +
                                   " bytes, got " + std::to_string(root_key.size()));
  }
  Result<SecureBytes> encoded = keyring.Encode();
  if (!encoded.ok()) return encoded.status();
  Result<std::string> sealed = Seal(root_key, AsStringView(*encoded), kKeyringAssociatedData);
  if (!sealed.ok()) return sealed.status().WithContext("sealing the keyring");
  return sealed;
}

Result<Keyring> OpenKeyring(const SecureBytes& root_key, std::string_view sealed) {
  if (root_key.size() != kRootKeySize) {
    return Status::InvalidArgument("root key must be " + std::to_string(kRootKeySize) +
                                   " bytes, got " + std::to_string(root_key.size()));
  }
  Result<SecureBytes> plain = Open(root_key, sealed, kKeyringAssociatedData);
  if (!plain.ok()) {
    if (plain.status().code() == Code::kUnauthenticated) {
      return Status::Unauthenticated(
          "keyring authentication failed: the root key is wrong, or the sealed keyring was "
          "modified or is not a keyring");
    }
    return plain.status().WithContext("opening the sealed keyring");
  }
  Result<Keyring> keyring = Keyring::Decode(AsStringView(*plain));
  if (!keyring.ok()) {
    return Status::Corruption("sealed keyring authenticated but its contents are malformed: " +
                              keyring.status().message());
  }
  return keyring;
}

}  // namespace rocksdr::crypto
