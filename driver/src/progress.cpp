#include "polc/driver/progress.h"

namespace polc::driver {

BuildProgress::BuildProgress(bool enabled, std::ostream& out, Clock clock)
    : enabled_(enabled), out_(out), clock_(std::move(clock)), start_(clock_()) {}

std::string BuildProgress::line(size_t done, size_t total) {
  return "compiling objects " + std::to_string(done) + "/" + std::to_string(total);
}

void BuildProgress::update(size_t done, size_t total) {
  if (!enabled_ || finished_ || clock_() - start_ < kDelay) return;
  std::string text = line(done, total);
  if (text == shown_) return;
  out_ << '\r' << text << std::flush;
  shown_ = std::move(text);
}

void BuildProgress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!shown_.empty()) out_ << "\r\033[K" << std::flush; // leave the terminal as it was
}

} // namespace polc::driver
