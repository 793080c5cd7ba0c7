// Implementation of rocksdr/sidecar/plugin_control_client.h.
#include "sidecar/plugin_control_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/replication/control_io.h"
#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/replication/control_protocol.h"

namespace rocksdr::sidecar {

namespace ctl = replication::control;
using nlohmann::json;

namespace {

std::string Errno(int e) { return std::strerror(e); }

// Best effort: private keys must not linger in the request's JSON.
void ZeroizeJson(json* j) {
  if (j->is_string()) {
    auto& s = j->get_ref<std::string&>();
    crypto::Zeroize(s.data(), s.size());
  } else if (j->is_structured()) {
    for (auto& e : *j) ZeroizeJson(&e);
  }
}

rocksdr::Status CheckKey(const std::string& key) {
  if (key.empty() || key.size() > ctl::kMaxKeyBytes) {
    return rocksdr::Status::InvalidArgument("store key must be 1.." + std::to_string(ctl::kMaxKeyBytes) +
                                            " bytes, got " + std::to_string(key.size()));
  }
  return rocksdr::Status::OK();
}

// An error answer (id 0) the server left before closing, if any; OK otherwise.
rocksdr::Status ReadRefusal(int fd) {
  auto body = ctl::ReadMessage(fd, ctl::Clock::now() + std::chrono::milliseconds(100),
                               std::chrono::milliseconds(100));
  if (!body.ok() || !body->has_value()) return rocksdr::Status::OK();
  auto parsed = ctl::ParseMessageBody(**body);
  if (!parsed.ok()) return rocksdr::Status::OK();
  auto response = ctl::ParseResponse(*parsed);
  if (!response.ok() || response->id != 0 || response->status.ok()) return rocksdr::Status::OK();
  return response->status;
}

}  // namespace

PluginControlClient::PluginControlClient(std::string path, PluginControlClientOptions options)
    : path_(std::move(path)), options_(options) {}

PluginControlClient::~PluginControlClient() {
  std::lock_guard<std::mutex> l(mu_);
  CloseLocked();
}

rocksdr::Status PluginControlClient::NotAnswering(const std::string& why) const {
  return rocksdr::Status::Unavailable("plugin control socket " + path_ +
                                      " is not answering: is the application running? (" + why + ")");
}

bool PluginControlClient::Usable() const {
  // An idle connection has nothing to read: readable means EOF (closed by the server) or junk.
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

void PluginControlClient::CloseLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

rocksdr::Status PluginControlClient::Connect() {
  std::lock_guard<std::mutex> l(mu_);
  if (fd_ >= 0) return rocksdr::Status::OK();
  return ConnectLocked(Clock::now() + options_.timeout);
}

rocksdr::Status PluginControlClient::ConnectLocked(Clock::time_point deadline) {
  CloseLocked();
  if (path_.empty() || path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return rocksdr::Status::InvalidArgument("plugin control socket path must be 1.." +
                                            std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  int fd = -1;
  for (;;) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return rocksdr::Status::IOError("socket: " + Errno(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) break;
    const int e = errno;
    ::close(fd);
    fd = -1;
    // A full backlog: the plugin is alive but busy; retry until the deadline.
    if ((e == EAGAIN || e == EINTR) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    return NotAnswering(Errno(e));
  }
  fd_ = fd;
  auto uid = ctl::PeerUid(fd_);
  if (!uid.ok()) {
    CloseLocked();
    return uid.status();
  }
  if (*uid != ::geteuid() && *uid != 0) {
    CloseLocked();
    return rocksdr::Status::PermissionDenied("plugin control socket " + path_ + " is served by uid " +
                                             std::to_string(*uid) + ", not by this user (uid " +
                                             std::to_string(::geteuid()) +
                                             ") or root: refusing to send it secrets");
  }
  bool before_answer = false;
  auto hello = Exchange(ctl::kOpHello,
                        json{{"min_version", ctl::kProtocolVersion},
                             {"max_version", ctl::kProtocolVersion},
                             {"client", "rocksdr-sidecar"}},
                        deadline, &before_answer);
  if (!hello.ok()) {
    CloseLocked();
    if (before_answer) return NotAnswering(hello.status().message());
    return hello.status().WithContext("plugin control socket " + path_ + ": hello");
  }
  auto version = ctl::GetUint(*hello, "version");
  if (!version.ok() || *version != ctl::kProtocolVersion) {
    CloseLocked();
    return rocksdr::Status::FailedPrecondition("plugin control socket " + path_ +
                                               " answered hello without a supported version");
  }
  return rocksdr::Status::OK();
}

Result<json> PluginControlClient::Exchange(std::string_view op, const json& args, Clock::time_point deadline,
                                           bool* before_answer, bool* not_sent) {
  *before_answer = false;
  bool unused = false;
  if (not_sent == nullptr) not_sent = &unused;
  *not_sent = false;
  const uint64_t id = next_id_++;
  auto msg = ctl::EncodeMessage(ctl::MakeRequest(id, op, args));
  if (!msg.ok()) return msg.status();  // too large / not UTF-8: the connection is still fine
  rocksdr::Status w = ctl::WriteAll(fd_, *msg, deadline);
  crypto::Zeroize(msg->data(), msg->size());
  if (!w.ok()) {
    if (w.code() == Code::kUnavailable) {
      // The server may have refused the connection (limit, peer check) and closed it: its
      // answer (id 0) is still readable and says why.
      if (auto refusal = ReadRefusal(fd_); !refusal.ok()) {
        CloseLocked();
        return refusal;
      }
    }
    CloseLocked();
    *before_answer = w.code() == Code::kUnavailable;
    *not_sent = *before_answer;  // the peer was gone: it cannot have read the whole request
    if (w.code() == Code::kDeadlineExceeded) {
      return rocksdr::Status::DeadlineExceeded("plugin control socket " + path_ + ": sending '" + std::string(op) +
                                               "' timed out");
    }
    return w;
  }
  const auto now = Clock::now();
  const auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline > now ? deadline - now
                                                                                         : Clock::duration(0));
  auto body = ctl::ReadMessage(fd_, deadline, std::max(rest, std::chrono::milliseconds(1)));
  if (!body.ok()) {
    CloseLocked();
    if (body.status().code() == Code::kDeadlineExceeded) {
      return rocksdr::Status::DeadlineExceeded("plugin control socket " + path_ + " did not answer '" +
                                               std::string(op) + "' in time");
    }
    return body.status();
  }
  if (!body->has_value()) {
    CloseLocked();
    *before_answer = true;
    return rocksdr::Status::Unavailable("the plugin closed the control connection");
  }
  auto parsed = ctl::ParseMessageBody(**body);
  crypto::Zeroize((*body)->data(), (*body)->size());
  if (!parsed.ok()) {
    CloseLocked();
    return parsed.status().WithContext("plugin control socket " + path_ + ": malformed answer");
  }
  auto response = ctl::ParseResponse(*parsed);
  if (!response.ok()) {
    CloseLocked();
    return response.status().WithContext("plugin control socket " + path_ + ": malformed answer");
  }
  if (response->id != id) {
    CloseLocked();
    if (response->id == 0 && !response->status.ok()) return response->status;  // refused the connection
    return rocksdr::Status::Internal("plugin control socket " + path_ + ": answer to request " +
                                     std::to_string(response->id) + " while waiting for " + std::to_string(id));
  }
  if (!response->status.ok()) return response->status;
  return std::move(response->result);
}

Result<json> PluginControlClient::Call(std::string_view op, json args, std::chrono::milliseconds timeout,
                                       bool idempotent) {
  std::lock_guard<std::mutex> l(mu_);
  const auto deadline = Clock::now() + timeout;
  Result<json> out = rocksdr::Status::Internal("unreachable");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ >= 0 && !Usable()) CloseLocked();  // e.g. the server closed it for idleness
    const bool reused = fd_ >= 0;
    if (!reused) {
      rocksdr::Status c =
          ConnectLocked(Clock::now() + std::min<Clock::duration>(options_.timeout, deadline - Clock::now()));
      if (!c.ok()) {
        out = c;
        break;
      }
    }
    bool before_answer = false;
    bool not_sent = false;
    out = Exchange(op, args, deadline, &before_answer, &not_sent);
    if (out.ok() || fd_ >= 0) break;  // an answer (possibly an error the plugin reported)
    // A stale connection: retry on a fresh one when the request surely was not served, or when
    // serving it twice is harmless.
    if (reused && attempt == 0 && (not_sent || (before_answer && idempotent))) continue;
    if (before_answer) {
      out = (idempotent || not_sent)
                ? NotAnswering(out.status().message())
                : rocksdr::Status::Unavailable(
                      "plugin control socket " + path_ + ": the connection closed before '" + std::string(op) +
                      "' was answered; its outcome is unknown (check the status, then retry)");
    }
    break;
  }
  ZeroizeJson(&args);
  return out;
}

// ---------------------------------------------------------------- PluginControl

Result<json> PluginControlClient::Status() {
  return Call(ctl::kOpStatus, json::object(), options_.timeout, /*idempotent=*/true);
}

rocksdr::Status PluginControlClient::EnablePrimary(const PrimaryConfig& config) {
  return Call(ctl::kOpEnablePrimary, json{{"config", ctl::PrimaryConfigToJson(config)}},
              options_.role_change_timeout, /*idempotent=*/false)
      .status();
}

Result<std::string> PluginControlClient::ReplicationAddress() {
  auto r = Call(ctl::kOpReplicationAddress, json::object(), options_.timeout, /*idempotent=*/true);
  if (!r.ok()) return r.status();
  auto addr = ctl::GetString(*r, "address", ctl::kMaxAddressBytes);
  if (!addr.ok()) return addr.status().WithContext("replication_address answer");
  return addr;
}

rocksdr::Status PluginControlClient::SetAllowedSecondaries(const std::vector<std::string>& ids) {
  return Call(ctl::kOpSetAllowedSecondaries, json{{"ids", ids}}, options_.timeout, /*idempotent=*/true).status();
}

rocksdr::Status PluginControlClient::RevokeSecondary(const std::string& id) {
  return Call(ctl::kOpRevokeSecondary, json{{"id", id}}, options_.timeout, /*idempotent=*/true).status();
}

rocksdr::Status PluginControlClient::EnableSecondary(const ActivationBundle& bundle) {
  return Call(ctl::kOpEnableSecondary, json{{"bundle", ctl::BundleToJson(bundle)}}, options_.role_change_timeout,
              /*idempotent=*/false)
      .status();
}

rocksdr::Status PluginControlClient::UpdatePrimary(const std::optional<ActivationBundle>& bundle) {
  json args{{"bundle", bundle ? ctl::BundleToJson(*bundle) : json(nullptr)}};
  return Call(ctl::kOpUpdatePrimary, std::move(args), options_.role_change_timeout, /*idempotent=*/false).status();
}

rocksdr::Status PluginControlClient::Promote(const PrimaryConfig& config) {
  return Call(ctl::kOpPromote, json{{"config", ctl::PrimaryConfigToJson(config)}}, options_.role_change_timeout,
              /*idempotent=*/false)
      .status();
}

rocksdr::Status PluginControlClient::Demote() {
  return Call(ctl::kOpDemote, json::object(), options_.role_change_timeout, /*idempotent=*/false).status();
}

rocksdr::Status PluginControlClient::RequestBootstrap() {
  return Call(ctl::kOpRequestBootstrap, json::object(), options_.role_change_timeout, /*idempotent=*/false).status();
}

rocksdr::Status PluginControlClient::Disable() {
  return Call(ctl::kOpDisable, json::object(), options_.role_change_timeout, /*idempotent=*/false).status();
}

Result<std::optional<std::string>> PluginControlClient::Get(Store store, const std::string& key) {
  ROCKSDR_RETURN_IF_ERROR(CheckKey(key));
  auto r = Call(ctl::kOpGet, json{{"store", ctl::StoreName(store)}, {"key_b64", ctl::EncodeBytes(key)}},
                options_.timeout, /*idempotent=*/true);
  if (!r.ok()) return r.status();
  auto found = ctl::GetBool(*r, "found");
  if (!found.ok()) return found.status().WithContext("get answer");
  if (!*found) return std::optional<std::string>();
  auto value = ctl::GetBytes(*r, "value_b64", ctl::kMaxValueBytes);
  if (!value.ok()) return value.status().WithContext("get answer");
  ZeroizeJson(&*r);
  return std::optional<std::string>(std::move(*value));
}

rocksdr::Status PluginControlClient::Put(Store store, const std::string& key, std::string_view value) {
  ROCKSDR_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > ctl::kMaxValueBytes) {
    return rocksdr::Status::InvalidArgument("store value of " + std::to_string(value.size()) +
                                            " bytes exceeds the limit of " + std::to_string(ctl::kMaxValueBytes));
  }
  return Call(ctl::kOpPut,
              json{{"store", ctl::StoreName(store)},
                   {"key_b64", ctl::EncodeBytes(key)},
                   {"value_b64", ctl::EncodeBytes(value)}},
              options_.timeout, /*idempotent=*/true)
      .status();
}

rocksdr::Status PluginControlClient::Delete(Store store, const std::string& key) {
  ROCKSDR_RETURN_IF_ERROR(CheckKey(key));
  return Call(ctl::kOpDelete, json{{"store", ctl::StoreName(store)}, {"key_b64", ctl::EncodeBytes(key)}},
              options_.timeout, /*idempotent=*/true)
      .status();
}

Result<nlohmann::json> PluginControlClient::Consistency(std::string_view op, const nlohmann::json& args) {
  if (!ctl::IsConsistencyOp(op)) return rocksdr::Status::InvalidArgument("not a consistency op: '" + std::string(op) + "'");
  // pause/snapshot wait for the applier (up to timeout_ms, at most 30 s); a page may take a while.
  const auto timeout = std::max<std::chrono::milliseconds>(options_.timeout, std::chrono::seconds(60));
  // Not retried: a pause or snapshot must not happen twice.
  return Call(op, args, timeout, /*idempotent=*/op == ctl::kOpConsistencyDigest);
}

Result<std::vector<std::pair<std::string, std::string>>> PluginControlClient::Scan(Store store,
                                                                                   const std::string& prefix,
                                                                                   size_t limit) {
  if (prefix.size() > ctl::kMaxKeyBytes) {
    return rocksdr::Status::InvalidArgument("scan prefix longer than " + std::to_string(ctl::kMaxKeyBytes) +
                                            " bytes");
  }
  limit = std::min(limit, ctl::kMaxScanLimit);
  std::vector<std::pair<std::string, std::string>> out;
  std::string after;
  // The plugin answers in pages (bounded entries and bytes); follow them up to `limit`.
  while (out.size() < limit) {
    json args{{"store", ctl::StoreName(store)},
              {"prefix_b64", ctl::EncodeBytes(prefix)},
              {"limit", limit - out.size()}};
    if (!after.empty()) args["start_after_b64"] = ctl::EncodeBytes(after);
    auto r = Call(ctl::kOpScan, std::move(args), options_.timeout, /*idempotent=*/true);
    if (!r.ok()) return r.status();
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(*r, {"entries", "more"}, "scan answer"));
    auto more = ctl::GetBool(*r, "more");
    if (!more.ok()) return more.status().WithContext("scan answer");
    const auto& entries = (*r)["entries"];
    if (!entries.is_array()) return rocksdr::Status::InvalidArgument("scan answer: 'entries' is not an array");
    for (const auto& e : entries) {
      auto k = ctl::GetBytes(e, "key_b64", ctl::kMaxKeyBytes);
      if (!k.ok()) return k.status().WithContext("scan answer");
      auto v = ctl::GetBytes(e, "value_b64", ctl::kMaxValueBytes);
      if (!v.ok()) return v.status().WithContext("scan answer");
      if (k->compare(0, prefix.size(), prefix) != 0 || (!after.empty() && *k <= after) ||
          (!out.empty() && *k <= out.back().first)) {
        return rocksdr::Status::Internal("scan answer: keys out of order or outside the prefix");
      }
      out.emplace_back(std::move(*k), std::move(*v));
      if (out.size() >= limit) break;
    }
    if (!*more || entries.empty()) break;
    after = out.back().first;
  }
  return out;
}

// ---------------------------------------------------------------- factories

Result<std::unique_ptr<PluginControl>> ConnectPluginControl(const std::string& socket_path,
                                                            const PluginControlClientOptions& options) {
  if (options.timeout.count() <= 0 || options.role_change_timeout.count() <= 0) {
    return rocksdr::Status::InvalidArgument("plugin control client: timeouts must be positive");
  }
  auto client = std::make_unique<PluginControlClient>(socket_path, options);
  if (options.connect_now) ROCKSDR_RETURN_IF_ERROR(client->Connect());
  return std::unique_ptr<PluginControl>(std::move(client));
}

Result<std::unique_ptr<PluginControl>> ConnectPluginControl(const std::string& socket_path,
                                                            std::chrono::milliseconds timeout) {
  PluginControlClientOptions options;
  options.timeout = timeout;
  options.role_change_timeout = std::max<std::chrono::milliseconds>(timeout, std::chrono::minutes(2));
  return ConnectPluginControl(socket_path, options);
}

}  // namespace rocksdr::sidecar
