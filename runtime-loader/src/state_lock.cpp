#include "state_lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>

namespace polc::runtime {

namespace fs = std::filesystem;

namespace {

constexpr auto kRetryInterval = std::chrono::milliseconds(50);

// The pid the holder wrote, or "" if it wrote none (yet).
std::string recordedHolder(int fd) {
  char text[32] = {};
  ssize_t length = ::pread(fd, text, sizeof text - 1, 0);
  if (length <= 0) return "";
  std::string pid(text, static_cast<size_t>(length));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

std::string seconds(std::chrono::milliseconds duration) {
  auto tenths = std::lround(duration.count() / 100.0);
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") +
         " s";
}

} // namespace

fs::path StateLock::lockFile(const fs::path& stateDir) {
  return stateDir / "lock";
}

Expected<StateLock> StateLock::acquire(const fs::path& stateDir,
                                       std::chrono::milliseconds timeout) {
  std::error_code ec;
  fs::create_directories(stateDir, ec);
  if (ec) return Error{"cannot create state directory " + stateDir.string() + ": " + ec.message()};
  const auto path = lockFile(stateDir);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid())
    return Error{"cannot open lock file " + path.string() + ": " + std::strerror(errno)};

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      return Error{"cannot lock " + path.string() + ": " + std::strerror(errno)};
    if (std::chrono::steady_clock::now() >= deadline) {
      auto holder = recordedHolder(fd.get());
      return Error{"another polc load or unload holds " + path.string() +
                   (holder.empty() ? "" : " (pid " + holder + ")") + "; gave up after " +
                   seconds(timeout) + " (--lock-timeout)"};
    }
    std::this_thread::sleep_for(kRetryInterval);
  }
  // Ours now: say who holds it.
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Error{"cannot record the holder in " + path.string() + ": " + std::strerror(errno)};
  return StateLock(std::move(fd));
}

StateLock::~StateLock() {
  // Still holding the lock: clear the pid so that nobody names a process
  // that is done. Closing the descriptor (UniqueFd) releases the lock.
  if (fd_.valid()) (void)::ftruncate(fd_.get(), 0);
}

} // namespace polc::runtime
