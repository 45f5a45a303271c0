// Every policy text of the repository (examples/ and tests/, *.pol and the
// .pol.inc files they include), for tests that compare two ways of reading
// them.
#pragma once

#include "polc/support/files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace polc::testing {

// {path, text} of each, in no particular order.
inline std::vector<std::pair<std::string, std::string>> repositoryPolicies() {
  std::vector<std::pair<std::string, std::string>> policies;
  for (const char* folder : {"examples", "tests"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             std::string(POLC_SOURCE_DIR) + "/" + folder)) {
      auto path = entry.path().string();
      if (!entry.is_regular_file() || path.find(".pol") == std::string::npos) continue;
      auto text = readFile(path);
      EXPECT_TRUE(text) << text.error();
      if (text) policies.emplace_back(path, *text);
    }
  }
  EXPECT_GT(policies.size(), 20u);
  return policies;
}

} // namespace polc::testing
