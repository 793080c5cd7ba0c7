// Implementation of rocksdr/replication/control_protocol.h.
#include "rocksdr/replication/control_protocol.h"

#include <algorithm>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/replication/json_depth.h"

namespace rocksdr::replication::control {

namespace {

using nlohmann::json;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string TypeName(const json& j) {
  if (j.is_number_unsigned()) return "unsigned integer";
  if (j.is_number_integer()) return "negative integer";
  if (j.is_number_float()) return "number with a fraction";
  return j.type_name();
}

const json* Find(const json& object, std::string_view field) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(field));
  return it == object.end() ? nullptr : &*it;
}

Status Missing(std::string_view field) {
  return Status::InvalidArgument("missing field " + Quote(field));
}

Status WrongType(std::string_view field, std::string_view expected, const json& got) {
  return Status::InvalidArgument("field " + Quote(field) + " must be " + std::string(expected) + ", got " +
                                 TypeName(got));
}

}  // namespace

// ---------------------------------------------------------------- framing

std::string EncodeHeader(size_t body_size) {
  const uint32_t n = static_cast<uint32_t>(body_size);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

Result<uint32_t> DecodeHeader(const uint8_t header[4]) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(header[i]) << (8 * i);
  if (n == 0) return Status::InvalidArgument("control message of length 0 (a message is a JSON object)");
  if (n > kMaxMessageBytes) {
    return Status::ResourceExhausted("control message of " + std::to_string(n) + " bytes exceeds the limit of " +
                                     std::to_string(kMaxMessageBytes) + " bytes");
  }
  return n;
}

Result<std::string> EncodeMessage(const json& message) {
  std::string body;
  try {
    body = message.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    return Status::InvalidArgument("control message holds a string that is not valid UTF-8 (binary data must be "
                                   "base64 in a _b64 field)");
  }
  if (body.size() > kMaxMessageBytes) {
    return Status::ResourceExhausted("control message of " + std::to_string(body.size()) +
                                     " bytes exceeds the limit of " + std::to_string(kMaxMessageBytes) + " bytes");
  }
  std::string out = EncodeHeader(body.size());
  out += body;
  crypto::Zeroize(body.data(), body.size());  // it may carry a private key
  return out;
}

Result<json> ParseMessageBody(std::string_view body) {
  if (body.empty()) return Status::InvalidArgument("empty control message");
  if (body.size() > kMaxMessageBytes) {
    return Status::ResourceExhausted("control message exceeds the limit of " + std::to_string(kMaxMessageBytes) +
                                     " bytes");
  }
  ROCKSDR_RETURN_IF_ERROR(CheckJsonDepth(body, kMaxJsonDepth, "message"));
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // Only the position: the text around it may be a secret.
    return Status::InvalidArgument("control message is not valid JSON (error at byte " + std::to_string(e.byte) +
                                   ")");
  } catch (const json::exception&) {
    return Status::InvalidArgument("control message is not valid JSON");
  }
  if (!j.is_object()) return Status::InvalidArgument("control message must be a JSON object, got " + TypeName(j));
  return j;
}

// ---------------------------------------------------------------- requests / responses

json MakeRequest(uint64_t id, std::string_view op, json args) {
  return json{{"id", id}, {"op", std::string(op)}, {"args", std::move(args)}};
}

json MakeResponse(uint64_t id, const rocksdr::Status& status, json result) {
  if (status.ok()) return json{{"id", id}, {"ok", true}, {"result", std::move(result)}};
  return json{{"id", id},
              {"ok", false},
              {"error", {{"code", std::string(CodeName(status.code()))}, {"message", status.message()}}}};
}

Result<Request> ParseRequest(const json& message, uint64_t* id_out) {
  if (id_out != nullptr) *id_out = 0;
  if (!message.is_object()) return Status::InvalidArgument("request must be a JSON object");
  Request r;
  auto id = GetUint(message, "id");
  if (!id.ok()) return id.status().WithContext("request");
  if (*id == 0) return Status::InvalidArgument("request: field 'id' must be at least 1");
  r.id = *id;
  if (id_out != nullptr) *id_out = r.id;
  ROCKSDR_RETURN_IF_ERROR(CheckFields(message, {"id", "op", "args"}, "request"));
  auto op = GetString(message, "op", kMaxOpBytes);
  if (!op.ok()) return op.status().WithContext("request");
  if (op->empty()) return Status::InvalidArgument("request: field 'op' is empty");
  r.op = std::move(*op);
  if (const json* a = Find(message, "args")) {
    if (!a->is_object()) return WrongType("args", "an object", *a).WithContext("request");
    r.args = *a;
  }
  return r;
}

Result<Code> ParseCodeName(std::string_view name) {
  for (int c = static_cast<int>(Code::kOk); c <= static_cast<int>(Code::kInternal); ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return Status::InvalidArgument("unknown error code " + Quote(name.substr(0, 64)));
}

Result<Response> ParseResponse(const json& message) {
  if (!message.is_object()) return Status::InvalidArgument("response must be a JSON object");
  Response r;
  auto id = GetUint(message, "id");
  if (!id.ok()) return id.status().WithContext("response");
  r.id = *id;
  auto ok = GetBool(message, "ok");
  if (!ok.ok()) return ok.status().WithContext("response");
  if (*ok) {
    ROCKSDR_RETURN_IF_ERROR(CheckFields(message, {"id", "ok", "result"}, "response"));
    if (const json* res = Find(message, "result")) {
      if (!res->is_object()) return WrongType("result", "an object", *res).WithContext("response");
      r.result = *res;
    }
    return r;
  }
  ROCKSDR_RETURN_IF_ERROR(CheckFields(message, {"id", "ok", "error"}, "response"));
  const json* err = Find(message, "error");
  if (err == nullptr) return Missing("error").WithContext("response");
  if (!err->is_object()) return WrongType("error", "an object", *err).WithContext("response");
  ROCKSDR_RETURN_IF_ERROR(CheckFields(*err, {"code", "message"}, "response error"));
  auto code_name = GetString(*err, "code", 64);
  if (!code_name.ok()) return code_name.status().WithContext("response error");
  auto code = ParseCodeName(*code_name);
  if (!code.ok()) return code.status().WithContext("response error");
  if (*code == Code::kOk) return Status::InvalidArgument("response error: code 'ok' in an error response");
  auto msg = GetString(*err, "message", 64 << 10);
  if (!msg.ok()) return msg.status().WithContext("response error");
  r.status = rocksdr::Status(*code, std::move(*msg));
  return r;
}

// ---------------------------------------------------------------- argument validation

rocksdr::Status CheckFields(const json& object, std::initializer_list<std::string_view> allowed,
                            std::string_view what) {
  if (!object.is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string list;
    for (std::string_view a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Status::InvalidArgument(std::string(what) + ": unknown field " + Quote(it.key().substr(0, 64)) +
                                   " (expected one of: " + list + ")");
  }
  return Status::OK();
}

Result<std::string> GetString(const json& object, std::string_view field, size_t max_bytes, bool required) {
  const json* v = Find(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return std::string();
  }
  if (!v->is_string()) return WrongType(field, "a string", *v);
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return Status::InvalidArgument("field " + Quote(field) + " is " + std::to_string(s.size()) +
                                   " bytes long; at most " + std::to_string(max_bytes) + " are accepted");
  }
  return s;
}

Result<uint64_t> GetUint(const json& object, std::string_view field, bool required) {
  const json* v = Find(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return uint64_t{0};
  }
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  // Parsed text gives non-negative integers as unsigned; values built in-process may be signed.
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<uint64_t>(v->get<int64_t>());
  return WrongType(field, "an unsigned integer", *v);
}

Result<bool> GetBool(const json& object, std::string_view field, bool required) {
  const json* v = Find(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return false;
  }
  if (!v->is_boolean()) return WrongType(field, "true or false", *v);
  return v->get<bool>();
}

Result<std::string> GetBytes(const json& object, std::string_view field, size_t max_bytes, bool required) {
  const size_t max_text = (max_bytes + 2) / 3 * 4;
  auto text = GetString(object, field, max_text, required);
  if (!text.ok()) return text.status();
  if (text->empty()) return std::string();
  auto bytes = crypto::Base64Decode(*text, /*padded=*/true, max_text);
  if (!bytes.ok()) return bytes.status().WithContext("field " + Quote(field) + " (standard padded base64)");
  if (bytes->size() > max_bytes) {
    return Status::InvalidArgument("field " + Quote(field) + " decodes to " + std::to_string(bytes->size()) +
                                   " bytes; at most " + std::to_string(max_bytes) + " are accepted");
  }
  return std::string(bytes->begin(), bytes->end());
}

Result<std::vector<std::string>> GetStringList(const json& object, std::string_view field, size_t max_bytes,
                                               size_t max_count, bool required) {
  const json* v = Find(object, field);
  std::vector<std::string> out;
  if (v == nullptr) {
    if (required) return Missing(field);
    return out;
  }
  if (!v->is_array()) return WrongType(field, "an array of strings", *v);
  if (v->size() > max_count) {
    return Status::InvalidArgument("field " + Quote(field) + " has " + std::to_string(v->size()) +
                                   " entries; at most " + std::to_string(max_count) + " are accepted");
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    const std::string name = std::string(field) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) return WrongType(name, "a string", e);
    const std::string& s = e.get_ref<const std::string&>();
    if (s.empty()) return Status::InvalidArgument("field " + Quote(name) + " is empty");
    if (s.size() > max_bytes) {
      return Status::InvalidArgument("field " + Quote(name) + " is longer than " + std::to_string(max_bytes) +
                                     " bytes");
    }
    out.push_back(s);
  }
  return out;
}

std::string EncodeBytes(std::string_view bytes) { return crypto::Base64Encode(bytes, /*padded=*/true); }

// ---------------------------------------------------------------- typed arguments

std::string_view StoreName(sidecar::Store store) {
  return store == sidecar::Store::kReplicated ? "replicated" : "local";
}

Result<sidecar::Store> ParseStore(const json& args) {
  auto name = GetString(args, "store", 32);
  if (!name.ok()) return name.status();
  if (*name == "replicated") return sidecar::Store::kReplicated;
  if (*name == "local") return sidecar::Store::kLocal;
  return Status::InvalidArgument("field 'store' must be \"replicated\" or \"local\", got " + Quote(*name));
}

json PrimaryConfigToJson(const sidecar::PrimaryConfig& config) {
  return json{{"cluster_id", config.cluster_id},
              {"epoch", config.epoch},
              {"ca_cert_pem", config.ca_cert_pem},
              {"server_cert_pem", config.server_cert_pem},
              {"server_key_pem", std::string(config.server_key_pem.begin(), config.server_key_pem.end())},
              {"allowed_secondary_ids", config.allowed_secondary_ids}};
}

Result<sidecar::PrimaryConfig> PrimaryConfigFromJson(const json& object) {
  ROCKSDR_RETURN_IF_ERROR(CheckFields(
      object, {"cluster_id", "epoch", "ca_cert_pem", "server_cert_pem", "server_key_pem", "allowed_secondary_ids"},
      "primary config"));
  sidecar::PrimaryConfig c;
  auto cluster = GetString(object, "cluster_id", kMaxIdBytes, /*required=*/false);
  if (!cluster.ok()) return cluster.status().WithContext("primary config");
  c.cluster_id = std::move(*cluster);
  auto epoch = GetUint(object, "epoch", /*required=*/false);
  if (!epoch.ok()) return epoch.status().WithContext("primary config");
  c.epoch = *epoch;
  auto ca = GetString(object, "ca_cert_pem", kMaxPemBytes);
  if (!ca.ok()) return ca.status().WithContext("primary config");
  c.ca_cert_pem = std::move(*ca);
  auto cert = GetString(object, "server_cert_pem", kMaxPemBytes);
  if (!cert.ok()) return cert.status().WithContext("primary config");
  c.server_cert_pem = std::move(*cert);
  auto key = GetString(object, "server_key_pem", kMaxPemBytes);
  if (!key.ok()) return key.status().WithContext("primary config");
  c.server_key_pem.assign(key->begin(), key->end());
  crypto::Zeroize(key->data(), key->size());
  auto ids = GetStringList(object, "allowed_secondary_ids", kMaxIdBytes, kMaxIds, /*required=*/false);
  if (!ids.ok()) return ids.status().WithContext("primary config");
  c.allowed_secondary_ids = std::move(*ids);
  if (c.ca_cert_pem.empty() || c.server_cert_pem.empty() || c.server_key_pem.empty()) {
    return Status::InvalidArgument(
        "primary config: ca_cert_pem, server_cert_pem and server_key_pem are required (the replication listener "
        "serves mutual TLS)");
  }
  return c;
}

json BundleToJson(const sidecar::ActivationBundle& bundle) {
  return json{{"cluster_id", bundle.cluster_id},
              {"secondary_id", bundle.secondary_id},
              {"primary_replication_addrs", bundle.primary_replication_addrs},
              {"primary_api_addr", bundle.primary_api_addr},
              {"ca_cert_pem", bundle.ca_cert_pem},
              {"client_cert_pem", bundle.client_cert_pem},
              {"client_key_pem", std::string(bundle.client_key_pem.begin(), bundle.client_key_pem.end())},
              {"epoch", bundle.epoch}};
}

Result<sidecar::ActivationBundle> BundleFromJson(const json& object) {
  ROCKSDR_RETURN_IF_ERROR(CheckFields(object,
                                      {"cluster_id", "secondary_id", "primary_replication_addrs", "primary_api_addr",
                                       "ca_cert_pem", "client_cert_pem", "client_key_pem", "epoch"},
                                      "activation bundle"));
  sidecar::ActivationBundle b;
  auto cluster = GetString(object, "cluster_id", kMaxIdBytes);
  if (!cluster.ok()) return cluster.status().WithContext("activation bundle");
  b.cluster_id = std::move(*cluster);
  auto sid = GetString(object, "secondary_id", kMaxIdBytes);
  if (!sid.ok()) return sid.status().WithContext("activation bundle");
  b.secondary_id = std::move(*sid);
  auto addrs = GetStringList(object, "primary_replication_addrs", kMaxAddressBytes, kMaxAddresses);
  if (!addrs.ok()) return addrs.status().WithContext("activation bundle");
  b.primary_replication_addrs = std::move(*addrs);
  auto api = GetString(object, "primary_api_addr", kMaxAddressBytes, /*required=*/false);
  if (!api.ok()) return api.status().WithContext("activation bundle");
  b.primary_api_addr = std::move(*api);
  auto ca = GetString(object, "ca_cert_pem", kMaxPemBytes);
  if (!ca.ok()) return ca.status().WithContext("activation bundle");
  b.ca_cert_pem = std::move(*ca);
  auto cert = GetString(object, "client_cert_pem", kMaxPemBytes);
  if (!cert.ok()) return cert.status().WithContext("activation bundle");
  b.client_cert_pem = std::move(*cert);
  auto key = GetString(object, "client_key_pem", kMaxPemBytes);
  if (!key.ok()) return key.status().WithContext("activation bundle");
  b.client_key_pem.assign(key->begin(), key->end());
  crypto::Zeroize(key->data(), key->size());
  auto epoch = GetUint(object, "epoch", /*required=*/false);
  if (!epoch.ok()) return epoch.status().WithContext("activation bundle");
  b.epoch = *epoch;
  if (b.cluster_id.empty() || b.secondary_id.empty()) {
    return Status::InvalidArgument("activation bundle: cluster_id and secondary_id must not be empty");
  }
  if (b.primary_replication_addrs.empty()) {
    return Status::InvalidArgument("activation bundle: primary_replication_addrs is empty (the primary's "
                                   "replication listener address is needed to follow it)");
  }
  if (b.ca_cert_pem.empty() || b.client_cert_pem.empty() || b.client_key_pem.empty()) {
    return Status::InvalidArgument(
        "activation bundle: ca_cert_pem, client_cert_pem and client_key_pem are required (replication is mutual "
        "TLS)");
  }
  return b;
}

}  // namespace rocksdr::replication::control
