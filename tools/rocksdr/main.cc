// rocksdr — the command-line tool. Subcommands are registered by the files of this folder.
#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"rocksdr — disaster-recovery replication for RocksDB"};
  app.require_subcommand(1);
  app.add_subcommand("version", "Print the version")->callback([] { std::cout << "rocksdr v0.1.0\n"; });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
