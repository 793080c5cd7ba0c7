// Vault-style flags for CLI11. Vault's CLI (Go's flag package) writes long flags with one dash
// (`-generate-otp`, `-otp=X`, `-format=json`); CLI11 wants two. NormalizeArgs rewrites every
// argument of the form `-name` / `-name=value` (a dash, then at least two characters, the first
// a letter) to `--name...`, so both spellings work. Left alone: `--x`, single-letter `-h`,
// a lone `-` (stdin), negative numbers, and everything after a `--` separator. An empty value
// (`-name=` / `--name=`) becomes two arguments `--name` `""`, because CLI11 would otherwise take
// the NEXT argument as the value (Go's flag package sets the empty string, and so do we).
//
// Consequence (as in Vault): a flag VALUE given as a separate argument that itself looks like
// `-word` is rewritten too; write `-flag=-word` for such values.
//
// Who may call: main(), before parsing. Pure function.
#pragma once

#include <string>
#include <vector>

namespace rocksdr::cli {

// args excludes argv[0]. Returns the normalized list (same order).
std::vector<std::string> NormalizeArgs(const std::vector<std::string>& args);

}  // namespace rocksdr::cli
