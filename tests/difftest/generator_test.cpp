// The generator without a kernel: deterministic, and its inputs are ones
// the frontend, topology loader and sema accept (so the differential test
// compares what it claims to compare).
#include "generator.h"

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/parser.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

namespace polc::difftest {
namespace {

TEST(DifftestGenerator, SameSeedSameTexts) {
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xfffffffffffull}) {
    auto first = generateCase(seed), second = generateCase(seed);
    EXPECT_EQ(first.policy, second.policy) << "seed " << seed;
    EXPECT_EQ(first.topology, second.topology) << "seed " << seed;
  }
  EXPECT_NE(generateCase(1).policy, generateCase(2).policy);
}

TEST(DifftestGenerator, SemaAcceptsGeneratedInputs) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    auto generated = generateCase(seed);
    Diagnostics diagnostics;
    auto file = frontend::parseText("difftest.pol", generated.policy, diagnostics);
    auto topology = topology::loadText("difftest.yaml", generated.topology, diagnostics);
    std::optional<ir::Program> program;
    if (file && topology) program = pipeline::analyze(*file, *topology, diagnostics);
    ASSERT_TRUE(program) << "seed " << seed << "\n"
                         << diagnostics.render() << generated.policy << generated.topology;
  }
}

} // namespace
} // namespace polc::difftest
