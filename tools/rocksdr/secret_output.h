// Vault's table output for API responses (command/format.go): warnings first
//   "WARNING! The following warnings were returned from rocksdr:" + "* ..." lines,
// then a two-column table "Key    Value" / "---    -----" (columns padded, 4 spaces between,
// empty values as "n/a"), with the auth block (token, token_accessor, ...), the wrap_info block
// (wrapping_token:, wrapping_accessor:, wrapping_token_ttl:, wrapping_token_creation_time:,
// wrapping_token_creation_path:) and the data keys in sorted order.
//
// Who may call: command callbacks, on the main thread.
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace rocksdr::cli {

using Rows = std::vector<std::pair<std::string, std::string>>;

// Prints rows as Vault's table (with the Key/Value header). Nothing for no rows.
void PrintTable(std::ostream& out, const Rows& rows);

// Prints warnings (if any) and the table of a response envelope. Returns false if there was
// nothing to print at all.
bool PrintSecretTable(std::ostream& out, const nlohmann::json& envelope);

// Go's %v rendering of a JSON value as Vault prints it in a table cell.
std::string CellText(const nlohmann::json& v);

}  // namespace rocksdr::cli
