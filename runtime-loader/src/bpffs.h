// Makes sure a pin root lives on a BPF filesystem.
#pragma once

#include "polc/support/expected.h"

#include <filesystem>

namespace polc::runtime {

inline constexpr const char* kDefaultBpffs = "/sys/fs/bpf";

// Mounts bpffs on /sys/fs/bpf when pinRoot is below it and it is not one
// yet; otherwise fails unless pinRoot's (nearest existing) directory is on a
// bpffs. Does not create pinRoot.
Status ensureBpffs(const std::filesystem::path& pinRoot);

} // namespace polc::runtime
