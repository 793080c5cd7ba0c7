// Implementation of token_entry.h.
#include "rocksdr/sidecar/token_entry.h"

#include <algorithm>

namespace rocksdr::sidecar {

bool TokenEntry::IsRoot() const {
  return std::find(policies.begin(), policies.end(), kRootPolicy) != policies.end();
}

nlohmann::json TokenEntry::ToJson() const {
  return nlohmann::json{{"v", 1},
                        {"accessor", accessor},
                        {"policies", policies},
                        {"display_name", display_name},
                        {"type", type},
                        {"creation_time", creation_time},
                        {"ttl", ttl_seconds},
                        {"expire_time", expire_time},
                        {"num_uses", num_uses},
                        {"purpose", purpose}};
}

Result<TokenEntry> TokenEntry::FromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("v", 0) != 1) return Status::Corruption("token entry: unknown format");
    TokenEntry e;
    e.accessor = j.at("accessor").get<std::string>();
    e.policies = j.at("policies").get<std::vector<std::string>>();
    e.display_name = j.at("display_name").get<std::string>();
    e.type = j.at("type").get<std::string>();
    e.creation_time = j.at("creation_time").get<int64_t>();
    e.ttl_seconds = j.at("ttl").get<int64_t>();
    e.expire_time = j.at("expire_time").get<int64_t>();
    e.num_uses = j.at("num_uses").get<int64_t>();
    e.purpose = j.at("purpose").get<std::string>();
    return e;
  } catch (const nlohmann::json::exception&) {
    return Status::Corruption("token entry: malformed (missing or mistyped field)");
  }
}

}  // namespace rocksdr::sidecar
