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

  std::vector<std::string> args(argv + 1, argv + argc);
  args = NormalizeArgs(args);
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
