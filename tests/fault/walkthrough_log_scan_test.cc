// A whole DR walkthrough's logs searched for every secret the run issued. Runs scripts/demo-dr
// --no-build (two sites on loopback: kv_service applications with the plugin, rocksdr sidecars;
// init/unseal, activation tokens, enable secondary, writes, kill -9 of the primary, DR operation
// token from the primary's unseal keys, promote) with the sidecars at debug level, keeps its
// directory, and collects the secrets from the CLI's JSON answers in the run (ROCKSDR_DEMO_SECRETS):
//   root tokens and unseal keys (base64 and hex) of both sites; the activation tokens (the whole
//   JWT, its claims segment and its signature segment; the header is the same for every ES512 token
//   and not a secret); generate-root's OTP and encoded token; the decoded DR operation token.
// Every file the run left (sidecar and application logs, RocksDB's info LOGs, CLI outputs, the
// site configuration) except the intended token output (attempt.json, which holds the OTP as the
// guide's tee does) and the databases' data files must contain none of them, in any of the forms
// above (hex also upper-case, base64 also base64url). The walkthrough's transcript (stdout) is the
// operator's intended output and is not scanned, but the scanner is checked on it: it must find the
// root tokens there (the demo prints init's answer), so a scan that finds nothing cannot pass by
// reading nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// name -> secret text.
using Secrets = std::multimap<std::string, std::string>;

void Add(Secrets* out, const std::string& what, const std::string& s) {
  if (s.size() < 16) return;  // every secret of the run is longer; shorter strings would match by chance
  out->emplace(what, s);
}

void AddToken(Secrets* out, const std::string& what, const std::string& token) {
  Add(out, what, token);
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string::npos ? std::string::npos : token.find('.', d1 + 1);
  if (d2 != std::string::npos) {  // a JWT: its claims and its signature
    Add(out, what + " (claims segment)", token.substr(d1 + 1, d2 - d1 - 1));
    Add(out, what + " (signature segment)", token.substr(d2 + 1));
  }
}

void Collect(const nlohmann::json& j, Secrets* out) {
  if (j.is_array()) {
    for (const auto& e : j) Collect(e, out);
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [key, v] : j.items()) {
    if (key == "unseal_keys_hex" && v.is_array()) {
      for (const auto& k : v) {
        std::string hex = k.get<std::string>(), upper = hex;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        Add(out, "unseal key (hex)", hex);
        Add(out, "unseal key (HEX)", upper);
      }
    } else if (key == "unseal_keys_b64" && v.is_array()) {
      for (const auto& k : v) {
        std::string b64 = k.get<std::string>(), url = b64;
        for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
        while (!url.empty() && url.back() == '=') url.pop_back();
        Add(out, "unseal key (base64)", b64);
        Add(out, "unseal key (base64url)", url);
      }
    } else if (v.is_string() && (key == "root_token" || key == "otp" || key == "encoded_token" ||
                                 key == "dr_operation_token" || key == "client_token")) {
      AddToken(out, key, v.get<std::string>());
    } else if (key == "wrap_info" && v.is_object() && v.contains("token") && v["token"].is_string()) {
      AddToken(out, "activation token", v["token"].get<std::string>());
    } else {
      Collect(v, out);
    }
  }
}

// Files the scan skips: the intended token output, and the databases' own data files (SST, WAL,
// MANIFEST...; the node's RocksDB info LOGs are scanned).
bool Skipped(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name == "attempt.json") return true;
  const std::string s = p.string();
  const bool in_db = s.find("/data/") != std::string::npos || s.find("/db/") != std::string::npos;
  return in_db && name.rfind("LOG", 0) != 0;
}

TEST(WalkthroughLogScan, NoIssuedTokenOrKeyInAnyLog) {
  const std::string base = std::string(ROCKSDR_BINARY_DIR) + "/walkthrough_log_scan";
  const std::string out = base + ".out", err = base + ".err", secrets_file = base + ".secrets";
  std::remove(secrets_file.c_str());
  const std::string cmd = "ROCKSDR_BUILD_DIR='" + std::string(ROCKSDR_BINARY_DIR) +
                          "' ROCKSDR_DEMO_KEEP=1 ROCKSDR_DEMO_LOG_LEVEL=debug ROCKSDR_DEMO_SECRETS='" + secrets_file +
                          "' '" + std::string(ROCKSDR_SOURCE_DIR) + "/scripts/demo-dr' --no-build >'" + out + "' 2>'" +
                          err + "'";
  const int rc = std::system(cmd.c_str());
  const std::string transcript = ReadAll(out), stderr_text = ReadAll(err);
  // The kept directory: "demo-dr: kept /tmp/rocksdr-demo.XXXXXX".
  const std::string marker = "demo-dr: kept ";
  const size_t at = stderr_text.rfind(marker);
  ASSERT_NE(at, std::string::npos) << stderr_text;
  const std::string work = stderr_text.substr(at + marker.size(), stderr_text.find('\n', at) - at - marker.size());
  ASSERT_TRUE(fs::is_directory(work)) << work;
  struct Cleanup {
    std::string dir, out, err, secrets;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
      std::remove(out.c_str());
      std::remove(err.c_str());
      std::remove(secrets.c_str());
    }
  } cleanup{work, out, err, secrets_file};
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << transcript << "\n" << stderr_text;

  Secrets secrets;
  std::istringstream lines(ReadAll(secrets_file));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line.substr(0, 80);
    Collect(j, &secrets);
  }
  std::map<std::string, size_t> kinds;
  for (const auto& [what, s] : secrets) ++kinds[what];
  // Both sites' init answers, both activation tokens, generate-root and the decoded token.
  EXPECT_EQ(kinds["root_token"], 2u);
  EXPECT_EQ(kinds["unseal key (hex)"], 10u);
  EXPECT_EQ(kinds["unseal key (base64)"], 10u);
  EXPECT_EQ(kinds["activation token"], 2u);
  EXPECT_EQ(kinds["activation token (signature segment)"], 2u);
  EXPECT_EQ(kinds["otp"], 1u);
  EXPECT_GE(kinds["encoded_token"], 1u);
  EXPECT_EQ(kinds["dr_operation_token"], 1u);

  // The scanner works: the transcript shows init's answers (root tokens) as the guide does.
  size_t seen_in_transcript = 0;
  for (const auto& [what, s] : secrets) {
    if (what == "root_token" && transcript.find(s) != std::string::npos) ++seen_in_transcript;
  }
  EXPECT_EQ(seen_in_transcript, 2u) << "the scan's self-check failed: root tokens not found in the transcript";

  size_t files = 0, bytes = 0, sidecar_debug_lines = 0;
  std::vector<std::string> leaks;
  for (const auto& e : fs::recursive_directory_iterator(work)) {
    if (!e.is_regular_file() || Skipped(e.path())) continue;
    const std::string text = ReadAll(e.path());
    ++files;
    bytes += text.size();
    if (e.path().filename().string().find("sidecar.log") != std::string::npos) {
      for (size_t p = text.find("[debug]"); p != std::string::npos; p = text.find("[debug]", p + 1)) {
        ++sidecar_debug_lines;
      }
    }
    for (const auto& [what, s] : secrets) {
      if (text.find(s) != std::string::npos) {
        leaks.push_back(what + " in " + fs::relative(e.path(), work).string());
      }
    }
  }
  EXPECT_GT(sidecar_debug_lines, 0u) << "the sidecars did not log at debug level: the scan would prove little";
  EXPECT_GE(files, 6u);
  EXPECT_TRUE(leaks.empty()) << ::testing::PrintToString(leaks);
  std::printf("walkthrough log scan: %zu secrets (%zu kinds) searched in %zu files, %zu bytes, %zu sidecar debug lines\n",
              secrets.size(), kinds.size(), files, bytes, sidecar_debug_lines);
}

}  // namespace
