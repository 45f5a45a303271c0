// The hand-offs between passes (docs/architecture.md). Each is its own type,
// so a pass cannot be handed the parsed AST where it needs the let-resolved
// one, and the pass manager can check that what a pass needs was produced.
#pragma once

#include "polc/frontend/ast.h"

#include <string>
#include <string_view>

namespace polc::ir {
struct Program;
}
namespace polc::topology {
struct Topology;
}
namespace polc::passes {
struct Tables;
struct TableStats;
} // namespace polc::passes
namespace polc::services {
struct ServiceTable;
}

namespace polc::pipeline {

// What the pipeline starts from: the paths of the policy and the topology.
struct Inputs {
  std::string policyFile;
  std::string topologyFile;
};

// The policy set as written (includes merged in): let references unresolved.
struct ParsedAst {
  ast::File file;
};

// The same tree with every let reference replaced by the selector it names.
struct CheckedAst {
  ast::File file;
};

// A stage's name, as --list-passes and the pass manager's errors print it.
// Only the types named here are hand-offs; another type does not compile.
template <typename T> struct StageName;
template <> struct StageName<Inputs> { static constexpr std::string_view value = "inputs"; };
template <> struct StageName<ParsedAst> { static constexpr std::string_view value = "parsed AST"; };
template <> struct StageName<topology::Topology> {
  static constexpr std::string_view value = "topology";
};
template <> struct StageName<CheckedAst> {
  static constexpr std::string_view value = "checked AST";
};
template <> struct StageName<ir::Program> { static constexpr std::string_view value = "IR"; };
template <> struct StageName<passes::Tables> {
  static constexpr std::string_view value = "tables";
};
template <> struct StageName<passes::TableStats> {
  static constexpr std::string_view value = "table stats";
};
template <> struct StageName<services::ServiceTable> {
  static constexpr std::string_view value = "service table";
};

} // namespace polc::pipeline
