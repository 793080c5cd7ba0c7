// rocksdr — the command-line tool (Vault-style). main() wires the command files together:
// each registers its subcommands (see cli.h), argv is normalized so Vault's single-dash long
// flags work (argv.h), and the exit code is the one the command recorded.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "argv.h"
#include "cli.h"

namespace rocksdr::cli {

void Fail(Context& ctx, std::string_view message, int code) {
  *ctx.err << message << "\n";
  ctx.exit_code = code;
}

CLI::App* OperatorGroup(CLI::App& root) {
  for (CLI::App* sub : root.get_subcommands([](CLI::App* a) { return a->get_name() == "operator"; })) {
    return sub;
  }
  CLI::App* op = root.add_subcommand("operator", "Perform operator-specific tasks");
  op->require_subcommand(1);
  return op;
}

namespace {

// The names of `app`'s subcommands, comma-separated.
std::string CommandNames(CLI::App& app) {
  std::string out;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (!out.empty()) out += ", ";
    out += sub->get_name();
  }
  return out;
}

// What CLI11 would answer "A subcommand is required" (a misspelt command) or "The following
// argument was not expected: --address=..." (a flag before the command) to, said plainly.
// Empty when the arguments look right; CLI11 then parses them.
// `typed` are the arguments as given (shown), `args` as normalized (checked).
std::string MisplacedCommand(CLI::App& app, const std::vector<std::string>& args, const std::vector<std::string>& typed) {
  CLI::App* level = &app;
  std::string path = "rocksdr";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty()) return "";
    if (a[0] == '-') {
      if (level != &app || a == "--help" || a == "-h" || a == "--version") return "";
      const std::string& shown = typed.size() == args.size() ? typed[i] : a;
      return "flags go after the command: rocksdr <command> " + shown.substr(0, 64) + " ... (commands: " +
             CommandNames(app) + ")";
    }
    if (level->get_subcommands([](CLI::App*) { return true; }).empty()) return "";
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands([&](CLI::App* c) { return c->get_name() == a; })) next = sub;
    if (next == nullptr) {
      return "Unknown command \"" + a.substr(0, 64) + "\" for " + path + " (commands: " + CommandNames(*level) +
             "; " + path + " --help)";
    }
    level = next;
    path += " " + a;
  }
  return "";
}

int Run(int argc, char** argv) {
  Context ctx{&std::cout, &std::cerr};
  CLI::App app{"rocksdr — disaster-recovery replication for RocksDB"};
  app.name("rocksdr");
  app.require_subcommand(1);
  app.set_version_flag("--version", "rocksdr v" + std::string(kVersion));

  RegisterVersionCommand(app, ctx);
  RegisterOperatorGenerateRoot(app, ctx);
  RegisterServerCommand(app, ctx);
  RegisterReadWriteCommands(app, ctx);
  RegisterSealCommands(app, ctx);
  RegisterOperatorDrConsistency(app, ctx);

  const std::vector<std::string> typed(argv + 1, argv + argc);
  std::vector<std::string> args = NormalizeArgs(typed);
  if (const std::string why = MisplacedCommand(app, args, typed); !why.empty()) {
    std::cerr << why << "\n";
    return kExitUsage;
  }
  // CLI11 takes arguments in reverse order.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, std::cout, std::cerr);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return ctx.exit_code;
}

}  // namespace

}  // namespace rocksdr::cli

int main(int argc, char** argv) { return rocksdr::cli::Run(argc, argv); }
