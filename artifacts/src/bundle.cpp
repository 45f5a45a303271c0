#include "polc/artifacts/bundle.h"

#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <set>

#include <unistd.h>

namespace polc::artifacts {

namespace fs = std::filesystem;

namespace {

bool isPerNode(const std::string& path) {
  return path.starts_with("nodes/") || path.starts_with("sources/") ||
         path.starts_with("objects/") || path.starts_with("tables/");
}

} // namespace

std::vector<std::string> nodeFiles(const Manifest& manifest, const NodeArtifacts& node) {
  std::set<std::string> files;
  for (const auto& [path, digest] : manifest.files)
    if (!isPerNode(path) || path.starts_with("nodes/" + node.name + "/")) files.insert(path);
  files.insert(node.ipcache);
  for (const auto& endpoint : node.endpoints) {
    if (endpoint.object) files.insert(*endpoint.object);
    if (!endpoint.source.empty()) files.insert(endpoint.source);
    files.insert(endpoint.ingressTable);
    files.insert(endpoint.egressTable);
  }
  return {files.begin(), files.end()};
}

Manifest nodeManifest(const Manifest& manifest, const NodeArtifacts& node) {
  Manifest bundle = manifest;
  bundle.nodes = {node};
  bundle.files.clear();
  for (const auto& path : nodeFiles(manifest, node)) {
    auto digest = manifest.files.find(path);
    // An unlisted reference stays unlisted: verification then names it.
    if (digest != manifest.files.end()) bundle.files.insert(*digest);
  }
  return bundle;
}

Expected<size_t> writeNodeBundle(const fs::path& outDir, const std::string& nodeName,
                                 const fs::path& requestedBundleDir) {
  auto manifest = readManifest(outDir);
  if (!manifest) return Error{manifest.error()};
  if (auto verified = verifyManifest(outDir, *manifest); !verified) return Error{verified.error()};
  const auto* node = manifest->findNode(nodeName);
  if (!node)
    return Error{"node \"" + nodeName + "\" is not in " + (outDir / "manifest.json").string()};

  auto bundleDir = fs::absolute(requestedBundleDir).lexically_normal();
  if (bundleDir.filename().empty()) bundleDir = bundleDir.parent_path();
  std::error_code ec;
  if (fs::exists(bundleDir) && !fs::exists(bundleDir / "manifest.json") &&
      !(fs::is_directory(bundleDir) && fs::is_empty(bundleDir)))
    return Error{bundleDir.string() +
                 " exists and is not a polc build output or bundle (no manifest.json); not "
                 "replacing it"};

  // Written beside the target and renamed into place when complete.
  auto staging = bundleDir.parent_path() / (".polc-bundle-" + bundleDir.filename().string() + "-" +
                                            std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  auto fail = [&](const std::string& message) -> Error {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return Error{message};
  };
  auto bundle = nodeManifest(*manifest, *node);
  for (const auto& [path, digest] : bundle.files) {
    fs::create_directories((staging / path).parent_path(), ec);
    if (!ec) fs::copy_file(outDir / path, staging / path, ec);
    if (ec) return fail("cannot copy " + path + " into " + staging.string() + ": " + ec.message());
  }
  if (auto written = writeFile(staging / "manifest.json", dumpJson(toJson(bundle))); !written)
    return fail(written.error());
  if (auto verified = verifyManifest(staging, bundle); !verified) return fail(verified.error());

  fs::remove_all(bundleDir, ec);
  if (!ec) fs::create_directories(bundleDir.parent_path(), ec);
  if (!ec) fs::rename(staging, bundleDir, ec);
  if (ec) return fail("cannot move the bundle into " + bundleDir.string() + ": " + ec.message());
  return bundle.files.size() + 1;
}

} // namespace polc::artifacts
