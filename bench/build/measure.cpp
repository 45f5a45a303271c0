// Runs a command and prints its wall time and peak memory on one line:
//   <wall seconds> <max RSS KiB> <exit status>
// The peak is wait4's ru_maxrss: the largest resident set of the command
// itself or of any child it waited for (polc, or one of its clang runs).
//
//   measure [-o FILE] -- COMMAND [ARG...]
// The command's stdout and stderr pass through; the line goes to FILE
// (default: stderr) so that it never mixes with the command's output.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  std::string resultFile;
  int first = 1;
  if (first + 1 < argc && std::strcmp(argv[first], "-o") == 0) {
    resultFile = argv[first + 1];
    first += 2;
  }
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    std::cerr << "usage: measure [-o FILE] -- COMMAND [ARG...]\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child < 0) {
    std::perror("measure: fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[first], argv + first);
    std::fprintf(stderr, "measure: cannot run %s: %s\n", argv[first], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(child, &status, 0, &usage) < 0) {
    std::perror("measure: wait4");
    return 2;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  char line[128];
  std::snprintf(line, sizeof line, "%.3f %ld %d\n", seconds, usage.ru_maxrss, exitStatus);
  if (resultFile.empty()) {
    std::cerr << line;
  } else {
    std::ofstream out(resultFile);
    out << line;
    if (!out) {
      std::cerr << "measure: cannot write " << resultFile << "\n";
      return 2;
    }
  }
  return exitStatus;
}
