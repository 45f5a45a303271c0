// Shared helpers of the loader and lab tests: kernel capability checks,
// test-unique names, and tiny socket probes run inside a lab's namespaces.
#pragma once

#include "kernel_required.h"

#include "polc/support/netns_guard.h"
#include "polc/support/unique_fd.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace polc::testing {

// Why kernel tests cannot run here (not root, no BPF, no netns), if so.
std::optional<std::string> missingKernelSupport();

// "polc-t" + 6 random hex digits: every kernel object a test creates
// carries it, so nothing can clash with the machine or another run.
std::string randomTestPrefix();

// Socket probes. The socket is created inside the namespace (a socket stays
// in the namespace it was created in), everything else runs here.
// Listens in toNs on port (any address), connects from fromNs.
bool tcpConnects(const std::string& fromNs, const std::string& toNs, const std::string& toAddress,
                 uint16_t port, int timeoutMs);
// ICMP echo from fromNs to an IPv4 address; true when the reply arrives.
bool icmpEchoReplies(const std::string& fromNs, const std::string& toAddress, int timeoutMs);

} // namespace polc::testing

// Skips the test (or fails it, under POLC_REQUIRE_KERNEL=1) when the
// machine cannot run kernel tests. Use in SetUp or at the top of a test.
#define POLC_REQUIRE_KERNEL_SUPPORT()                                                              \
  POLC_SKIP_UNLESS_KERNEL(::polc::testing::missingKernelSupport())
