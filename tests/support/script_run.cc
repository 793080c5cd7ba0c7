// RunRepoScript; see script_run.h.
#include "support/script_run.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rocksdr::testing {

ScriptRun RunRepoScript(const std::string& script, const std::string& args, const std::string& out_name) {
  ScriptRun run;
  run.out_path = std::string(ROCKSDR_BINARY_DIR) + "/" + out_name;
  std::string cmd = "ROCKSDR_BUILD_DIR='" + std::string(ROCKSDR_BINARY_DIR) + "' '" + std::string(ROCKSDR_SOURCE_DIR) +
                    "/" + script + "'";
  if (!args.empty()) cmd += " " + args;
  cmd += " >'" + run.out_path + "' 2>&1";
  run.status = std::system(cmd.c_str());
  std::ifstream f(run.out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  run.output = ss.str();
  return run;
}

}  // namespace rocksdr::testing
