// NetworkPolicy truth tables in the style of the upstream e2e suite:
// namespaces x, y, z with pods a, b, c each (tests/unit/k8s/xyz_cluster.yaml),
// one or more NetworkPolicies per case, and for each probe (protocol, port)
// the full 9x9 matrix of what Kubernetes allows, written from the API
// documentation of NetworkPolicy, not from polc's output. Each case is
// imported (`polc import k8s`'s library), parsed and compiled by the normal
// pipeline, and every cell is judged by the reference evaluator (what
// `polc explain` prints).
//
// A matrix has one row per source and one column per destination, both in
// the order x/a x/b x/c y/a y/b y/c z/a z/b z/c: '.' allowed, 'X' denied,
// '-' a pod to itself, which never crosses the pod's interface (the e2e
// suite allows loopback too) and is not judged.
#include "polc/driver/pipeline.h"
#include "polc/evaluator/evaluator.h"
#include "polc/importer/k8s.h"
#include "polc/support/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <array>
#include <string>
#include <vector>

namespace polc {
namespace {

using Matrix = std::array<const char*, 9>;

constexpr std::array<const char*, 9> kPods = {"x.a", "x.b", "x.c", "y.a", "y.b",
                                              "y.c", "z.a", "z.b", "z.c"};

// No pod isolated, or every isolation opened again.
constexpr Matrix kAllAllowed = {
    // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
    "-........", // from x/a
    ".-.......", // from x/b
    "..-......", // from x/c
    "...-.....", // from y/a
    "....-....", // from y/b
    ".....-...", // from y/c
    "......-..", // from z/a
    ".......-.", // from z/b
    "........-", // from z/c
};
// Every pod of x isolated for ingress, nothing allowed to it.
constexpr Matrix kToXDenied = {
    // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
    "-XX......", // from x/a
    "X-X......", // from x/b
    "XX-......", // from x/c
    "XXX-.....", // from y/a
    "XXX.-....", // from y/b
    "XXX..-...", // from y/c
    "XXX...-..", // from z/a
    "XXX....-.", // from z/b
    "XXX.....-", // from z/c
};

// x/a isolated for ingress, allowing only x/b.
constexpr Matrix kToXaFromXbOnly = {
    // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
    "-........", // from x/a
    ".-.......", // from x/b
    "X.-......", // from x/c
    "X..-.....", // from y/a
    "X...-....", // from y/b
    "X....-...", // from y/c
    "X.....-..", // from z/a
    "X......-.", // from z/b
    "X.......-", // from z/c
};

// x/a isolated for ingress, allowing nothing.
constexpr Matrix kToXaDenied = {
    // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
    "-........", // from x/a
    "X-.......", // from x/b
    "X.-......", // from x/c
    "X..-.....", // from y/a
    "X...-....", // from y/b
    "X....-...", // from y/c
    "X.....-..", // from z/a
    "X......-.", // from z/b
    "X.......-", // from z/c
};

struct Probe {
  uint8_t protocol;
  uint16_t port;
  Matrix expected;
};

// A flow with an address outside the cluster on one side.
struct ExternalProbe {
  std::string from, to; // "x.a" or an address
  uint8_t protocol;
  uint16_t port;
  bool allowed;
};

const char* protocolName(uint8_t protocol) {
  return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "sctp";
}

class TruthTable : public ::testing::Test {
protected:
  // Imports the cluster and `policies` (YAML), compiles, and checks each probe.
  void check(const std::string& policies, const std::vector<Probe>& probes,
             const std::vector<ExternalProbe>& externals = {}) {
    auto cluster = readFile(POLC_SOURCE_DIR "/tests/unit/k8s/xyz_cluster.yaml");
    ASSERT_TRUE(cluster.ok()) << cluster.error();
    Diagnostics diagnostics;
    auto imported = importer::importK8s(
        {{"xyz_cluster.yaml", *cluster}, {"policies.yaml", policies}}, {}, diagnostics);
    ASSERT_FALSE(diagnostics.hasErrors()) << diagnostics.render();
    testing::TempDir dir("k8s-truth");
    for (const auto& [name, text] : imported.files)
      ASSERT_TRUE(writeFile(dir.path() / name, text).ok());

    Diagnostics compileDiagnostics;
    auto program = driver::compileToIr(
        {(dir.path() / "main.pol").string(), (dir.path() / "topology.yaml").string()},
        compileDiagnostics);
    ASSERT_TRUE(program) << compileDiagnostics.render() << imported.files["main.pol"];

    std::string wrong;
    for (const auto& probe : probes) {
      for (size_t from = 0; from < kPods.size(); ++from) {
        for (size_t to = 0; to < kPods.size(); ++to) {
          char cell = probe.expected[from][to];
          if (cell == '-') continue;
          auto verdict = evaluator::evaluate(*program, {evaluator::FlowEnd::endpoint(kPods[from]),
                                                        evaluator::FlowEnd::endpoint(kPods[to]),
                                                        probe.protocol,
                                                        probe.port,
                                                        {},
                                                        {}});
          ASSERT_TRUE(verdict.ok()) << verdict.error();
          if (verdict->allowed != (cell == '.'))
            wrong += std::string(protocolName(probe.protocol)) + "/" + std::to_string(probe.port) +
                     " " + kPods[from] + " -> " + kPods[to] + ": expected " +
                     (cell == '.' ? "allow" : "deny") + "\n";
        }
      }
    }
    for (const auto& probe : externals) {
      auto from = evaluator::FlowEnd::parse(probe.from);
      auto to = evaluator::FlowEnd::parse(probe.to);
      ASSERT_TRUE(from.ok() && to.ok());
      auto verdict =
          evaluator::evaluate(*program, {*from, *to, probe.protocol, probe.port, {}, {}});
      ASSERT_TRUE(verdict.ok()) << verdict.error();
      if (verdict->allowed != probe.allowed)
        wrong += probe.from + " -> " + probe.to + " " + protocolName(probe.protocol) + "/" +
                 std::to_string(probe.port) + ": expected " + (probe.allowed ? "allow" : "deny") +
                 "\n";
    }
    EXPECT_EQ(wrong, "") << "policies:\n" << policies;
  }
};

constexpr uint8_t kTcp = IPPROTO_TCP, kUdp = IPPROTO_UDP, kSctp = IPPROTO_SCTP;

TEST_F(TruthTable, DenyAllIngressIsolatesEveryPodOfTheNamespace) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
)",
        {{kTcp, 80, kToXDenied}, {kUdp, 80, kToXDenied}, {kSctp, 80, kToXDenied}});
}

TEST_F(TruthTable, AnEmptyIngressRuleAllowsEverything) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress: [{}]
)",
        {{kTcp, 80, kAllAllowed}, {kUdp, 53, kAllAllowed}, {kSctp, 80, kAllAllowed}});
}

TEST_F(TruthTable, PodSelectorAlonePicksPodsOfThePolicysNamespace) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
)",
        {{kTcp, 80, kToXaFromXbOnly}, {kUdp, 80, kToXaFromXbOnly}});
}

TEST_F(TruthTable, AnEmptyPodSelectorPeerIsEveryPodOfTheNamespace) {
  constexpr Matrix fromX = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "XXX-.....", // from y/a
      "XXX.-....", // from y/b
      "XXX..-...", // from y/c
      "XXX...-..", // from z/a
      "XXX....-.", // from z/b
      "XXX.....-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: same-namespace, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
)",
        {{kTcp, 80, fromX}, {kUdp, 53, fromX}});
}

TEST_F(TruthTable, AnEmptyNamespaceSelectorIsEveryPodButNothingOutside) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-cluster-pods, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {}}]
)",
        {{kTcp, 80, kAllAllowed}}, {{"203.0.113.9", "x.a", kTcp, 80, false}});
}

TEST_F(TruthTable, NamespaceSelectorAlonePicksEveryPodOfTheNamespaces) {
  constexpr Matrix fromY = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      "X-.......", // from x/b
      "X.-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "X.....-..", // from z/a
      "X......-.", // from z/b
      "X.......-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
)",
        {{kTcp, 80, fromY}});
}

TEST_F(TruthTable, BothSelectorsInOnePeerAreAnd) {
  constexpr Matrix fromYbOnly = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      "X-.......", // from x/b
      "X.-......", // from x/c
      "X..-.....", // from y/a
      "....-....", // from y/b
      "X....-...", // from y/c
      "X.....-..", // from z/a
      "X......-.", // from z/b
      "X.......-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-y-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchLabels: {pod: b}}
)",
        {{kTcp, 80, fromYbOnly}});
}

TEST_F(TruthTable, TwoPeerItemsAreOr) {
  constexpr Matrix fromYOrXb = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      ".-.......", // from x/b
      "X.-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "X.....-..", // from z/a
      "X......-.", // from z/b
      "X.......-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-y-or-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - podSelector: {matchLabels: {pod: b}}
)",
        {{kTcp, 80, fromYOrXb}});
}

TEST_F(TruthTable, MatchExpressionsIn) {
  // From y's pods with tier web or db: y/a and y/b.
  constexpr Matrix fromYaYb = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-XX......", // from x/a
      "X-X......", // from x/b
      "XX-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      "XXX..-...", // from y/c
      "XXX...-..", // from z/a
      "XXX....-.", // from z/b
      "XXX.....-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y-tiers, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: ns, operator: In, values: [y]}]
      podSelector:
        matchExpressions: [{key: tier, operator: In, values: [web, db]}]
)",
        {{kTcp, 80, fromYaYb}});
}

TEST_F(TruthTable, MatchExpressionsNotInMatchesAMissingKey) {
  // From every namespace's pods not tier=web: b (db) and c (no tier).
  constexpr Matrix fromBAndC = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-XX......", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "XXX-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "XXX...-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-web, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector:
        matchExpressions: [{key: tier, operator: NotIn, values: [web]}]
)",
        {{kTcp, 80, fromBAndC}});
}

TEST_F(TruthTable, MatchExpressionsExistsOnNamespaceLabels) {
  // Namespaces x and y have `env`, z has not.
  constexpr Matrix fromXAndY = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "XXX...-..", // from z/a
      "XXX....-.", // from z/b
      "XXX.....-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-env, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: env, operator: Exists}]
)",
        {{kTcp, 80, fromXAndY}});
}

TEST_F(TruthTable, MatchExpressionsDoesNotExist) {
  // The policy selects x/c (no tier) and admits only pods without a tier.
  constexpr Matrix toXcFromCs = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-.X......", // from x/a
      ".-X......", // from x/b
      "..-......", // from x/c
      "..X-.....", // from y/a
      "..X.-....", // from y/b
      ".....-...", // from y/c
      "..X...-..", // from z/a
      "..X....-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: untiered, namespace: x}
spec:
  podSelector:
    matchExpressions: [{key: tier, operator: DoesNotExist}]
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector:
        matchExpressions: [{key: tier, operator: DoesNotExist}]
)",
        {{kTcp, 80, toXcFromCs}});
}

TEST_F(TruthTable, NamedPortsResolvePerDestinationPod) {
  // `web` is 8080 on a and b, 8081 on c.
  constexpr Matrix to8080 = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-.X......", // from x/a
      ".-X......", // from x/b
      "..-......", // from x/c
      "..X-.....", // from y/a
      "..X.-....", // from y/b
      "..X..-...", // from y/c
      "..X...-..", // from z/a
      "..X....-.", // from z/b
      "..X.....-", // from z/c
  };
  constexpr Matrix to8081 = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-X.......", // from x/a
      "X-.......", // from x/b
      "XX-......", // from x/c
      "XX.-.....", // from y/a
      "XX..-....", // from y/b
      "XX...-...", // from y/c
      "XX....-..", // from z/a
      "XX.....-.", // from z/b
      "XX......-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-only, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: web}]
)",
        {{kTcp, 8080, to8080}, {kTcp, 8081, to8081}, {kTcp, 80, kToXDenied}});
}

TEST_F(TruthTable, ANamedPortOfAnotherProtocolMatchesNothing) {
  // `web` names a TCP port on every pod: UDP `web` is no port of theirs.
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp-web, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: UDP, port: web}]
)",
        {{kUdp, 8080, kToXDenied}, {kUdp, 8081, kToXDenied}, {kTcp, 8080, kToXDenied}});
}

TEST_F(TruthTable, EndPortOpensARange) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: range, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: TCP, port: 80, endPort: 81}]
)",
        {{kTcp, 80, kAllAllowed},
         {kTcp, 81, kAllAllowed},
         {kTcp, 8080, kToXDenied},
         {kUdp, 80, kToXDenied}});
}

TEST_F(TruthTable, SctpPortsAreTheirOwn) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: sctp, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: SCTP, port: 80}]
)",
        {{kSctp, 80, kAllAllowed}, {kTcp, 80, kToXDenied}, {kUdp, 80, kToXDenied}});
}

TEST_F(TruthTable, PolicyTypesEgressOnlyLeavesIngressOpen) {
  // Its ingress rules are ignored: policyTypes does not list Ingress.
  constexpr Matrix xaToXbOnly = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-.XXXXXXX", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "......-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: c}}
  egress:
  - to:
    - podSelector: {matchLabels: {pod: b}}
)",
        {{kTcp, 80, xaToXbOnly}, {kUdp, 53, xaToXbOnly}});
}

TEST_F(TruthTable, EgressToANamespaceAndDns) {
  constexpr Matrix xToYOnly = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-XX...XXX", // from x/a
      "X-X...XXX", // from x/b
      "XX-...XXX", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "......-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-y-and-dns, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: y}}
  - ports: [{protocol: UDP, port: 53}]
)",
        {{kTcp, 80, xToYOnly}, {kUdp, 80, xToYOnly}, {kUdp, 53, kAllAllowed}});
}

TEST_F(TruthTable, PoliciesSelectingOnePodUnion) {
  constexpr Matrix fromXbOrZ = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-........", // from x/a
      ".-.......", // from x/b
      "X.-......", // from x/c
      "X..-.....", // from y/a
      "X...-....", // from y/b
      "X....-...", // from y/c
      "......-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: from-b, namespace: x}
  spec:
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from: [{podSelector: {matchLabels: {pod: b}}}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: from-z, namespace: x}
  spec:
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]
)",
        {{kTcp, 80, fromXbOrZ}});
}

TEST_F(TruthTable, AbsentPolicyTypesWithEgressRulesIsolateBothDirections) {
  // y/a: nothing in (no ingress rules), out only to z.
  constexpr Matrix yaIsolated = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-..X.....", // from x/a
      ".-.X.....", // from x/b
      "..-X.....", // from x/c
      "XXX-XX...", // from y/a
      "...X-....", // from y/b
      "...X.-...", // from y/c
      "...X..-..", // from z/a
      "...X...-.", // from z/b
      "...X....-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-to-z, namespace: y}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
  - to: [{namespaceSelector: {matchLabels: {ns: z}}}]
)",
        {{kTcp, 80, yaIsolated}});
}

TEST_F(TruthTable, AnEmptyEgressListWithoutPolicyTypesDoesNotIsolateEgress) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
  egress: []
)",
        {{kTcp, 80, kToXaFromXbOnly}});
}

TEST_F(TruthTable, AnEmptyIngressListIsolatesWithoutAllowing) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-closed, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress: []
  egress: [{}]
)",
        {{kTcp, 80, kToXaDenied}, {kSctp, 80, kToXaDenied}});
}

TEST_F(TruthTable, EgressIpBlockWithExceptForExternalAddresses) {
  constexpr Matrix xaToPodsDenied = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-XXXXXXXX", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "......-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-to-docs, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
)",
        {{kTcp, 80, xaToPodsDenied}},
        {{"x.a", "192.0.2.10", kTcp, 80, true},
         {"x.a", "192.0.2.200", kTcp, 80, false},
         {"x.a", "198.51.100.7", kTcp, 80, false},
         {"x.b", "198.51.100.7", kTcp, 80, true}});
}

TEST_F(TruthTable, Ipv6IpBlockWithExcept) {
  constexpr Matrix xaToPodsDenied = {
      // columns: to x/a x/b x/c y/a y/b y/c z/a z/b z/c
      "-XXXXXXXX", // from x/a
      ".-.......", // from x/b
      "..-......", // from x/c
      "...-.....", // from y/a
      "....-....", // from y/b
      ".....-...", // from y/c
      "......-..", // from z/a
      ".......-.", // from z/b
      "........-", // from z/c
  };
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-to-v6, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}
    ports: [{protocol: UDP, port: 53}]
)",
        {{kUdp, 53, xaToPodsDenied}},
        {{"x.a", "2001:db8::5", kUdp, 53, true},
         {"x.a", "2001:db8::5", kTcp, 53, false},
         {"x.a", "2001:db8:1::5", kUdp, 53, false},
         {"x.a", "192.0.2.1", kUdp, 53, false}});
}

TEST_F(TruthTable, IngressIpBlockWithPorts) {
  check(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-net, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{ipBlock: {cidr: 203.0.113.0/24}}]
    ports: [{port: 80}]
)",
        {{kTcp, 80, kToXaDenied}},
        {{"203.0.113.9", "x.a", kTcp, 80, true},
         {"203.0.113.9", "x.a", kTcp, 81, false},
         {"203.0.113.9", "x.a", kUdp, 80, false},
         {"198.51.100.7", "x.a", kTcp, 80, false}});
}

} // namespace
} // namespace polc
