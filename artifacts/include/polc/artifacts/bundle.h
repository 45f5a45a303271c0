// Node bundles: the part of a build output that one node needs, as a build
// output of its own (a manifest.json that lists that node only, and exactly
// its files), so that a pipeline can ship each node only its part and the
// node loads it as it would the whole build (`polc load BUNDLE`).
#pragma once

#include "polc/artifacts/manifest.h"
#include "polc/support/expected.h"

#include <filesystem>
#include <string>
#include <vector>

namespace polc::artifacts {

// The files of `node`, sorted: everything below nodes/<node>/ (its ipcache,
// which holds every endpoint of the cluster, and its endpoints' tables), the
// sources and objects its endpoints use, and the files every node shares
// (identities.json, bpf/lib/*.h): every listed file not below nodes/,
// sources/ or objects/.
std::vector<std::string> nodeFiles(const Manifest&, const NodeArtifacts& node);

// The manifest of a node's bundle: the build's, with that node only and
// the digests of nodeFiles() only.
Manifest nodeManifest(const Manifest&, const NodeArtifacts& node);

// Writes the bundle of `node` of the build in `outDir` (verified first) to
// `bundleDir`, replacing a previous bundle or build there as a whole; refuses
// a non-empty directory without manifest.json. Returns the number of files.
Expected<size_t> writeNodeBundle(const std::filesystem::path& outDir, const std::string& node,
                                 const std::filesystem::path& bundleDir);

} // namespace polc::artifacts
