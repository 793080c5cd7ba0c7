// Implementation of output.h.
#include "output.h"

#include <cstdlib>
#include <ostream>

namespace rocksdr::cli {

Result<OutputFormat> ResolveFormat(const std::string& flag_value) {
  std::string v = flag_value;
  if (v.empty()) {
    const char* env = std::getenv("ROCKSDR_FORMAT");
    if (env != nullptr) v = env;
  }
  if (v.empty() || v == "table") return OutputFormat::kTable;
  if (v == "json") return OutputFormat::kJson;
  if (v.size() > 32) v = v.substr(0, 32) + "...";
  return Status::InvalidArgument("Invalid output format: " + v + " (valid formats: table, json)");
}

void PrintJson(std::ostream& out, const nlohmann::json& data) {
  out << data.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace rocksdr::cli
