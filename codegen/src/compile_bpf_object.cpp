// Runs clang -target bpf on generated C. clang is started directly (no
// shell) inside workDir with relative paths, and told to record "." as the
// compilation directory, so that the object's bytes do not depend on where
// workDir lives.
#include "polc/codegen/endpoint_program.h"
#include "polc/support/unique_fd.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef POLC_CLANG_PATH
#define POLC_CLANG_PATH ""
#endif

namespace polc::codegen {
namespace {

namespace fs = std::filesystem;

std::string errnoText(int error) {
  return std::generic_category().message(error);
}

bool isExecutable(const fs::path& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// The configure-time clang if it is still there, else the first on PATH.
// Resolved before fork so that the child only has to execv.
Expected<std::string> findClang() {
  std::string_view configured = POLC_CLANG_PATH;
  if (!configured.empty() && isExecutable(configured)) return std::string(configured);
  const char* pathVariable = std::getenv("PATH");
  std::string_view remaining = pathVariable ? pathVariable : "";
  while (!remaining.empty()) {
    size_t colon = remaining.find(':');
    std::string_view dir = remaining.substr(0, colon);
    remaining = colon == std::string_view::npos ? std::string_view{} : remaining.substr(colon + 1);
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / "clang";
    if (isExecutable(candidate)) return candidate.string();
  }
  return Error{"clang not found (configured path '" + std::string(configured) +
               "' is missing and there is no clang on PATH)"};
}

// Debian's multiarch include directory holds asm/types.h, which -target bpf
// cannot find on its own.
std::string multiarchIncludeDir() {
  struct utsname machine {};
  if (::uname(&machine) != 0) return {};
  std::string_view arch = machine.machine;
  std::string triple;
  if (arch == "armv7l" || arch == "armv6l")
    triple = "arm-linux-gnueabihf";
  else if (arch == "i686" || arch == "i586" || arch == "i386")
    triple = "i386-linux-gnu";
  else if (arch == "ppc64le")
    triple = "powerpc64le-linux-gnu";
  else
    triple = std::string(arch) + "-linux-gnu";
  fs::path dir = fs::path("/usr/include") / triple;
  std::error_code ignored;
  return fs::is_directory(dir, ignored) ? dir.string() : std::string{};
}

// libbpf's headers for BPF programs (bpf/bpf_helpers.h, ...) as installed
// with polc: <prefix>/share/polc/include beside <prefix>/bin/polc, so that an
// installed polc compiles against the libbpf it was built with and needs no
// libbpf-dev. Empty when absent (a build tree): clang then finds the system's
// in /usr/include.
std::string findPackagedIncludeDir() {
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  const fs::path dir =
      (executable.parent_path().parent_path() / "share/polc/include").lexically_normal();
  return fs::is_regular_file(dir / "bpf/bpf_helpers.h", error) ? dir.string() : std::string{};
}

Status checkRelative(std::string_view what, const std::string& path) {
  if (path.empty()) return Error{std::string(what) + " is empty"};
  if (fs::path(path).is_absolute()) {
    return Error{std::string(what) + " '" + path + "' must be relative to the work directory"};
  }
  return okStatus();
}

struct ProcessResult {
  int exitCode = 0; // meaningful when signal == 0
  int signal = 0;
  std::string output; // stdout and stderr, interleaved
};

// fork + execv with stdout/stderr captured through one pipe.
Expected<ProcessResult> runProcess(const std::vector<std::string>& argv, const fs::path& workDir) {
  std::vector<char*> argPointers;
  for (const std::string& arg : argv) argPointers.push_back(const_cast<char*>(arg.c_str()));
  argPointers.push_back(nullptr);
  const std::string dir = workDir.string();

  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return Error{"pipe2: " + errnoText(errno)};
  UniqueFd readEnd(pipeFds[0]);
  UniqueFd writeEnd(pipeFds[1]);

  pid_t child = ::fork();
  if (child < 0) return Error{"fork: " + errnoText(errno)};
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    if (::dup2(writeEnd.get(), STDOUT_FILENO) < 0 || ::dup2(writeEnd.get(), STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    if (::chdir(dir.c_str()) != 0) {
      static const char message[] = "polc: cannot enter the work directory\n";
      [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
      ::_exit(127);
    }
    ::execv(argPointers[0], argPointers.data());
    static const char message[] = "polc: cannot execute clang\n";
    [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    ::_exit(127);
  }
  writeEnd.reset();

  ProcessResult result;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(readEnd.get(), buffer, sizeof(buffer));
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return Error{"waitpid: " + errnoText(errno)};
  }
  if (WIFEXITED(status))
    result.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);
  return result;
}

} // namespace

Expected<std::string> clangPath() {
  return findClang();
}

Expected<std::string> clangVersion(const std::string& clang) {
  auto run = runProcess({clang, "--version"}, fs::current_path());
  if (!run) return Error{"running " + clang + " --version: " + run.error()};
  if (run->signal != 0 || run->exitCode != 0)
    return Error{clang + " --version failed:\n" + run->output};
  return run->output;
}

const std::string& packagedIncludeDir() {
  static const std::string dir = findPackagedIncludeDir();
  return dir;
}

std::vector<std::string> bpfCompileFlags(const std::vector<std::string>& includeDirs) {
  std::vector<std::string> flags{"-target", "bpf", "-O2", "-g", "-Wall",
                                 // DW_AT_comp_dir and every path relative to it: "."
                                 "-fdebug-compilation-dir=."};
  for (const std::string& dir : includeDirs) flags.push_back("-I" + dir);
  if (const std::string& packaged = packagedIncludeDir(); !packaged.empty()) {
    flags.push_back("-I" + packaged);
  }
  if (std::string multiarch = multiarchIncludeDir(); !multiarch.empty()) {
    flags.push_back("-I" + multiarch);
  }
  return flags;
}

Status compileBpfObject(const CompileRequest& request) {
  if (auto status = checkRelative("source", request.source); !status) return status;
  if (auto status = checkRelative("object", request.object); !status) return status;
  for (const std::string& dir : request.includeDirs) {
    if (auto status = checkRelative("include directory", dir); !status) return status;
  }
  std::error_code error;
  const fs::path workDir = fs::absolute(request.workDir, error);
  if (error || !fs::is_directory(workDir, error)) {
    return Error{"work directory '" + request.workDir.string() + "' does not exist"};
  }
  const fs::path objectDir = (workDir / request.object).parent_path();
  fs::create_directories(objectDir, error);
  if (error) return Error{"cannot create '" + objectDir.string() + "': " + error.message()};

  auto clang = findClang();
  if (!clang) return Error{clang.error()};

  std::vector<std::string> argv{*clang};
  auto flags = bpfCompileFlags(request.includeDirs);
  argv.insert(argv.end(), flags.begin(), flags.end());
  // Debug info and __FILE__ alike: the sources are given relative, this
  // catches anything clang resolves against the work directory.
  argv.push_back("-ffile-prefix-map=" + workDir.string() + "=.");
  argv.insert(argv.end(), {"-c", request.source, "-o", request.object});

  auto run = runProcess(argv, workDir);
  if (!run) return Error{"running clang for " + request.source + ": " + run.error()};
  if (run->signal != 0) {
    return Error{"clang was killed by signal " + std::to_string(run->signal) + " compiling " +
                 request.source + ":\n" + run->output};
  }
  if (run->exitCode != 0) {
    return Error{"clang failed (exit " + std::to_string(run->exitCode) + ") compiling " +
                 request.source + " in " + workDir.string() + ":\n" + run->output};
  }
  return okStatus();
}

} // namespace polc::codegen
