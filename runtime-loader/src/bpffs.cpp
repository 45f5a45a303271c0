#include "bpffs.h"

#include "polc/support/unique_fd.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace polc::runtime {

namespace fs = std::filesystem;

namespace {

bool isBpffs(const fs::path& path) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 &&
         info.f_type == static_cast<decltype(info.f_type)>(BPF_FS_MAGIC);
}

bool isBelow(const fs::path& path, const fs::path& ancestor) {
  auto [end, _] = std::mismatch(ancestor.begin(), ancestor.end(), path.begin(), path.end());
  return end == ancestor.end();
}

fs::path nearestExisting(fs::path path) {
  std::error_code ignored;
  while (!path.empty() && !fs::exists(path, ignored) && path != path.root_path())
    path = path.parent_path();
  return path;
}

} // namespace

Status ensureBpffs(const fs::path& pinRoot) {
  if (!pinRoot.is_absolute())
    return Error{"pin root " + pinRoot.string() + " is not an absolute path"};
  auto root = pinRoot.lexically_normal();
  const fs::path defaultMount = kDefaultBpffs;
  if (isBelow(root, defaultMount) && !isBpffs(defaultMount)) {
    // Two loaders racing here would stack two bpffs mounts, each hiding the
    // other's pins: check again under a lock on the mount point.
    UniqueFd mountPoint(::open(kDefaultBpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (mountPoint.valid()) (void)::flock(mountPoint.get(), LOCK_EX);
    if (!isBpffs(defaultMount) && ::mount("bpffs", kDefaultBpffs, "bpf", 0, "mode=0700") != 0)
      return Error{std::string("cannot mount bpffs on ") + kDefaultBpffs + ": " +
                   std::strerror(errno)};
  }
  auto existing = nearestExisting(root);
  if (!isBpffs(existing))
    return Error{"pin root " + root.string() + " is not on a BPF filesystem (" + existing.string() +
                 " is not bpffs; mount one with `mount -t bpf bpffs DIR`)"};
  return okStatus();
}

} // namespace polc::runtime
