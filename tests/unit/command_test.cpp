// The command runner: argument vectors reach the program verbatim (no
// shell), and failures carry the command and its stderr.
#include "polc/support/command.h"

#include <gtest/gtest.h>

namespace polc {
namespace {

TEST(CommandRunner, PassesArgumentsVerbatimWithoutAShell) {
  auto result = runCommand({"printf", "%s|", "a b", "$(echo no)", "; rm -rf /nonexistent"});
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->exitCode, 0);
  EXPECT_EQ(result->out, "a b|$(echo no)|; rm -rf /nonexistent|");
}

TEST(CommandRunner, ReportsExitCodeAndStderr) {
  auto status = runChecked({"sh", "-c", "echo broken >&2; exit 3"});
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().find("exit 3"), std::string::npos) << status.error();
  EXPECT_NE(status.error().find("broken"), std::string::npos) << status.error();
}

TEST(CommandRunner, MissingProgramIsAnError) {
  auto result = runCommand({"polc-no-such-program-xyz"});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("polc-no-such-program-xyz"), std::string::npos);
}

TEST(CommandRunner, CapturesLargeOutputOnBothStreams) {
  // More than a pipe buffer on each stream at once must not deadlock.
  auto result = runCommand({"sh", "-c", "head -c 200000 /dev/zero; head -c 200000 /dev/zero >&2"});
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->out.size(), 200000u);
  EXPECT_EQ(result->err.size(), 200000u);
}

} // namespace
} // namespace polc
