// `rocksdr operator dr consistency` and the sidecar's consistency routes end to end: a real
// rocksdr_node primary (no application load) under an in-process sidecar (dev-initialized) that
// reaches it through its control socket, and the `rocksdr` binary calling the routes. The CLI
// compares the node with itself in `latest` mode (a match at one sequence), refuses a request
// without a token (Vault's 403, exit code 2), and reports the plugin's error for a `live` check
// whose "secondary" is a primary (it cannot be paused), and for a sealed sidecar says how to unseal
// it (a DR secondary's sidecar stays sealed).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <sys/wait.h>

#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "rocksdr/sidecar/sidecar.h"
#include "support/fault_cluster.h"
#include "support/replicator_test_util.h"

namespace rocksdr::testing {
namespace {

// Runs a shell command; returns its exit code and stdout+stderr.
std::pair<int, std::string> Shell(const std::string& cmd) {
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(ConsistencyCli, OperatorDrConsistencyThroughTheSidecarRoutes) {
  FaultClusterOptions fo;
  fo.load_every_ms = 0;
  FaultCluster c(fo);
  c.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  auto ctl = sidecar::ConnectPluginControl(c.dir() + "/p.sock", std::chrono::seconds(5));
  ASSERT_TRUE(ctl.ok()) << ctl.status().ToString();
  sidecar::SidecarConfig cfg;
  cfg.listen_address = "127.0.0.1:0";
  cfg.tls_disable = true;
  auto sc = sidecar::Sidecar::Start(cfg, std::move(*ctl), {&sidecar::RegisterDrRoutes});
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  auto init = (*sc)->InitializeAndUnsealForDev();
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  const std::string token(init->root_token.begin(), init->root_token.end());
  const std::string cli = std::string(ROCKSDR_BINARY_DIR) + "/tools/rocksdr operator dr consistency -address=" +
                          (*sc)->address() + " -secondary-address=" + (*sc)->address();

  auto [rc, out] = Shell(cli + " -token=" + token + " -mode=latest -bucket-keys=4 -format=json");
  EXPECT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["match"], true) << out;
  EXPECT_GT(j.value("buckets_compared", uint64_t{0}), 0u) << out;
  EXPECT_EQ(j["nodes"]["a"]["role"], "primary") << out;

  auto [rc2, out2] = Shell(cli + " -mode=latest");
  EXPECT_EQ(rc2, 2) << out2;
  EXPECT_NE(out2.find("permission denied"), std::string::npos) << out2;

  auto [rc3, out3] = Shell(cli + " -token=" + token + " -mode=live -timeout=1s");
  EXPECT_EQ(rc3, 2) << out3;
  EXPECT_NE(out3.find("only a DR secondary's applier can be paused"), std::string::npos) << out3;

  // A sealed sidecar (a DR secondary's normal state) is refused with what opens it.
  (*sc)->core().seal().Seal();
  auto [rc4, out4] = Shell(cli + " -token=" + token + " -mode=latest");
  EXPECT_EQ(rc4, 2) << out4;
  EXPECT_NE(out4.find("rocksdr is sealed"), std::string::npos) << out4;
  EXPECT_NE(out4.find("Unseal it with a quorum of the PRIMARY's unseal keys"), std::string::npos) << out4;
  (*sc)->Stop();
}

}  // namespace
}  // namespace rocksdr::testing
