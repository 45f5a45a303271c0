// `polc import k8s`: Kubernetes objects (Namespaces, Pods, Services, Nodes,
// NetworkPolicies) as `kubectl get -o yaml|json` writes them, translated into
// polc's own inputs: a topology file and .pol files. The importer only
// produces text; the compiler reads it like any other input and knows
// nothing of Kubernetes. docs/kubernetes.md describes the mapping.
//
// Anything it cannot translate exactly is an error naming the input file
// and line, the object and the field path; --lenient turns those into
// warnings with the approximation written as a comment in the output.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/support/source_location.h"

#include <map>
#include <string>
#include <vector>

namespace polc::importer {

// One input: its name in messages (a path, or "<stdin>") and its text.
struct K8sInput {
  std::string name;
  std::string text;
};

// The inputs named on the command line: a file as it is, a directory as its
// *.yaml, *.yml and *.json files (sorted by name, not recursive), "-" as
// standard input. A path that cannot be read is an `io` error.
std::vector<K8sInput> readK8sInputs(const std::vector<std::string>& paths,
                                    Diagnostics& diagnostics);

struct K8sOptions {
  // Errors about what polc's language cannot say become warnings
  // (k8s-approximated), with a comment in the output.
  bool lenient = false;
};

// Something the import left out on purpose (an unknown kind, a pod without
// an address, a host-network pod): not a problem, but worth knowing.
struct K8sNote {
  SourceLocation location;
  std::string message;
};

struct K8sImport {
  // File name (relative to the output directory) -> contents:
  // "topology.yaml", "main.pol" and one "<namespace>.pol" per namespace with
  // policies. The .pol files are in `polc fmt`'s canonical layout.
  std::map<std::string, std::string> files;
  std::vector<K8sNote> notes; // in input order
  size_t namespaces = 0, nodes = 0, endpoints = 0, services = 0, policies = 0;
};

// Translates every object of `inputs` (which the result does not refer to).
// When it reported an error to `diagnostics` (which it also gives the
// inputs' text, to quote lines), the result has notes and counts but no files.
K8sImport importK8s(const std::vector<K8sInput>& inputs, const K8sOptions& options,
                    Diagnostics& diagnostics);

// The name of the host-side interface of pod `name` in `nameSpace`, as the
// imported topology expects it: "pk" and 13 hex digits of the SHA-256 of
// "NAMESPACE/NAME" (15 characters, the kernel's limit). The CNI (or a hook
// on the host) must name the pod's host-side veth so.
std::string podInterfaceName(const std::string& nameSpace, const std::string& name);

} // namespace polc::importer
