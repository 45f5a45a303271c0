// The progress line of a long build, for a person at a terminal: shown only
// when enabled (stderr is a TTY) and once the build has run for a second,
// rewritten in place, and erased at the end. Silent otherwise, so that logs
// and pipes see nothing of it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace polc::driver {

class BuildProgress {
public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::milliseconds kDelay{1000};

  BuildProgress(bool enabled, std::ostream& out, Clock clock = std::chrono::steady_clock::now);
  ~BuildProgress() { finish(); }
  BuildProgress(const BuildProgress&) = delete;
  BuildProgress& operator=(const BuildProgress&) = delete;

  // "compiling objects 3/12", if due; repeats of the same line are not rewritten.
  void update(size_t done, size_t total);
  // Erases the line if one was shown; further updates show nothing.
  void finish();

  static std::string line(size_t done, size_t total);

private:
  bool enabled_;
  std::ostream& out_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_;
  std::string shown_;
  bool finished_ = false;
};

} // namespace polc::driver
