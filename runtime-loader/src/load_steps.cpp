#include "load_steps.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace polc::runtime {

Status reachStep(std::string_view step) {
  if (const char* pause = std::getenv("POLC_LOADER_PAUSE_AT"); pause && step == pause) {
    std::fprintf(stderr, "polc: load paused at step %s (pid %d, POLC_LOADER_PAUSE_AT)\n", pause,
                 static_cast<int>(::getpid()));
    std::fflush(stderr);
    std::raise(SIGSTOP);
  }
  if (const char* fail = std::getenv("POLC_LOADER_FAIL_AT"); fail && step == fail)
    return Error{"injected failure at step " + std::string(step) + " (POLC_LOADER_FAIL_AT)"};
  return okStatus();
}

} // namespace polc::runtime
