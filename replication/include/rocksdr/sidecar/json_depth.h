// JSON nesting-depth limit for the sidecar's HTTP API request bodies.
//
// The sidecar's limit and message on top of rocksdr/replication/json_depth.h (the scan, shared
// with the control socket): a body nested deeper than kMaxRequestJsonDepth levels is refused
// before it is parsed.
//
// Who may call: anyone, any thread (pure function). Used by Router::Dispatch (step 6).
#pragma once

#include <cstddef>
#include <string_view>

#include "rocksdr/replication/json_depth.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

// Deepest nesting accepted in an API request body. The API's bodies are at most 3 levels deep
// (an object holding an array of objects); 32 leaves room without admitting pathological input.
inline constexpr size_t kMaxRequestJsonDepth = 32;

// OK, or InvalidArgument "the request body nests arrays/objects deeper than N levels (at byte B);
// send a flatter body".
inline Status CheckJsonDepth(std::string_view body, size_t max_depth = kMaxRequestJsonDepth) {
  Status s = replication::CheckJsonDepth(body, max_depth, "the request body");
  return s.ok() ? s : Status::InvalidArgument(s.message() + "; send a flatter body");
}

}  // namespace rocksdr::sidecar
