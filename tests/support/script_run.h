// Runs one of the repository's shell scripts (scripts/demo-dr, scripts/restart-dr, ...) against
// this build tree, the way the end-to-end tests do: `ROCKSDR_BUILD_DIR=<build dir>
// <source dir>/<script> <args> >out 2>&1`, waits for it, and hands back its wait status and
// everything it printed. The output file is left in the build dir (<build dir>/<out_name>) so a
// failed run can be read afterwards; the caller removes it when it passed.
//
// Who may call: tests only, from the test thread (blocks until the script ends).
#pragma once

#include <string>

namespace rocksdr::testing {

struct ScriptRun {
  int status = -1;        // std::system's result: check WIFEXITED / WEXITSTATUS
  std::string output;     // stdout and stderr, interleaved
  std::string out_path;   // the file that holds `output`
};

// `script` is relative to the source dir; `args` is appended as is (already shell-quoted).
ScriptRun RunRepoScript(const std::string& script, const std::string& args, const std::string& out_name);

}  // namespace rocksdr::testing
