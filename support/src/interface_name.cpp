#include "polc/support/interface_name.h"

#include <algorithm>

namespace polc {

bool isInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxInterfaceName || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f && c != '/' && c != ':';
  });
}

} // namespace polc
