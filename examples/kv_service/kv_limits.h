// The kv_service's bounds on what a client may send. Every one is a command-line flag of
// kv_service (see main.cc); a request over a bound is refused with a message naming it.
//
// Who may use: anyone (plain value type).
#pragma once

#include <cstddef>

namespace rocksdr::examples {

struct KvLimits {
  // Longest key, after URL decoding (PUT/GET/DELETE /kv/{key}, and every bulk record). Default: 1 KiB
  size_t max_key_bytes = 1024;
  // Largest value (PUT body, and every bulk record). Default: 1 MiB
  size_t max_value_bytes = 1 << 20;
  // Largest POST /bulk body. Default: 16 MiB
  size_t max_bulk_bytes = 16 << 20;
  // Most records in one POST /bulk. Default: 100000
  size_t max_bulk_records = 100000;
  // A bulk load is written as one WriteBatch per chunk of at most this many records ...
  // Default: 1000
  size_t bulk_chunk_records = 1000;
  // ... or this many bytes of keys and values, whichever comes first. Default: 1 MiB
  size_t bulk_chunk_bytes = 1 << 20;
};

}  // namespace rocksdr::examples
