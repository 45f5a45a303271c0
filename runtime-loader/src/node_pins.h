// A node's pins under the pin root: their names, and removing them.
#pragma once

#include "polc/maps/pin_layout.h"
#include "polc/support/expected.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace polc::runtime {

// The pin names are public (polc/maps/pin_layout.h): readers of the maps use them too.
using maps::kStagedSuffix;
using maps::relativePin;

// Names end up in paths (pins, state); refuse anything that could escape.
Status checkPathComponent(const std::string& what, const std::string& name);

// Whether each of `pins` (relative to pinRoot, all of `node`) exists. One
// fstatat each, relative to <pinRoot>/<node>: a load checks thousands.
std::vector<bool> existingPins(const std::filesystem::path& pinRoot, const std::string& node,
                               const std::vector<std::string>& pins);

enum class EndpointDirectories {
  OfThePins, // only the directories of the removed pins
  All,       // every empty one (a failed load may have made some and pinned nothing there)
};

// Removes the pins and then every directory of theirs that became empty,
// up to and including <pinRoot>/<node>, then pinRoot itself if empty.
// Returns how many pins were removed.
size_t removePins(const std::filesystem::path& pinRoot, const std::string& node,
                  const std::vector<std::string>& pins,
                  EndpointDirectories sweep = EndpointDirectories::All);

// Every pin below <pinRoot>/<node>, relative to pinRoot, sorted: what the
// node has pinned when no state says what it should have.
std::vector<std::string> pinsBelow(const std::filesystem::path& pinRoot, const std::string& node);
// Removes <pinRoot>/<node> and everything below it (unload --force: the
// layout below it is polc's alone), then pinRoot if empty. Returns how many
// pins were removed.
size_t removeNodePinDirectory(const std::filesystem::path& pinRoot, const std::string& node);

} // namespace polc::runtime
