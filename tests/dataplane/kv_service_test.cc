// examples/kv_service as a process: starts the binary on a temp DB (HTTP on 127.0.0.1 port 0,
// published through --port-file), then PUT/GET/DELETE /kv/{key} with URL-decoded keys and binary
// values, POST /bulk (text and JSON, chunked into WriteBatches, all-or-nothing validation),
// /healthz, the bounds (oversized value or bulk body -> 413, bad or long key -> 400, unknown path
// -> 404, wrong method -> 405), the role error of a DR secondary (503 naming the role, reads and
// writes), role changes driven through its control socket as a sidecar would (enable primary,
// demote), data kept across a restart, and a clean exit on SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "rocksdr/sidecar/http_client.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "support/replication_pki.h"
#include "support/replicator_test_util.h"

extern char** environ;

namespace rocksdr {
namespace {

using testing::TempDir;
using testing::WaitFor;

std::string KvBinary() { return std::string(ROCKSDR_BINARY_DIR) + "/examples/kv_service/kv_service"; }

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One kv_service process on `dir`/db with the plugin YAML `yaml`, stopped (SIGTERM) by Stop() or
// the destructor.
class KvProcess {
 public:
  KvProcess(const TempDir& dir, const std::string& yaml, std::vector<std::string> extra = {}) : dir_(dir) {
    {
      std::ofstream(dir.Sub("plugin.yaml")) << yaml;
    }
    std::filesystem::remove(dir.Sub("kv.port"));
    std::vector<std::string> args = {KvBinary(),         "--db",          dir.Sub("db"),
                                     "--config",         dir.Sub("plugin.yaml"), "--listen",
                                     "127.0.0.1:0",      "--port-file",   dir.Sub("kv.port"),
                                     "--control-socket", dir.Sub("kv.sock"), "--replication-address",
                                     "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, dir.Sub("kv.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0].c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ADD_FAILURE() << "spawning " << args[0] << ": " << rc;
      pid_ = -1;
      return;
    }
    // Started once the port file appears (or the process exited: the log says why).
    const bool up = WaitFor([&] { return std::filesystem::exists(dir.Sub("kv.port")) || Exited(); },
                            std::chrono::seconds(60));
    if (!up || exited_) {
      ADD_FAILURE() << "kv_service did not start:\n" << ReadFile(dir.Sub("kv.log"));
      return;
    }
    address_ = "http://127.0.0.1:" + std::to_string(std::stoi(ReadFile(dir.Sub("kv.port"))));
  }
  ~KvProcess() { Stop(); }

  bool started() const { return !address_.empty(); }

  // SIGTERM, then the exit status (-1 if it was not running or did not exit normally).
  int Stop() {
    if (pid_ <= 0 || exited_) return exit_status_;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    exited_ = true;
    exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return exit_status_;
  }

  sidecar::HttpResult Call(const std::string& method, const std::string& target, const std::string& body = "",
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = sidecar::HttpRequest(address_, method, target, body, headers);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
    return r.ok() ? *r : sidecar::HttpResult{};
  }
  nlohmann::json Json(const sidecar::HttpResult& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return j;
  }
  std::string log() const { return ReadFile(dir_.Sub("kv.log")); }

 private:
  bool Exited() {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    return exited_;
  }

  const TempDir& dir_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
  std::string address_;
};

TEST(KvService, PutGetDeleteWithUrlDecodedKeysAndBinaryValues) {
  ASSERT_TRUE(std::filesystem::exists(KvBinary())) << "build the kv_service target first";
  TempDir dir;
  KvProcess kv(dir, "role: disabled\n");
  ASSERT_TRUE(kv.started());

  auto put = kv.Call("PUT", "/kv/users%2F42%20x", "hello world");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(kv.Json(put)["key"], "users/42 x");
  EXPECT_EQ(kv.Json(put)["bytes"], 11);
  // The same key, '/' unencoded.
  auto get = kv.Call("GET", "/kv/users/42%20x");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello world");
  EXPECT_EQ(get.content_type, "application/octet-stream");

  const std::string binary("\0\x01\xff\nvalue\r\n", 11);
  ASSERT_EQ(kv.Call("PUT", "/kv/bin%00key", binary).status, 200);
  EXPECT_EQ(kv.Call("GET", "/kv/bin%00key").body, binary);
  ASSERT_EQ(kv.Call("PUT", "/kv/empty", "").status, 200);
  auto empty = kv.Call("GET", "/kv/empty");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "");

  auto del = kv.Call("DELETE", "/kv/users/42%20x");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(kv.Json(del)["deleted"], "users/42 x");
  auto gone = kv.Call("GET", "/kv/users/42%20x");
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(kv.Json(gone)["error"].get<std::string>().find("not found"), std::string::npos);

  // Kept across a restart.
  EXPECT_EQ(kv.Stop(), 0) << kv.log();
  KvProcess again(dir, "role: disabled\n");
  ASSERT_TRUE(again.started());
  EXPECT_EQ(again.Call("GET", "/kv/bin%00key").body, binary);
  EXPECT_EQ(again.Call("GET", "/kv/users/42%20x").status, 404);
}

TEST(KvService, BulkLoadsTextAndJsonAllOrNothing) {
  TempDir dir;
  KvProcess kv(dir, "role: disabled\n");
  ASSERT_TRUE(kv.started());

  std::string text;
  for (int i = 0; i < 2500; ++i) text += "k" + std::to_string(i) + "\tvalue " + std::to_string(i) + "\r\n";
  text += "\n";
  auto bulk = kv.Call("POST", "/bulk?format=text", text);
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(kv.Json(bulk)["written"], 2500);
  EXPECT_EQ(kv.Json(bulk)["batches"], 3);  // one WriteBatch per 1000 records
  EXPECT_EQ(kv.Call("GET", "/kv/k0").body, "value 0");
  EXPECT_EQ(kv.Call("GET", "/kv/k2499").body, "value 2499");

  auto json = kv.Call("POST", "/bulk", R"({"j1": "one", "j/2": "two"})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(kv.Json(json)["written"], 2);
  EXPECT_EQ(kv.Call("GET", "/kv/j%2F2").body, "two");

  // A bad record anywhere refuses the whole request, naming it; nothing of it is written.
  auto bad = kv.Call("POST", "/bulk?format=text", "fresh1\tv\nno-tab-here\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(kv.Json(bad)["error"].get<std::string>().find("line 2"), std::string::npos) << bad.body;
  EXPECT_EQ(kv.Call("GET", "/kv/fresh1").status, 404);
  auto nested = kv.Call("POST", "/bulk", R"({"a": {"b": "c"}})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(nested.status, 400);
  auto number = kv.Call("POST", "/bulk", R"({"a": 1})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(number.status, 400);
  EXPECT_NE(kv.Json(number)["error"].get<std::string>().find("must be a JSON string"), std::string::npos);
  EXPECT_EQ(kv.Call("POST", "/bulk", "not json", {{"Content-Type", "application/json"}}).status, 400);
  EXPECT_EQ(kv.Call("POST", "/bulk?format=yaml", "a: b").status, 400);
  EXPECT_EQ(kv.Call("POST", "/bulk?format=text", "\n\n").status, 400);
  EXPECT_EQ(kv.Call("POST", "/bulk?format=text", "\tvalue-without-key\n").status, 400);
}

TEST(KvService, BoundsAreEnforcedWithClearErrors) {
  TempDir dir;
  KvProcess kv(dir, "role: disabled\n",
               {"--max-value-bytes", "64", "--max-key-bytes", "16", "--max-bulk-bytes", "1024",
                "--max-bulk-records", "3"});
  ASSERT_TRUE(kv.started());

  EXPECT_EQ(kv.Call("PUT", "/kv/ok", std::string(64, 'v')).status, 200);
  auto big = kv.Call("PUT", "/kv/big", std::string(65, 'v'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(kv.Json(big)["error"].get<std::string>().find("--max-value-bytes"), std::string::npos) << big.body;
  EXPECT_EQ(kv.Call("GET", "/kv/big").status, 404);
  // A body far over the limit is answered 413 too (not a reset), and the service goes on.
  EXPECT_EQ(kv.Call("PUT", "/kv/huge", std::string(4 << 20, 'v')).status, 413);
  EXPECT_EQ(kv.Call("POST", "/bulk", std::string(1025, 'x')).status, 413);
  EXPECT_EQ(kv.Call("POST", "/bulk?format=text", "a\t1\nb\t2\nc\t3\nd\t4\n").status, 400);  // 4 records > 3
  EXPECT_EQ(kv.Call("POST", "/bulk?format=text", "a\t" + std::string(65, 'v') + "\n").status, 400);
  auto with_body = kv.Call("GET", "/kv/ok", "unexpected");
  EXPECT_EQ(with_body.status, 413);
  EXPECT_NE(kv.Json(with_body)["error"].get<std::string>().find("takes no request body"), std::string::npos);

  EXPECT_EQ(kv.Call("PUT", "/kv/" + std::string(16, 'k'), "v").status, 200);
  auto long_key = kv.Call("PUT", "/kv/" + std::string(17, 'k'), "v");
  EXPECT_EQ(long_key.status, 400);
  EXPECT_NE(kv.Json(long_key)["error"].get<std::string>().find("--max-key-bytes"), std::string::npos);
  auto bad_escape = kv.Call("GET", "/kv/bad%zz");
  EXPECT_EQ(bad_escape.status, 400);
  EXPECT_NE(kv.Json(bad_escape)["error"].get<std::string>().find("percent-encoding"), std::string::npos);
  EXPECT_EQ(kv.Call("GET", "/kv/trunc%4").status, 400);
  EXPECT_EQ(kv.Call("GET", "/kv/").status, 400);
  EXPECT_EQ(kv.Call("GET", "/nothing-here").status, 404);
  auto method = kv.Call("POST", "/kv/ok", "v");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(kv.Call("PUT", "/healthz").status, 405);
  // A wrong method WITH a body is a wrong method (405 naming the right one), not "too large".
  auto put_bulk = kv.Call("PUT", "/bulk", "a\t1\n");
  EXPECT_EQ(put_bulk.status, 405);
  EXPECT_NE(kv.Json(put_bulk)["error"].get<std::string>().find("PUT is not allowed on /bulk: use POST"),
            std::string::npos);
  EXPECT_EQ(kv.Call("PUT", "/healthz", "x").status, 405);
  EXPECT_EQ(kv.Call("PATCH", "/kv/ok", std::string(4 << 20, 'v')).status, 405);
  EXPECT_EQ(kv.Call("GET", "/kv/ok").body, std::string(64, 'v'));
  EXPECT_EQ(kv.Stop(), 0) << kv.log();
}

TEST(KvService, SecondaryRefusesReadsAndWritesNamingTheRole) {
  TempDir dir;
  KvProcess kv(dir, "role: secondary\n");
  ASSERT_TRUE(kv.started());
  for (const auto& [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"PUT", "/kv/k", "v"}, {"GET", "/kv/k", ""}, {"DELETE", "/kv/k", ""}, {"POST", "/bulk?format=text", "a\tb\n"}}) {
    auto r = kv.Call(method, target, body);
    EXPECT_EQ(r.status, 503) << method << " " << target << ": " << r.body;
    auto j = kv.Json(r);
    EXPECT_EQ(j["role"], "secondary") << r.body;
    EXPECT_NE(j["error"].get<std::string>().find("DR secondary"), std::string::npos) << r.body;
  }
  auto health = kv.Call("GET", "/healthz");
  ASSERT_EQ(health.status, 200);
  auto h = kv.Json(health);
  EXPECT_EQ(h["role"], "secondary");
  EXPECT_EQ(h["writes_accepted"], false);
  EXPECT_TRUE(h["replication"].contains("state")) << health.body;
  EXPECT_EQ(kv.Stop(), 0) << kv.log();
}

TEST(KvService, RoleChangesThroughTheControlSocketShowInHealthzAndWrites) {
  TempDir dir;
  KvProcess kv(dir, "role: disabled\n");
  ASSERT_TRUE(kv.started());
  auto h0 = kv.Json(kv.Call("GET", "/healthz"));
  EXPECT_EQ(h0["role"], "disabled");
  EXPECT_EQ(h0["replication"]["state"], "disabled");
  ASSERT_EQ(kv.Call("PUT", "/kv/before", "1").status, 200);

  // What the sidecar does on `sys/replication/dr/primary/enable`.
  auto control = sidecar::ConnectPluginControl(dir.Sub("kv.sock"), std::chrono::seconds(30));
  ASSERT_TRUE(control.ok()) << control.status().ToString();
  testing::TestPki pki;
  const replication::TlsCredentials server = pki.Server("kv-cluster");
  sidecar::PrimaryConfig pc;
  pc.cluster_id = "kv-cluster";
  pc.epoch = 1;
  pc.ca_cert_pem = pki.ca_pem();
  pc.server_cert_pem = server.cert_pem;
  pc.server_key_pem = server.key_pem;
  ASSERT_TRUE((*control)->EnablePrimary(pc).ok());

  auto h1 = kv.Json(kv.Call("GET", "/healthz"));
  EXPECT_EQ(h1["role"], "primary");
  EXPECT_EQ(h1["epoch"], 1);
  EXPECT_EQ(h1["cluster_id"], "kv-cluster");
  EXPECT_EQ(h1["writes_accepted"], true);
  EXPECT_EQ(h1["replication"]["state"], "serving");
  EXPECT_GT(h1["replication"]["listen_port"].get<int>(), 0);
  EXPECT_TRUE(h1["replication"]["secondaries"].is_array());
  ASSERT_EQ(kv.Call("PUT", "/kv/as-primary", "2").status, 200);
  EXPECT_EQ(kv.Call("GET", "/kv/before").body, "1");

  // Demoted (sidecar: demote): the application is fenced at once.
  ASSERT_TRUE((*control)->Demote().ok());
  auto refused = kv.Call("PUT", "/kv/after-demote", "3");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(kv.Json(refused)["role"], "secondary");
  EXPECT_EQ(kv.Json(kv.Call("GET", "/healthz"))["role"], "secondary");
  control->reset();
  EXPECT_EQ(kv.Stop(), 0) << kv.log();
}

}  // namespace
}  // namespace rocksdr
