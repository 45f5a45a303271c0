#include "polc/support/netns_guard.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace polc {

bool netnsExists(const std::string& name) {
  struct stat info {};
  return !name.empty() && name.find('/') == std::string::npos &&
         ::stat((std::string(kNetnsDir) + "/" + name).c_str(), &info) == 0;
}

Expected<NetnsGuard> NetnsGuard::enter(const std::string& name) {
  if (name.empty()) return NetnsGuard(UniqueFd{});
  if (name.find('/') != std::string::npos || name == "." || name == "..")
    return Error{"invalid network namespace name \"" + name + "\""};
  // thread-self: setns() changes only the calling thread's namespace.
  UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid())
    return Error{std::string("cannot open the current network namespace: ") + std::strerror(errno)};
  auto path = std::string(kNetnsDir) + "/" + name;
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid())
    return Error{"network namespace " + name + " (" + path + "): " + std::strerror(errno)};
  if (::setns(target.get(), CLONE_NEWNET) != 0)
    return Error{"cannot enter network namespace " + name + ": " + std::strerror(errno)};
  return NetnsGuard(std::move(original));
}

NetnsGuard::~NetnsGuard() {
  // Returning to the original namespace cannot reasonably fail for a thread
  // that was in it moments ago; there is nobody to report to from here.
  if (original_.valid()) (void)::setns(original_.get(), CLONE_NEWNET);
}

} // namespace polc
