// The verifier accepts every program polc builds: builds every example of
// examples/policies/ and a corpus of random policies (tests/difftest's
// generator), loads every object into the kernel and reports the
// instructions the verifier processed per program. Fails on any rejection
// or a program above the kernel's limit; exits 77 (skip) without root/BPF.
//
//   verify_corpus --examples DIR
//   verify_corpus --random N [--seed S]     (case i uses seed S + i)
#include "generator.h"
#include "kernel_required.h"

#include "polc/diagnostics/diagnostics.h"
#include "polc/driver/pipeline.h"
#include "polc/driver/verify_build.h"
#include "polc/support/files.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string_view>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace polc;

namespace {

constexpr int kSkip = 77;

struct Totals {
  size_t builds = 0, rejectedInputs = 0, programs = 0;
  uint32_t maxProcessed = 0;
  std::string maxWhere;
};

// Builds one policy and asks the verifier about its programs. Returns false
// on a verifier rejection or a program over the limit; 77 when the kernel
// cannot be asked.
int buildAndVerify(const std::string& policy, const std::string& topology, const fs::path& out,
                   const fs::path& cache, const std::string& label, bool printEach,
                   Totals& totals) {
  Diagnostics diagnostics;
  auto compiled = driver::compile({policy, topology}, diagnostics);
  if (!compiled) {
    ++totals.rejectedInputs; // the generator may write a policy sema refuses
    return 0;
  }
  driver::BuildOptions options;
  options.jobs = 2;
  options.cacheDir = cache;
  auto report = driver::writeBuild(*compiled, out, options);
  if (!report) {
    std::cout << label << ": build failed: " << report.error() << "\n";
    return 1;
  }
  ++totals.builds;
  auto stats = driver::verifyBuild(out);
  if (!stats) {
    std::cout << label << ": " << stats.error() << "\n";
    return 1;
  }
  if (stats->unavailable) {
    std::cerr << "skip: " << *stats->unavailable << "\n";
    return kSkip;
  }
  for (const auto& program : stats->programs) {
    ++totals.programs;
    if (printEach)
      std::cout << "  " << label << " " << program.object.substr(8, 12) << " " << program.program
                << " (" << program.endpoints << " endpoint(s)): " << program.processedInstructions
                << " insns processed, " << program.instructions << " insns\n";
    if (program.processedInstructions > totals.maxProcessed) {
      totals.maxProcessed = program.processedInstructions;
      totals.maxWhere = label + " " + program.program;
    }
    if (program.processedInstructions >= driver::kVerifierInstructionLimit) {
      std::cout << label << ": " << program.program << " reached the verifier's limit\n";
      return 1;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load every object of the examples or of random policies into the kernel"};
  std::string examples;
  unsigned random = 0;
  std::optional<uint64_t> seed;
  app.add_option("--examples", examples, "directory of NAME.pol + NAME.yaml")
      ->check(CLI::ExistingDirectory);
  app.add_option("--random", random, "number of random policies");
  app.add_option("--seed", seed, "first seed (case i uses seed + i); random by default");
  CLI11_PARSE(app, argc, argv);

  char pattern[] = "/tmp/polc-verify-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path work = pattern;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};

  Totals totals;
  auto finish = [&](int status) {
    if (status == kSkip && testing::kernelRequired()) {
      std::cout << "POLC_REQUIRE_KERNEL=1 but the kernel cannot load programs\n";
      return 1;
    }
    if (status != 0) return status;
    std::cout << totals.builds << " build(s), " << totals.programs
              << " program(s) accepted by the verifier";
    if (totals.rejectedInputs)
      std::cout << " (" << totals.rejectedInputs << " inputs refused by sema)";
    std::cout << "; most instructions processed: " << totals.maxProcessed << " of "
              << driver::kVerifierInstructionLimit << " (" << totals.maxWhere << ")\n";
    return totals.programs > 0 ? 0 : 1;
  };

  if (!examples.empty()) {
    std::vector<fs::path> policies;
    for (const auto& entry : fs::directory_iterator(examples))
      if (entry.path().extension() == ".pol") policies.push_back(entry.path());
    std::sort(policies.begin(), policies.end());
    for (const auto& policy : policies) {
      auto topology = fs::path(policy).replace_extension(".yaml");
      if (!fs::exists(topology)) continue;
      const std::string name = policy.stem().string();
      std::cout << name << ":\n";
      if (int status = buildAndVerify(policy.string(), topology.string(), work / name,
                                      work / "cache", name, true, totals);
          status != 0)
        return finish(status);
    }
  }
  if (random > 0) {
    const uint64_t first = seed ? *seed : std::random_device{}() * 65536ull;
    std::cout << "random corpus: " << random << " policies from seed " << first
              << " (reproduce: verify_corpus --random " << random << " --seed " << first << ")\n";
    for (unsigned i = 0; i < random; ++i) {
      auto generated = difftest::generateCase(first + i);
      const fs::path dir = work / "random";
      fs::create_directories(dir);
      if (!writeFile(dir / "case.pol", generated.policy) ||
          !writeFile(dir / "case.yaml", generated.topology)) {
        std::cout << "cannot write the case\n";
        return 1;
      }
      const std::string label = "seed " + std::to_string(generated.seed);
      if (int status = buildAndVerify((dir / "case.pol").string(), (dir / "case.yaml").string(),
                                      dir / "out", work / "cache", label, false, totals);
          status != 0) {
        if (status != kSkip)
          std::cout << "---- policy ----\n"
                    << generated.policy << "---- topology ----\n"
                    << generated.topology;
        return finish(status);
      }
    }
  }
  return finish(0);
}
