// JSON nesting-depth limit for the sidecar's HTTP API request bodies.
//
// CheckJsonDepth scans a body once, without allocating, and refuses one whose arrays/objects nest
// deeper than `max_depth` levels, before nlohmann builds (and later destroys) a tree from it: the
// HTTP API's size limit (HttpServerOptions::max_body_bytes) alone still admits a 1 MiB body of
// '[' that would be 1 Mi levels deep. Brackets inside strings (escapes included) do not count.
// The scan does not validate JSON otherwise: the parser that runs after it does.
//
// Who may call: anyone, any thread (pure function). Used by Router::Dispatch (step 6).
#pragma once

#include <cstddef>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

// Deepest nesting accepted in an API request body. The API's bodies are at most 3 levels deep
// (an object holding an array of objects); 32 leaves room without admitting pathological input.
inline constexpr size_t kMaxRequestJsonDepth = 32;

// OK, or InvalidArgument "the request body nests arrays/objects deeper than N levels (at byte B)".
Status CheckJsonDepth(std::string_view body, size_t max_depth = kMaxRequestJsonDepth);

}  // namespace rocksdr::sidecar
