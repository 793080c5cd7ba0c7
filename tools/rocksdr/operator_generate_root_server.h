// The server-side modes of `rocksdr operator generate-root` (Vault's command of the same name),
// added to the command that operator_generate_root.cc registers:
//
//   -init [-otp=OTP] [-pgp-key=K]   start an attempt; prints the nonce and the generated OTP (once)
//   -status                         the attempt's state
//   -cancel                         cancel the attempt
//   [-nonce=N] KEY                  submit one unseal key (KEY "-" or absent: read from stdin,
//                                   hidden when stdin is a terminal); without -nonce the current
//                                   attempt's nonce is used; prints progress, and the encoded
//                                   token when the threshold is reached
// With -dr-token the DR operation token endpoints are used
// (sys/replication/dr/secondary/generate-operation-token/{attempt,update}), else sys/generate-root.
// Output: Vault's column table (Nonce, Started, Progress x/y, Complete, Encoded Token, OTP,
// OTP Length) or, with -format=json, the server's object. Exit codes: 0 ok, 1 usage, 2 server error.
//
// Who may call: operator_generate_root.cc's callback, on the main thread.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "api_client.h"
#include "cli.h"
#include "output.h"

namespace rocksdr::cli {

struct GenerateRootServerFlags {
  ClientFlags client;  // address, token, TLS; the command's own -format is used
  bool init = false;
  bool status = false;
  bool cancel = false;
  std::string nonce;
  std::string pgp_key;
  std::vector<std::string> keys;  // positional: at most one
};

// Adds -init, -status, -cancel, -nonce, -pgp-key, the client flags except -format, and the
// optional positional KEY.
void AddGenerateRootServerFlags(CLI::App* cmd, GenerateRootServerFlags* flags);

// True if any server mode was asked for (so the offline "nothing to do" does not apply).
bool WantsGenerateRootServer(const GenerateRootServerFlags& flags, bool nonce_given);

// Runs the requested server mode. `otp` is the command's -otp value (used by -init).
void RunGenerateRootServer(Context& ctx, const GenerateRootServerFlags& flags, bool dr_token, const std::string& otp,
                           OutputFormat format);

}  // namespace rocksdr::cli
