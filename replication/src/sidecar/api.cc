// Implementation of api.h: response builders and Vault-style parameter parsing.
#include "rocksdr/sidecar/api.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace rocksdr::sidecar {

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kPost: return "POST";
    case Method::kDelete: return "DELETE";
    case Method::kList: return "LIST";
  }
  return "?";
}

ApiResponse Envelope(const ApiRequest& req, EnvelopeParts parts) {
  nlohmann::json body = nlohmann::json::object();
  body["request_id"] = req.request_id;
  body["lease_id"] = "";
  body["renewable"] = false;
  body["lease_duration"] = 0;
  body["data"] = parts.data;
  body["wrap_info"] = parts.wrap_info;
  body["warnings"] = parts.warnings.empty() ? nlohmann::json(nullptr) : nlohmann::json(parts.warnings);
  body["auth"] = parts.auth;
  if (req.path.rfind("sys/", 0) == 0 && parts.data.is_object()) {
    for (const auto& [k, v] : parts.data.items()) {
      if (!body.contains(k)) body[k] = v;
    }
  }
  ApiResponse resp;
  resp.status = 200;
  resp.body = std::move(body);
  return resp;
}

ApiResponse Envelope(const ApiRequest& req, nlohmann::json data, std::vector<std::string> warnings) {
  EnvelopeParts parts;
  parts.data = std::move(data);
  parts.warnings = std::move(warnings);
  return Envelope(req, std::move(parts));
}

ApiResponse Bare(nlohmann::json body, int status) {
  ApiResponse resp;
  resp.status = status;
  resp.body = std::move(body);
  return resp;
}

ApiResponse NoContent() {
  ApiResponse resp;
  resp.status = 204;
  resp.body = nullptr;
  return resp;
}

ApiResponse ErrorResponse(int status, std::string message) {
  ApiResponse resp;
  resp.status = status;
  resp.body = nlohmann::json{{"errors", nlohmann::json::array({std::move(message)})}};
  return resp;
}

ApiResponse ErrorFromStatus(const Status& status) {
  int code = 500;
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kFailedPrecondition:
    case Code::kAlreadyExists:
    case Code::kNotFound:
    case Code::kAborted:
    case Code::kUnauthenticated:
      code = 400;
      break;
    case Code::kPermissionDenied: code = 403; break;
    case Code::kResourceExhausted: code = 429; break;
    case Code::kUnavailable: code = 503; break;
    case Code::kDeadlineExceeded: code = 504; break;
    default: code = 500; break;
  }
  return ErrorResponse(code, status.message().empty() ? std::string(CodeName(status.code())) : status.message());
}

namespace {

std::string Quoted(std::string_view field) { return "\"" + std::string(field) + "\""; }

const nlohmann::json* Field(const nlohmann::json& body, std::string_view field) {
  if (!body.is_object()) return nullptr;
  auto it = body.find(std::string(field));
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  if (s.empty() || s.size() > 20) return Status::InvalidArgument("not an integer");
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return Status::InvalidArgument("not an integer");
  return v;
}

}  // namespace

Result<std::string> GetString(const nlohmann::json& body, std::string_view field, std::string def) {
  const nlohmann::json* v = Field(body, field);
  if (v == nullptr) return def;
  if (!v->is_string()) {
    return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected a string, got " +
                                   std::string(v->type_name()));
  }
  return v->get<std::string>();
}

Result<int64_t> GetInt(const nlohmann::json& body, std::string_view field, int64_t def, int64_t min, int64_t max) {
  const nlohmann::json* v = Field(body, field);
  int64_t out = def;
  if (v != nullptr) {
    if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": integer out of range");
      }
      out = v->get<int64_t>();
    } else if (v->is_number_float()) {
      const double d = v->get<double>();
      // Range first: converting a double outside int64's range (or NaN) is undefined behaviour.
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": integer out of range");
      }
      if (d != static_cast<double>(static_cast<int64_t>(d))) {
        return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected an integer");
      }
      out = static_cast<int64_t>(d);
    } else if (v->is_string()) {
      Result<int64_t> parsed = ParseInt64(v->get_ref<const std::string&>());
      if (!parsed.ok()) {
        return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected an integer");
      }
      out = *parsed;
    } else {
      return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected an integer, got " +
                                     std::string(v->type_name()));
    }
  }
  if (out < min || out > max) {
    return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": " + std::to_string(out) +
                                   " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return out;
}

Result<bool> GetBool(const nlohmann::json& body, std::string_view field, bool def) {
  const nlohmann::json* v = Field(body, field);
  if (v == nullptr) return def;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s == "true" || s == "1" || s == "t" || s == "TRUE" || s == "True") return true;
    if (s == "false" || s == "0" || s == "f" || s == "FALSE" || s == "False") return false;
  }
  if (v->is_number_integer()) {
    if (v->get<int64_t>() == 1) return true;
    if (v->get<int64_t>() == 0) return false;
  }
  return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected a boolean");
}

Result<int64_t> ParseDurationMs(std::string_view text, int64_t bare_unit_ms) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  if (text.size() > 64) return Status::InvalidArgument("duration longer than 64 characters");
  constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 2;
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
  if (all_digits) {
    Result<int64_t> n = ParseInt64(text);
    if (!n.ok() || *n > kMaxMs / bare_unit_ms) return Status::InvalidArgument("duration out of range");
    return *n * bare_unit_ms;
  }
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (start == i) return Status::InvalidArgument("invalid duration (use e.g. 30s, 10m, 1h30m)");
    Result<int64_t> n = ParseInt64(text.substr(start, i - start));
    if (!n.ok()) return Status::InvalidArgument("duration out of range");
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    int64_t mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60 * 1000;
    else if (unit == "h") mult = 3600 * 1000;
    else if (unit == "d") mult = 24 * 3600 * 1000;
    else return Status::InvalidArgument("invalid duration unit (use ms, s, m, h or d)");
    if (*n > (kMaxMs - total) / mult) return Status::InvalidArgument("duration out of range");
    total += *n * mult;
  }
  return total;
}

Result<int64_t> GetDurationSeconds(const nlohmann::json& body, std::string_view field, int64_t def, int64_t min,
                                   int64_t max) {
  const nlohmann::json* v = Field(body, field);
  int64_t out = def;
  if (v != nullptr) {
    if (v->is_number_integer()) {
      out = v->get<int64_t>();
    } else if (v->is_string()) {
      Result<int64_t> ms = ParseDurationMs(v->get_ref<const std::string&>());
      if (!ms.ok()) {
        return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": " + ms.status().message());
      }
      out = *ms / 1000;
    } else {
      return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": expected a duration");
    }
  }
  if (out < min || out > max) {
    return Status::InvalidArgument("invalid value for field " + Quoted(field) + ": " +
                                   FormatDurationSeconds(out < 0 ? 0 : out) + " is outside [" +
                                   FormatDurationSeconds(min) + ", " + FormatDurationSeconds(max) + "]");
  }
  return out;
}

std::string FormatDurationSeconds(int64_t seconds) {
  if (seconds <= 0) return "0s";
  std::string out;
  const int64_t h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0) out += std::to_string(m) + "m";
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace rocksdr::sidecar
