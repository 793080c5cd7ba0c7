// Role names; see rocksdr/role.h.
#include "rocksdr/role.h"

#include <string>

namespace rocksdr {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kDisabled: return "disabled";
    case Role::kPrimary: return "primary";
    case Role::kSecondary: return "secondary";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view text) {
  if (text == "disabled") return Role::kDisabled;
  if (text == "primary") return Role::kPrimary;
  if (text == "secondary") return Role::kSecondary;
  return Status::InvalidArgument("unknown role '" + std::string(text.substr(0, 32)) +
                                 "': expected one of disabled, primary, secondary");
}

}  // namespace rocksdr
