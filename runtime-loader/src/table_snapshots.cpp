#include "table_snapshots.h"

#include "polc/artifacts/table_lines.h"
#include "polc/support/files.h"

#include <cstdio>
#include <functional>

namespace fs = std::filesystem;

namespace polc::runtime {
namespace {

fs::path snapshotFile(const fs::path& stateDir, const std::string& node,
                      const std::string& sha256) {
  return snapshotDirectory(stateDir, node) / (sha256 + ".json");
}

constexpr std::string_view kChecksumLine = "\n# polc table snapshot ";

// Catches a file cut or damaged by a crash (it is written without fsync);
// the state dir is trusted like the state file itself.
std::string checksumOf(std::string_view text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string_view>{}(text));
  return hex;
}

bool isDigest(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

} // namespace

fs::path snapshotDirectory(const fs::path& stateDir, const std::string& node) {
  return stateDir / (node + ".tables");
}

std::optional<std::string> readTableSnapshot(const fs::path& stateDir, const std::string& node,
                                             const std::string& sha256) {
  if (!isDigest(sha256)) return std::nullopt;
  auto text = readFile(snapshotFile(stateDir, node, sha256));
  if (!text) return std::nullopt;
  const auto line = text->rfind(kChecksumLine);
  if (line == std::string::npos || std::string_view(*text).substr(line + kChecksumLine.size()) !=
                                       checksumOf(std::string_view(*text).substr(0, line)) + "\n")
    return std::nullopt;
  text->resize(line);
  return std::move(*text);
}

void keepTableSnapshot(const fs::path& stateDir, const std::string& node, const std::string& sha256,
                       std::string_view text) {
  if (!isDigest(sha256)) return;
  const auto file = snapshotFile(stateDir, node, sha256);
  std::error_code ec;
  if (fs::exists(file, ec)) return;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return;
  const auto checksum = checksumOf(text) + "\n";
  (void)writeFile(file, {text, kChecksumLine, checksum}, FileSync::Unsynced);
}

void pruneTableSnapshots(const fs::path& stateDir, const std::string& node,
                         const std::set<std::string>& inUse) {
  const auto directory = snapshotDirectory(stateDir, node);
  std::error_code ec;
  if (inUse.empty()) {
    fs::remove_all(directory, ec);
    return;
  }
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.ends_with(".json") || !inUse.contains(name.substr(0, name.size() - 5)))
      fs::remove(it->path(), ec);
  }
}

} // namespace polc::runtime
