// Implementation of rocksdr/replication/json_depth.h.
#include "rocksdr/replication/json_depth.h"

#include <string>

namespace rocksdr::replication {

Status CheckJsonDepth(std::string_view body, size_t max_depth, std::string_view what) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return Status::InvalidArgument(std::string(what) + " nests arrays/objects deeper than " +
                                       std::to_string(max_depth) + " levels (at byte " + std::to_string(i) + ")");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::OK();
}

}  // namespace rocksdr::replication
