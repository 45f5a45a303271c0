#include "polc/support/files.h"

#include <algorithm>
#include <atomic>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
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
  // One byte more than the file, so that one read of the whole file comes
  // back short (its end: below), and kReadFilePadding beyond that, so that
  // JSON parses in place (json_read.h).
  contents.reserve(expected + 1 + kReadFilePadding);
  contents.resize(expected + 1);
  size_t length = 0;
  for (;;) {
    if (length == contents.size()) {
      if (length > maxBytes) return tooLarge(); // it grew while being read
      contents.resize(std::min(std::max<size_t>(2 * length, 16384), maxBytes + 1));
    }
    const size_t asked = contents.size() - length;
    ssize_t got = ::read(fd, contents.data() + length, asked);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failure();
    length += static_cast<size_t>(got);
    // A regular file reads short only at its end: no second read to see 0
    // (a load reads thousands of files; one that grows meanwhile is cut
    // here, which its digest, or the parser, then reports).
    if (static_cast<size_t>(got) < asked) break;
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

Status writeFile(const std::filesystem::path& path, std::string_view contents, FileSync sync) {
  return writeFile(path, {contents}, sync);
}

Status writeFile(const std::filesystem::path& path, std::initializer_list<std::string_view> pieces,
                 FileSync sync) {
  std::error_code ec;
  const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (path.has_parent_path()) std::filesystem::create_directories(directory, ec);
  if (ec) return Error{"cannot create " + directory.string() + ": " + ec.message()};
  // Unique per call: threads of one process write files side by side.
  static std::atomic<unsigned> calls{0};
  auto temporary = path;
  temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(calls++);
  auto failure = [&](const std::string& step, int error) {
    return Error{"cannot write " + path.string() + ": " + step + ": " + std::strerror(error)};
  };
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) return failure("creating " + temporary.string(), errno);
  // Every step is checked, close too: a full disk may only show there (NFS,
  // delayed allocation). A failure removes the temporary, so that the file
  // keeps its old contents and no debris is left.
  auto abandon = [&](const std::string& step) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    return failure(step, error);
  };
  for (auto contents : pieces)
    for (size_t written = 0; written < contents.size();) {
      ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return abandon("writing " + temporary.string());
      written += static_cast<size_t>(n);
    }
  if (sync == FileSync::Durable && ::fsync(fd) != 0)
    return abandon("syncing " + temporary.string());
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return abandon("closing " + temporary.string());
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return abandon("renaming " + temporary.string());
  if (sync == FileSync::Durable) {
    // The rename lasts once the directory does.
    int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return failure("opening its directory to sync it", errno);
    const bool synced = ::fsync(dir) == 0 || errno == EINVAL; // EINVAL: no directory sync here
    const int error = errno;
    ::close(dir);
    if (!synced) return failure("syncing its directory", error);
  }
  return okStatus();
}

} // namespace polc
