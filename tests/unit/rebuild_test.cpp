// Rebuilding into an existing output: files whose bytes are unchanged are
// hard-linked from the replaced output, never trusted blindly (a tampered
// file or a symlink there is written anew).
#include "polc/artifacts/manifest.h"
#include "polc/driver/pipeline.h"
#include "polc/support/files.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

namespace polc::driver {
namespace {

namespace fs = std::filesystem;

TEST(Rebuild, ReusesUnchangedFilesAndRewritesTamperedOnes) {
  auto root = fs::temp_directory_path() / ("polc-rebuild-test-" + std::to_string(::getpid()));
  fs::remove_all(root);
  Diagnostics diagnostics;
  auto compiled = compile({POLC_SOURCE_DIR "/examples/policies/boutique.pol",
                           POLC_SOURCE_DIR "/examples/policies/boutique.yaml"},
                          diagnostics);
  ASSERT_TRUE(compiled) << diagnostics.render(false);
  auto out = root / "out";
  ASSERT_TRUE(writeBuild(*compiled, out));
  auto fresh = readFile(out / "manifest.json");
  ASSERT_TRUE(fresh);
  auto manifest = artifacts::readManifest(out);
  ASSERT_TRUE(manifest);
  const auto& node = manifest->nodes.front();
  const auto tampered = node.endpoints.front().ingressTable;
  const auto symlinked = node.endpoints.back().egressTable;
  ASSERT_TRUE(writeFile(out / tampered, "{}\n"));
  ASSERT_TRUE(writeFile(root / "elsewhere.json", *readFile(out / symlinked)));
  fs::remove(out / symlinked);
  fs::create_symlink(root / "elsewhere.json", out / symlinked);

  // The unchanged ipcache keeps its inode: linked, not written again.
  struct stat before {};
  ASSERT_EQ(::stat((out / node.ipcache).c_str(), &before), 0);
  ASSERT_TRUE(writeBuild(*compiled, out));
  EXPECT_EQ(*readFile(out / "manifest.json"), *fresh);
  EXPECT_TRUE(artifacts::verifyManifest(out, *manifest));
  EXPECT_FALSE(fs::is_symlink(out / symlinked));
  struct stat after {};
  ASSERT_EQ(::stat((out / node.ipcache).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino); // linked, not written again
  fs::remove_all(root);
}

} // namespace
} // namespace polc::driver
