#include "common/flags.h"

namespace rocksdr::examples {

namespace {
constexpr size_t kMaxValueBytes = 4096;
}  // namespace

Result<Flags> Flags::Parse(int argc, char** argv, int first, const std::set<std::string>& switches) {
  Flags f;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      return Status::InvalidArgument("bad argument '" + a + "': flags are --name value");
    }
    const std::string name = a.substr(2);
    if (switches.count(name)) {
      f.switches_.insert(name);
      continue;
    }
    if (i + 1 >= argc) return Status::InvalidArgument("flag " + a + " needs a value");
    if (f.values_.count(name)) return Status::InvalidArgument("flag " + a + " is given twice");
    std::string v = argv[++i];
    if (v.size() > kMaxValueBytes) {
      return Status::InvalidArgument("the value of " + a + " is longer than " + std::to_string(kMaxValueBytes) +
                                     " bytes");
    }
    f.values_[name] = std::move(v);
  }
  return f;
}

std::string Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

Result<uint64_t> Flags::GetUint(const std::string& name, uint64_t def, uint64_t min, uint64_t max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  const std::string& v = it->second;
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--" + name + " must be a whole number in " + range + ", got '" + v + "'");
  }
  const uint64_t n = std::stoull(v);
  if (n < min || n > max) {
    return Status::InvalidArgument("--" + name + " must be in " + range + ", got " + v);
  }
  return n;
}

std::set<std::string> Flags::Names() const {
  std::set<std::string> out = switches_;
  for (const auto& [k, v] : values_) out.insert(k);
  return out;
}

Status CheckKnownFlags(const Flags& flags, const std::set<std::string>& known) {
  for (const auto& n : flags.Names()) {
    if (!known.count(n)) return Status::InvalidArgument("unknown flag --" + n);
  }
  return Status::OK();
}

}  // namespace rocksdr::examples
