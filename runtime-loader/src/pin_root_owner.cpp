#include "pin_root_owner.h"

#include "node_state.h"
#include "polc/support/unique_fd.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace polc::runtime {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kValueSize = PATH_MAX; // one path, zero-padded

// How the state dir is recorded and compared: absolute, symlinks resolved.
std::string ownerName(const fs::path& stateDir) {
  std::error_code ec;
  auto canonical = fs::weakly_canonical(fs::absolute(stateDir, ec), ec);
  return (ec ? fs::absolute(stateDir, ec) : canonical).lexically_normal().string();
}

Status ownedByOther(const fs::path& pinRoot, const std::string& owner, const std::string& us) {
  if (owner == us) return okStatus();
  return Error{"pin root " + pinRoot.string() + " belongs to state dir " + owner +
               " (recorded in " + (pinRoot / kOwnerPin).string() + "); use --state-dir " + owner +
               ", or another --pin-root for state dir " + us};
}

} // namespace

Expected<std::optional<std::string>> pinRootOwner(const fs::path& pinRoot) {
  const auto pin = pinRoot / kOwnerPin;
  UniqueFd map(bpf_obj_get(pin.c_str()));
  if (!map.valid()) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return Error{"cannot open " + pin.string() + ": " + std::strerror(errno)};
  }
  std::vector<char> value(kValueSize + 1, '\0');
  uint32_t key = 0;
  if (bpf_map_lookup_elem(map.get(), &key, value.data()) != 0)
    return Error{"cannot read " + pin.string() + ": " + std::strerror(errno)};
  return std::optional<std::string>(value.data());
}

Status claimPinRoot(const fs::path& pinRoot, const fs::path& stateDir) {
  const auto us = ownerName(stateDir);
  if (us.size() >= kValueSize) return Error{"state dir path " + us + " is too long"};
  if (auto owner = pinRootOwner(pinRoot); !owner)
    return Error{owner.error()};
  else if (*owner)
    return ownedByOther(pinRoot, **owner, us);
  LIBBPF_OPTS(bpf_map_create_opts, options);
  UniqueFd map(
      bpf_map_create(BPF_MAP_TYPE_ARRAY, kOwnerPin, sizeof(uint32_t), kValueSize, 1, &options));
  if (!map.valid())
    return Error{std::string("cannot create the pin root's owner map: ") + std::strerror(errno)};
  std::vector<char> value(kValueSize, '\0');
  std::memcpy(value.data(), us.data(), us.size());
  uint32_t key = 0;
  // Written and frozen before it is pinned: whoever sees the pin sees the owner.
  if (bpf_map_update_elem(map.get(), &key, value.data(), BPF_ANY) != 0 ||
      bpf_map_freeze(map.get()) != 0)
    return Error{std::string("cannot write the pin root's owner map: ") + std::strerror(errno)};
  const auto pin = pinRoot / kOwnerPin;
  if (bpf_obj_pin(map.get(), pin.c_str()) == 0) return okStatus();
  if (errno != EEXIST) return Error{"cannot pin " + pin.string() + ": " + std::strerror(errno)};
  return checkPinRootOwner(pinRoot, stateDir); // another load claimed it first
}

Status checkPinRootOwner(const fs::path& pinRoot, const fs::path& stateDir) {
  auto owner = pinRootOwner(pinRoot);
  if (!owner) return Error{owner.error()};
  if (!*owner) return okStatus();
  return ownedByOther(pinRoot, **owner, ownerName(stateDir));
}

void releasePinRoot(const fs::path& pinRoot, const fs::path& stateDir) {
  for (const auto& node : nodesWithState(stateDir)) {
    auto state = readNodeState(stateFile(stateDir, node));
    if (!state || (*state && fs::path((*state)->pinRoot) == pinRoot)) return;
  }
  auto owner = pinRootOwner(pinRoot);
  if (!owner || !*owner || **owner != ownerName(stateDir)) return;
  std::error_code ec;
  fs::remove(pinRoot / kOwnerPin, ec);
  fs::remove(pinRoot, ec); // only if empty
}

} // namespace polc::runtime
