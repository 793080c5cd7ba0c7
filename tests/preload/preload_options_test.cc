// The `preload:` section of the plugin YAML (rocksdr/options.h PreloadOptions): defaults, the
// parsed values, and every refusal with the field it names.
#include <gtest/gtest.h>

#include "rocksdr/options.h"

namespace rocksdr {
namespace {

constexpr char kReplication[] =
    "replication:\n  listen_address: \"127.0.0.1:0\"\n  tls: { cert_file: a.pem, key_file: a.key, ca_file: ca.pem }\n";

Result<PluginOptions> Parse(const std::string& text) { return ParsePluginOptionsYaml(text, "plugin.yaml"); }

TEST(PreloadOptions, DefaultsWhenAbsent) {
  auto o = Parse("role: disabled\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->preload.databases.empty());
  EXPECT_EQ(o->preload.cluster_id, "");
  EXPECT_EQ(o->preload.epoch, 1u);
  EXPECT_EQ(o->preload.on_error, PreloadOnError::kFail);
  EXPECT_EQ(o->preload.close_wait_ms, 5000u);
  EXPECT_EQ(o->preload.close_wait_secondaries, 0u);
}

TEST(PreloadOptions, ParsesEveryField) {
  auto o = Parse(std::string(kReplication) +
                 "preload:\n  databases: [/data/a, /data/b]\n  cluster_id: dr-1\n  epoch: 7\n"
                 "  on_error: continue\n  close_wait: { timeout_ms: 100, secondaries: 2 }\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->preload.databases, (std::vector<std::string>{"/data/a", "/data/b"}));
  EXPECT_EQ(o->preload.cluster_id, "dr-1");
  EXPECT_EQ(o->preload.epoch, 7u);
  EXPECT_EQ(o->preload.on_error, PreloadOnError::kContinue);
  EXPECT_EQ(o->preload.close_wait_ms, 100u);
  EXPECT_EQ(o->preload.close_wait_secondaries, 2u);
  EXPECT_EQ(PreloadOnErrorName(o->preload.on_error), "continue");
}

void ExpectRefused(const std::string& text, const std::string& needle) {
  auto o = Parse(text);
  ASSERT_FALSE(o.ok()) << text;
  EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
  EXPECT_NE(o.status().message().find(needle), std::string::npos) << o.status().message();
}

TEST(PreloadOptions, Refusals) {
  const std::string r = kReplication;
  ExpectRefused(r + "preload:\n  databases: [data/a]\n  cluster_id: c\n", "must be an absolute path");
  ExpectRefused(r + "preload:\n  databases: /data/a\n  cluster_id: c\n", "plugin.yaml:5:14: 'preload.databases' must be a list");
  ExpectRefused(r + "preload:\n  databases: [/a, /a]\n  cluster_id: c\n", "lists '/a' twice");
  ExpectRefused(r + "preload:\n  databases: [/a]\n", "preload.cluster_id is required");
  ExpectRefused(r + "preload:\n  databases: [/a]\n  cluster_id: 'a b'\n", "[0-9A-Za-z-]");
  ExpectRefused(r + "preload:\n  on_error: ignore\n", "'preload.on_error': unknown value 'ignore'");
  ExpectRefused(r + "preload:\n  epoch: 0\n", "preload.epoch is 0");
  ExpectRefused(r + "preload:\n  close_wait: { timeout_ms: 600001 }\n", "preload.close_wait.timeout_ms");
  ExpectRefused(r + "preload:\n  unknown: 1\n", "unknown key 'preload.unknown'");
  ExpectRefused("preload:\n  databases: [/a]\n  cluster_id: c\n", "needs replication.listen_address");
  ExpectRefused("replication:\n  listen_address: \"127.0.0.1:0\"\npreload:\n  databases: [/a]\n  cluster_id: c\n",
                "needs replication.tls");
  ExpectRefused(
      "replication:\n  listen_address: \"127.0.0.1:8201\"\n  tls: { cert_file: a, key_file: b, ca_file: c }\n"
      "preload:\n  databases: [/a, /b]\n  cluster_id: c\n",
      "must use port 0");
  ExpectRefused(r + "state_dir: /s\npreload:\n  databases: [/a, /b]\n  cluster_id: c\n",
                "leave state_dir and control_socket empty");
}

}  // namespace
}  // namespace rocksdr
