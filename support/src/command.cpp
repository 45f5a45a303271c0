#include "polc/support/command.h"

#include "polc/support/unique_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace polc {

std::string describeCommand(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    if (!text.empty()) text += ' ';
    text += arg;
  }
  return text;
}

namespace {

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Reads both pipes until the child closes them (avoids a full-pipe deadlock).
void drain(int outFd, int errFd, std::string& out, std::string& err) {
  pollfd fds[2] = {{outFd, POLLIN, 0}, {errFd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = 2;
  char buffer[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1; // poll ignores negative descriptors
        --open;
      }
    }
  }
}

} // namespace

Expected<CommandResult> runCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error{"empty command"};
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) return Error{errnoText("pipe")};
  UniqueFd outRead(outPipe[0]), outWrite(outPipe[1]);
  if (::pipe2(errPipe, O_CLOEXEC) != 0) return Error{errnoText("pipe")};
  UniqueFd errRead(errPipe[0]), errWrite(errPipe[1]);

  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return Error{errnoText("fork for " + argv[0])};
  if (pid == 0) {
    int devNull = ::open("/dev/null", O_RDONLY);
    if (devNull >= 0) ::dup2(devNull, STDIN_FILENO);
    ::dup2(outWrite.get(), STDOUT_FILENO);
    ::dup2(errWrite.get(), STDERR_FILENO);
    ::execvp(args[0], args.data());
    static const char message[] = "exec failed\n";
    (void)!::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(127);
  }
  outWrite.reset();
  errWrite.reset();
  CommandResult result;
  drain(outRead.get(), errRead.get(), result.out, result.err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error{errnoText("waitpid for " + argv[0])};
  }
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exitCode == 127 && result.err.starts_with("exec failed"))
    return Error{"cannot run " + argv[0] + " (not installed?)"};
  return result;
}

Status runChecked(const std::vector<std::string>& argv) {
  auto result = runCommand(argv);
  if (!result) return Error{result.error()};
  if (result->exitCode != 0) {
    std::string err = result->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Error{"`" + describeCommand(argv) + "` failed (exit " +
                 std::to_string(result->exitCode) + ")" + (err.empty() ? "" : ": " + err)};
  }
  return okStatus();
}

} // namespace polc
