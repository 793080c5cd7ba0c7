// Implementation of argv.h.
#include "argv.h"

#include <cctype>
#include <utility>

namespace rocksdr::cli {

std::vector<std::string> NormalizeArgs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool after_separator = false;
  for (const std::string& a : args) {
    if (after_separator) {
      out.push_back(a);
      continue;
    }
    if (a == "--") {
      after_separator = true;
      out.push_back(a);
      continue;
    }
    // "-ab..." where 'a' is a letter and there is more than one character before any '='.
    const bool single_dash_long = a.size() >= 3 && a[0] == '-' && a[1] != '-' &&
                                  std::isalpha(static_cast<unsigned char>(a[1])) && a[2] != '=';
    std::string arg = single_dash_long ? "-" + a : a;
    if (arg.size() > 3 && arg.compare(0, 2, "--") == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      out.push_back(arg.substr(0, arg.size() - 1));
      out.emplace_back();
      continue;
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace rocksdr::cli
