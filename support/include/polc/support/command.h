// Runs a program with an argument vector (fork + execvp, never a shell, so
// names from a topology cannot inject anything) and captures its output.
#pragma once

#include "polc/support/expected.h"

#include <string>
#include <vector>

namespace polc {

struct CommandResult {
  int exitCode = -1; // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

std::string describeCommand(const std::vector<std::string>& argv);

// Fails only when the program could not be run at all.
Expected<CommandResult> runCommand(const std::vector<std::string>& argv);
// Also fails on a non-zero exit, with the command line and its stderr.
Status runChecked(const std::vector<std::string>& argv);

} // namespace polc
