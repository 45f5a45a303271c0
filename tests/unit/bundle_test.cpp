// Node bundles (artifacts/bundle.h) of a real two-node build {
// (examples/policies/boutique.*): complete, self-contained, accepted as a
// build output of their own.
#include "polc/artifacts/bundle.h"
#include "polc/artifacts/digest.h"
#include "polc/artifacts/tables.h"
#include "polc/driver/pipeline.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <unistd.h>

namespace polc::artifacts {
namespace {

namespace fs = std::filesystem;

// Every regular file below `dir`, relative, with '/' separators.
std::set<std::string> filesBelow(const fs::path& dir) {
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file())
      files.insert(entry.path().lexically_relative(dir).generic_string());
  return files;
}

class NodeBundles : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() /
                         ("polc-bundle-test-" + std::to_string(::getpid())));
    fs::remove_all(*root_);
    Diagnostics diagnostics;
    auto compiled = driver::compile({POLC_SOURCE_DIR "/examples/policies/boutique.pol",
                                     POLC_SOURCE_DIR "/examples/policies/boutique.yaml"},
                                    diagnostics);
    ASSERT_TRUE(compiled) << diagnostics.render(false);
    topology_ = new topology::Topology(compiled->topology);
    auto built = driver::writeBuild(*compiled, *root_ / "out");
    ASSERT_TRUE(built) << built.error();
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete topology_;
  }
  static fs::path out() { return *root_ / "out"; }
  static fs::path path(const std::string& name) { return *root_ / name; }

  static fs::path* root_;
  static topology::Topology* topology_;
};

fs::path* NodeBundles::root_ = nullptr;
topology::Topology* NodeBundles::topology_ = nullptr;

TEST_F(NodeBundles, FileListsAreCompleteAndCoverTheBuild) {
  auto manifest = readManifest(*root_ / "out");
  ASSERT_TRUE(manifest) << manifest.error();
  ASSERT_EQ(manifest->nodes.size(), 2u);
  std::set<std::string> everyNodesFiles;
  for (const auto& node : manifest->nodes) {
    auto files = nodeFiles(*manifest, node);
    std::set<std::string> set(files.begin(), files.end());
    EXPECT_TRUE(set.contains(node.ipcache));
    EXPECT_TRUE(set.contains("identities.json"));
    for (const auto& endpoint : node.endpoints) {
      EXPECT_TRUE(set.contains(endpoint.ingressTable)) << endpoint.name;
      EXPECT_TRUE(set.contains(endpoint.egressTable)) << endpoint.name;
      if (endpoint.object) {
        EXPECT_TRUE(set.contains(*endpoint.object)) << endpoint.name;
      }
      if (!endpoint.source.empty()) {
        EXPECT_TRUE(set.contains(endpoint.source)) << endpoint.name;
      }
    }
    for (const auto& file : files) {
      EXPECT_TRUE(manifest->files.contains(file)) << file;
      for (const auto& other : manifest->nodes) {
        if (other.name != node.name) {
          EXPECT_FALSE(file.starts_with("nodes/" + other.name + "/")) << file;
        }
      }
      // Sources and objects of this node's endpoints only.
      if (file.starts_with("objects/") || file.starts_with("sources/")) {
        EXPECT_TRUE(std::any_of(node.endpoints.begin(), node.endpoints.end(), [&](const auto& e) {
          return e.object == file || e.source == file;
        })) << file;
      }
    }
    everyNodesFiles.insert(files.begin(), files.end());
  }
  // Nothing of the build is left out of every bundle.
  for (const auto& [file, digest] : manifest->files) EXPECT_TRUE(everyNodesFiles.contains(file));
}

TEST_F(NodeBundles, EachIpcacheHoldsEveryEndpointOfTheCluster) {
  auto manifest = readManifest(out());
  ASSERT_TRUE(manifest) << manifest.error();
  for (const auto& node : manifest->nodes) {
    auto text = readFile(out() / node.ipcache);
    ASSERT_TRUE(text) << text.error();
    auto ipcache = ipcacheFromJson(nlohmann::json::parse(*text));
    ASSERT_TRUE(ipcache) << ipcache.error();
    std::set<std::string> addresses;
    for (const auto& entry : ipcache->entries) addresses.insert(entry.address);
    size_t endpoints = 0;
    for (const auto* endpoint : topology_->allEndpoints())
      for (const auto& address : endpoint->addresses) {
        EXPECT_TRUE(addresses.contains(address.addressText()))
            << node.name << " lacks " << endpoint->name << " " << address.addressText();
        ++endpoints;
      }
    EXPECT_GE(ipcache->entries.size(), endpoints);
  }
}

TEST_F(NodeBundles, ABundleAloneIsAVerifiedBuildOfOneNode) {
  auto manifest = readManifest(out());
  ASSERT_TRUE(manifest) << manifest.error();
  for (const auto& node : manifest->nodes) {
    // Written, then moved alone into a fresh directory (as a pipeline ships it).
    auto written = writeNodeBundle(out(), node.name, path("bundles") / node.name);
    ASSERT_TRUE(written) << written.error();
    auto shipped = path("shipped-" + node.name);
    fs::rename(path("bundles") / node.name, shipped);

    auto bundle = readManifest(shipped);
    ASSERT_TRUE(bundle) << bundle.error();
    EXPECT_TRUE(verifyManifest(shipped, *bundle));
    // What the loader reads: one node (so no --node needed), its tables.
    ASSERT_EQ(bundle->nodes.size(), 1u);
    EXPECT_EQ(bundle->nodes.front(), node);
    EXPECT_EQ(bundle->inputs, manifest->inputs);
    for (const auto& endpoint : node.endpoints)
      for (const auto& table : {endpoint.ingressTable, endpoint.egressTable}) {
        auto text = readFile(shipped / table);
        ASSERT_TRUE(text) << text.error();
        EXPECT_TRUE(policyTableFromJson(nlohmann::json::parse(*text))) << table;
      }
    // Exactly its files, and the manifest.
    auto expected = nodeFiles(*manifest, node);
    std::set<std::string> expectedSet(expected.begin(), expected.end());
    expectedSet.insert("manifest.json");
    EXPECT_EQ(filesBelow(shipped), expectedSet);
    EXPECT_EQ(*written, expectedSet.size());
  }
}

TEST_F(NodeBundles, RewritingABundleReplacesIt) {
  auto first = writeNodeBundle(out(), "node-a", path("again"));
  ASSERT_TRUE(first) << first.error();
  ASSERT_TRUE(writeFile(path("again") / "stale.txt", "old\n"));
  auto second = writeNodeBundle(out(), "node-a", path("again"));
  ASSERT_TRUE(second) << second.error();
  EXPECT_FALSE(fs::exists(path("again") / "stale.txt"));
  EXPECT_TRUE(verifyManifest(path("again"), *readManifest(path("again"))));
}

TEST_F(NodeBundles, RefusesUnknownNodesForeignDirectoriesAndTamperedBuilds) {
  auto unknown = writeNodeBundle(out(), "node-z", path("z"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("node-z"), std::string::npos);

  ASSERT_TRUE(writeFile(path("foreign") / "notes.txt", "mine\n"));
  auto foreign = writeNodeBundle(out(), "node-a", path("foreign"));
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().find("not replacing it"), std::string::npos);
  EXPECT_TRUE(fs::exists(path("foreign") / "notes.txt"));

  fs::copy(out(), path("tampered"), fs::copy_options::recursive);
  auto manifest = readManifest(out());
  ASSERT_TRUE(manifest);
  ASSERT_TRUE(writeFile(path("tampered") / manifest->nodes.front().ipcache, "{}\n"));
  auto tampered = writeNodeBundle(path("tampered"), "node-a", path("from-tampered"));
  ASSERT_FALSE(tampered);
  EXPECT_NE(tampered.error().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("from-tampered")));
}

} // namespace
} // namespace polc::artifacts
