// `rocksdr read PATH`, `rocksdr write [-f] PATH [k=v ...]`, `rocksdr delete PATH` — Vault's
// generic commands against the sidecar's API (paths relative to /v1/).
//   write: values are strings (k=v); "k=-" reads the value from stdin and "k=@file" from a file
//   (at most 1 MiB each, trailing newlines dropped; "k=\@x" is the literal "@x"). Without data, -force
//   (-f) is required ("Must supply data or use -force"). A reply without content prints
//   "Success! Data written to: PATH"; otherwise warnings and the table (or JSON).
// Exit codes (Vault): 0 ok, 1 usage/local input, 2 the server answered an error or was
// unreachable; read of a missing path prints "No value found at PATH" and exits 2.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "api_client.h"
#include "cli.h"
#include "output.h"
#include "secret_output.h"

namespace rocksdr::cli {

namespace {

struct RwFlags {
  ClientFlags client;
  std::vector<std::string> args;
  bool force = false;
};

std::string TrimPath(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  return p;
}

// Prints a successful reply the way Vault's OutputSecret does.
void PrintReply(Context& ctx, const ApiReply& r, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    PrintJson(*ctx.out, r.body);
    return;
  }
  PrintSecretTable(*ctx.out, r.body);
}

bool CheckPath(Context& ctx, const RwFlags& f, const char* cmd) {
  if (f.args.empty()) {
    Fail(ctx, std::string("Not enough arguments (expected 1, got 0)\n\nUsage: rocksdr ") + cmd + " PATH");
    return false;
  }
  return true;
}

void RunRead(Context& ctx, RwFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (!CheckPath(ctx, f, "read")) return;
  if (f.args.size() > 1) return Fail(ctx, "Too many arguments (expected 1, got " + std::to_string(f.args.size()) + ")");
  const std::string path = TrimPath(f.args[0]);
  Result<ApiReply> r = CallApi(f.client, "GET", path);
  if (!r.ok()) return Fail(ctx, "Error reading " + path + ": " + r.status().message(), kExitRemote);
  if (r->status == 404 && r->body.is_object() && r->body.value("errors", nlohmann::json::array()).empty()) {
    return Fail(ctx, "No value found at " + path, kExitRemote);
  }
  if (!IsSuccess(*r)) return Fail(ctx, "Error reading " + path + ": " + ApiErrorText(*r), kExitRemote);
  if (r->body.is_null()) return Fail(ctx, "No value found at " + path, kExitRemote);
  PrintReply(ctx, *r, *format);
}

// A K=V value from stdin (-) or a file (@path), as Vault's CLI reads them: at most 1 MiB (the
// sidecar's default body limit), trailing newlines dropped (a token saved by `echo` or an editor).
constexpr size_t kMaxValueBytes = 1 << 20;
Result<std::string> ReadValue(std::istream& in, const std::string& what) {
  errno = 0;
  std::string value;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    value.append(buf, static_cast<size_t>(in.gcount()));
    if (value.size() > kMaxValueBytes) return Status::InvalidArgument(what + " holds more than 1 MiB");
  }
  // A directory opens but does not read (EISDIR); an I/O error cuts the value short: never send
  // what was read as if it were the value.
  if (in.bad()) return Status::IOError("cannot read " + what + (errno != 0 ? ": " + std::string(std::strerror(errno)) : ""));
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

void RunWrite(Context& ctx, RwFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (!CheckPath(ctx, f, "write")) return;
  const std::string path = TrimPath(f.args[0]);
  nlohmann::json data = nlohmann::json::object();
  bool stdin_used = false;
  for (size_t i = 1; i < f.args.size(); ++i) {
    const std::string& kv = f.args[i];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(ctx, "Failed to parse K=V data: invalid key/value pair \"" + kv.substr(0, 64) + "\"");
    }
    std::string value = kv.substr(eq + 1);
    if (value == "-") {
      if (stdin_used) return Fail(ctx, "Failed to parse K=V data: stdin can be used only once");
      stdin_used = true;
      Result<std::string> in = ReadValue(std::cin, "stdin");
      if (!in.ok()) return Fail(ctx, "Failed to parse K=V data: " + in.status().message());
      value = std::move(*in);
    } else if (value.size() > 1 && value[0] == '@') {  // key=@file, as in Vault; key=\@x is a literal "@x"
      const std::string file = value.substr(1);
      errno = 0;
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        return Fail(ctx, "Failed to parse K=V data: cannot read " + file + " (for " + kv.substr(0, eq) +
                             "=@...): " + std::strerror(errno) + " (a literal value starting with @: write \\@)");
      }
      Result<std::string> content = ReadValue(in, file);
      if (!content.ok()) return Fail(ctx, "Failed to parse K=V data: " + content.status().message());
      value = std::move(*content);
    } else if (value.size() > 1 && value[0] == '\\' && value[1] == '@') {
      value.erase(0, 1);
    }
    data[kv.substr(0, eq)] = value;
  }
  if (data.empty() && !f.force) return Fail(ctx, "Must supply data or use -force");
  Result<ApiReply> r = CallApi(f.client, "PUT", path, data);
  if (!r.ok()) return Fail(ctx, "Error writing data to " + path + ": " + r.status().message(), kExitRemote);
  if (!IsSuccess(*r)) return Fail(ctx, "Error writing data to " + path + ": " + ApiErrorText(*r), kExitRemote);
  if (r->body.is_null()) {
    *ctx.out << "Success! Data written to: " << path << "\n";
    return;
  }
  if (*format == OutputFormat::kJson) return PrintJson(*ctx.out, r->body);
  if (!PrintSecretTable(*ctx.out, r->body)) *ctx.out << "Success! Data written to: " << path << "\n";
}

void RunDelete(Context& ctx, RwFlags& f) {
  Result<OutputFormat> format = ResolveFormat(f.client.format);
  if (!format.ok()) return Fail(ctx, format.status().message());
  if (!CheckPath(ctx, f, "delete")) return;
  if (f.args.size() > 1) return Fail(ctx, "Too many arguments (expected 1, got " + std::to_string(f.args.size()) + ")");
  const std::string path = TrimPath(f.args[0]);
  Result<ApiReply> r = CallApi(f.client, "DELETE", path);
  if (!r.ok()) return Fail(ctx, "Error deleting " + path + ": " + r.status().message(), kExitRemote);
  if (!IsSuccess(*r)) return Fail(ctx, "Error deleting " + path + ": " + ApiErrorText(*r), kExitRemote);
  if (!r->body.is_null() && r->body.is_object()) {
    if (*format == OutputFormat::kJson) return PrintJson(*ctx.out, r->body);
    if (PrintSecretTable(*ctx.out, r->body)) return;
  }
  *ctx.out << "Success! Data deleted (if it existed) at: " << path << "\n";
}

}  // namespace

void RegisterReadWriteCommands(CLI::App& root, Context& ctx) {
  struct Cmd {
    const char* name;
    const char* help;
    void (*run)(Context&, RwFlags&);
  };
  static const Cmd kCmds[] = {{"read", "Read data from the sidecar's API", &RunRead},
                              {"write", "Write data to the sidecar's API", &RunWrite},
                              {"delete", "Delete data through the sidecar's API", &RunDelete}};
  for (const Cmd& c : kCmds) {
    auto flags = std::make_shared<RwFlags>();
    CLI::App* cmd = root.add_subcommand(c.name, c.help);
    AddClientFlags(cmd, &flags->client);
    if (std::string(c.name) == "write") cmd->add_flag("-f,--force", flags->force, "Allow writing without data");
    cmd->add_option("args", flags->args, "PATH [K=V ...]");
    auto run = c.run;
    cmd->callback([&ctx, flags, run] { run(ctx, *flags); });
  }
}

}  // namespace rocksdr::cli
