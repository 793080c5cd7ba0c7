// Restarts under DR replication with real processes: runs scripts/restart-dr against this build's
// rocksdr, kv_service and rocksdr_node (two sites on loopback; kill -9 of each application and
// each sidecar, restarts, the sealed-sidecar pause, data compared at the end: see the script) and
// checks its exit status and the milestones it prints. The re-arm loop is
// replication/src/sidecar/dr_rearm.cc (README "Restarts").
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "support/script_run.h"

namespace rocksdr {
namespace {

TEST(RestartRearm, ApplicationAndSidecarRestartsResumeReplication) {
  const testing::ScriptRun run = testing::RunRepoScript("scripts/restart-dr", "", "restart_rearm_test.out");
  const int rc = run.status;
  const std::string& text = run.output;
  ASSERT_TRUE(WIFEXITED(rc)) << text;
  ASSERT_EQ(WEXITSTATUS(rc), 0) << text;
  for (const char* milestone : {
           "==> 1. kill -9 the primary's application and restart it",
           "==> 2. kill -9 the secondary's application and restart it",
           "resumed from its cursor",
           "with the primary's sidecar down",
           "replication paused until unsealed",
           "DR Replication Paused",
           "==> 5. kill -9 the secondary's sidecar and restart it",
           "sealed DR secondary: sys/health 472; sys/metrics rocksdr_primary_link_connected 1",
           "restart-dr: every restart re-armed replication; data identical.",
       }) {
    EXPECT_NE(text.find(milestone), std::string::npos) << "missing \"" << milestone << "\" in:\n" << text;
  }
  std::remove(run.out_path.c_str());
}

}  // namespace
}  // namespace rocksdr
