// Readers of a rocksdr_node's control-socket status (the JSON FaultCluster::PrimaryStatus() /
// SecondaryStatus() return; an empty object when the node did not answer).
//
// Who may call: tests only, any thread (pure functions of their argument).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace rocksdr::testing {

// The secondary's last_sequence_applied; 0 when absent or null (no cursor yet / no answer).
inline uint64_t AppliedCursor(const nlohmann::json& s) {
  const auto it = s.find("last_sequence_applied");
  return it != s.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Why a secondary stopped: its primary link's last_error and the DB's background_error, as
// "<last_error> | <background_error>" (either part empty when absent).
inline std::string StopReason(const nlohmann::json& s) {
  std::string why;
  if (s.contains("primary_link")) why += s["primary_link"].value("last_error", "");
  why += " | ";
  why += s.value("background_error", "");
  return why;
}

}  // namespace rocksdr::testing
