#include "polc/support/internal_error.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

namespace polc {

namespace {
std::atomic<bool> abortOnInternalError = false;
} // namespace

std::string internalErrorText(std::string_view what) {
  return "internal error: " + std::string(what) + " (a bug in polc, please report)";
}

void recordInternalError(std::string_view what) {
  const char* log = std::getenv("POLC_INTERNAL_ERROR_LOG");
  if (!log || !*log) return;
  // O_APPEND: tests running in parallel each add whole lines.
  int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string line = internalErrorText(what) + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

void setInternalErrorsAbort(bool abort) {
  abortOnInternalError = abort;
}

void internalError(const std::string& message) {
  recordInternalError(message);
  if (abortOnInternalError) {
    std::cerr << "polc: " << internalErrorText(message) << "\n";
    std::abort();
  }
  throw InternalError(message);
}

} // namespace polc
