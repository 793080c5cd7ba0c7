// `rocksdr operator generate-root` — Vault's command of the same name, for DR operation tokens.
//
// Offline modes (no server needed), as in Vault:
//   -generate-otp                 print a fresh base62 OTP of kTokenLength characters
//   -decode=ENCODED -otp=OTP      print the token: base64raw-decode(ENCODED) XOR OTP
//                                 (-decode=- reads ENCODED from stdin)
// Accepted with -dr-token (the DR operation token flow) or without; -format=json prints
// {"otp": ..., "otp_length": N} / {"token": ...}. The server-side modes (-init, -status,
// -cancel, providing a key) live in operator_generate_root_server.cc.
#include <iostream>
#include <iterator>
#include <string>

#include "cli.h"
#include "operator_generate_root_server.h"
#include "output.h"
#include "rocksdr/crypto/otp.h"

namespace rocksdr::cli {

namespace {

struct GenerateRootFlags {
  bool generate_otp = false;
  bool dr_token = false;
  bool recovery_token = false;
  std::string decode;
  bool decode_given = false;
  std::string otp;
  std::string format;
};

// Reads the encoded token from stdin for -decode=-; bounded, surrounding whitespace trimmed.
Result<std::string> ReadEncodedFromStdin() {
  constexpr size_t kMax = 64 * 1024;
  std::string data;
  char buf[4096];
  while (std::cin.read(buf, sizeof(buf)) || std::cin.gcount() > 0) {
    data.append(buf, static_cast<size_t>(std::cin.gcount()));
    if (data.size() > kMax) return Status::InvalidArgument("more than 64 KiB on stdin for -decode=-");
  }
  const auto first = data.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  const auto last = data.find_last_not_of(" \t\r\n");
  return data.substr(first, last - first + 1);
}

// Vault prints library errors with a capital first letter ("Error decoding base64'd token: ...").
std::string Capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

bool IsPrintable(std::string_view s) {
  for (char c : s) {
    if (c < ' ' || c > '~') return false;
  }
  return true;
}

void RunGenerateOtp(Context& ctx, OutputFormat format) {
  auto otp = crypto::GenerateOtp(crypto::kTokenLength);
  if (!otp.ok()) return Fail(ctx, "Error reading random bytes: " + otp.status().message(), kExitRemote);
  std::string value(otp->data(), otp->size());
  if (format == OutputFormat::kJson) {
    PrintJson(*ctx.out, {{"otp", value}, {"otp_length", value.size()}});
  } else {
    *ctx.out << value << "\n";
  }
  crypto::Zeroize(value.data(), value.size());
}

void RunDecode(Context& ctx, const GenerateRootFlags& f, OutputFormat format) {
  std::string encoded = f.decode;
  if (encoded == "-") {
    auto in = ReadEncodedFromStdin();
    if (!in.ok()) return Fail(ctx, "Failed to read from stdin: " + in.status().message());
    encoded = *in;
  }
  if (encoded.empty()) return Fail(ctx, "Missing encoded value: use -decode=<string> to supply it");
  if (f.otp.empty()) return Fail(ctx, "Missing otp: use -otp to supply it");
  auto token = crypto::DecodeToken(encoded, f.otp);
  if (!token.ok()) {
    std::string why = Capitalized(token.status().message());
    if (why.find("length of byte slices") != std::string::npos) {
      why += " (-otp must be the OTP that -init printed for this generation, and -decode its encoded token)";
    }
    return Fail(ctx, why);
  }
  std::string value(token->data(), token->size());
  if (!IsPrintable(value)) {
    // A wrong OTP of the right length XORs to bytes that are no token. Vault prints them anyway;
    // printing nothing keeps a script from passing them on as the DR operation token.
    crypto::Zeroize(value.data(), value.size());
    return Fail(ctx, "The decoded value is not a token (it has non-printable characters): -otp is not the OTP "
                     "that -init printed for this generation. Nothing was printed.");
  }
  if (format == OutputFormat::kJson) {
    PrintJson(*ctx.out, {{"token", value}});
  } else {
    *ctx.out << value << "\n";
  }
  crypto::Zeroize(value.data(), value.size());
}

}  // namespace

void RegisterOperatorGenerateRoot(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<GenerateRootFlags>();
  CLI::App* cmd = OperatorGroup(root)->add_subcommand(
      "generate-root",
      "Generates a new root or DR operation token.\n"
      "Offline: -generate-otp prints an OTP; -decode=ENCODED -otp=OTP prints the token.");
  cmd->add_flag("--generate-otp", flags->generate_otp,
                "Generate and print a high-entropy one-time-password (OTP) suitable for use with -init.");
  cmd->add_flag("--dr-token", flags->dr_token, "Operate on DR operation tokens.");
  cmd->add_flag("--recovery-token", flags->recovery_token, "Operate on recovery tokens.");
  CLI::Option* decode = cmd->add_option("--decode", flags->decode,
                                        "The value to decode (\"-\" reads it from stdin); "
                                        "setting this triggers a decode operation.");
  cmd->add_option("--otp", flags->otp, "OTP code to use with -decode.");
  cmd->add_option("--format", flags->format, "Output format: table (default) or json.");
  auto server = std::make_shared<GenerateRootServerFlags>();
  AddGenerateRootServerFlags(cmd, server.get());
  CLI::Option* nonce = cmd->get_option("--nonce");
  cmd->callback([&ctx, flags, decode, server, nonce] {
    GenerateRootFlags& f = *flags;
    f.decode_given = decode->count() > 0;
    if (f.dr_token && f.recovery_token) return Fail(ctx, "Both -recovery-token and -dr-token flags are set");
    auto format = ResolveFormat(f.format);
    if (!format.ok()) return Fail(ctx, format.status().message());
    if (f.generate_otp && f.decode_given) return Fail(ctx, "Use either -generate-otp or -decode, not both");
    const bool wants_server = WantsGenerateRootServer(*server, nonce->count() > 0);
    if ((f.generate_otp || f.decode_given) && wants_server) {
      return Fail(ctx, "-generate-otp and -decode cannot be combined with -init, -status, -cancel or a key");
    }
    if (f.generate_otp) return RunGenerateOtp(ctx, *format);
    if (f.decode_given) return RunDecode(ctx, f, *format);
    if (wants_server && !f.dr_token) {
      // Vault's plain generate-root makes a root token (sys/generate-root), which rocksdr has no
      // use for: its only token ceremony is the DR operation token.
      return Fail(ctx, "rocksdr generates DR operation tokens only: add -dr-token (operator generate-root -dr-token "
                       "-init, then the primary's unseal keys); there is no sys/generate-root");
    }
    if (wants_server) return RunGenerateRootServer(ctx, *server, f.dr_token, f.otp, *format);
    Fail(ctx,
         "Nothing to do: use -generate-otp, -decode=<encoded> -otp=<otp>, -init, -status, -cancel, or "
         "give an unseal key (with -nonce=<nonce>, or \"-\" to read it from stdin).");
  });
}

}  // namespace rocksdr::cli
