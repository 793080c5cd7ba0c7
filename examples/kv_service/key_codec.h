// Keys in URLs: /kv/{key} carries the key percent-encoded (RFC 3986): "%2F" is '/', "%20" a
// space, any byte may be sent as %XX; '+' stands for itself. A '/' may also appear unencoded
// ("/kv/users/42" is the key "users/42").
//
// Who may call: anyone, any thread (pure functions).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::examples {

// Decodes `encoded` (the part of the path after "/kv/", without the query). Errors
// (kInvalidArgument, with what to do): empty key, a '%' not followed by two hex digits, a key
// longer than `max_bytes` once decoded.
Result<std::string> DecodeKey(std::string_view encoded, size_t max_bytes);

// Percent-encodes every byte outside [A-Za-z0-9-._~/] (for messages and links).
std::string EncodeKey(std::string_view key);

}  // namespace rocksdr::examples
