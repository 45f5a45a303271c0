// Policy unit tests for CI (`polc test`): a small line-based file of
// expectations, judged by the reference evaluator.
//
//   # tests/shop.poltest
//   policy ../shop.pol                 # paths are relative to this file
//   topology ../shop.yaml
//   expect allow from web-1 to db-1 on tcp/5432
//   expect deny from 203.0.113.7 to web-1 on tcp/22
//   expect deny from entity world to web-1 on tcp/22
//   expect allow from web-1 to frontend-1 on icmp type 8 code 0
//
// A flow end is an endpoint name, an IPv4/IPv6 address, `entity world` (an
// address in no ipcache prefix) or `entity host` (the judging node); a
// destination may also be `service/NAME` (its vip, on the flow's port). The L4
// part is tcp/N, udp/N, sctp/N, icmp type T [code C] or icmpv6 type T
// [code C]. `policy` and `topology` may change between expectations; each
// expectation uses the latest. Comments start with # or //. Each expectation
// is a test named "file:line". A flow to a service's vip and port is judged
// after translation, as the datapath judges it: it holds when it holds for
// every backend with a weight (service_flow.h), since a new flow may go to
// any of them.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/evaluator/evaluator.h"
#include "polc/services/service_table.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace polc::evaluator {

struct Expectation {
  SourceLocation location; // of `expect`
  std::string name;        // "file:line"
  // "allow", "deny" or "audit" (passes, but an audit policy would deny it;
  // "allow" does not match such a flow, so adding an audit policy shows up).
  std::string verdict = "allow";
  Flow flow;
  std::string toService;    // `to service/NAME`: that service's frontend on the flow's port
  std::string text;         // "allow from web-1 to db-1 on tcp/5432"
  std::string policyFile;   // resolved against the test file's directory
  std::string topologyFile; // idem
};

struct TestFile {
  std::string path;
  std::vector<Expectation> expectations;
};

// Parses one test file. Errors and warnings go to `diagnostics` with
// file:line:col; nothing is returned when the file has errors.
std::optional<TestFile> parseTestFile(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics);

// A rule that decided an actual verdict, for the report.
struct DecidingRule {
  std::string side; // "egress of web-1", "ingress of db-1"
  uint32_t id = 0;
  std::string policy;
  std::string text;
  std::string location; // file:line:col
};

struct CaseResult {
  std::string name;        // "tests/shop.poltest:4", or the file when it has errors
  std::string expectation; // "allow from web-1 to db-1 on tcp/5432"
  bool passed = false;
  std::string error; // why it could not be judged: bad file, no compile, unknown endpoint
  std::optional<std::string> actualVerdict; // as Expectation::verdict
  std::string reason;                       // the evaluator's reason for the actual verdict
  std::vector<DecidingRule> decidingRules;
};

struct TestReport {
  std::vector<CaseResult> cases;
  size_t passed() const;
  size_t failed() const;
};

// What expectations are judged on: the IR, and the services' frontends.
struct CompiledPolicy {
  ir::Program program;
  services::ServiceTable services;
};

// Compiles a policy for a topology (the driver's pipeline in the CLI, a
// fake in unit tests); reports problems to `diagnostics`, nullopt on errors.
using CompileFn = std::function<std::optional<CompiledPolicy>(
    const std::string& policyFile, const std::string& topologyFile, Diagnostics& diagnostics)>;

// Reads, parses and runs every file, compiling each (policy, topology) pair
// once. A file that cannot be read or parsed counts as one failed case;
// so does every expectation whose policy does not compile.
TestReport runTestFiles(const std::vector<std::string>& files, const CompileFn& compile,
                        Diagnostics& diagnostics);

// One line per case ("ok   name  expectation" / "FAIL name  expectation"),
// the actual verdict, reason and deciding rules under each failure, and a
// closing line "N passed, M failed".
std::string renderReport(const TestReport&);

} // namespace polc::evaluator
