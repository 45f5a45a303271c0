// The lock that serializes loads and unloads: an exclusive flock on
// <stateDir>/lock. Every load and unload of a state dir changes its state
// files and the pins they record, so two at once would undo each other.
// The holder writes its pid into the file, so that a waiter that gives up
// can say who holds it. The kernel drops the lock when the holder's file
// descriptor closes, also when the holder crashes: no stale lock.
#pragma once

#include "polc/support/expected.h"
#include "polc/support/unique_fd.h"

#include <chrono>
#include <filesystem>

namespace polc::runtime {

class StateLock {
public:
  // Waits up to timeout for the lock (zero: one try).
  static Expected<StateLock> acquire(const std::filesystem::path& stateDir,
                                     std::chrono::milliseconds timeout);

  StateLock(StateLock&&) noexcept = default;
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;
  ~StateLock();

  static std::filesystem::path lockFile(const std::filesystem::path& stateDir);

private:
  explicit StateLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

} // namespace polc::runtime
