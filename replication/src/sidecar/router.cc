// Implementation of router.h.
#include "rocksdr/sidecar/router.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "rocksdr/sidecar/json_depth.h"

namespace rocksdr::sidecar {

Status Router::Add(RouteSpec spec) {
  if (spec.path.empty() || spec.path.front() == '/') {
    return Status::InvalidArgument("route path must be non-empty and relative to /v1/");
  }
  if (spec.methods.empty()) return Status::InvalidArgument("route " + spec.path + " has no methods");
  if (!spec.handler) return Status::InvalidArgument("route " + spec.path + " has no handler");
  if (spec.prefix && spec.path.back() != '/') {
    return Status::InvalidArgument("prefix route " + spec.path + " must end in '/'");
  }
  auto& table = spec.prefix ? prefixes_ : exact_;
  auto it = table.find(spec.path);
  if (it != table.end()) {
    for (size_t idx : it->second) {
      for (Method m : spec.methods) {
        const auto& existing = routes_[idx].methods;
        if (std::find(existing.begin(), existing.end(), m) != existing.end()) {
          return Status::AlreadyExists("route " + std::string(MethodName(m)) + " " + spec.path +
                                       " is already registered");
        }
      }
    }
  }
  table[spec.path].push_back(routes_.size());
  routes_.push_back(std::move(spec));
  return Status::OK();
}

const std::vector<size_t>* Router::Find(std::string_view path, std::string* subpath) const {
  auto it = exact_.find(path);
  if (it != exact_.end()) {
    subpath->clear();
    return &it->second;
  }
  const std::vector<size_t>* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, idxs] : prefixes_) {
    const bool is_mount = path.size() + 1 == prefix.size() && prefix.compare(0, path.size(), path) == 0;
    if ((is_mount || (path.size() >= prefix.size() && path.compare(0, prefix.size(), prefix) == 0)) &&
        prefix.size() >= best_len) {
      best = &idxs;
      best_len = prefix.size();
    }
  }
  if (best != nullptr) *subpath = path.size() >= best_len ? std::string(path.substr(best_len)) : std::string();
  return best;
}

namespace {

// Vault's wording (1.13+) for body fields an endpoint does not know; "" when there are none.
std::string UnrecognizedFields(const std::vector<std::string>& known, const ApiRequest& req) {
  if (!req.body.is_object()) return "";
  std::string names;
  int listed = 0;
  for (const auto& [k, v] : req.body.items()) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    if (++listed > 16) {
      names += " ...";
      break;
    }
    if (!names.empty()) names += ' ';
    names += k.size() > 64 ? k.substr(0, 64) + "..." : k;
  }
  if (names.empty()) return "";
  return "Endpoint ignored these unrecognized parameters: [" + names + "]";
}

// Adds `note` to an answer: one more error of a failure, a warning of a success (a 204 becomes a
// 200 envelope, and a bare object gets a "warnings" list, so that the note reaches the client).
void AddNote(const std::string& note, const ApiRequest& req, ApiResponse* resp) {
  if (note.empty()) return;
  if (resp->status == 204) {
    *resp = Envelope(req, nullptr, {note});
    return;
  }
  if (!resp->body.is_object()) return;
  if (resp->body.contains("errors") && resp->body["errors"].is_array()) {
    resp->body["errors"].push_back(note);
  } else {
    if (!resp->body.contains("warnings") || !resp->body["warnings"].is_array()) {
      resp->body["warnings"] = nlohmann::json::array();
    }
    resp->body["warnings"].push_back(note);
  }
}

}  // namespace

ApiResponse Router::Dispatch(ApiRequest& req) const {
  ApiResponse resp = Route(req);
  gate_->OnResponse(req, resp.status);
  return resp;
}

ApiResponse Router::Route(ApiRequest& req) const {
  std::string subpath;
  const std::vector<size_t>* candidates = Find(req.path, &subpath);
  if (candidates == nullptr) return ErrorResponse(404, "unsupported path");
  const RouteSpec* route = nullptr;
  for (size_t idx : *candidates) {
    const auto& ms = routes_[idx].methods;
    if (std::find(ms.begin(), ms.end(), req.method) != ms.end()) route = &routes_[idx];
  }
  if (route == nullptr) return ErrorResponse(405, "unsupported operation");
  req.subpath = std::move(subpath);

  // DR-secondary mode first: a DR secondary's sidecar stays sealed by design, and "sealed" would
  // send its operator to unseal a node whose path is disabled anyway (e.g. secondary/enable again).
  if (!route->dr_secondary_ok && gate_->IsDrSecondary()) {
    return ErrorResponse(400, "path disabled in replication DR secondary mode");
  }
  if (!route->sealed_ok && gate_->Sealed()) return ErrorResponse(503, "rocksdr is sealed");
  if (route->auth != AuthRequirement::kNone) {
    if (req.client_token.empty()) return ErrorResponse(403, "permission denied");
    Result<TokenEntry> entry = gate_->Authenticate(req.client_token);
    if (!entry.ok()) {
      if (entry.status().code() == Code::kUnavailable) return ErrorFromStatus(entry.status());
      return ErrorResponse(403, "permission denied");
    }
    if (route->auth == AuthRequirement::kRoot && !entry->IsRoot()) return ErrorResponse(403, "permission denied");
    req.token = std::move(entry).value();
  }

  if (req.raw_body.find_first_not_of(" \t\r\n") == std::string::npos) {
    req.body = nlohmann::json::object();
  } else {
    if (Status depth = CheckJsonDepth(req.raw_body); !depth.ok()) {
      return ErrorResponse(400, "failed to parse JSON input: " + depth.message());
    }
    nlohmann::json parsed = nlohmann::json::parse(req.raw_body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return ErrorResponse(400, "failed to parse JSON input: the request body is not valid JSON");
    }
    if (!parsed.is_object()) {
      return ErrorResponse(400, "failed to parse JSON input: the request body must be a JSON object, got " +
                                    std::string(parsed.type_name()));
    }
    req.body = std::move(parsed);
  }

  const std::string unrecognized = route->fields ? UnrecognizedFields(*route->fields, req) : "";
  if (!unrecognized.empty() && route->reject_unrecognized) {
    // A route where a misspelt field changes what happens (update-primary without its token
    // forgets the primary): refuse before acting.
    return ErrorResponse(400, "unrecognized parameters, nothing was done: " +
                                  unrecognized.substr(unrecognized.find('[')));
  }
  try {
    ApiResponse resp = route->handler(req);
    AddNote(unrecognized, req, &resp);
    return resp;
  } catch (const std::exception& e) {
    spdlog::error("request {} {} {}: handler threw: {}", req.request_id, MethodName(req.method), req.path, e.what());
    return ErrorResponse(500, "internal error");
  }
}

std::vector<std::string> Router::Describe() const {
  std::vector<std::string> out;
  for (const RouteSpec& r : routes_) {
    for (Method m : r.methods) out.push_back(std::string(MethodName(m)) + " " + r.path + (r.prefix ? "*" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rocksdr::sidecar
