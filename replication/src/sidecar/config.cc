// Implementation of config.h (yaml-cpp; every error carries file:line:column).
#include "rocksdr/sidecar/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "rocksdr/sidecar/api.h"
#include "rocksdr/sidecar/net_address.h"

namespace rocksdr::sidecar {

namespace {

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Status At(const YAML::Mark& m, const std::string& reason) const {
    return Status::InvalidArgument(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                                   ": " + reason);
  }

  Result<std::string> Str(const YAML::Node& n, const std::string& name) const {
    if (!n.IsScalar()) return At(n.Mark(), name + " must be a string");
    return n.Scalar();
  }
  Result<bool> Bool(const YAML::Node& n, const std::string& name) const {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s == "true") return true;
    if (s == "false") return false;
    return At(n.Mark(), name + " must be true or false");
  }
  Result<int64_t> Int(const YAML::Node& n, const std::string& name, int64_t min, int64_t max) const {
    if (!n.IsScalar()) return At(n.Mark(), name + " must be an integer");
    Result<int64_t> v = GetInt(nlohmann::json{{"v", n.Scalar()}}, "v", 0, min, max);
    if (!v.ok()) {
      return At(n.Mark(), name + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                              "], got \"" + n.Scalar().substr(0, 40) + "\"");
    }
    return *v;
  }
  Result<std::chrono::milliseconds> Duration(const YAML::Node& n, const std::string& name) const {
    if (!n.IsScalar()) return At(n.Mark(), name + " must be a duration such as 30s");
    Result<int64_t> ms = ParseDurationMs(n.Scalar());
    if (!ms.ok()) return At(n.Mark(), name + ": " + ms.status().message());
    if (*ms < 100 || *ms > 3600 * 1000) return At(n.Mark(), name + " must be between 100ms and 1h");
    return std::chrono::milliseconds(*ms);
  }

  // Calls `field` for each key of mapping `n`; unknown or duplicate keys are errors.
  Status Map(const YAML::Node& n, const std::string& where, const std::set<std::string>& known,
             const std::function<Status(const std::string&, const YAML::Node&)>& field) const {
    if (!n.IsMap()) return At(n.Mark(), where + " must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return At(kv.first.Mark(), "keys in " + where + " must be plain names");
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) return At(kv.first.Mark(), "duplicate key '" + key + "'");
      if (known.count(key) == 0) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return At(kv.first.Mark(), "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
      ROCKSDR_RETURN_IF_ERROR(field(key, kv.second));
    }
    return Status::OK();
  }

 private:
  std::string file_;
};

#define CFG_ASSIGN(lhs, expr)               \
  do {                                      \
    auto _r = (expr);                       \
    if (!_r.ok()) return _r.status();       \
    lhs = *_r;                              \
  } while (0)

}  // namespace

Result<SidecarConfig> ParseSidecarConfig(std::string_view yaml, const std::string& filename) {
  if (yaml.size() > kMaxConfigFileBytes) return Status::InvalidArgument(filename + ": larger than 1 MiB");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(filename + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  Parser p(filename);
  SidecarConfig c;
  if (root.IsNull()) return Status::InvalidArgument(filename + ": empty configuration (needs at least plugin:)");
  YAML::Mark listener_mark = root.Mark(), api_mark = root.Mark();
  bool plugin_given = false;
  try {
    Status s = p.Map(
        root, "the configuration",
        {"listener", "api_addr", "plugin", "log", "ui", "unauthenticated_metrics_access", "limits"},
        [&](const std::string& key, const YAML::Node& v) -> Status {
          if (key == "listener") {
            listener_mark = v.Mark();
            return p.Map(v, "listener", {"address", "tls_cert_file", "tls_key_file", "tls_disable"},
                         [&](const std::string& k, const YAML::Node& f) -> Status {
                           if (k == "address") {
                             CFG_ASSIGN(c.listen_address, p.Str(f, "listener.address"));
                             Result<HostPort> hp = ParseHostPort(c.listen_address);
                             if (!hp.ok()) return p.At(f.Mark(), "listener.address: " + hp.status().message());
                           } else if (k == "tls_cert_file") {
                             CFG_ASSIGN(c.tls_cert_file, p.Str(f, "listener.tls_cert_file"));
                           } else if (k == "tls_key_file") {
                             CFG_ASSIGN(c.tls_key_file, p.Str(f, "listener.tls_key_file"));
                           } else {
                             CFG_ASSIGN(c.tls_disable, p.Bool(f, "listener.tls_disable"));
                           }
                           return Status::OK();
                         });
          }
          if (key == "api_addr") {
            api_mark = v.Mark();
            CFG_ASSIGN(c.api_addr, p.Str(v, "api_addr"));
            if (c.api_addr.rfind("http://", 0) != 0 && c.api_addr.rfind("https://", 0) != 0) {
              return p.At(v.Mark(), "api_addr must start with https:// or http://");
            }
            return Status::OK();
          }
          if (key == "plugin") {
            plugin_given = true;
            return p.Map(v, "plugin", {"control_socket", "in_memory"},
                         [&](const std::string& k, const YAML::Node& f) -> Status {
                           if (k == "control_socket") {
                             CFG_ASSIGN(c.control_socket, p.Str(f, "plugin.control_socket"));
                           } else {
                             CFG_ASSIGN(c.in_memory, p.Bool(f, "plugin.in_memory"));
                           }
                           return Status::OK();
                         });
          }
          if (key == "log") {
            return p.Map(v, "log", {"level", "format"}, [&](const std::string& k, const YAML::Node& f) -> Status {
              if (k == "level") {
                CFG_ASSIGN(c.log_level, p.Str(f, "log.level"));
                static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
                if (kLevels.count(c.log_level) == 0) {
                  return p.At(f.Mark(), "log.level must be one of trace, debug, info, warn, error, off");
                }
              } else {
                CFG_ASSIGN(c.log_format, p.Str(f, "log.format"));
                if (c.log_format != "text" && c.log_format != "json") {
                  return p.At(f.Mark(), "log.format must be text or json");
                }
              }
              return Status::OK();
            });
          }
          if (key == "ui") {
            CFG_ASSIGN(c.ui, p.Bool(v, "ui"));
            return Status::OK();
          }
          if (key == "unauthenticated_metrics_access") {
            CFG_ASSIGN(c.unauthenticated_metrics_access, p.Bool(v, "unauthenticated_metrics_access"));
            return Status::OK();
          }
          return p.Map(v, "limits",
                       {"max_request_bytes", "max_header_bytes", "read_timeout", "write_timeout", "max_connections",
                        "max_connections_per_address", "threads"},
                       [&](const std::string& k, const YAML::Node& f) -> Status {
                         if (k == "max_request_bytes") {
                           CFG_ASSIGN(c.max_request_bytes, p.Int(f, "limits.max_request_bytes", 1024, 64 << 20));
                         } else if (k == "max_header_bytes") {
                           CFG_ASSIGN(c.max_header_bytes, p.Int(f, "limits.max_header_bytes", 1024, 1 << 20));
                         } else if (k == "read_timeout") {
                           CFG_ASSIGN(c.read_timeout, p.Duration(f, "limits.read_timeout"));
                         } else if (k == "write_timeout") {
                           CFG_ASSIGN(c.write_timeout, p.Duration(f, "limits.write_timeout"));
                         } else if (k == "max_connections") {
                           CFG_ASSIGN(c.max_connections, p.Int(f, "limits.max_connections", 1, 100000));
                         } else if (k == "max_connections_per_address") {
                           CFG_ASSIGN(c.max_connections_per_address,
                                      p.Int(f, "limits.max_connections_per_address", 1, 100000));
                         } else {
                           CFG_ASSIGN(c.threads, p.Int(f, "limits.threads", 1, 64));
                         }
                         return Status::OK();
                       });
        });
    if (!s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(filename + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }

  // Cross-field rules.
  Result<HostPort> hp = ParseHostPort(c.listen_address);
  if (!hp.ok()) return p.At(listener_mark, "listener.address: " + hp.status().message());
  if (c.tls_disable) {
    if (!IsLoopbackHost(hp->host)) {
      return p.At(listener_mark, "listener.tls_disable is only allowed on a loopback address (127.0.0.1, ::1, "
                                 "localhost); " + hp->host + " is reachable from other machines: configure "
                                 "tls_cert_file and tls_key_file instead");
    }
    if (!c.tls_cert_file.empty() || !c.tls_key_file.empty()) {
      return p.At(listener_mark, "listener: tls_disable is true but TLS files are set; remove one or the other");
    }
  } else if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
    return p.At(listener_mark, "listener needs tls_cert_file and tls_key_file (or tls_disable: true on a "
                               "loopback address)");
  }
  if (!plugin_given) return p.At(root.Mark(), "missing plugin: section (control_socket, or in_memory: true)");
  if (c.control_socket.empty() == !c.in_memory) {
    return p.At(root.Mark(), "plugin: set exactly one of control_socket and in_memory: true");
  }
  if (c.api_addr.empty()) {
    c.api_addr = std::string(c.tls_disable ? "http://" : "https://") + c.listen_address;
  }
  (void)api_mark;
  return c;
}

Result<SidecarConfig> LoadSidecarConfig(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    return Status::IOError("cannot read configuration file " + path + (e != 0 ? ": " + std::string(std::strerror(e)) : ""));
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) return Status::InvalidArgument(path + ": larger than 1 MiB");
  }
  return ParseSidecarConfig(text, path);
}

}  // namespace rocksdr::sidecar
