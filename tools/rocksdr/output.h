// Output formats of the `rocksdr` CLI, as Vault's `-format` flag: "table" (default; for a single
// value Vault prints the raw value) and "json" (2-space indented object, keys sorted, invalid
// UTF-8 replaced by U+FFFD as Go's encoding/json does). The default can be set with the
// ROCKSDR_FORMAT environment variable (Vault: VAULT_FORMAT). Vault's "yaml" is not supported.
//
// Who may call: command callbacks, on the main thread.
#pragma once

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "rocksdr/status.h"

namespace rocksdr::cli {

enum class OutputFormat { kTable, kJson };

// `flag_value` is the -format value ("" if not given); falls back to $ROCKSDR_FORMAT, then table.
Result<OutputFormat> ResolveFormat(const std::string& flag_value);

// Writes `data` as Vault's JSON formatter does, followed by a newline.
void PrintJson(std::ostream& out, const nlohmann::json& data);

}  // namespace rocksdr::cli
