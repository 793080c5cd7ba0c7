// PluginOptions: validation and the YAML loader (errors carry file:line:column).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "rocksdr/options.h"
#include "support/rocksdb_test_db.h"

namespace rocksdr {
namespace {

Status ParseErr(const std::string& text) {
  Result<PluginOptions> r = ParsePluginOptionsYaml(text, "cfg.yaml");
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? Status::OK() : r.status();
}

TEST(PluginOptions, DefaultsAreValid) {
  PluginOptions o;
  EXPECT_TRUE(ValidatePluginOptions(o).ok());
  EXPECT_EQ(o.role, Role::kDisabled);
  EXPECT_EQ(ResolveStateDir(o, "/data/db/"), "/data/db.rocksdr");
  EXPECT_EQ(ResolveControlSocketPath(o, "/data/db"), "/data/db.rocksdr/control.sock");
}

TEST(PluginOptions, FullYamlIsParsed) {
  const std::string text = R"(# a primary
role: primary
state_dir: /var/lib/app/rocksdr
control_socket: /run/app/rocksdr.sock
auto_rebootstrap: false
replication:
  listen_address: "[::1]:0"
  tls: { cert_file: node.pem, key_file: node.key, ca_file: ca.pem }
wal_retention:
  ttl_seconds: 3600
  size_mb: 0
limits:
  max_frame_bytes: 1048576
  max_batch_bytes: 65536
  max_batch_delay_us: 0
  busy_frame_interval_us: 500
  max_unacked_bytes: 8388608
  heartbeat_interval_ms: 250
  peer_timeout_ms: 2000
  storage_retry_initial_ms: 50
  storage_retry_max_ms: 800
)";
  Result<PluginOptions> r = ParsePluginOptionsYaml(text, "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->role, Role::kPrimary);
  EXPECT_EQ(r->state_dir, "/var/lib/app/rocksdr");
  EXPECT_EQ(r->control_socket_path, "/run/app/rocksdr.sock");
  EXPECT_FALSE(r->auto_rebootstrap);
  EXPECT_EQ(r->replication_listen_address, "[::1]:0");
  EXPECT_EQ(r->tls_cert_file, "node.pem");
  EXPECT_EQ(r->tls_key_file, "node.key");
  EXPECT_EQ(r->tls_ca_file, "ca.pem");
  EXPECT_EQ(r->wal_ttl_seconds, 3600u);
  EXPECT_EQ(r->wal_size_limit_mb, 0u);
  EXPECT_EQ(r->max_frame_bytes, 1048576u);
  EXPECT_EQ(r->max_batch_bytes, 65536u);
  EXPECT_EQ(r->max_batch_delay_us, 0u);
  EXPECT_EQ(r->busy_frame_interval_us, 500u);
  EXPECT_EQ(r->max_unacked_bytes, 8388608u);
  EXPECT_EQ(r->heartbeat_interval_ms, 250u);
  EXPECT_EQ(r->peer_timeout_ms, 2000u);
  EXPECT_EQ(r->storage_retry_initial_ms, 50u);
  EXPECT_EQ(r->storage_retry_max_ms, 800u);
}

TEST(PluginOptions, EmptyDocumentGivesDefaults) {
  Result<PluginOptions> r = ParsePluginOptionsYaml("# nothing\n", "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->max_frame_bytes, PluginOptions().max_frame_bytes);
}

TEST(PluginOptions, UnknownKeyNamesLineAndColumn) {
  Status s = ParseErr("role: primary\nlimits:\n  max_frame_byte: 4096\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("cfg.yaml:3:3: unknown key 'limits.max_frame_byte'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("max_frame_bytes"), std::string::npos) << "lists the known keys";

  s = ParseErr("rol: primary\n");
  EXPECT_NE(s.message().find("cfg.yaml:1:1: unknown key 'rol'"), std::string::npos) << s.message();
}

TEST(PluginOptions, WrongTypesAreRefused) {
  Status s = ParseErr("limits:\n  max_frame_bytes: \"4096\"\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:20"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("quoted string"), std::string::npos) << s.message();

  s = ParseErr("limits:\n  max_frame_bytes: -1\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:20: 'limits.max_frame_bytes' must be a non-negative integer"),
            std::string::npos)
      << s.message();

  s = ParseErr("limits:\n  max_frame_bytes: 99999999999999999999999\n");
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();

  // Below the transport's floor (every control message must fit in a frame): refused here, not
  // when the replication server or client starts.
  s = ParseErr("limits:\n  max_frame_bytes: 32768\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:20: limits.max_frame_bytes is 32768 bytes, must be between 65536 and 67108864"),
            std::string::npos)
      << s.message();

  s = ParseErr("limits:\n  busy_frame_interval_us: 2000000\n");
  EXPECT_NE(s.message().find("limits.busy_frame_interval_us"), std::string::npos) << s.message();

  s = ParseErr("limits:\n  storage_retry_initial_ms: 5\n");
  EXPECT_NE(s.message().find("limits.storage_retry_initial_ms"), std::string::npos) << s.message();
  s = ParseErr("limits:\n  storage_retry_initial_ms: 2000\n  storage_retry_max_ms: 1000\n");
  EXPECT_NE(s.message().find("limits.storage_retry_max_ms"), std::string::npos) << s.message();

  s = ParseErr("auto_rebootstrap: yes\n");
  EXPECT_NE(s.message().find("cfg.yaml:1:19: 'auto_rebootstrap' must be true or false"), std::string::npos)
      << s.message();

  s = ParseErr("replication: 5\n");
  EXPECT_NE(s.message().find("cfg.yaml:1:14: 'replication' must be a mapping"), std::string::npos) << s.message();

  s = ParseErr("state_dir: [a, b]\n");
  EXPECT_NE(s.message().find("'state_dir' must be a string, got a list"), std::string::npos) << s.message();

  s = ParseErr("role: leader\n");
  EXPECT_NE(s.message().find("cfg.yaml:1:7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("disabled, primary, secondary"), std::string::npos) << s.message();

  s = ParseErr("- a\n- b\n");
  EXPECT_NE(s.message().find("the top level must be a mapping"), std::string::npos) << s.message();
}

TEST(PluginOptions, DuplicateKeysAreRefused) {
  Status s = ParseErr("role: primary\nrole: secondary\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:1: duplicate key 'role'"), std::string::npos) << s.message();
}

TEST(PluginOptions, BadValuesPointAtTheirLine) {
  Status s = ParseErr("limits:\n  max_frame_bytes: 131072\n  max_batch_bytes: 140000\n");
  EXPECT_NE(s.message().find("cfg.yaml:3:20: limits.max_batch_bytes is 140000 bytes, must be between 1 and 131072"),
            std::string::npos)
      << s.message();

  s = ParseErr("wal_retention:\n  ttl_seconds: 0\n  size_mb: 0\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:16: wal_retention.ttl_seconds"), std::string::npos) << s.message();

  s = ParseErr("replication:\n  listen_address: \"localhost\"\n");
  EXPECT_NE(s.message().find("cfg.yaml:2:19: replication.listen_address must look like host:port"),
            std::string::npos)
      << s.message();
}

TEST(PluginOptions, SyntaxErrorsHaveALocation) {
  Status s = ParseErr("role: primary\nlimits: [1, 2\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("YAML syntax error"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cfg.yaml:"), std::string::npos) << s.message();
}

TEST(PluginOptions, ValidationRules) {
  PluginOptions o;
  for (const char* good : {"0.0.0.0:0", "127.0.0.1:8201", "[::1]:8201", "node-1.example:65535", ""}) {
    o.replication_listen_address = good;
    EXPECT_TRUE(ValidatePluginOptions(o).ok()) << good;
  }
  for (const char* bad : {"host", ":80", "h:99999", "h:", "[::1]8201", "a b:1", "::1:80", "h:+1"}) {
    o.replication_listen_address = bad;
    EXPECT_FALSE(ValidatePluginOptions(o).ok()) << bad;
  }
  o = PluginOptions();
  o.tls_cert_file = "a.pem";
  EXPECT_NE(ValidatePluginOptions(o).message().find("replication.tls.key_file"), std::string::npos);
  o = PluginOptions();
  o.control_socket_path = std::string(108, 'x');
  EXPECT_FALSE(ValidatePluginOptions(o).ok());
  o = PluginOptions();
  o.max_unacked_bytes = o.max_frame_bytes - 1;
  EXPECT_NE(ValidatePluginOptions(o).message().find("limits.max_unacked_bytes"), std::string::npos);
  o = PluginOptions();
  o.peer_timeout_ms = 2 * o.heartbeat_interval_ms;
  EXPECT_NE(ValidatePluginOptions(o).message().find("limits.peer_timeout_ms"), std::string::npos);
}

TEST(PluginOptions, LoadsFilesAndBoundsTheirSize) {
  testing::TempDir dir;
  const std::string good = dir.Sub("good.yaml");
  std::ofstream(good) << "role: secondary\nwal_retention: {ttl_seconds: 60}\n";
  Result<PluginOptions> r = LoadPluginOptionsFromYaml(good);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->role, Role::kSecondary);
  EXPECT_EQ(r->wal_ttl_seconds, 60u);

  const std::string bad = dir.Sub("bad.yaml");
  std::ofstream(bad) << "role: secondary\nbogus: 1\n";
  r = LoadPluginOptionsFromYaml(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(bad + ":2:1: unknown key 'bogus'"), std::string::npos) << r.status().message();

  r = LoadPluginOptionsFromYaml(dir.Sub("missing.yaml"));
  EXPECT_EQ(r.status().code(), Code::kNotFound);

  const std::string huge = dir.Sub("huge.yaml");
  {
    std::ofstream out(huge);
    out << "# " << std::string(kMaxPluginOptionsFileBytes, 'x') << "\n";
  }
  r = LoadPluginOptionsFromYaml(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace rocksdr
