// Implementation of dr_secondary_registry.h.
#include "rocksdr/sidecar/dr_secondary_registry.h"

namespace rocksdr::sidecar {

namespace {

template <typename T>
Result<std::optional<T>> LoadRecord(PluginControl* control, const std::string& key, std::string_view what) {
  Result<std::optional<std::string>> raw = control->Get(Store::kReplicated, key);
  if (!raw.ok()) return raw.status().WithContext(std::string("reading ") + std::string(what));
  if (!raw->has_value()) return std::optional<T>();
  nlohmann::json j = nlohmann::json::parse(**raw, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(std::string(what) + ": not JSON");
  Result<T> r = T::FromJson(j);
  if (!r.ok()) return r.status();
  return std::optional<T>(std::move(r).value());
}

}  // namespace

nlohmann::json DrClusterRecord::ToJson() const {
  return {{"v", 1},
          {"cluster_id", cluster_id},
          {"ca_cert_pem", ca_cert_pem},
          {"primary_cluster_addr", primary_cluster_addr},
          {"created", created}};
}

Result<DrClusterRecord> DrClusterRecord::FromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("v", 0) != 1) return Status::Corruption("DR cluster record: unknown format");
    DrClusterRecord r;
    r.cluster_id = j.at("cluster_id").get<std::string>();
    r.ca_cert_pem = j.at("ca_cert_pem").get<std::string>();
    r.primary_cluster_addr = j.at("primary_cluster_addr").get<std::string>();
    r.created = j.at("created").get<int64_t>();
    if (r.cluster_id.empty() || r.ca_cert_pem.empty()) return Status::Corruption("DR cluster record: empty field");
    return r;
  } catch (const nlohmann::json::exception&) {
    return Status::Corruption("DR cluster record: missing or mistyped field");
  }
}

nlohmann::json SecondaryRecord::ToJson() const {
  return {{"v", 1},
          {"id", id},
          {"state", state},
          {"created", created},
          {"token_expires", token_expires},
          {"accessor_hash", accessor_hash},
          {"jti_hash", jti_hash},
          {"activated_at", activated_at},
          {"certificate_not_after", certificate_not_after}};
}

Result<SecondaryRecord> SecondaryRecord::FromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("v", 0) != 1) return Status::Corruption("secondary record: unknown format");
    SecondaryRecord r;
    r.id = j.at("id").get<std::string>();
    r.state = j.at("state").get<std::string>();
    r.created = j.at("created").get<int64_t>();
    r.token_expires = j.at("token_expires").get<int64_t>();
    r.accessor_hash = j.at("accessor_hash").get<std::string>();
    r.jti_hash = j.at("jti_hash").get<std::string>();
    r.activated_at = j.at("activated_at").get<int64_t>();
    r.certificate_not_after = j.value("certificate_not_after", int64_t{0});  // absent in older records
    if (r.state != "pending" && r.state != "active" && r.state != "revoked") {
      return Status::Corruption("secondary record: unknown state");
    }
    if (!ValidateSecondaryId(r.id).ok()) return Status::Corruption("secondary record: invalid id");
    return r;
  } catch (const nlohmann::json::exception&) {
    return Status::Corruption("secondary record: missing or mistyped field");
  }
}

Status ValidateSecondaryId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("missing secondary id: set \"id\"");
  if (id.size() > kMaxSecondaryIdSize) {
    return Status::InvalidArgument("secondary id is longer than " + std::to_string(kMaxSecondaryIdSize) +
                                   " characters");
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          "secondary id may only contain letters, digits, '.', '_' and '-' (it becomes the certificate's common "
          "name)");
    }
  }
  return Status::OK();
}

Result<std::optional<DrClusterRecord>> SecondaryRegistry::LoadCluster() {
  return LoadRecord<DrClusterRecord>(control_, std::string(kDrClusterKey), "the DR cluster record");
}

Status SecondaryRegistry::StoreCluster(const DrClusterRecord& record) {
  return control_->Put(Store::kReplicated, std::string(kDrClusterKey), record.ToJson().dump());
}

Status SecondaryRegistry::DeleteCluster() { return control_->Delete(Store::kReplicated, std::string(kDrClusterKey)); }

Result<std::optional<SecondaryRecord>> SecondaryRegistry::Get(std::string_view id) {
  ROCKSDR_RETURN_IF_ERROR(ValidateSecondaryId(id));
  return LoadRecord<SecondaryRecord>(control_, std::string(kDrSecondaryKeyPrefix) + std::string(id),
                                     "a secondary record");
}

Status SecondaryRegistry::Put(const SecondaryRecord& record) {
  ROCKSDR_RETURN_IF_ERROR(ValidateSecondaryId(record.id));
  return control_->Put(Store::kReplicated, std::string(kDrSecondaryKeyPrefix) + record.id, record.ToJson().dump());
}

Status SecondaryRegistry::Delete(std::string_view id) {
  ROCKSDR_RETURN_IF_ERROR(ValidateSecondaryId(id));
  return control_->Delete(Store::kReplicated, std::string(kDrSecondaryKeyPrefix) + std::string(id));
}

bool IsLive(const SecondaryRecord& r, int64_t now) {
  return r.state == "active" || (r.state == "pending" && r.token_expires > now);
}

Result<std::vector<SecondaryRecord>> SecondaryRegistry::List() {
  Result<std::vector<std::pair<std::string, std::string>>> all =
      control_->Scan(Store::kReplicated, std::string(kDrSecondaryKeyPrefix), kMaxRegistryRecords + 1);
  if (!all.ok()) return all.status().WithContext("listing the secondary registry");
  if (all->size() > kMaxRegistryRecords) {
    return Status::ResourceExhausted("the secondary registry holds more than " + std::to_string(kMaxRegistryRecords) +
                                     " records; it was not written by this sidecar's limits");
  }
  std::vector<SecondaryRecord> out;
  for (const auto& [k, v] : *all) {
    nlohmann::json j = nlohmann::json::parse(v, nullptr, false);
    Result<SecondaryRecord> r = SecondaryRecord::FromJson(j);
    if (!r.ok()) return r.status().WithContext(k);
    out.push_back(std::move(r).value());
  }
  return out;
}

Result<size_t> SecondaryRegistry::Prune(int64_t now, std::chrono::seconds certificate_validity) {
  Result<std::vector<SecondaryRecord>> all = List();
  if (!all.ok()) return all.status();
  size_t deleted = 0;
  for (const auto& r : *all) {
    const bool expired_token = r.state == "pending" && r.token_expires <= now;
    // Without the certificate's notAfter (older records): its activation plus the validity, and a
    // day of margin (the certificate's notBefore allows for clock skew).
    const int64_t not_after = r.certificate_not_after > 0
                                  ? r.certificate_not_after
                                  : r.activated_at + static_cast<int64_t>(certificate_validity.count()) + 24 * 3600;
    const bool expired_certificate = r.state == "revoked" && (r.certificate_not_after > 0 || r.activated_at > 0) &&
                                     now > not_after;
    if (expired_token || expired_certificate) {
      ROCKSDR_RETURN_IF_ERROR(Delete(r.id));
      ++deleted;
    }
  }
  return deleted;
}

Result<std::vector<std::string>> SecondaryRegistry::ActiveIds() {
  Result<std::vector<SecondaryRecord>> all = List();
  if (!all.ok()) return all.status();
  std::vector<std::string> ids;
  for (const auto& r : *all) {
    if (r.state == "active") ids.push_back(r.id);
  }
  return ids;
}

Status SecondaryRegistry::Clear(bool keep_revoked) {
  if (keep_revoked) {
    Result<std::vector<SecondaryRecord>> all = List();
    if (!all.ok()) return all.status();
    for (const auto& r : *all) {
      if (r.state != "revoked") ROCKSDR_RETURN_IF_ERROR(Delete(r.id));
    }
    return Status::OK();
  }
  // Page by page until none is left (a registry over the bound is cleared too).
  for (;;) {
    Result<std::vector<std::pair<std::string, std::string>>> page =
        control_->Scan(Store::kReplicated, std::string(kDrSecondaryKeyPrefix), kMaxRegistryRecords);
    if (!page.ok()) return page.status();
    if (page->empty()) return Status::OK();
    for (const auto& [k, v] : *page) ROCKSDR_RETURN_IF_ERROR(control_->Delete(Store::kReplicated, k));
  }
}

}  // namespace rocksdr::sidecar
