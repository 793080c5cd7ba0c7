// Implementation of operator_generate_root_server.h.
#include "operator_generate_root_server.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <iostream>
#include <string>

#include "secret_output.h"

namespace rocksdr::cli {

namespace {

constexpr size_t kMaxKeyInput = 4096;

std::string AttemptPath(bool dr) {
  return dr ? "sys/replication/dr/secondary/generate-operation-token/attempt" : "sys/generate-root/attempt";
}
std::string UpdatePath(bool dr) {
  return dr ? "sys/replication/dr/secondary/generate-operation-token/update" : "sys/generate-root/update";
}
std::string What(bool dr) { return dr ? "DR operation token" : "root token"; }

std::string Str(const nlohmann::json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}
int64_t Int(const nlohmann::json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_number_integer() ? j[k].get<int64_t>() : 0;
}
bool Bool(const nlohmann::json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_boolean() && j[k].get<bool>();
}

// Vault's columnOutput: "Key<pad>    Value" rows without a header.
void PrintColumns(std::ostream& out, const Rows& rows) {
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  for (const auto& r : rows) out << r.first << std::string(width - r.first.size() + 4, ' ') << r.second << "\n";
}

// Vault's printStatus of operator generate-root.
void PrintStatus(Context& ctx, const nlohmann::json& s, OutputFormat format) {
  if (format == OutputFormat::kJson) return PrintJson(*ctx.out, s);
  Rows rows = {{"Nonce", Str(s, "nonce")},
               {"Started", Bool(s, "started") ? "true" : "false"},
               {"Progress", std::to_string(Int(s, "progress")) + "/" + std::to_string(Int(s, "required"))},
               {"Complete", Bool(s, "complete") ? "true" : "false"}};
  if (!Str(s, "pgp_fingerprint").empty()) rows.emplace_back("PGP Fingerprint", Str(s, "pgp_fingerprint"));
  if (!Str(s, "encoded_token").empty()) {
    rows.emplace_back("Encoded Token", Str(s, "encoded_token"));
  } else if (!Str(s, "encoded_root_token").empty()) {
    rows.emplace_back("Encoded Root Token", Str(s, "encoded_root_token"));
  }
  if (!Str(s, "otp").empty()) {
    *ctx.err << "A One-Time-Password has been generated for you and is shown in the OTP field. You will need "
                "this value to decode the resulting token, so keep it safe.\n";
    rows.emplace_back("OTP", Str(s, "otp"));
  }
  if (Int(s, "otp_length") != 0) rows.emplace_back("OTP Length", std::to_string(Int(s, "otp_length")));
  PrintColumns(*ctx.out, rows);
}

// Reads one key from stdin: hidden with a prompt on a terminal, else the first line.
Result<std::string> ReadKey() {
  const bool tty = isatty(STDIN_FILENO) == 1;
  termios old{};
  if (tty) {
    std::cerr << "Unseal Key (will be hidden): " << std::flush;
    if (tcgetattr(STDIN_FILENO, &old) == 0) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
  }
  std::string line;
  char c;
  while (std::cin.get(c) && c != '\n') {
    if (line.size() >= kMaxKeyInput) break;
    line.push_back(c);
  }
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (line.size() >= kMaxKeyInput) return Status::InvalidArgument("key on stdin is longer than 4 KiB");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  size_t first = line.find_first_not_of(" \t");
  return first == std::string::npos ? std::string() : line.substr(first);
}

// One API call; on failure records the error (server errors: exit 2) and returns nullopt.
std::optional<ApiReply> Call(Context& ctx, const GenerateRootServerFlags& f, const std::string& method,
                             const std::string& path, const std::string& what, const nlohmann::json& body = nullptr) {
  Result<ApiReply> r = CallApi(f.client, method, path, body);
  if (!r.ok()) {
    Fail(ctx, "Error " + what + ": " + r.status().message(), kExitRemote);
    return std::nullopt;
  }
  if (!IsSuccess(*r)) {
    Fail(ctx, "Error " + what + ": " + ApiErrorText(*r), kExitRemote);
    return std::nullopt;
  }
  return std::move(r).value();
}

void RunInit(Context& ctx, const GenerateRootServerFlags& f, bool dr, const std::string& otp, OutputFormat format) {
  nlohmann::json body = nlohmann::json::object();
  if (!otp.empty()) body["otp"] = otp;
  if (!f.pgp_key.empty()) body["pgp_key"] = f.pgp_key;
  auto r = Call(ctx, f, "PUT", AttemptPath(dr), "initializing " + What(dr) + " generation", body);
  if (r) PrintStatus(ctx, r->body, format);
}

void RunStatus(Context& ctx, const GenerateRootServerFlags& f, bool dr, OutputFormat format) {
  auto r = Call(ctx, f, "GET", AttemptPath(dr), "getting " + What(dr) + " generation status");
  if (r) PrintStatus(ctx, r->body, format);
}

void RunCancel(Context& ctx, const GenerateRootServerFlags& f, bool dr) {
  auto r = Call(ctx, f, "DELETE", AttemptPath(dr), "canceling " + What(dr) + " generation");
  if (r) *ctx.out << "Success! " << (dr ? "DR operation token" : "Root token") << " generation canceled (if it was started)\n";
}

void RunProvide(Context& ctx, const GenerateRootServerFlags& f, bool dr, OutputFormat format) {
  if (f.keys.size() > 1) return Fail(ctx, "Too many arguments (expected 0-1, got " + std::to_string(f.keys.size()) + ")");
  std::string nonce = f.nonce;
  if (nonce.empty()) {
    auto st = Call(ctx, f, "GET", AttemptPath(dr), "getting " + What(dr) + " generation status");
    if (!st) return;
    if (!Bool(st->body, "started")) {
      return Fail(ctx,
                  "No " + What(dr) + " generation is in progress. Start one by running \"rocksdr operator "
                  "generate-root " + std::string(dr ? "-dr-token " : "") + "-init\".",
                  kExitRemote);
    }
    nonce = Str(st->body, "nonce");
  }
  std::string key = f.keys.empty() ? "-" : f.keys[0];
  if (key == "-") {
    Result<std::string> in = ReadKey();
    if (!in.ok()) return Fail(ctx, "Failed to read the key: " + in.status().message());
    key = *in;
  }
  if (key.empty()) return Fail(ctx, "Missing key: give it as the argument, or on stdin");
  nlohmann::json body = {{"key", key}, {"nonce", nonce}};
  std::fill(key.begin(), key.end(), '\0');
  auto r = Call(ctx, f, "PUT", UpdatePath(dr), "posting unseal key", body);
  if (body["key"].is_string()) {
    std::string& k = body["key"].get_ref<std::string&>();
    std::fill(k.begin(), k.end(), '\0');
  }
  if (r) PrintStatus(ctx, r->body, format);
}

}  // namespace

void AddGenerateRootServerFlags(CLI::App* cmd, GenerateRootServerFlags* f) {
  cmd->add_flag("--init", f->init, "Start a generation attempt (prints the nonce and a generated OTP).");
  cmd->add_flag("--status", f->status, "Print the status of the current attempt.");
  cmd->add_flag("--cancel", f->cancel, "Cancel the current attempt.");
  cmd->add_option("--nonce", f->nonce, "Nonce of the attempt, given when providing a key.");
  cmd->add_option("--pgp-key", f->pgp_key, "Not supported by rocksdr (the server refuses it).");
  cmd->add_option("--address", f->client.address, "Address of the rocksdr sidecar ($ROCKSDR_ADDR)");
  cmd->add_option("--token", f->client.token, "Token to authenticate with ($ROCKSDR_TOKEN)");
  cmd->add_option("--ca-cert", f->client.ca_cert, "PEM CA certificate file to verify the server ($ROCKSDR_CACERT)");
  cmd->add_flag("--tls-skip-verify", f->client.tls_skip_verify, "Do not verify the server's certificate (insecure)");
  cmd->add_option("key", f->keys, "An unseal key (\"-\" reads it from stdin).");
}

bool WantsGenerateRootServer(const GenerateRootServerFlags& f, bool nonce_given) {
  return f.init || f.status || f.cancel || nonce_given || !f.keys.empty();
}

void RunGenerateRootServer(Context& ctx, const GenerateRootServerFlags& f, bool dr_token, const std::string& otp,
                           OutputFormat format) {
  const int modes = (f.init ? 1 : 0) + (f.status ? 1 : 0) + (f.cancel ? 1 : 0);
  if (modes > 1) return Fail(ctx, "Use only one of -init, -status and -cancel");
  if (modes == 1 && !f.keys.empty()) return Fail(ctx, "A key cannot be given with -init, -status or -cancel");
  if (f.init) return RunInit(ctx, f, dr_token, otp, format);
  if (f.status) return RunStatus(ctx, f, dr_token, format);
  if (f.cancel) return RunCancel(ctx, f, dr_token);
  RunProvide(ctx, f, dr_token, format);
}

}  // namespace rocksdr::cli
