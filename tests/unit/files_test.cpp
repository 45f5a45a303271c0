// polc::readFile takes regular files of bounded size only: a FIFO, a device
// or a directory is refused with what it was, a file over the limit with the
// limit, and none of them blocks or grows memory (docs/cli.md, "Limits").
#include "polc/support/files.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace polc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ReadFile : public testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("polc-files-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// The error of a read that must fail, or a test failure.
std::string failure(const Expected<std::string>& read) {
  if (read) return "(read " + std::to_string(read->size()) + " bytes instead of failing)";
  return read.error();
}

TEST_F(ReadFile, RefusesAFifoWithoutBlocking) {
  auto fifo = dir_ / "include.pol";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A read that blocks in open() would hang the test: a writer that shows
  // up after a while unblocks it, so a regression fails instead.
  std::atomic<bool> done = false;
  std::thread unblocker([&] {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    while (!done) {
      // Succeeds only while a reader has the FIFO open.
      int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) ::close(fd);
      std::this_thread::sleep_for(10ms);
    }
  });
  auto started = std::chrono::steady_clock::now();
  auto read = readFile(fifo);
  auto took = std::chrono::steady_clock::now() - started;
  done = true;
  unblocker.join();
  EXPECT_LT(took, 2s) << "readFile blocked on a FIFO";
  EXPECT_EQ(failure(read), "cannot read " + fifo.string() + ": it is a FIFO, not a regular file");
}

TEST_F(ReadFile, RefusesACharacterDeviceThatNeverEnds) {
  EXPECT_EQ(failure(readFile("/dev/zero")),
            "cannot read /dev/zero: it is a character device, not a regular file");
  EXPECT_EQ(failure(readFile("/dev/urandom")),
            "cannot read /dev/urandom: it is a character device, not a regular file");
}

TEST_F(ReadFile, RefusesADirectory) {
  EXPECT_EQ(failure(readFile(dir_)),
            "cannot read " + dir_.string() + ": it is a directory, not a regular file");
}

TEST_F(ReadFile, RefusesAFileOverTheLimit) {
  auto file = dir_ / "big.pol";
  const size_t limit = size_t{2} << 20;
  ASSERT_TRUE(writeFile(file, std::string(limit, 'x')));
  auto atLimit = readFile(file, limit);
  ASSERT_TRUE(atLimit) << atLimit.error();
  EXPECT_EQ(atLimit->size(), limit);
  ASSERT_TRUE(writeFile(file, std::string(limit + 1, 'x')));
  EXPECT_EQ(failure(readFile(file, limit)),
            "cannot read " + file.string() +
                ": larger than the limit of 2 MiB for a file polc reads");
}

TEST_F(ReadFile, RefusesASparseFileOverTheDefaultLimitWithoutReadingIt) {
  auto file = dir_ / "sparse.yaml";
  ASSERT_TRUE(writeFile(file, ""));
  fs::resize_file(file, kMaxReadBytes + 1); // a hole: no disk, no memory
  EXPECT_EQ(failure(readFile(file)),
            "cannot read " + file.string() +
                ": larger than the limit of 128 MiB for a file polc reads");
}

TEST_F(ReadFile, ReadsBeneathADirectoryOnlyRegularFiles) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  int directory = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(directory, 0);
  auto read = readFileBeneath(directory, "fifo", "out/fifo");
  ::close(directory);
  EXPECT_EQ(failure(read), "cannot read out/fifo: it is a FIFO, not a regular file");
}

} // namespace
} // namespace polc
