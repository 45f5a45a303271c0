#include "polc/support/files.h"

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace polc {

Expected<std::string> readFile(const std::filesystem::path& path) {
  // POSIX reads straight into the string: a load reads thousands of small
  // artifacts, and an ifstream per file cost more than the reading.
  auto failure = [&] {
    return Error{"cannot read " + path.string() + ": " + std::strerror(errno)};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure();
  struct stat info {};
  size_t expected = 0;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode))
    expected = static_cast<size_t>(info.st_size);
  std::string contents;
  // One byte more than the file, so that reading up to its end (a read of 0)
  // needs no growth, and kReadFilePadding beyond that, so that JSON parses
  // in place (json_read.h).
  contents.reserve(expected + 1 + kReadFilePadding);
  contents.resize(expected + 1);
  size_t length = 0;
  for (;;) {
    if (length == contents.size()) contents.resize(std::max<size_t>(2 * length, 16384));
    ssize_t got = ::read(fd, contents.data() + length, contents.size() - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      auto error = failure();
      ::close(fd);
      return error;
    }
    if (got == 0) break;
    length += static_cast<size_t>(got);
  }
  ::close(fd);
  contents.resize(length);
  return contents;
}

Status writeFile(const std::filesystem::path& path, std::string_view contents) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error{"cannot create " + path.parent_path().string() + ": " + ec.message()};
  auto temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot write " + temporary.string() + ": " + std::strerror(errno)};
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) return Error{"cannot write " + temporary.string() + ": " + std::strerror(errno)};
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) return Error{"cannot rename to " + path.string() + ": " + ec.message()};
  return okStatus();
}

} // namespace polc
