// Enters a named network namespace for the calling thread and returns to the
// original one when the guard goes out of scope. Only the network namespace
// changes: the mount namespace (and so every bpffs pin) stays the caller's.
#pragma once

#include "polc/support/expected.h"
#include "polc/support/unique_fd.h"

#include <string>

namespace polc {

inline constexpr const char* kNetnsDir = "/run/netns";

bool netnsExists(const std::string& name);

class NetnsGuard {
public:
  // An empty name is the caller's own namespace: the guard does nothing.
  static Expected<NetnsGuard> enter(const std::string& name);

  NetnsGuard(NetnsGuard&&) noexcept = default;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  ~NetnsGuard();

private:
  explicit NetnsGuard(UniqueFd original) : original_(std::move(original)) {}
  UniqueFd original_; // invalid when nothing was entered
};

} // namespace polc
