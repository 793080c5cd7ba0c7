// Runs the real `rocksdr` binary (built from tools/rocksdr) and checks its output and exit codes
// for the offline commands: version, operator generate-root -generate-otp / -decode.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/otp.h"

namespace rocksdr::crypto {
namespace {

const std::string kBinary = std::string(ROCKSDR_BINARY_DIR) + "/tools/rocksdr";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Runs `rocksdr <args>` (each argument shell-quoted), optionally feeding `stdin_text`.
RunResult RunCli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  static int counter = 0;
  const std::string base = testing::TempDir() + "rocksdr_cli_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  const std::string err_path = base + ".err", in_path = base + ".in";
  std::ofstream(in_path) << stdin_text;
  std::string cmd = Quote(kBinary);
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " <" + Quote(in_path) + " 2>" + Quote(err_path);
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_path);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  std::remove(err_path.c_str());
  std::remove(in_path.c_str());
  return r;
}

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kBinary.c_str(), X_OK), 0) << kBinary << " not built; build the `rocksdr` target first";
  }
};

std::string S(const SecureString& s) { return std::string(s.data(), s.size()); }

TEST_F(CliTest, Version) {
  RunResult r = RunCli({"version"});
  EXPECT_EQ(r.exit_code, 0);
  // "rocksdr vMAJOR.MINOR.PATCH\n"
  ASSERT_GT(r.out.size(), 10u);
  EXPECT_EQ(r.out.substr(0, 9), "rocksdr v");
  EXPECT_EQ(r.out.back(), '\n');
  const std::string v = r.out.substr(9, r.out.size() - 10);
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
  EXPECT_EQ(v.find_first_not_of("0123456789."), std::string::npos) << v;
  RunResult flag = RunCli({"-version"});
  EXPECT_EQ(flag.exit_code, 0);
  EXPECT_EQ(flag.out, r.out);
}

TEST_F(CliTest, GenerateOtpPrintsFreshBase62Otp) {
  std::set<std::string> seen;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"operator", "generate-root", "-generate-otp"},
           {"operator", "generate-root", "--generate-otp"},
           {"operator", "generate-root", "-dr-token", "-generate-otp"},
           {"operator", "generate-root", "-generate-otp", "--dr-token"}}) {
    RunResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out.size(), kTokenLength + 1) << r.out;
    EXPECT_EQ(r.out.back(), '\n');
    EXPECT_TRUE(IsBase62(r.out.substr(0, kTokenLength))) << r.out;
    EXPECT_EQ(r.err, "");
    seen.insert(r.out);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(CliTest, GenerateOtpJson) {
  RunResult r = RunCli({"operator", "generate-root", "-dr-token", "-generate-otp", "-format=json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["otp_length"], kTokenLength);
  EXPECT_EQ(j["otp"].get<std::string>().size(), kTokenLength);
  EXPECT_TRUE(IsBase62(j["otp"].get<std::string>()));
}

TEST_F(CliTest, GenerateThenDecodeRoundTrip) {
  RunResult gen = RunCli({"operator", "generate-root", "-dr-token", "-generate-otp"});
  ASSERT_EQ(gen.exit_code, 0);
  const std::string otp = gen.out.substr(0, kTokenLength);
  auto token = GenerateToken();
  ASSERT_TRUE(token.ok());
  auto encoded = EncodeToken(S(*token), otp);
  ASSERT_TRUE(encoded.ok());

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"operator", "generate-root", "-dr-token", "-decode=" + *encoded, "-otp=" + otp},
           {"operator", "generate-root", "-decode=" + *encoded, "-otp=" + otp},
           {"operator", "generate-root", "--dr-token", "--decode", *encoded, "--otp", otp}}) {
    RunResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, S(*token) + "\n");
    EXPECT_EQ(r.err, "");
  }

  RunResult json = RunCli({"operator", "generate-root", "-dr-token", "-decode=" + *encoded, "-otp=" + otp,
                        "-format=json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out), nlohmann::json({{"token", S(*token)}}));

  RunResult piped = RunCli({"operator", "generate-root", "-dr-token", "-decode=-", "-otp=" + otp}, *encoded + "\n");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, S(*token) + "\n");
}

TEST_F(CliTest, WrongOtpOfRightLengthIsRefusedAndPrintsNothing) {
  const std::string otp = "abcdefghijklmnopqrstuvwxyzAB";
  auto encoded = EncodeToken("rdr.ABCDEFGHIJKLMNOPQRSTUVWX", otp);
  ASSERT_TRUE(encoded.ok());
  // XOR with a different OTP: "rdr." ^ "abcd" ^ "ABCD" -> first bytes become "RDR" + ('.'^0x20)...
  // Unprintable: refused, and nothing on stdout that a script could take for the token.
  RunResult r = RunCli({"operator", "generate-root", "-decode=" + *encoded, "-otp=" + std::string(28, 'A')});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("non-printable characters): -otp is not the OTP that -init printed"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, BadInputFailsWithMessageAndExitCode1) {
  const std::string otp = "abcdefghijklmnopqrstuvwxyzAB";
  auto encoded = EncodeToken("rdr.ABCDEFGHIJKLMNOPQRSTUVWX", otp);
  ASSERT_TRUE(encoded.ok());
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  } cases[] = {
      {{"operator", "generate-root", "-decode=" + *encoded}, "Missing otp: use -otp to supply it"},
      {{"operator", "generate-root", "-decode=", "-otp=" + otp}, "Missing encoded value"},
      {{"operator", "generate-root", "-decode=" + *encoded, "-otp=" + otp.substr(1)},
       "Error xoring token: length of byte slices is not equivalent: 28 != 27"},
      {{"operator", "generate-root", "-decode=" + *encoded + "==", "-otp=" + otp}, "Error decoding base64'd token"},
      {{"operator", "generate-root", "-decode=" + encoded->substr(0, 10) + "*" + encoded->substr(11), "-otp=" + otp},
       "Error decoding base64'd token: base64 input has an invalid character at position 10"},
      {{"operator", "generate-root", "-dr-token", "-recovery-token", "-generate-otp"},
       "Both -recovery-token and -dr-token flags are set"},
      {{"operator", "generate-root", "-generate-otp", "-format=xml"}, "Invalid output format: xml"},
      {{"operator", "generate-root", "-generate-otp", "-decode=" + *encoded, "-otp=" + otp}, "not both"},
      {{"operator", "generate-root", "-no-such-flag"}, "--no-such-flag"},
      {{"operator", "generate-root"}, "Nothing to do"},
      {{"operator", "generate-root", "-init"}, "rocksdr generates DR operation tokens only: add -dr-token"},
      {{"operator"}, "subcommand"},
      {{"frobnicate"}, "Unknown command \"frobnicate\" for rocksdr (commands: "},
      {{"operator", "unsael", "KEY"}, "Unknown command \"unsael\" for rocksdr operator (commands: "},
      {{"-address=http://127.0.0.1:1", "status"}, "flags go after the command: rocksdr <command> -address=http"},
      {{}, "subcommand"},
  };
  for (const auto& c : cases) {
    RunResult r = RunCli(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 1) << joined;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << joined << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.find(otp), std::string::npos) << "stderr echoes the OTP: " << joined;
  }
}

TEST_F(CliTest, HelpExitsZero) {
  RunResult r = RunCli({"operator", "generate-root", "-h"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--generate-otp"), std::string::npos);
  EXPECT_NE(r.out.find("--decode"), std::string::npos);
}

}  // namespace
}  // namespace rocksdr::crypto
