#include "tc.h"

#include "polc/loader/loader.h"

#include "polc/support/unique_fd.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace polc::runtime {

namespace {

bpf_tc_hook makeHook(int ifindex, bpf_tc_attach_point point) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = point;
  return hook;
}

bpf_tc_opts polcFilterOptions() {
  bpf_tc_opts options{};
  options.sz = sizeof options;
  options.handle = loader::kTcFilterHandle;
  options.priority = loader::kTcFilterPriority;
  return options;
}

Expected<bpf_tc_attach_point> attachPoint(const std::string& hook) {
  if (hook == kHookTcIngress) return BPF_TC_INGRESS;
  if (hook == kHookTcEgress) return BPF_TC_EGRESS;
  return Error{"unknown hook \"" + hook + "\""};
}

} // namespace

Expected<int> interfaceIndex(const std::string& interface) {
  unsigned index = ::if_nametoindex(interface.c_str());
  if (index == 0) return Error{"interface " + interface + ": " + std::strerror(errno)};
  return static_cast<int>(index);
}

std::map<std::string, int> interfaceIndexes(const std::set<std::string>& names) {
  // One socket for every lookup: listing all interfaces instead (if_nameindex)
  // dumps each one's full attributes and statistics, slow with thousands.
  std::map<std::string, int> indexes;
  UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  for (const auto& name : names) {
    if (name.empty() || name.size() >= IFNAMSIZ) continue;
    if (!socket.valid()) {
      if (auto index = interfaceIndex(name)) indexes[name] = *index;
      continue;
    }
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), name.size());
    if (::ioctl(socket.get(), SIOCGIFINDEX, &request) == 0) indexes[name] = request.ifr_ifindex;
  }
  return indexes;
}

Expected<std::map<std::string, int>> allInterfaces() {
  struct Free {
    void operator()(struct if_nameindex* list) const { ::if_freenameindex(list); }
  };
  std::unique_ptr<struct if_nameindex, Free> list(::if_nameindex());
  if (!list) return Error{std::string("listing the interfaces: ") + std::strerror(errno)};
  std::map<std::string, int> interfaces;
  for (const auto* entry = list.get(); entry->if_index != 0; ++entry)
    interfaces[entry->if_name] = static_cast<int>(entry->if_index);
  return interfaces;
}

Expected<bool> ensureClsact(int ifindex, const std::string& interface,
                            maps::LibbpfLogCapture& log) {
  auto hook = makeHook(ifindex, BPF_TC_INGRESS);
  int result = bpf_tc_hook_create(&hook);
  if (result == 0) return true;
  if (result == -EEXIST) {
    (void)log.take();
    return false;
  }
  return maps::libbpfFailure("creating the clsact qdisc on " + interface, result, log,
                             "interface " + interface);
}

Status destroyClsact(int ifindex, const std::string& interface, maps::LibbpfLogCapture& log) {
  // Both attach points together name the clsact qdisc itself.
  auto hook = makeHook(ifindex, static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  int result = bpf_tc_hook_destroy(&hook);
  if (result == 0 || result == -ENOENT || result == -EINVAL) {
    (void)log.take(); // the kernel's complaint about a missing qdisc is expected here
    return okStatus();
  }
  return maps::libbpfFailure("removing the clsact qdisc on " + interface, result, log,
                             "interface " + interface);
}

Expected<uint32_t> attachFilter(int ifindex, const std::string& interface,
                                const std::string& hookName, int programFd,
                                maps::LibbpfLogCapture& log) {
  auto point = attachPoint(hookName);
  if (!point) return Error{point.error()};
  auto hook = makeHook(ifindex, *point);
  auto options = polcFilterOptions();
  options.prog_fd = programFd;
  options.flags = BPF_TC_F_REPLACE;
  int result = bpf_tc_attach(&hook, &options);
  if (result != 0)
    return maps::libbpfFailure("attaching at " + hookName + " of " + interface, result, log,
                               "interface " + interface);
  return options.prog_id;
}

Expected<bool> detachFilter(int ifindex, const std::string& interface, const std::string& hookName,
                            maps::LibbpfLogCapture& log) {
  auto point = attachPoint(hookName);
  if (!point) return Error{point.error()};
  auto hook = makeHook(ifindex, *point);
  auto options = polcFilterOptions();
  int result = bpf_tc_detach(&hook, &options);
  if (result == 0) return true;
  // ENOENT: no such filter; EINVAL: no clsact qdisc at all.
  if (result == -ENOENT || result == -EINVAL) {
    (void)log.take(); // expected: keep it out of a later error message
    return false;
  }
  return maps::libbpfFailure("detaching from " + hookName + " of " + interface, result, log,
                             "interface " + interface);
}

Expected<std::optional<uint32_t>> queryFilter(int ifindex, const std::string& hookName,
                                              maps::LibbpfLogCapture& log) {
  auto point = attachPoint(hookName);
  if (!point) return Error{point.error()};
  auto hook = makeHook(ifindex, *point);
  auto options = polcFilterOptions();
  int result = bpf_tc_query(&hook, &options);
  if (result == 0) return std::optional<uint32_t>(options.prog_id);
  if (result == -ENOENT || result == -EINVAL) {
    (void)log.take();
    return std::optional<uint32_t>{};
  }
  return maps::libbpfFailure("querying " + hookName + " of interface " + std::to_string(ifindex),
                             result, log, "interface " + std::to_string(ifindex));
}

} // namespace polc::runtime
