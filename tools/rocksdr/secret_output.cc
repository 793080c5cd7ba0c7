// Implementation of secret_output.h.
#include "secret_output.h"

#include <algorithm>
#include <ctime>
#include <ostream>

namespace rocksdr::cli {

std::string CellText(const nlohmann::json& v) {
  if (v.is_null()) return "<nil>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + CellText(v[i]);
    return s + "]";
  }
  std::string s = "map[";
  bool first = true;
  for (const auto& [k, x] : v.items()) {
    s += (first ? "" : " ") + k + ":" + CellText(x);
    first = false;
  }
  return s + "]";
}

void PrintTable(std::ostream& out, const Rows& rows) {
  if (rows.empty()) return;
  size_t width = 3;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  auto line = [&](const std::string& k, const std::string& v) {
    std::string cell = v.empty() ? "n/a" : v;
    out << k << std::string(width - k.size() + 4, ' ') << cell << "\n";
  };
  line("Key", "Value");
  line("---", "-----");
  for (const auto& [k, v] : rows) line(k, v);
}

namespace {

std::string Ttl(const nlohmann::json& v) {
  if (!v.is_number_integer()) return CellText(v);
  int64_t s = v.get<int64_t>();
  if (s <= 0) return "0s";
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string((s % 3600) / 60) + "m";
  if (s % 60 > 0) out += std::to_string(s % 60) + "s";
  return out;
}

}  // namespace

bool PrintSecretTable(std::ostream& out, const nlohmann::json& env) {
  bool printed = false;
  if (env.is_object() && env.contains("warnings") && env["warnings"].is_array() && !env["warnings"].empty()) {
    out << "WARNING! The following warnings were returned from rocksdr:\n\n";
    for (const auto& w : env["warnings"]) out << "* " << CellText(w) << "\n";
    out << "\n";
    printed = true;
  }
  Rows rows;
  if (env.is_object() && env.contains("auth") && env["auth"].is_object()) {
    const auto& a = env["auth"];
    rows.emplace_back("token", CellText(a.value("client_token", nlohmann::json(""))));
    rows.emplace_back("token_accessor", CellText(a.value("accessor", nlohmann::json(""))));
    rows.emplace_back("token_duration", a.value("lease_duration", 0) == 0 ? "∞" : Ttl(a["lease_duration"]));
    rows.emplace_back("token_renewable", CellText(a.value("renewable", nlohmann::json(false))));
    rows.emplace_back("token_policies", CellText(a.value("token_policies", nlohmann::json::array())));
    rows.emplace_back("identity_policies", "[]");
    rows.emplace_back("policies", CellText(a.value("policies", nlohmann::json::array())));
  }
  if (env.is_object() && env.contains("wrap_info") && env["wrap_info"].is_object()) {
    const auto& w = env["wrap_info"];
    rows.emplace_back("wrapping_token:", CellText(w.value("token", nlohmann::json(""))));
    rows.emplace_back("wrapping_accessor:", CellText(w.value("accessor", nlohmann::json(""))));
    rows.emplace_back("wrapping_token_ttl:", Ttl(w.value("ttl", nlohmann::json(0))));
    rows.emplace_back("wrapping_token_creation_time:", CellText(w.value("creation_time", nlohmann::json(""))));
    rows.emplace_back("wrapping_token_creation_path:", CellText(w.value("creation_path", nlohmann::json(""))));
    if (w.contains("wrapped_accessor") && !w["wrapped_accessor"].get<std::string>().empty()) {
      rows.emplace_back("wrapped_accessor:", CellText(w["wrapped_accessor"]));
    }
  }
  if (env.is_object() && env.contains("data") && env["data"].is_object()) {
    if (env.value("lease_duration", 0) > 0) {
      rows.emplace_back("refresh_interval", Ttl(env["lease_duration"]));
    }
    std::vector<std::string> keys;
    for (const auto& [k, v] : env["data"].items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const auto& k : keys) rows.emplace_back(k, CellText(env["data"][k]));
  }
  PrintTable(out, rows);
  return printed || !rows.empty();
}

}  // namespace rocksdr::cli
