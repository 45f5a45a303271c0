#include "node_pins.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polc::runtime {

namespace fs = std::filesystem;

Status checkPathComponent(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return Error{what + " name \"" + name + "\" cannot be used as a path component"};
  return okStatus();
}

namespace {

// A pin recorded in a state file must stay inside <pinRoot>/<node>.
bool pinBelongsToNode(const std::string& pin, const std::string& node) {
  if (pin.empty() || pin[0] == '/' || !pin.starts_with(node) || pin[node.size()] != '/')
    return false;
  for (size_t start = 0; start <= pin.size();) {
    auto end = std::min(pin.find('/', start), pin.size());
    auto part = std::string_view(pin).substr(start, end - start);
    if (part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

} // namespace

std::vector<bool> existingPins(const fs::path& pinRoot, const std::string& node,
                               const std::vector<std::string>& pins) {
  std::vector<bool> exists(pins.size(), false);
  const int nodeDir = ::open((pinRoot / node).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (nodeDir < 0) return exists;
  const auto prefix = node + "/";
  for (size_t i = 0; i < pins.size(); ++i) {
    if (!pinBelongsToNode(pins[i], node)) continue;
    struct stat info {};
    exists[i] =
        ::fstatat(nodeDir, pins[i].c_str() + prefix.size(), &info, AT_SYMLINK_NOFOLLOW) == 0;
  }
  ::close(nodeDir);
  return exists;
}

size_t removePins(const fs::path& pinRoot, const std::string& node,
                  const std::vector<std::string>& pins, EndpointDirectories sweep) {
  size_t removed = 0;
  std::set<fs::path, std::greater<>> directories; // deepest first
  for (const auto& pin : pins) {
    if (!pinBelongsToNode(pin, node)) continue;
    auto path = pinRoot / pin;
    if (::unlink(path.c_str()) == 0) ++removed;
    for (auto dir = path.parent_path();
         dir != pinRoot && dir.string().size() > pinRoot.string().size(); dir = dir.parent_path())
      directories.insert(dir);
  }
  // Directories made for an endpoint whose load failed before it pinned anything.
  std::error_code ec;
  if (sweep == EndpointDirectories::All)
    for (fs::directory_iterator it(pinRoot / node, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) directories.insert(it->path());
  directories.insert(pinRoot / node);
  for (const auto& dir : directories) (void)::rmdir(dir.c_str()); // fails while not empty: fine
  (void)::rmdir(pinRoot.c_str());
  return removed;
}

std::vector<std::string> pinsBelow(const fs::path& pinRoot, const std::string& node) {
  std::vector<std::string> pins;
  if (!checkPathComponent("node", node)) return pins;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(pinRoot / node, ec), end; !ec && it != end;
       it.increment(ec))
    if (!it->is_directory(ec)) pins.push_back(it->path().lexically_relative(pinRoot).string());
  std::sort(pins.begin(), pins.end());
  return pins;
}

size_t removeNodePinDirectory(const fs::path& pinRoot, const std::string& node) {
  if (!checkPathComponent("node", node)) return 0;
  size_t removed = 0;
  std::set<fs::path, std::greater<>> directories; // deepest first
  std::error_code ec;
  for (fs::recursive_directory_iterator it(pinRoot / node, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec))
      directories.insert(it->path());
    else if (::unlink(it->path().c_str()) == 0)
      ++removed;
  }
  directories.insert(pinRoot / node);
  for (const auto& dir : directories) (void)::rmdir(dir.c_str());
  (void)::rmdir(pinRoot.c_str());
  return removed;
}

} // namespace polc::runtime
