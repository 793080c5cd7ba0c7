#include "kv_service/bulk_parser.h"

#include <nlohmann/json.hpp>

namespace rocksdr::examples {

namespace {

Status CheckRecord(const KvRecord& r, const std::string& where, const KvLimits& limits) {
  if (r.first.empty()) return Status::InvalidArgument(where + ": empty key");
  if (r.first.size() > limits.max_key_bytes) {
    return Status::InvalidArgument(where + ": key of " + std::to_string(r.first.size()) + " bytes is over the limit of " +
                                   std::to_string(limits.max_key_bytes) + " (--max-key-bytes)");
  }
  if (r.second.size() > limits.max_value_bytes) {
    return Status::InvalidArgument(where + ": value of " + std::to_string(r.second.size()) +
                                   " bytes is over the limit of " + std::to_string(limits.max_value_bytes) +
                                   " (--max-value-bytes)");
  }
  return Status::OK();
}

Status TooMany(const KvLimits& limits) {
  return Status::InvalidArgument("more than " + std::to_string(limits.max_bulk_records) +
                                 " records in one bulk request (--max-bulk-records): split the load");
}

// Nesting depth of a JSON text, strings skipped (bounds the parser's work before it runs).
size_t JsonDepth(std::string_view body) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') max_depth = std::max(max_depth, ++depth);
    else if ((c == '}' || c == ']') && depth > 0) --depth;
  }
  return max_depth;
}

Result<std::vector<KvRecord>> ParseJson(std::string_view body, const KvLimits& limits) {
  const std::string shape = "a JSON bulk body must be one object of string values, {\"key\": \"value\", ...}";
  if (JsonDepth(body) > 1) return Status::InvalidArgument(shape + ": nested objects or arrays are not accepted");
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("the bulk body is not valid JSON: " + shape);
  if (!doc.is_object()) return Status::InvalidArgument(shape);
  if (doc.size() > limits.max_bulk_records) return TooMany(limits);
  std::vector<KvRecord> out;
  out.reserve(doc.size());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string where = "key \"" + it.key().substr(0, 64) + "\"";
    if (!it.value().is_string()) return Status::InvalidArgument(where + ": the value must be a JSON string");
    out.emplace_back(it.key(), it.value().get_ref<const std::string&>());
    ROCKSDR_RETURN_IF_ERROR(CheckRecord(out.back(), where, limits));
  }
  return out;
}

Result<std::vector<KvRecord>> ParseText(std::string_view body, const KvLimits& limits) {
  std::vector<KvRecord> out;
  size_t line_no = 0;
  while (!body.empty()) {
    ++line_no;
    const size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(line_no);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return Status::InvalidArgument(where + ": no TAB: each line is key<TAB>value (or send JSON with "
                                             "Content-Type: application/json)");
    }
    if (out.size() == limits.max_bulk_records) return TooMany(limits);
    out.emplace_back(std::string(line.substr(0, tab)), std::string(line.substr(tab + 1)));
    ROCKSDR_RETURN_IF_ERROR(CheckRecord(out.back(), where, limits));
  }
  return out;
}

}  // namespace

Result<std::vector<KvRecord>> ParseBulk(std::string_view content_type, std::string_view body, const KvLimits& limits) {
  const bool json = content_type.substr(0, content_type.find(';')).find("application/json") != std::string_view::npos;
  auto records = json ? ParseJson(body, limits) : ParseText(body, limits);
  if (records.ok() && records->empty()) {
    return Status::InvalidArgument("the bulk body holds no record: send key<TAB>value lines or a JSON object");
  }
  return records;
}

}  // namespace rocksdr::examples
