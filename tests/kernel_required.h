// What a kernel test does on a machine that cannot run it: skips, saying
// why, unless POLC_REQUIRE_KERNEL=1 (CI sets it), which makes it fail, so
// that a test never passes without having run.
#pragma once

#include <cstdlib>
#include <string_view>

namespace polc::testing {

inline bool kernelRequired() {
  const char* value = std::getenv("POLC_REQUIRE_KERNEL");
  return value != nullptr && std::string_view(value) == "1";
}

} // namespace polc::testing

// In a gtest test or SetUp: `missing` is an optional reason the kernel
// cannot run the test (none: the test goes on).
#define POLC_SKIP_UNLESS_KERNEL(missing)                                                           \
  do {                                                                                             \
    if (auto reason_ = (missing)) {                                                                \
      if (::polc::testing::kernelRequired())                                                       \
        GTEST_FAIL() << "POLC_REQUIRE_KERNEL=1 but " << *reason_;                                  \
      GTEST_SKIP() << *reason_;                                                                    \
    }                                                                                              \
  } while (0)
