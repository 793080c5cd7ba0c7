// The guide's three steps with the `rocksdr` binary (as a child process) against two in-process
// sidecars (support/dr_harness.h; the data plane between them is faked): write -f
// primary/enable, write primary/secondary-token (wrapped table), write secondary/enable,
// operator generate-root -dr-token -init / -status / -nonce=N KEY (argument and stdin) /
// -decode / -cancel, write secondary/promote, then read with the original primary's root token.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/dr_harness.h"

namespace rocksdr::sidecar {
namespace {

using testing::DrNode;

const std::string kBinary = std::string(ROCKSDR_BINARY_DIR) + "/tools/rocksdr";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the CLI against `node` (ROCKSDR_ADDR) with ROCKSDR_TOKEN=`token`, stdin from `input`.
CliRun Cli(const DrNode& node, const std::string& token, const std::vector<std::string>& args,
           const std::string& input = "") {
  static int counter = 0;
  const std::string base = ::testing::TempDir() + "/rocksdr_drcli_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  const std::string out_path = base + "_out", err_path = base + "_err", in_path = base + "_in";
  {
    std::ofstream in(in_path);
    in << input;
  }
  std::vector<std::string> env = {"ROCKSDR_ADDR=" + node.addr, "ROCKSDR_TOKEN=" + token};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(kBinary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(kBinary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  unlink(in_path.c_str());
  return r;
}

// The value of a "Key    Value" row (first match), or "".
std::string Row(const std::string& table, const std::string& key) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0 && line.size() > key.size() && line[key.size()] == ' ') {
      size_t v = line.find_first_not_of(' ', key.size());
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "";
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DrCliTest, TheGuidesThreeStepsWithTheCli) {
  DrNode primary, secondary;
  primary.Start(5, 3);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  secondary.Start(1, 1);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  primary.control.SetReplicationAddress("127.0.0.1:8201");
  secondary.control.SetReplicationAddress("127.0.0.1:9201");
  secondary.control.Follow(&primary.control);
  ASSERT_EQ(primary.Call("POST", "secret/app", {{"answer", "42"}}, primary.root_token).status / 100, 2);

  // Step 1.
  CliRun en = Cli(primary, primary.root_token, {"write", "-f", "sys/replication/dr/primary/enable"});
  ASSERT_EQ(en.code, 0) << en.out << en.err;
  EXPECT_TRUE(Contains(en.out, "WARNING! The following warnings were returned from rocksdr:")) << en.out;
  EXPECT_TRUE(Contains(en.out, "This cluster is being enabled as a primary for replication.")) << en.out;
  CliRun tok = Cli(primary, primary.root_token, {"write", "sys/replication/dr/primary/secondary-token", "id=secondary"});
  ASSERT_EQ(tok.code, 0) << tok.out << tok.err;
  for (const char* k : {"wrapping_token:", "wrapping_accessor:", "wrapping_token_ttl:", "wrapping_token_creation_time:",
                        "wrapping_token_creation_path:"}) {
    EXPECT_TRUE(Contains(tok.out, k)) << k << "\n" << tok.out;
  }
  EXPECT_EQ(Row(tok.out, "wrapping_token_ttl:"), "30m");
  EXPECT_EQ(Row(tok.out, "wrapping_token_creation_path:"), "sys/replication/dr/primary/secondary-token");
  const std::string wrapping_token = Row(tok.out, "wrapping_token:");
  ASSERT_EQ(std::count(wrapping_token.begin(), wrapping_token.end(), '.'), 2) << tok.out;

  // Step 2.
  CliRun se = Cli(secondary, secondary.root_token,
                  {"write", "sys/replication/dr/secondary/enable", "token=" + wrapping_token});
  ASSERT_EQ(se.code, 0) << se.out << se.err;
  EXPECT_TRUE(Contains(se.out, "rocksdr will be unavailable until these tasks and initial sync complete")) << se.out;
  // A second enable with the same token fails (the node is a sealed DR secondary now, and the
  // token is spent either way).
  CliRun se2 = Cli(secondary, secondary.root_token,
                   {"write", "sys/replication/dr/secondary/enable", "token=" + wrapping_token});
  EXPECT_EQ(se2.code, 2);

  // Step 3: operation token with the primary's keys.
  CliRun none = Cli(secondary, "", {"operator", "generate-root", "-dr-token", primary.keys_hex[0]});
  EXPECT_EQ(none.code, 2);
  EXPECT_TRUE(Contains(none.err, "No DR operation token generation is in progress")) << none.err;

  CliRun init = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-init"});
  ASSERT_EQ(init.code, 0) << init.out << init.err;
  const std::string nonce = Row(init.out, "Nonce"), otp = Row(init.out, "OTP");
  EXPECT_EQ(otp.size(), 28u) << init.out;
  EXPECT_EQ(Row(init.out, "Started"), "true");
  EXPECT_EQ(Row(init.out, "Progress"), "0/3");
  EXPECT_EQ(Row(init.out, "OTP Length"), "28");
  EXPECT_TRUE(Contains(init.err, "One-Time-Password")) << init.err;

  CliRun st = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-status", "-format=json"});
  ASSERT_EQ(st.code, 0) << st.err;
  nlohmann::json sj = nlohmann::json::parse(st.out, nullptr, false);
  EXPECT_EQ(sj["nonce"], nonce);
  EXPECT_EQ(sj["progress"], 0);

  CliRun wrong = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-nonce=bad", primary.keys_hex[0]});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_TRUE(Contains(wrong.err, "incorrect nonce supplied")) << wrong.err;

  CliRun k1 = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-nonce=" + nonce, primary.keys_hex[0]});
  ASSERT_EQ(k1.code, 0) << k1.err;
  EXPECT_EQ(Row(k1.out, "Progress"), "1/3");
  CliRun dup = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-nonce=" + nonce, primary.keys_hex[0]});
  EXPECT_EQ(dup.code, 2);
  EXPECT_TRUE(Contains(dup.err, "given key has already been provided")) << dup.err;
  // Without -nonce (taken from the status), key from stdin.
  CliRun k2 = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-"}, primary.keys_b64[1] + "\n");
  ASSERT_EQ(k2.code, 0) << k2.err;
  EXPECT_EQ(Row(k2.out, "Progress"), "2/3");
  CliRun k3 = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-nonce=" + nonce, primary.keys_hex[2]});
  ASSERT_EQ(k3.code, 0) << k3.err;
  EXPECT_EQ(Row(k3.out, "Complete"), "true");
  const std::string encoded = Row(k3.out, "Encoded Token");
  ASSERT_FALSE(encoded.empty()) << k3.out;

  CliRun dec = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-decode=" + encoded, "-otp=" + otp});
  ASSERT_EQ(dec.code, 0) << dec.err;
  const std::string op_token = dec.out.substr(0, dec.out.find('\n'));
  EXPECT_EQ(op_token.size(), 28u);

  // -cancel.
  ASSERT_EQ(Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-init"}).code, 0);
  CliRun cancel = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-cancel"});
  ASSERT_EQ(cancel.code, 0) << cancel.err;
  EXPECT_TRUE(Contains(cancel.out, "Success! DR operation token generation canceled")) << cancel.out;
  CliRun after = Cli(secondary, "", {"operator", "generate-root", "-dr-token", "-status"});
  EXPECT_EQ(Row(after.out, "Started"), "false");

  // Promote, once.
  CliRun pr = Cli(secondary, "", {"write", "sys/replication/dr/secondary/promote", "dr_operation_token=" + op_token});
  ASSERT_EQ(pr.code, 0) << pr.out << pr.err;
  EXPECT_TRUE(Contains(pr.out, "This cluster is being promoted to a replication primary.")) << pr.out;
  CliRun pr2 = Cli(secondary, "", {"write", "sys/replication/dr/secondary/promote", "dr_operation_token=" + op_token});
  EXPECT_EQ(pr2.code, 2);
  EXPECT_TRUE(Contains(pr2.err, "this node is already the DR primary")) << pr2.err;
  // The token is used up.
  CliRun reuse = Cli(secondary, "", {"write", "sys/replication/dr/secondary/disable", "dr_operation_token=" + op_token});
  EXPECT_EQ(reuse.code, 2);
  EXPECT_TRUE(Contains(reuse.err, "invalid DR operation token")) << reuse.err;

  // The original primary's root token reads the data on the promoted cluster.
  CliRun rd = Cli(secondary, primary.root_token, {"read", "-format=json", "secret/app"});
  ASSERT_EQ(rd.code, 0) << rd.out << rd.err;
  nlohmann::json rj = nlohmann::json::parse(rd.out, nullptr, false);
  EXPECT_EQ(rj["data"]["answer"], "42") << rd.out;
  EXPECT_NE(Cli(secondary, secondary.root_token, {"read", "secret/app"}).code, 0);
}

}  // namespace
}  // namespace rocksdr::sidecar
