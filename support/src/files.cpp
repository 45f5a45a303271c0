#include "polc/support/files.h"

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/openat2.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace polc {

namespace {

const char* fileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string mebibytes(size_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

// Reads the open descriptor (and closes it): a regular file of at most
// maxBytes. Opened with O_NONBLOCK, so that a FIFO is refused here instead
// of blocking in open().
Expected<std::string> readOpened(int fd, const std::filesystem::path& path, size_t maxBytes) {
  auto failure = [&] {
    return Error{"cannot read " + path.string() + ": " + std::strerror(errno)};
  };
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return failure();
  if (!S_ISREG(info.st_mode))
    return Error{"cannot read " + path.string() + ": it is " + fileKind(info.st_mode) +
                 ", not a regular file"};
  auto tooLarge = [&] {
    return Error{"cannot read " + path.string() + ": larger than the limit of " +
                 mebibytes(maxBytes) + " for a file polc reads"};
  };
  const auto expected = static_cast<size_t>(info.st_size);
  if (expected > maxBytes) return tooLarge();
  std::string contents;
  // One byte more than the file, so that reading up to its end (a read of 0)
  // needs no growth, and kReadFilePadding beyond that, so that JSON parses
  // in place (json_read.h).
  contents.reserve(expected + 1 + kReadFilePadding);
  contents.resize(expected + 1);
  size_t length = 0;
  for (;;) {
    if (length == contents.size()) {
      if (length > maxBytes) return tooLarge(); // it grew while being read
      contents.resize(std::min(std::max<size_t>(2 * length, 16384), maxBytes + 1));
    }
    ssize_t got = ::read(fd, contents.data() + length, contents.size() - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failure();
    if (got == 0) break;
    length += static_cast<size_t>(got);
  }
  if (length > maxBytes) return tooLarge();
  contents.resize(length);
  return contents;
}

} // namespace

Expected<std::string> readFile(const std::filesystem::path& path, size_t maxBytes) {
  // POSIX reads straight into the string: a load reads thousands of small
  // artifacts, and an ifstream per file cost more than the reading.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{"cannot read " + path.string() + ": " + std::strerror(errno)};
  return readOpened(fd, path, maxBytes);
}

namespace {

int openBeneath(int directoryFd, const std::string& relative, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, directoryFd, relative.c_str(), &how, sizeof how));
}

} // namespace

bool missingBeneath(int directoryFd, const std::string& relative) {
  int fd = openBeneath(directoryFd, relative, O_PATH);
  if (fd >= 0) ::close(fd);
  return fd < 0 && errno == ENOENT;
}

Expected<std::string> readFileBeneath(int directoryFd, const std::string& relative,
                                      const std::filesystem::path& shownAs, size_t maxBytes) {
  int fd = openBeneath(directoryFd, relative, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EXDEV)
      return Error{"cannot read " + shownAs.string() +
                   ": its path leads outside the directory (through \"..\", a symlink or an "
                   "absolute path)"};
    return Error{"cannot read " + shownAs.string() + ": " + std::strerror(errno)};
  }
  return readOpened(fd, shownAs, maxBytes);
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
