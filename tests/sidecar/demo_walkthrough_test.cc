// The guide's DR walkthrough end to end: runs scripts/demo-dr --no-build against this build's
// rocksdr, kv_service and rocksdr_node (two sites on loopback from examples/sites, init/unseal,
// enable primary, activation token, enable secondary, stream-wals, the secondary's application
// refusing a write, curl writes and a bulk load on the primary, kill -9 of the primary, DR
// operation token from the primary's unseal keys, promote, data read back through curl and
// compared) and checks its exit status and the milestones it prints.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "support/script_run.h"

namespace rocksdr {
namespace {

TEST(DemoWalkthrough, GuideStepsSucceedEndToEnd) {
  const testing::ScriptRun run = testing::RunRepoScript("scripts/demo-dr", "--no-build", "demo_walkthrough_test.out");
  const int rc = run.status;
  const std::string& text = run.output;
  ASSERT_TRUE(WIFEXITED(rc)) << text;
  ASSERT_EQ(WEXITSTATUS(rc), 0) << text;
  for (const char* milestone : {
           "==> Step 1: Enable DR Primary Replication (CLI)",
           "$ rocksdr write -f sys/replication/dr/primary/enable",
           "==> Step 2: Enable DR Secondary Replication (CLI, against the secondary)",
           "\"state\": \"stream-wals\"",
           "\"error\":\"DR secondary: not serving requests until promoted",
           "HTTP 503",
           "{\"batches\":1,\"written\":1000}",
           "==> Disaster: kill -9 the primary site",
           "==> Step 3: decode the DR operation token with the OTP",
           "$ rocksdr write sys/replication/dr/secondary/promote dr_operation_token=",
           "\"mode\": \"primary\"",
           "secret/demo/k01..k10: all 10 present with the values written on the primary",
           "demo/greeting and the bulk load (bulk/0001..bulk/1000, spot-checked) are on the promoted site",
           "written on the new primary\nHTTP 200",
           "byte-identical",
           "DR walkthrough finished: every step succeeded.",
       }) {
    EXPECT_NE(text.find(milestone), std::string::npos) << "missing \"" << milestone << "\" in:\n" << text;
  }
  std::remove(run.out_path.c_str());
}

}  // namespace
}  // namespace rocksdr
