// What the per-pass tests share: a small topology, and a context seeded with
// the stages a pass consumes, run through a PassManager of that pass alone.
#pragma once

#include "polc/frontend/parser.h"
#include "polc/pipeline/pass.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

#include <string>

namespace polc::testing {

inline const char* kPassTopology = R"(cluster: c
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: web-1, labels: { app: web, env: prod }, addresses: [10.0.0.1], interface: v1 }
      - { name: db-1, labels: { app: db }, addresses: [10.0.0.3], interface: v3 }
services:
  - { name: db, vip: 10.96.0.5, ports: [tcp/5432], selector: { app: db } }
)";

// One pass over its own context: the diagnostics it reported, the stages it left.
struct PassRun {
  Diagnostics diagnostics;
  pipeline::PassContext context{diagnostics};

  void seedAst(const std::string& policy) {
    auto file = frontend::parseText("p.pol", policy, diagnostics);
    ASSERT_TRUE(file) << diagnostics.render();
    context.put(pipeline::ParsedAst{std::move(*file)});
  }
  // A policy without lets, handed over as the checked AST.
  void seedChecked(const std::string& policy) {
    auto file = frontend::parseText("p.pol", policy, diagnostics);
    ASSERT_TRUE(file) << diagnostics.render();
    context.put(pipeline::CheckedAst{std::move(*file)});
  }
  void seedTopology(const std::string& yaml = kPassTopology) {
    auto topology = topology::loadText("t.yaml", yaml, diagnostics);
    ASSERT_TRUE(topology) << diagnostics.render();
    context.put(std::move(*topology));
  }
  // The IR of `policy` over the topology seeded, through the pipeline's
  // passes up to it (for the passes after it).
  void seedProgram(const std::string& policy) {
    auto file = frontend::parseText("p.pol", policy, diagnostics);
    ASSERT_TRUE(file) << diagnostics.render();
    auto program = pipeline::analyze(*file, context.get<topology::Topology>(), diagnostics);
    ASSERT_TRUE(program) << diagnostics.render();
    context.put(std::move(*program));
  }
  // Runs `pass` alone; false when it reported errors.
  bool run(pipeline::Pass pass) {
    pipeline::PassManager manager;
    manager.add(std::move(pass));
    auto outcome = manager.run(context);
    EXPECT_TRUE(outcome) << outcome.error();
    return outcome && !outcome->failed;
  }
};

} // namespace polc::testing
