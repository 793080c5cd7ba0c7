// YAML form of PluginOptions (layout in rocksdr/options.h), parsed with yaml-cpp.
//
// yaml-cpp throws; every call into it stays inside the try block of ParsePluginOptionsYaml, and
// every problem is reported as "<source>:<line>:<column>: <reason>" (1-based, from yaml-cpp's
// Mark). Values are typed strictly: integers are plain decimal scalars (a quoted "10" is a
// string, not an integer), booleans are exactly true/false.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rocksdr/options.h"

namespace rocksdr {

namespace {

constexpr size_t kMaxStringValueBytes = 4096;

// What a value looks like, for error messages (bounded; config values are not secrets).
std::string Shown(const YAML::Node& node) {
  if (node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  std::string s = node.Scalar();
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return "'" + s + "'";
}

class YamlParser {
 public:
  explicit YamlParser(std::string source) : source_(std::move(source)) {}

  Status At(const YAML::Mark& mark, const std::string& reason) const {
    if (mark.line < 0) return Status::InvalidArgument(source_ + ": " + reason);
    return Status::InvalidArgument(source_ + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + reason);
  }

  Status Parse(const YAML::Node& root, PluginOptions* o) {
    if (root.IsNull()) return Status::OK();  // an empty file: all defaults
    using H = std::function<Status(const YAML::Node&, const std::string&)>;
    const std::vector<std::pair<std::string, H>> tls = {
        {"cert_file", [&](auto& n, auto& f) { return String(n, f, &o->tls_cert_file); }},
        {"key_file", [&](auto& n, auto& f) { return String(n, f, &o->tls_key_file); }},
        {"ca_file", [&](auto& n, auto& f) { return String(n, f, &o->tls_ca_file); }},
    };
    const std::vector<std::pair<std::string, H>> replication = {
        {"listen_address", [&](auto& n, auto& f) { return String(n, f, &o->replication_listen_address); }},
        {"tls", [&](auto& n, auto& f) { return Map(n, f, tls); }},
    };
    const std::vector<std::pair<std::string, H>> retention = {
        {"ttl_seconds", [&](auto& n, auto& f) { return Uint(n, f, &o->wal_ttl_seconds); }},
        {"size_mb", [&](auto& n, auto& f) { return Uint(n, f, &o->wal_size_limit_mb); }},
    };
    const std::vector<std::pair<std::string, H>> limits = {
        {"max_frame_bytes", [&](auto& n, auto& f) { return Uint(n, f, &o->max_frame_bytes); }},
        {"max_batch_bytes", [&](auto& n, auto& f) { return Uint(n, f, &o->max_batch_bytes); }},
        {"max_batch_delay_us", [&](auto& n, auto& f) { return Uint(n, f, &o->max_batch_delay_us); }},
        {"busy_frame_interval_us", [&](auto& n, auto& f) { return Uint(n, f, &o->busy_frame_interval_us); }},
        {"max_unacked_bytes", [&](auto& n, auto& f) { return Uint(n, f, &o->max_unacked_bytes); }},
        {"heartbeat_interval_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->heartbeat_interval_ms); }},
        {"peer_timeout_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->peer_timeout_ms); }},
        {"storage_retry_initial_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->storage_retry_initial_ms); }},
        {"storage_retry_max_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->storage_retry_max_ms); }},
        {"write_ring_bytes", [&](auto& n, auto& f) { return Uint(n, f, &o->write_ring_bytes); }},
    };
    const std::vector<std::pair<std::string, H>> ack = {
        {"mode", [&](auto& n, auto& f) { return Enum(n, f, &o->ack_mode, ParseAckMode); }},
        {"count", [&](auto& n, auto& f) { return Uint(n, f, &o->ack_count); }},
        {"timeout_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->ack_timeout_ms); }},
        {"on_timeout", [&](auto& n, auto& f) { return Enum(n, f, &o->ack_on_timeout, ParseAckTimeoutPolicy); }},
    };
    const std::vector<std::pair<std::string, H>> close_wait = {
        {"timeout_ms", [&](auto& n, auto& f) { return Uint(n, f, &o->preload.close_wait_ms); }},
        {"secondaries", [&](auto& n, auto& f) { return Uint(n, f, &o->preload.close_wait_secondaries); }},
    };
    const std::vector<std::pair<std::string, H>> preload = {
        {"databases", [&](auto& n, auto& f) { return StringList(n, f, &o->preload.databases); }},
        {"cluster_id", [&](auto& n, auto& f) { return String(n, f, &o->preload.cluster_id); }},
        {"epoch", [&](auto& n, auto& f) { return Uint(n, f, &o->preload.epoch); }},
        {"on_error", [&](auto& n, auto& f) { return OnError(n, f, &o->preload.on_error); }},
        {"close_wait", [&](auto& n, auto& f) { return Map(n, f, close_wait); }},
    };
    const std::vector<std::pair<std::string, H>> top = {
        {"role", [&](auto& n, auto& f) { return RoleValue(n, f, &o->role); }},
        {"state_dir", [&](auto& n, auto& f) { return String(n, f, &o->state_dir); }},
        {"control_socket", [&](auto& n, auto& f) { return String(n, f, &o->control_socket_path); }},
        {"auto_rebootstrap", [&](auto& n, auto& f) { return Bool(n, f, &o->auto_rebootstrap); }},
        {"replication", [&](auto& n, auto& f) { return Map(n, f, replication); }},
        {"wal_retention", [&](auto& n, auto& f) { return Map(n, f, retention); }},
        {"limits", [&](auto& n, auto& f) { return Map(n, f, limits); }},
        {"preload", [&](auto& n, auto& f) { return Map(n, f, preload); }},
        {"ack", [&](auto& n, auto& f) { return Map(n, f, ack); }},
    };
    ROCKSDR_RETURN_IF_ERROR(Map(root, "", top));

    Status st = ValidatePluginOptions(*o);
    if (st.ok()) return st;
    // The message starts with the field's YAML name; point at where that field was written.
    const std::string field = st.message().substr(0, st.message().find(' '));
    auto it = marks_.find(field);
    return it == marks_.end() ? Status::InvalidArgument(source_ + ": " + st.message())
                              : At(it->second, st.message());
  }

 private:
  template <typename H>
  Status Map(const YAML::Node& node, const std::string& prefix,
             const std::vector<std::pair<std::string, H>>& handlers) {
    const std::string where = prefix.empty() ? "the top level" : "'" + prefix + "'";
    if (!node.IsMap()) return At(node.Mark(), where + " must be a mapping, got " + Shown(node));
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) return At(key.Mark(), "keys in " + where + " must be plain names");
      const std::string name = key.Scalar();
      const std::string field = prefix.empty() ? name : prefix + "." + name;
      if (!seen.insert(name).second) return At(key.Mark(), "duplicate key '" + field + "'");
      const H* handler = nullptr;
      std::string known;
      for (const auto& [k, h] : handlers) {
        if (k == name) handler = &h;
        known += (known.empty() ? "" : ", ") + k;
      }
      if (handler == nullptr) {
        return At(key.Mark(), "unknown key '" + field.substr(0, 100) + "' (expected one of: " + known + ")");
      }
      marks_[field] = value.Mark().line >= 0 ? value.Mark() : key.Mark();
      ROCKSDR_RETURN_IF_ERROR((*handler)(value, field));
    }
    return Status::OK();
  }

  YAML::Mark MarkOf(const std::string& field) const { return marks_.at(field); }

  Status String(const YAML::Node& n, const std::string& field, std::string* out) {
    if (!n.IsScalar()) return At(MarkOf(field), "'" + field + "' must be a string, got " + Shown(n));
    if (n.Scalar().size() > kMaxStringValueBytes) {
      return At(MarkOf(field), "'" + field + "' is longer than 4096 bytes");
    }
    *out = n.Scalar();
    return Status::OK();
  }

  Status Uint(const YAML::Node& n, const std::string& field, uint64_t* out) {
    const std::string expected = "'" + field + "' must be a non-negative integer, got ";
    if (!n.IsScalar()) return At(MarkOf(field), expected + Shown(n));
    if (n.Tag() == "!") return At(MarkOf(field), expected + "the quoted string " + Shown(n));
    const std::string& s = n.Scalar();
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec == std::errc::result_out_of_range) {
      return At(MarkOf(field), "'" + field + "' is out of range (max 18446744073709551615)");
    }
    if (ec != std::errc() || ptr != s.data() + s.size()) return At(MarkOf(field), expected + Shown(n));
    *out = v;
    return Status::OK();
  }

  Status Bool(const YAML::Node& n, const std::string& field, bool* out) {
    if (n.IsScalar() && n.Tag() != "!" && (n.Scalar() == "true" || n.Scalar() == "false")) {
      *out = n.Scalar() == "true";
      return Status::OK();
    }
    return At(MarkOf(field), "'" + field + "' must be true or false, got " + Shown(n));
  }

  // A list of strings (at most 64, each within the string bound).
  Status StringList(const YAML::Node& n, const std::string& field, std::vector<std::string>* out) {
    if (!n.IsSequence()) return At(MarkOf(field), "'" + field + "' must be a list of strings, got " + Shown(n));
    if (n.size() > 64) return At(MarkOf(field), "'" + field + "' has more than 64 entries");
    out->clear();
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node e = n[i];
      if (!e.IsScalar()) return At(e.Mark(), "entries of '" + field + "' must be strings, got " + Shown(e));
      if (e.Scalar().size() > kMaxStringValueBytes) return At(e.Mark(), "an entry of '" + field + "' is longer than 4096 bytes");
      out->push_back(e.Scalar());
    }
    return Status::OK();
  }

  Status OnError(const YAML::Node& n, const std::string& field, PreloadOnError* out) {
    std::string text;
    ROCKSDR_RETURN_IF_ERROR(String(n, field, &text));
    Result<PreloadOnError> v = ParsePreloadOnError(text);
    if (!v.ok()) return At(MarkOf(field), "'" + field + "': " + v.status().message());
    *out = *v;
    return Status::OK();
  }

  Status RoleValue(const YAML::Node& n, const std::string& field, Role* out) {
    std::string text;
    ROCKSDR_RETURN_IF_ERROR(String(n, field, &text));
    Result<Role> role = ParseRole(text);
    if (!role.ok()) return At(MarkOf(field), "'" + field + "': " + role.status().message());
    *out = *role;
    return Status::OK();
  }

  template <typename E, typename P>
  Status Enum(const YAML::Node& n, const std::string& field, E* out, P parse) {
    std::string text;
    ROCKSDR_RETURN_IF_ERROR(String(n, field, &text));
    Result<E> value = parse(text);
    if (!value.ok()) return At(MarkOf(field), "'" + field + "': " + value.status().message());
    *out = *value;
    return Status::OK();
  }

  std::string source_;
  std::map<std::string, YAML::Mark> marks_;  // field -> where its value is written
};

}  // namespace

Result<PluginOptions> ParsePluginOptionsYaml(const std::string& text, const std::string& source_name) {
  if (text.size() > kMaxPluginOptionsFileBytes) {
    return Status::InvalidArgument(source_name + ": larger than " +
                                   std::to_string(kMaxPluginOptionsFileBytes) + " bytes");
  }
  PluginOptions options;
  YamlParser parser(source_name);
  try {
    const YAML::Node root = YAML::Load(text);
    ROCKSDR_RETURN_IF_ERROR(parser.Parse(root, &options));
  } catch (const YAML::Exception& e) {
    return parser.At(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return Status::Internal(source_name + ": unexpected error while parsing YAML: " + e.what());
  }
  return options;
}

Result<PluginOptions> LoadPluginOptionsFromYaml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the plugin options file");
  std::string text;
  text.resize(kMaxPluginOptionsFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::IOError(path + ": read failed");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPluginOptionsFileBytes) {
    return Status::InvalidArgument(path + ": larger than " + std::to_string(kMaxPluginOptionsFileBytes) +
                                   " bytes; this is not a plugin options file");
  }
  return ParsePluginOptionsYaml(text, path);
}

}  // namespace rocksdr
