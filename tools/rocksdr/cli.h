// The shared vocabulary of the `rocksdr` command-line tool: the context every command writes
// its output and exit code to, and the registration functions of each command group.
//
// Structure: main.cc builds the CLI11 application, normalizes Vault-style single-dash flags
// (argv.h), and calls one Register* function per command file; a command's callback runs after
// parsing and sets ctx.exit_code. Adding a command = one new file + one line in main.cc.
//
// Exit codes follow Vault's CLI: 0 success, 1 bad local input or usage, 2 a server-side error.
//
// Who may call: main() only, on the main thread.
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <string_view>

namespace rocksdr::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;   // bad flags, bad local input
inline constexpr int kExitRemote = 2;  // the server said no / could not be reached

inline constexpr std::string_view kVersion = "0.1.0";

struct Context {
  std::ostream* out;
  std::ostream* err;
  int exit_code = kExitOk;
};

// Prints "Error: <message>" style text (the message is used as is) on ctx.err and records `code`.
void Fail(Context& ctx, std::string_view message, int code = kExitUsage);

// Returns the `operator` command group, creating it on first use.
CLI::App* OperatorGroup(CLI::App& root);

// One per command file.
void RegisterVersionCommand(CLI::App& root, Context& ctx);          // version.cc
void RegisterOperatorGenerateRoot(CLI::App& root, Context& ctx);    // operator_generate_root.cc
void RegisterServerCommand(CLI::App& root, Context& ctx);           // server_command.cc
void RegisterReadWriteCommands(CLI::App& root, Context& ctx);       // rw_commands.cc
void RegisterSealCommands(CLI::App& root, Context& ctx);            // seal_commands.cc
void RegisterOperatorDrConsistency(CLI::App& root, Context& ctx);  // operator_dr_consistency.cc

}  // namespace rocksdr::cli
