// `polc import k8s`'s library on good and bad input: what it writes, and
// that every error names the file and line, the object and the field path.
#include "polc/importer/k8s.h"
#include "polc/support/interface_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace polc {
namespace {

constexpr const char* kPods = R"(apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports: [{name: http, containerPort: 8080}]
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIPs: [{ip: 10.0.0.2}, {ip: "fd00::2"}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 172.18.0.2}]}
)";

struct Imported {
  importer::K8sImport result;
  Diagnostics diagnostics;
  std::string messages; // every diagnostic and note, rendered
};

Imported import(const std::string& policies, bool lenient = false,
                const std::string& name = "in.yaml") {
  Imported imported;
  imported.result = importer::importK8s({{"pods.yaml", kPods}, {name, policies}}, {lenient},
                                        imported.diagnostics);
  imported.diagnostics.sort();
  for (const auto& diagnostic : imported.diagnostics.all())
    imported.messages +=
        diagnostic.location.str() + ": " + diagnostic.name + ": " + diagnostic.message + "\n";
  for (const auto& note : imported.result.notes)
    imported.messages += note.location.str() + ": note: " + note.message + "\n";
  return imported;
}

std::string policy(const std::string& spec, const std::string& name = "p") {
  return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: x}\nspec:\n" + spec;
}

TEST(K8sImport, WritesTopologyAndOnePolicyFilePerNamespace) {
  auto imported = import(policy("  podSelector: {matchLabels: {app: a}}\n"
                                "  ingress:\n"
                                "  - from: [{podSelector: {matchLabels: {app: b}}}]\n"
                                "    ports: [{port: http}, {protocol: UDP, port: 53}]\n"));
  ASSERT_FALSE(imported.diagnostics.hasErrors()) << imported.messages;
  const auto& files = imported.result.files;
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.at("x.pol"),
            R"(# The NetworkPolicies of namespace x, imported by `polc import k8s`.

# networking.k8s.io/v1 NetworkPolicy x/p
policy "x/p" {
  select namespace == "x" && app == "a"
  ingress {
    # spec.ingress[0]
    allow from namespace == "x" && app == "b" on tcp/http, udp/53
  }
}
)");
  EXPECT_NE(files.at("main.pol").find("include \"x.pol\"\n"), std::string::npos);
  const auto& topology = files.at("topology.yaml");
  EXPECT_NE(topology.find("\"x\": { labels: { \"kubernetes.io/metadata.name\": \"x\" } }"),
            std::string::npos)
      << topology;
  EXPECT_NE(topology.find("addresses: [\"10.0.0.2\", \"fd00::2\"]"), std::string::npos);
  EXPECT_NE(topology.find("ports: { \"http\": tcp/8080 }"), std::string::npos);
  EXPECT_NE(topology.find("address: \"172.18.0.2\""), std::string::npos);
  EXPECT_EQ(imported.result.endpoints, 2u);
}

TEST(K8sImport, SameObjectsInAnotherOrderGiveTheSameBytes) {
  std::string p1 = policy("  podSelector: {}\n", "p1");
  std::string p2 = policy("  podSelector: {}\n  policyTypes: [Egress]\n", "p2");
  auto forward = import(p1 + "---\n" + p2);
  auto backward = import(p2 + "---\n" + p1);
  ASSERT_FALSE(forward.diagnostics.hasErrors()) << forward.messages;
  EXPECT_EQ(forward.result.files, backward.result.files);
}

TEST(K8sImport, ReadsJsonAndLists) {
  auto imported = import(R"({"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
   "metadata": {"name": "p", "namespace": "x"},
   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]})",
                         false, "in.json");
  ASSERT_FALSE(imported.diagnostics.hasErrors()) << imported.messages;
  EXPECT_NE(imported.result.files.at("x.pol").find("  ingress {}\n"), std::string::npos)
      << imported.result.files.at("x.pol");
}

TEST(K8sImport, MalformedYamlIsAnErrorAtItsLine) {
  auto imported = import("kind: NetworkPolicy\nspec: {podSelector: [\n");
  EXPECT_TRUE(imported.diagnostics.hasErrors());
  EXPECT_NE(imported.messages.find("in.yaml:3:1: k8s-yaml: not valid YAML or JSON"),
            std::string::npos)
      << imported.messages;
  EXPECT_TRUE(imported.result.files.empty());
}

TEST(K8sImport, AnUnknownFieldIsAnErrorWithItsPath) {
  auto imported = import(policy("  podSelector: {}\n"
                                "  ingress:\n"
                                "  - from:\n"
                                "    - podSelector: {}\n"
                                "      serviceAccount: {name: x}\n"));
  EXPECT_NE(imported.messages.find("in.yaml:9:7: k8s-unknown-field: NetworkPolicy x/p: "
                                   "spec.ingress[0].from[0].serviceAccount: unknown field"),
            std::string::npos)
      << imported.messages;
}

TEST(K8sImport, UnknownKindsAndEndpointSlicesAreSkippedWithANote) {
  auto imported = import("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
                         "---\n"
                         "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                         "metadata: {name: s, namespace: x}\n");
  EXPECT_FALSE(imported.diagnostics.hasErrors()) << imported.messages;
  EXPECT_NE(imported.messages.find("in.yaml:1:1: note: ConfigMap x/c: skipped"), std::string::npos)
      << imported.messages;
  EXPECT_NE(imported.messages.find("in.yaml:5:1: note: EndpointSlice x/s: read, not used"),
            std::string::npos)
      << imported.messages;
}

TEST(K8sImport, SelectorsThatSelectNothingAreWarnings) {
  auto imported = import(policy("  podSelector: {matchLabels: {app: nope}}\n"
                                "  ingress:\n"
                                "  - from: [{namespaceSelector: {matchLabels: {team: none}}}]\n"));
  EXPECT_FALSE(imported.diagnostics.hasErrors()) << imported.messages;
  EXPECT_EQ(imported.diagnostics.warningCount(), 2u) << imported.messages;
  EXPECT_NE(imported.messages.find("k8s-empty-selector: NetworkPolicy x/p: spec.podSelector: "
                                   "selects no imported pod"),
            std::string::npos)
      << imported.messages;
  EXPECT_NE(imported.messages.find("spec.ingress[0].from[0]: this peer selects no imported pod"),
            std::string::npos);
}

TEST(K8sImport, TheSameObjectTwiceIsANameClash) {
  auto imported = import(policy("  podSelector: {}\n") + "---\n" + policy("  podSelector: {}\n"));
  EXPECT_NE(imported.messages.find("in.yaml:7:1: k8s-name-clash: NetworkPolicy x/p: defined twice"),
            std::string::npos)
      << imported.messages;
}

TEST(K8sImport, AnAddressOfTwoObjectsIsAClash) {
  auto imported = import("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n"
                         "spec: {clusterIP: 10.0.0.1, selector: {app: a}}\n");
  EXPECT_NE(imported.messages.find("pods.yaml:1:1: k8s-name-clash: Pod x/a: address 10.0.0.1 is "
                                   "also Service x/s's"),
            std::string::npos)
      << imported.messages;
  EXPECT_TRUE(imported.result.files.empty());
}

TEST(K8sImport, AdminNetworkPoliciesNeedTiers) {
  std::string anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
                    "metadata: {name: cluster-wide}\nspec: {priority: 10}\n";
  auto strict = import(anp);
  EXPECT_NE(strict.messages.find("in.yaml:2:7: k8s-untranslatable: AdminNetworkPolicy "
                                 "cluster-wide: kind: needs policy tiers, not yet in polc's "
                                 "language"),
            std::string::npos)
      << strict.messages;
  auto lenient = import(anp, /*lenient=*/true);
  EXPECT_FALSE(lenient.diagnostics.hasErrors()) << lenient.messages;
  EXPECT_NE(lenient.result.files.at("main.pol")
                .find("# NOT translated (--lenient): policy.networking.k8s.io/v1alpha1 "
                      "AdminNetworkPolicy cluster-wide: needs policy tiers"),
            std::string::npos)
      << lenient.result.files.at("main.pol");
}

TEST(K8sImport, AnIpBlockOverPodAddressesCannotBeSaidYet) {
  std::string spec = "  podSelector: {}\n"
                     "  ingress:\n"
                     "  - from:\n"
                     "    - ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.2/32]}\n";
  auto strict = import(policy(spec));
  EXPECT_NE(strict.messages.find("in.yaml:8:16: k8s-untranslatable: NetworkPolicy x/p: "
                                 "spec.ingress[0].from[0].ipBlock: ipBlock 10.0.0.0/24 except "
                                 "10.0.0.2/32 covers cluster addresses (pod x/a (10.0.0.1))"),
            std::string::npos)
      << strict.messages;
  auto lenient = import(policy(spec), /*lenient=*/true);
  EXPECT_FALSE(lenient.diagnostics.hasErrors()) << lenient.messages;
  EXPECT_NE(lenient.result.files.at("x.pol").find("# NOT exact (--lenient): this ipBlock also "
                                                  "covers pod x/a (10.0.0.1)"),
            std::string::npos)
      << lenient.result.files.at("x.pol");
}

TEST(K8sImport, HostBitsAreClearedWithAWarning) {
  auto imported = import(policy("  podSelector: {}\n"
                                "  policyTypes: [Egress]\n"
                                "  egress:\n"
                                "  - to:\n"
                                "    - ipBlock:\n"
                                "        cidr: 192.0.2.1/24\n"
                                "        except: [192.0.2.0/28, 192.0.3.0/28]\n"));
  EXPECT_NE(imported.messages.find("in.yaml:10:15: k8s-host-bits: NetworkPolicy x/p: "
                                   "spec.egress[0].to[0].ipBlock.cidr: '192.0.2.1/24' has host "
                                   "bits set; imported as 192.0.2.0/24"),
            std::string::npos)
      << imported.messages;
  EXPECT_NE(imported.messages.find("in.yaml:11:32: k8s-invalid: NetworkPolicy x/p: "
                                   "spec.egress[0].to[0].ipBlock.except[1]: 192.0.3.0/28 is not "
                                   "strictly inside"),
            std::string::npos)
      << imported.messages;
}

TEST(K8sImport, InvalidPortsAndOperatorsAreErrors) {
  auto imported =
      import(policy("  podSelector:\n"
                    "    matchExpressions: [{key: app, operator: Exists, values: [a]}]\n"
                    "  ingress:\n"
                    "  - ports: [{port: http, endPort: 90}, {protocol: ICMP}, "
                    "{port: 70000}]\n"));
  EXPECT_NE(imported.messages.find("spec.podSelector.matchExpressions[0]: operator Exists takes "
                                   "no values"),
            std::string::npos)
      << imported.messages;
  EXPECT_NE(imported.messages.find("spec.ingress[0].ports[0].endPort: endPort needs a numeric "
                                   "port"),
            std::string::npos);
  EXPECT_NE(imported.messages.find("spec.ingress[0].ports[1].protocol: unknown protocol 'ICMP'"),
            std::string::npos);
  EXPECT_NE(imported.messages.find("spec.ingress[0].ports[2].port: expected an integer from 1 "
                                   "to 65535, not '70000'"),
            std::string::npos);
}

TEST(K8sImport, HostNetworkPodsAreTheirNodesAndNotEndpoints) {
  auto imported = import("apiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: x}\n"
                         "spec: {nodeName: n1, hostNetwork: true}\n"
                         "status: {podIP: 172.18.0.2}\n");
  EXPECT_FALSE(imported.diagnostics.hasErrors()) << imported.messages;
  EXPECT_NE(imported.messages.find("note: Pod x/h: skipped: it uses the host's network"),
            std::string::npos)
      << imported.messages;
  EXPECT_EQ(imported.result.endpoints, 2u);
}

TEST(K8sImport, ReservedAndUnwritableLabelKeysAreErrors) {
  auto imported = import(policy("  podSelector: {matchLabels: {namespace: x, in: y}}\n"));
  EXPECT_NE(imported.messages.find("label key 'namespace' is reserved in polc"), std::string::npos)
      << imported.messages;
  EXPECT_NE(imported.messages.find("label key 'in' cannot be written in a polc selector"),
            std::string::npos);
}

TEST(K8sImport, InterfaceNamesAreValidAndDistinct) {
  auto name = importer::podInterfaceName("kube-system", "coredns-5d78c9869d-abcde");
  EXPECT_EQ(name.size(), 15u);
  EXPECT_TRUE(isInterfaceName(name));
  EXPECT_EQ(name.substr(0, 2), "pk");
  EXPECT_NE(name, importer::podInterfaceName("kube-system", "coredns-5d78c9869d-abcdf"));
  EXPECT_EQ(name, importer::podInterfaceName("kube-system", "coredns-5d78c9869d-abcde"));
}

} // namespace
} // namespace polc
