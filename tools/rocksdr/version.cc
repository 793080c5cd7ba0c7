// `rocksdr version`: prints "rocksdr v<version>" (Vault: "Vault v1.x.y ...").
#include <ostream>
#include <string>

#include "cli.h"

namespace rocksdr::cli {

void RegisterVersionCommand(CLI::App& root, Context& ctx) {
  CLI::App* cmd = root.add_subcommand("version", "Print the version of rocksdr");
  cmd->callback([&ctx] { *ctx.out << "rocksdr v" << kVersion << "\n"; });
}

}  // namespace rocksdr::cli
