// The names the kernel accepts for a network interface, checked where a
// name enters polc: the topology, and the manifest a load trusts no further.
#pragma once

#include <cstddef>
#include <string_view>

namespace polc {

inline constexpr size_t kMaxInterfaceName = 15; // IFNAMSIZ - 1

// 1-15 printable ASCII characters, not "." or "..", without '/', ':' or
// white space (the kernel's dev_valid_name, and ':' for aliases).
bool isInterfaceName(std::string_view name);

} // namespace polc
