// rocksdr::Role — what this node is in its DR replication cluster.
//
//   kDisabled   replication is off: the DB behaves exactly like plain RocksDB.
//   kPrimary    application reads and writes are served; every write is shipped to secondaries.
//   kSecondary  a warm standby: application reads and writes are refused until promotion; only
//               the replication applier writes (through the base DB).
//
// Who may call: anyone, any thread (pure functions over a value type).
#pragma once

#include <cstdint>
#include <string_view>

#include "rocksdr/status.h"

namespace rocksdr {

enum class Role : uint8_t { kDisabled = 0, kPrimary = 1, kSecondary = 2 };

// "disabled", "primary" or "secondary" — the same spelling as the YAML option and the value
// persisted in the node-local column family.
std::string_view RoleName(Role role);

// Parses RoleName()'s spelling (exactly, lower case). kInvalidArgument names the accepted values.
Result<Role> ParseRole(std::string_view text);

}  // namespace rocksdr
