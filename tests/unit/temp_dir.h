// A scratch directory for a unit test: unique per instance (several test
// binaries and runs may share /tmp), removed with all it holds at the end.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace polc::testing {

class TempDir {
public:
  // <temp>/polc-<name>-<random>, created empty.
  explicit TempDir(const std::string& name) {
    std::random_device random;
    path_ =
        std::filesystem::temp_directory_path() / ("polc-" + name + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace polc::testing
