// Command-line flags of the example applications: "--name value" pairs plus a fixed set of
// boolean switches ("--no-verify-host"). Bounded and validated; errors say which argument.
//
// Who may call: main(), before any thread starts. Values only.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "rocksdr/status.h"

namespace rocksdr::examples {

class Flags {
 public:
  // Parses argv[first..argc). `switches` are flags that take no value. Every other argument must
  // be "--name value". Errors: kInvalidArgument naming the bad argument (unknown form, missing
  // value, repeated flag, or a value longer than 4096 bytes).
  static Result<Flags> Parse(int argc, char** argv, int first, const std::set<std::string>& switches = {});

  // The value of --name, or "" if absent.
  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // A switch given on the command line.
  bool Switch(const std::string& name) const { return switches_.count(name) > 0; }
  // --name as a decimal integer in [min, max]; `def` if absent. kInvalidArgument names the flag.
  Result<uint64_t> GetUint(const std::string& name, uint64_t def, uint64_t min, uint64_t max) const;
  // Every --name given, for "unknown flag" checks.
  std::set<std::string> Names() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
};

// kInvalidArgument naming the first flag in `flags` that is not in `known`.
Status CheckKnownFlags(const Flags& flags, const std::set<std::string>& known);

}  // namespace rocksdr::examples
