// The body of POST /bulk: many key/value records, in one of two forms.
//
//   text (any Content-Type but JSON): one record per line, "key<TAB>value", lines separated by
//        "\n" (a "\r" before it is dropped); empty lines are skipped. Key and value are taken
//        literally (no escapes): the key runs to the first TAB, the value to the end of the line.
//        For values holding newlines or arbitrary bytes, use PUT /kv/{key}.
//   JSON (Content-Type application/json): one flat object {"key": "value", ...}; values must be
//        strings. (A key given twice keeps its last value.)
//
// Every record is checked before anything is written: a bad line or field fails the whole
// request with the line number / key named.
//
// Who may call: anyone, any thread (pure function).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv_service/kv_limits.h"
#include "rocksdr/status.h"

namespace rocksdr::examples {

using KvRecord = std::pair<std::string, std::string>;

// Errors: kInvalidArgument (malformed line or JSON, empty key, a key or value over the limits,
// more than limits.max_bulk_records records, no record at all).
Result<std::vector<KvRecord>> ParseBulk(std::string_view content_type, std::string_view body, const KvLimits& limits);

}  // namespace rocksdr::examples
