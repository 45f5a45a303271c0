// The build's progress line, with a fake clock and a string for the terminal.
#include "polc/driver/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace polc::driver {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  BuildProgress::Clock clock() {
    return [this] { return now; };
  }
};

TEST(BuildProgress, LineText) {
  EXPECT_EQ(BuildProgress::line(3, 12), "compiling objects 3/12");
}

TEST(BuildProgress, SilentDuringTheFirstSecond) {
  FakeClock time;
  std::ostringstream out;
  BuildProgress progress(true, out, time.clock());
  progress.update(1, 4);
  time.now += 999ms;
  progress.update(2, 4);
  progress.finish();
  EXPECT_EQ(out.str(), "");
}

TEST(BuildProgress, ShownAfterASecondThenErased) {
  FakeClock time;
  std::ostringstream out;
  BuildProgress progress(true, out, time.clock());
  time.now += 1s;
  progress.update(2, 40);
  progress.update(2, 40); // unchanged: not rewritten
  time.now += 500ms;
  progress.update(12, 40);
  progress.finish();
  progress.update(13, 40); // after the end: nothing
  EXPECT_EQ(out.str(), "\rcompiling objects 2/40\rcompiling objects 12/40\r\033[K");
}

TEST(BuildProgress, SilentWhenNotATerminal) {
  FakeClock time;
  std::ostringstream out;
  {
    BuildProgress progress(false, out, time.clock());
    time.now += 10s;
    progress.update(5, 40);
  }
  EXPECT_EQ(out.str(), "");
}

TEST(BuildProgress, DestructorErasesTheLine) {
  FakeClock time;
  std::ostringstream out;
  {
    BuildProgress progress(true, out, time.clock());
    time.now += 2s;
    progress.update(1, 2);
  }
  EXPECT_EQ(out.str(), "\rcompiling objects 1/2\r\033[K");
}

} // namespace
} // namespace polc::driver
