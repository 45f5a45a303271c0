#include "polc/support/expected.h"

#include <gtest/gtest.h>

namespace polc {
namespace {

TEST(Error, TextIsTheMessageThenLibbpfsLogIndented) {
  EXPECT_EQ(errorText(Error{"cannot read x"}), "cannot read x");
  Error error{"endpoint web-1: map polc_policy_in: Operation not permitted", 1,
              "map polc_policy_in of endpoint web-1",
              "libbpf: map 'polc_policy_in': failed to create\nlibbpf: permission denied"};
  EXPECT_EQ(errorText(error), "endpoint web-1: map polc_policy_in: Operation not permitted\n"
                              "  libbpf: map 'polc_policy_in': failed to create\n"
                              "  libbpf: permission denied");
}

TEST(Error, ContextKeepsTheFields) {
  Error error{"attaching: Device or resource busy", 16, "interface veth1", "libbpf: busy"};
  auto wrapped = error.withContext("endpoint web-1: ");
  EXPECT_EQ(wrapped.message, "endpoint web-1: attaching: Device or resource busy");
  EXPECT_EQ(wrapped.errnum, 16);
  EXPECT_EQ(wrapped.object, "interface veth1");
  EXPECT_EQ(wrapped.libbpfLog, "libbpf: busy");
  Expected<int> failed = wrapped;
  EXPECT_EQ(failed.error(), wrapped.message);
  EXPECT_EQ(failed.failure().object, "interface veth1");
}

} // namespace
} // namespace polc
