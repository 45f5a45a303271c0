// writeFile: all or nothing. A write that fails at any step (here: a file
// size limit, which fails write() as a full disk does, without root or a
// mount) reports why and leaves the old file and no temporary behind.
#include "polc/support/files.h"

#include "temp_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace {

namespace fs = std::filesystem;

class WriteFileTest : public ::testing::Test {
protected:
  // Every entry of the directory but the ones named.
  std::vector<std::string> debris(const std::vector<std::string>& expected) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      auto name = entry.path().filename().string();
      if (std::find(expected.begin(), expected.end(), name) == expected.end())
        names.push_back(name);
    }
    return names;
  }

  polc::testing::TempDir scratch_{"write-file-test"};
  const fs::path& dir_ = scratch_.path();
};

// The limit on the size of files this process writes, lowered for a scope.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previousHandler_ = std::signal(SIGXFSZ, SIG_IGN); // write() fails with EFBIG instead
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previousHandler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

private:
  rlimit saved_{};
  void (*previousHandler_)(int) = SIG_DFL;
};

TEST_F(WriteFileTest, ReplacesTheFileAndLeavesNoTemporary) {
  auto file = dir_ / "state.json";
  ASSERT_TRUE(polc::writeFile(file, "old\n"));
  ASSERT_TRUE(polc::writeFile(file, "new\n"));
  EXPECT_EQ(polc::readFile(file).value(), "new\n");
  EXPECT_TRUE(debris({"state.json"}).empty());
  ASSERT_TRUE(polc::writeFile(dir_ / "sub/dir/out.json", "made\n", polc::FileSync::Unsynced));
  EXPECT_EQ(polc::readFile(dir_ / "sub/dir/out.json").value(), "made\n");
}

TEST_F(WriteFileTest, FailedWriteKeepsTheOldFileAndSaysWhy) {
  auto file = dir_ / "state.json";
  ASSERT_TRUE(polc::writeFile(file, "old\n"));
  polc::Status written = polc::okStatus();
  {
    FileSizeLimit limit(1024);
    written = polc::writeFile(file, std::string(4000, 'x'));
  }
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("cannot write " + file.string()), std::string::npos)
      << written.error();
  EXPECT_NE(written.error().find("File too large"), std::string::npos) << written.error();
  EXPECT_EQ(polc::readFile(file).value(), "old\n");
  EXPECT_TRUE(debris({"state.json"}).empty());
}

TEST_F(WriteFileTest, FailedFirstWriteLeavesNothing) {
  polc::Status written = polc::okStatus();
  {
    FileSizeLimit limit(10);
    written = polc::writeFile(dir_ / "node.pending", std::string(4000, 'x'));
  }
  ASSERT_FALSE(written);
  EXPECT_TRUE(debris({}).empty());
}

TEST_F(WriteFileTest, FileThatCannotBeRenamedIntoPlaceLeavesNoTemporary) {
  fs::create_directories(dir_ / "node.json"); // a directory where the file goes
  auto written = polc::writeFile(dir_ / "node.json", "{}\n");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("renaming"), std::string::npos) << written.error();
  EXPECT_TRUE(debris({"node.json"}).empty());
  EXPECT_TRUE(fs::is_directory(dir_ / "node.json"));
}

TEST_F(WriteFileTest, DirectoryThatCannotBeMadeIsAnError) {
  ASSERT_TRUE(polc::writeFile(dir_ / "plain", "a file\n"));
  auto written = polc::writeFile(dir_ / "plain/below.json", "{}\n");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("cannot create " + (dir_ / "plain").string()), std::string::npos)
      << written.error();
}

} // namespace
