#include "polc/pipeline/parse.h"

#include "pass_test_support.h"

#include "polc/support/files.h"
#include "polc/topology/topology.h"

#include <filesystem>

#include <unistd.h>

namespace polc::pipeline {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("polc-parse-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) {
    EXPECT_TRUE(writeFile(path / name, text));
    return (path / name).string();
  }
};

TEST(ParsePass, ProducesTheParsedAstAndTheTopology) {
  testing::PassRun run;
  run.context.put(Inputs{POLC_SOURCE_DIR "/examples/policies/shop.pol",
                         POLC_SOURCE_DIR "/examples/policies/shop.yaml"});
  ASSERT_TRUE(run.run(createParsePass())) << run.diagnostics.render();
  ASSERT_TRUE(run.context.has<ParsedAst>());
  EXPECT_FALSE(run.context.get<ParsedAst>().file.policies.empty());
  EXPECT_EQ(run.context.get<topology::Topology>().cluster, "demo");
}

TEST(ParsePass, ReportsTheErrorsOfBothInputsInOneRun) {
  TempDir dir;
  testing::PassRun run;
  run.context.put(
      Inputs{dir.write("p.pol", "policy \"p\" { select }\n"), dir.write("t.yaml", "cluster: [\n")});
  EXPECT_FALSE(run.run(createParsePass()));
  bool policyError = false, topologyError = false;
  for (const auto& d : run.diagnostics.all()) {
    policyError |= d.location.file.ends_with("p.pol");
    topologyError |= d.location.file.ends_with("t.yaml");
  }
  EXPECT_TRUE(policyError && topologyError) << run.diagnostics.render();
  EXPECT_FALSE(run.context.has<ParsedAst>());
}

} // namespace
} // namespace polc::pipeline
