// Which state dir a pin root belongs to. Two state dirs on one pin root
// would each take the other's pins for their own: the second one's unload
// removed the first one's filters and pins, and opened its node. So the
// first load below a pin root records its state dir there, and every later
// load or unload from another state dir is refused.
//
// The record is a pinned BPF array map <pinRoot>/polc_owner (a bpffs holds
// only BPF objects) of one frozen value: the state dir's absolute path.
// Claiming it is atomic (pinning fails if the name exists), so two first
// loads cannot both win; loads of the owner are serialized by its state lock.
#pragma once

#include "polc/support/expected.h"

#include <filesystem>
#include <optional>
#include <string>

namespace polc::runtime {

inline constexpr const char* kOwnerPin = "polc_owner";

// The state dir recorded below pinRoot; nullopt when there is none.
Expected<std::optional<std::string>> pinRootOwner(const std::filesystem::path& pinRoot);

// Records stateDir as the owner of pinRoot (an existing directory on a
// bpffs) unless it has one; fails if another state dir owns it.
Status claimPinRoot(const std::filesystem::path& pinRoot, const std::filesystem::path& stateDir);

// Fails if pinRoot is owned by another state dir (none recorded is fine:
// pins from before owners were recorded).
Status checkPinRootOwner(const std::filesystem::path& pinRoot,
                         const std::filesystem::path& stateDir);

// Once no node of stateDir is loaded below pinRoot: removes the record, and
// pinRoot itself if that leaves it empty. Keeps both while a node's state
// names pinRoot or cannot be read.
void releasePinRoot(const std::filesystem::path& pinRoot, const std::filesystem::path& stateDir);

} // namespace polc::runtime
