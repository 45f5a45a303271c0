// tc clsact hooks through libbpf, in the calling thread's network namespace.
#pragma once

#include "polc/maps/libbpf.h"
#include "polc/support/expected.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace polc::runtime {

inline constexpr const char* kHookTcIngress = "tc-ingress";
inline constexpr const char* kHookTcEgress = "tc-egress";

Expected<int> interfaceIndex(const std::string& interface); // current netns
// The indexes of those of the named interfaces that exist in the current netns.
std::map<std::string, int> interfaceIndexes(const std::set<std::string>& names);
// Every interface of the current netns, by name.
Expected<std::map<std::string, int>> allInterfaces();

// Creates the clsact qdisc; true when it was created now, false when it
// already existed.
Expected<bool> ensureClsact(int ifindex, const std::string& interface, maps::LibbpfLogCapture& log);
Status destroyClsact(int ifindex, const std::string& interface, maps::LibbpfLogCapture& log);

// Attaches (or replaces, in place) polc's filter on the hook; returns the
// attached program's id.
Expected<uint32_t> attachFilter(int ifindex, const std::string& interface, const std::string& hook,
                                int programFd, maps::LibbpfLogCapture& log);
// false when there was no polc filter to detach.
Expected<bool> detachFilter(int ifindex, const std::string& interface, const std::string& hook,
                            maps::LibbpfLogCapture& log);
// The program id of polc's filter on the hook, if one is attached.
Expected<std::optional<uint32_t>> queryFilter(int ifindex, const std::string& hook,
                                              maps::LibbpfLogCapture& log);

} // namespace polc::runtime
