// JSON nesting-depth limit, checked before a parser builds a tree.
//
// CheckJsonDepth scans a body once, without allocating, and refuses one whose arrays/objects nest
// deeper than `max_depth` levels, before nlohmann builds (and later recursively destroys) a tree
// from it: a size limit alone still admits a 1 MiB body of '[' that would be 1 Mi levels deep.
// Brackets inside strings (escapes included) do not count; stray closers never make the depth
// negative. The scan does not validate JSON otherwise: the parser that runs after it does.
//
// Used by the control socket's protocol (control_protocol.h) and the sidecar's HTTP API
// (rocksdr/sidecar/json_depth.h). Who may call: anyone, any thread (pure function).
#pragma once

#include <cstddef>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr::replication {

// OK, or InvalidArgument "<what> nests arrays/objects deeper than N levels (at byte B)".
Status CheckJsonDepth(std::string_view body, size_t max_depth, std::string_view what);

}  // namespace rocksdr::replication
