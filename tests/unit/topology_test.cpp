// The topology loader: every field of the model, every validation error with
// its exact file:line:col, and inputs that must not crash it.
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

#include <netinet/in.h>

#include <algorithm>

namespace polc {
namespace {

using topology::PortRange;

struct Loaded {
  std::optional<topology::Topology> topology;
  Diagnostics diagnostics;
};

Loaded load(const std::string& text) {
  Loaded loaded;
  loaded.topology = topology::loadText("t.yaml", text, loaded.diagnostics);
  return loaded;
}

// "line:col name: message" for each diagnostic, in report order.
std::vector<std::string> summary(const Diagnostics& diagnostics) {
  std::vector<std::string> lines;
  for (const auto& d : diagnostics.all())
    lines.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.column) +
                    " " + d.name + ": " + d.message);
  return lines;
}

// The one diagnostic at `where` ("line:col") named `name`; fails otherwise
// (and then returns an empty diagnostic, so that a test goes on).
const Diagnostic* at(const Loaded& loaded, const std::string& where, const std::string& name) {
  const Diagnostic* found = nullptr;
  for (const auto& d : loaded.diagnostics.all()) {
    auto position = std::to_string(d.location.line) + ":" + std::to_string(d.location.column);
    if (position == where && d.name == name) {
      EXPECT_EQ(found, nullptr) << "two " << name << " at " << where;
      found = &d;
    }
  }
  EXPECT_NE(found, nullptr) << "no " << name << " at " << where << " in:\n"
                            << loaded.diagnostics.render();
  static const Diagnostic kMissing{};
  return found ? found : &kMissing;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool hasHint(const Diagnostic* d, const std::string& part) {
  return d && std::any_of(d->hints.begin(), d->hints.end(),
                          [&](const auto& hint) { return contains(hint, part); });
}

IpPrefix ip(const char* text) {
  auto parsed = parsePrefix(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpPrefix{});
}

// The topology of the brief, field for field.
constexpr const char* kBriefExample = R"(cluster: demo
namespaces:
  shop: { labels: { team: retail } }
nodes:
  - name: node-1
    address: 10.10.0.1            # v4 or v6
    endpoints:
      - name: web-1
        namespace: shop
        labels: { app: web, env: prod }
        addresses: [10.0.1.10, "fd00::10"]
        interface: pw-web1
        ports: { http: tcp/8080 }   # named ports (single ports)
      - name: db-1
        namespace: shop
        labels: { app: db }
        addresses: [10.0.1.20]
        interface: pw-db1
services:
  - name: db
    namespace: shop
    vip: 10.96.0.5
    ports: [ tcp/5432 ]
    selector: { app: db }
groups:
  - name: corp
    cidrs: [ 192.168.0.0/16 ]
)";

TEST(TopologyModel, LoadsEveryFieldOfTheBriefExample) {
  auto loaded = load(kBriefExample);
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  EXPECT_TRUE(loaded.diagnostics.all().empty()) << loaded.diagnostics.render();
  const auto& t = *loaded.topology;
  EXPECT_EQ(t.cluster, "demo");
  EXPECT_EQ(t.file, "t.yaml");

  ASSERT_EQ(t.namespaces.size(), 1u);
  EXPECT_EQ(t.namespaces[0].name, "shop");
  EXPECT_EQ(t.namespaces[0].labels, (topology::Labels{{"team", "retail"}}));
  EXPECT_EQ(t.namespaces[0].location.str(), "t.yaml:3:3");

  ASSERT_EQ(t.nodes.size(), 1u);
  const auto& node = t.nodes[0];
  EXPECT_EQ(node.name, "node-1");
  EXPECT_EQ(node.address, ip("10.10.0.1"));
  EXPECT_EQ(node.location.str(), "t.yaml:5:5");
  ASSERT_EQ(node.endpoints.size(), 2u);

  const auto& web = node.endpoints[0];
  EXPECT_EQ(web.name, "web-1");
  EXPECT_EQ(web.node, "node-1");
  EXPECT_EQ(web.nameSpace, "shop");
  EXPECT_EQ(
      web.labels,
      (topology::Labels{
          {"app", "web"}, {"env", "prod"}, {"namespace", "shop"}, {"namespace.team", "retail"}}));
  EXPECT_EQ(web.addresses, (std::vector<IpPrefix>{ip("10.0.1.10"), ip("fd00::10")}));
  EXPECT_EQ(web.addresses[1].family, 6);
  EXPECT_EQ(web.addresses[1].length, 128);
  EXPECT_EQ(web.interface, "pw-web1");
  ASSERT_EQ(web.namedPorts.size(), 1u);
  EXPECT_EQ(web.namedPorts.at("http"), (PortRange{IPPROTO_TCP, 8080, 8080}));
  EXPECT_EQ(web.location.str(), "t.yaml:8:9");

  ASSERT_EQ(t.services.size(), 1u);
  const auto& db = t.services[0];
  EXPECT_EQ(db.name, "db");
  EXPECT_EQ(db.nameSpace, "shop");
  EXPECT_EQ(db.vip, ip("10.96.0.5"));
  ASSERT_EQ(db.ports.size(), 1u);
  EXPECT_EQ(db.ports[0].port, (PortRange{IPPROTO_TCP, 5432, 5432}));
  EXPECT_FALSE(db.ports[0].targetPort);
  EXPECT_EQ(db.selector, (topology::Labels{{"app", "db"}}));
  EXPECT_EQ(db.location.str(), "t.yaml:20:5");

  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].name, "corp");
  EXPECT_EQ(t.groups[0].cidrs, (std::vector<IpPrefix>{ip("192.168.0.0/16")}));
  EXPECT_EQ(t.groups[0].location.str(), "t.yaml:26:5");

  auto all = t.allEndpoints();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], &web);
  EXPECT_EQ(all[1]->name, "db-1");
  EXPECT_EQ(t.findService("db"), &db);
  EXPECT_EQ(t.findService("web"), nullptr);
  EXPECT_EQ(t.findGroup("corp"), &t.groups[0]);
  EXPECT_EQ(t.findGroup("db"), nullptr);
  EXPECT_EQ(t.backends(db), (std::vector<const topology::Endpoint*>{all[1]}));
}

TEST(TopologyModel, LoadsTheExampleFile) {
  Diagnostics diagnostics;
  auto topology = topology::loadFile(POLC_SOURCE_DIR "/examples/policies/shop.yaml", diagnostics);
  ASSERT_TRUE(topology) << diagnostics.render();
  auto endpoints = topology->allEndpoints();
  ASSERT_FALSE(endpoints.empty());
  for (const auto* endpoint : endpoints) {
    EXPECT_FALSE(endpoint->addresses.empty()) << endpoint->name;
    EXPECT_FALSE(endpoint->interface.empty()) << endpoint->name;
  }
}

TEST(TopologyModel, OptionalSectionsMayBeLeftOut) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - { name: a, addresses: [10.0.0.1], interface: va }
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& t = *loaded.topology;
  EXPECT_TRUE(t.namespaces.empty());
  EXPECT_TRUE(t.services.empty());
  EXPECT_TRUE(t.groups.empty());
  EXPECT_FALSE(t.nodes[0].address);
  const auto& a = t.nodes[0].endpoints[0];
  EXPECT_EQ(a.nameSpace, "");
  EXPECT_TRUE(a.labels.empty()) << "no namespace, no namespace labels";
  EXPECT_TRUE(a.namedPorts.empty());
}

TEST(TopologyModel, NamespaceLabelsAreAddedToEveryEndpointOfTheNamespace) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - { name: a, namespace: plain, labels: { app: a }, addresses: [10.0.0.1], interface: va }
      - { name: b, namespace: shop, addresses: [10.0.0.2], interface: vb }
namespaces:
  plain:
  shop: { labels: { team: retail, tier: front, namespace: odd } }
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& endpoints = loaded.topology->nodes[0].endpoints;
  EXPECT_EQ(endpoints[0].labels, (topology::Labels{{"app", "a"}, {"namespace", "plain"}}));
  // Namespace label keys are free, even `namespace`: they gain the prefix.
  EXPECT_EQ(endpoints[1].labels, (topology::Labels{{"namespace", "shop"},
                                                   {"namespace.namespace", "odd"},
                                                   {"namespace.team", "retail"},
                                                   {"namespace.tier", "front"}}));
  EXPECT_EQ(loaded.topology->namespaces[0].name, "plain") << "file order";
  EXPECT_EQ(topology::kNamespaceLabel, "namespace");
  EXPECT_EQ(topology::kNamespaceLabelPrefix, "namespace.");
}

TEST(TopologyModel, WrittenLabelsMayNotUseReservedKeys) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - name: a
        labels: { namespace: shop, namespace.team: x, namespaces: ok }
        addresses: [10.0.0.1]
        interface: va
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(loaded.diagnostics.errorCount(), 2u) << loaded.diagnostics.render();
  auto* d = at(loaded, "6:19", "topology-reserved-label");
  EXPECT_TRUE(hasHint(d, "namespace:"));
  at(loaded, "6:36", "topology-reserved-label");
}

TEST(TopologyModel, LabelSyntaxIsChecked) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - name: a
        labels:
          app.kubernetes.io/name: web
          _private: ""
          "two words": x
          "": x
          9lives: x
          quoted: "say \"hi\""
          spaced: "a b"
          empty:
          listed: [a]
        addresses: [10.0.0.1]
        interface: va
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(loaded.diagnostics.errorCount(), 7u) << loaded.diagnostics.render();
  auto* d = at(loaded, "9:11", "topology-bad-label");
  EXPECT_EQ(d->message, "'two words' is not a valid label key");
  EXPECT_EQ(d->length, 11);
  EXPECT_TRUE(hasHint(d, "start with a letter"));
  EXPECT_EQ(at(loaded, "10:11", "topology-bad-label")->message, "a label key may not be empty");
  at(loaded, "11:11", "topology-bad-label");
  EXPECT_TRUE(contains(at(loaded, "12:19", "topology-bad-label")->message, "a quote"));
  at(loaded, "13:19", "topology-bad-label");
  auto* empty = at(loaded, "14:11", "topology-type");
  EXPECT_TRUE(hasHint(empty, "empty: \"\""));
  EXPECT_TRUE(contains(at(loaded, "15:19", "topology-type")->message, "not a list"));
}

TEST(TopologyModel, UnknownKeysGetADidYouMean) {
  auto loaded = load(R"(cluster: c
servics: []
nodes:
  - name: n
    adress: 10.0.0.1
    colour: red
    endpoints:
      - { name: a, addresses: [10.0.0.2], interface: va, label: {} }
namespaces:
  shop: { lables: {} }
groups:
  - { name: g, cidr: [10.0.0.0/8] }
)");
  EXPECT_FALSE(loaded.topology);
  auto* d = at(loaded, "2:1", "topology-unknown-key");
  EXPECT_EQ(d->message, "unknown key 'servics' in the topology");
  EXPECT_EQ(d->length, 7);
  EXPECT_TRUE(hasHint(d, "did you mean 'services'?"));
  EXPECT_TRUE(hasHint(at(loaded, "5:5", "topology-unknown-key"), "did you mean 'address'?"));
  EXPECT_TRUE(hasHint(at(loaded, "6:5", "topology-unknown-key"),
                      "known keys here: name, address, endpoints"));
  EXPECT_TRUE(hasHint(at(loaded, "8:58", "topology-unknown-key"), "did you mean 'labels'?"));
  EXPECT_TRUE(hasHint(at(loaded, "10:11", "topology-unknown-key"), "did you mean 'labels'?"));
  EXPECT_TRUE(hasHint(at(loaded, "12:16", "topology-unknown-key"), "did you mean 'cidrs'?"));
  // The misspelled key does not hide the missing one.
  at(loaded, "12:5", "topology-missing-key");
}

TEST(TopologyModel, DuplicateNamesPointAtTheFirstDefinition) {
  auto loaded = load(R"(cluster: c
namespaces:
  shop: {}
  shop: {}
nodes:
  - name: n1
    endpoints:
      - { name: a, addresses: [10.0.0.1], interface: va }
  - name: n1
    endpoints:
      - { name: a, addresses: [10.0.0.2], interface: va }
services:
  - { name: s, selector: { app: x } }
  - { name: s, selector: { app: x } }
groups:
  - { name: g, cidrs: [10.0.0.0/8] }
  - { name: g, cidrs: [10.0.0.0/8] }
)");
  EXPECT_FALSE(loaded.topology);
  auto* ns = at(loaded, "4:3", "topology-duplicate-name");
  EXPECT_EQ(ns->message, "duplicate namespace name 'shop'");
  ASSERT_EQ(ns->notes.size(), 1u);
  EXPECT_EQ(ns->notes[0].location.str(), "t.yaml:3:3");
  EXPECT_EQ(ns->notes[0].length, 4);

  auto* node = at(loaded, "9:11", "topology-duplicate-name");
  EXPECT_EQ(node->message, "duplicate node name 'n1'");
  EXPECT_EQ(node->notes.at(0).location.str(), "t.yaml:6:11");
  // Endpoint names are unique cluster-wide, interfaces only per node.
  auto* endpoint = at(loaded, "11:17", "topology-duplicate-name");
  EXPECT_EQ(endpoint->message, "duplicate endpoint name 'a'");
  EXPECT_EQ(endpoint->notes.at(0).location.str(), "t.yaml:8:17");
  auto* service = at(loaded, "14:13", "topology-duplicate-name");
  EXPECT_EQ(service->notes.at(0).location.str(), "t.yaml:13:13");
  auto* group = at(loaded, "17:13", "topology-duplicate-name");
  EXPECT_EQ(group->notes.at(0).location.str(), "t.yaml:16:13");
  // Both nodes are called n1, so their interfaces clash too.
  at(loaded, "11:54", "topology-duplicate-interface");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 6u) << loaded.diagnostics.render();
}

TEST(TopologyModel, InterfacesAreUniquePerNode) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: a, addresses: [10.0.0.1], interface: va }
      - { name: b, addresses: [10.0.0.2], interface: va }
  - name: n2
    endpoints:
      - { name: c, addresses: [10.0.0.3], interface: va }
      - name: d
        addresses: [10.0.0.4]
        interface: this-is-far-too-long
      - { name: e, addresses: [10.0.0.5], interface: "a/b" }
)");
  EXPECT_FALSE(loaded.topology);
  auto* d = at(loaded, "6:54", "topology-duplicate-interface");
  EXPECT_EQ(d->message, "interface 'va' is used twice on node 'n1'");
  EXPECT_EQ(d->notes.at(0).location.str(), "t.yaml:5:54");
  EXPECT_EQ(d->notes.at(0).message, "already used by endpoint 'a' here");
  EXPECT_TRUE(hasHint(at(loaded, "12:20", "topology-bad-interface"), "1 to 15 characters"));
  at(loaded, "13:54", "topology-bad-interface");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 3u) << loaded.diagnostics.render();
}

TEST(TopologyModel, AddressesAreDistinctAcrossEndpointsNodesAndVips) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    address: 10.0.0.1
    endpoints:
      - { name: a, addresses: [10.0.0.1, "FD00:0::10"], interface: va }
      - { name: b, addresses: ["fd00::10", 10.0.0.2, 10.0.0.2], interface: vb }
services:
  - { name: s, vip: 10.0.0.2, selector: { app: x } }
)");
  EXPECT_FALSE(loaded.topology);
  auto* node = at(loaded, "6:32", "topology-duplicate-address");
  EXPECT_EQ(node->message, "address 10.0.0.1 is used twice in the topology");
  EXPECT_EQ(node->notes.at(0).location.str(), "t.yaml:4:14");
  EXPECT_EQ(node->notes.at(0).message, "already used by node 'n1' here");
  // IPv6 addresses compare as values, not as text.
  auto* v6 = at(loaded, "7:32", "topology-duplicate-address");
  EXPECT_EQ(v6->message, "address fd00::10 is used twice in the topology");
  EXPECT_EQ(v6->notes.at(0).location.str(), "t.yaml:6:42");
  EXPECT_EQ(v6->notes.at(0).length, 12);
  EXPECT_EQ(at(loaded, "7:54", "topology-duplicate-address")->notes.at(0).location.str(),
            "t.yaml:7:44");
  auto* vip = at(loaded, "9:21", "topology-duplicate-address");
  EXPECT_EQ(vip->notes.at(0).message, "already used by endpoint 'b' here");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 4u) << loaded.diagnostics.render();
}

TEST(TopologyModel, BadAddressesAreReportedWithAHint) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    address: 10.0.0
    endpoints:
      - name: a
        addresses: [10.0.0.300, 10.0.0.5/32, "fd00::1::2", { ip: 1 }]
        interface: va
      - { name: b, addresses: [], interface: vb }
      - { name: c, interface: vc }
services:
  - { name: s, vip: 10.96.0.0/12, selector: { app: x } }
)");
  EXPECT_FALSE(loaded.topology);
  auto* node = at(loaded, "4:14", "topology-bad-address");
  EXPECT_EQ(node->message, "'10.0.0' is not an IPv4 or IPv6 address");
  EXPECT_TRUE(hasHint(node, "such as 10.0.1.10 or fd00::10"));
  at(loaded, "7:21", "topology-bad-address");
  EXPECT_TRUE(hasHint(at(loaded, "7:33", "topology-bad-address"), "without a prefix length"));
  at(loaded, "7:46", "topology-bad-address");
  EXPECT_EQ(at(loaded, "7:60", "topology-type")->message,
            "an address must be an IPv4 or IPv6 address, not a mapping");
  EXPECT_EQ(at(loaded, "9:31", "topology-missing-key")->message,
            "an endpoint needs at least one address");
  EXPECT_EQ(at(loaded, "10:9", "topology-missing-key")->message, "an endpoint has no 'addresses'");
  EXPECT_TRUE(hasHint(at(loaded, "12:21", "topology-bad-address"), "without a prefix length"));
  EXPECT_EQ(loaded.diagnostics.errorCount(), 8u) << loaded.diagnostics.render();
}

TEST(TopologyModel, Ipv6Everywhere) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    address: "FD00:0:0::1"
    endpoints:
      - { name: a, labels: { app: a }, addresses: ["fd00::a:0:0:10"], interface: va }
services:
  - { name: s, vip: "fd00:96::5", ports: [tcp/80], selector: { app: a } }
groups:
  - { name: g, cidrs: ["fd00:1234::/32", "2001:db8::1"] }
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& t = *loaded.topology;
  EXPECT_EQ(t.nodes[0].address->addressText(), "fd00::1");
  EXPECT_EQ(t.nodes[0].endpoints[0].addresses[0].addressText(), "fd00::a:0:0:10");
  EXPECT_EQ(t.services[0].vip->text(), "fd00:96::5/128");
  EXPECT_EQ(t.groups[0].cidrs[0].text(), "fd00:1234::/32");
  EXPECT_EQ(t.groups[0].cidrs[1].text(), "2001:db8::1/128");
  EXPECT_EQ(t.backends(t.services[0]).size(), 1u);

  auto bad = load(R"(cluster: c
nodes: []
groups:
  - { name: g, cidrs: ["fd00::1/64", "fd00::/129"] }
)");
  EXPECT_FALSE(bad.topology);
  EXPECT_TRUE(hasHint(at(bad, "4:24", "topology-bad-cidr"), "did you mean fd00::/64?"));
  EXPECT_TRUE(hasHint(at(bad, "4:38", "topology-bad-cidr"), "0 to 128"));
}

TEST(TopologyServices, TargetPortsWeightsAffinityAndListedBackends) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: web-1, labels: { app: web }, addresses: [10.0.1.1], interface: w1, ports: { http: tcp/8080 } }
      - { name: web-2, labels: { app: web }, addresses: [10.0.1.2], interface: w2 }
services:
  - name: web
    vip: 10.96.0.6
    ports: [ tcp/80 -> http, "tcp/8443->443", udp/53, tcp/9000-9009 ]
    selector: { app: web }
    weights: { web-1: 2, web-2: 0 }
    affinity: { timeout: 30m }
  - name: ext
    vip: 10.96.0.7
    ports: [ tcp/443 ]
    backends: [ 192.0.2.10, { address: 192.0.2.11, weight: 3 } ]
    affinity: {}
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& t = *loaded.topology;
  const auto& web = t.services[0];
  ASSERT_EQ(web.ports.size(), 4u);
  EXPECT_EQ(web.ports[0].port, (PortRange{IPPROTO_TCP, 80, 80}));
  EXPECT_EQ(web.ports[0].targetName, "http");
  EXPECT_EQ(web.ports[1].targetPort, std::optional<uint16_t>(443));
  EXPECT_FALSE(web.ports[2].targetPort);
  EXPECT_EQ(web.ports[3].port, (PortRange{IPPROTO_TCP, 9000, 9009}));
  auto backends = t.backends(web);
  ASSERT_EQ(backends.size(), 2u);
  EXPECT_EQ(web.targetOn(web.ports[0], backends[0]->namedPorts), std::optional<uint16_t>(8080));
  EXPECT_EQ(web.targetOn(web.ports[0], backends[1]->namedPorts), std::nullopt);
  EXPECT_EQ(web.targetOn(web.ports[2], backends[1]->namedPorts), std::optional<uint16_t>(53));
  EXPECT_EQ(web.weightOf(*backends[0]), 2u);
  EXPECT_EQ(web.weightOf(*backends[1]), 0u);
  EXPECT_EQ(web.affinitySeconds, std::optional<uint32_t>(1800));

  const auto& ext = t.services[1];
  EXPECT_TRUE(ext.selector.empty());
  EXPECT_TRUE(t.backends(ext).empty());
  ASSERT_EQ(ext.backendList.size(), 2u);
  EXPECT_EQ(ext.backendList[0].address.addressText(), "192.0.2.10");
  EXPECT_EQ(ext.backendList[0].weight, 1u);
  EXPECT_EQ(ext.backendList[1].weight, 3u);
  EXPECT_EQ(ext.affinitySeconds, std::optional<uint32_t>(topology::kDefaultAffinitySeconds));
}

TEST(TopologyServices, OverlappingPortsAreAnError) {
  // Each port of a vip is one frontend with one target.
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: web-1, labels: { app: web }, addresses: [10.0.1.1], interface: w1 }
services:
  - { name: web, vip: 10.96.0.6, ports: [ tcp/80 -> 8080, udp/79-81, tcp/79-81 ], selector: { app: web } }
)");
  EXPECT_FALSE(loaded.topology);
  const auto* overlap = at(loaded, "7:70", "topology-duplicate-port");
  ASSERT_TRUE(overlap);
  EXPECT_EQ(overlap->message, "port tcp/79-81 overlaps tcp/80");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 1u);
}

TEST(TopologyServices, BadTargetsWeightsAndBackendsAreErrorsWhereWritten) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: web-1, labels: { app: web }, addresses: [10.0.1.1], interface: w1 }
      - { name: db-1, labels: { app: db }, addresses: [10.0.1.2], interface: w2 }
services:
  - name: web
    vip: 10.96.0.6
    ports: [ tcp/80 -> 70000, tcp/81 -> HTTP, tcp/90-99 -> 90, tcp/82 -> ]
    selector: { app: web }
    weights: { web-2: 1, db-1: 1, web-1: 101 }
    affinity: { timeout: 2d }
  - name: both
    selector: { app: web }
    backends: [ 192.0.2.1 ]
  - name: ext
    vip: 10.96.0.7
    ports: [ tcp/80 -> http ]
    backends: [ 192.0.2.1, 192.0.2.1, "2001:db8::1", { weight: 1 }, banana ]
    weights: { web-1: 1 }
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(at(loaded, "10:14", "topology-bad-port")->message,
            "target port '70000' is not a port from 1 to 65535");
  EXPECT_TRUE(hasHint(at(loaded, "10:31", "topology-bad-port-name"), "named port"));
  EXPECT_EQ(at(loaded, "10:47", "topology-bad-port")->message,
            "a port range cannot have a target port");
  at(loaded, "10:64", "topology-bad-port-name");
  EXPECT_TRUE(hasHint(at(loaded, "12:16", "topology-service-backends"), "did you mean 'web-1'?"));
  EXPECT_EQ(at(loaded, "12:26", "topology-service-backends")->message,
            "endpoint 'db-1' is not a backend of service 'web'");
  at(loaded, "12:42", "topology-bad-weight");
  at(loaded, "13:26", "topology-bad-duration");
  at(loaded, "16:5", "topology-service-backends");
  at(loaded, "19:14", "topology-service-backends"); // a named target with listed backends
  at(loaded, "20:28", "topology-duplicate-address");
  EXPECT_TRUE(hasHint(at(loaded, "20:39", "topology-service-backends"), "its own family"));
  EXPECT_EQ(at(loaded, "20:54", "topology-missing-key")->message, "a backend has no 'address'");
  at(loaded, "20:69", "topology-bad-address");
  at(loaded, "21:5", "topology-service-backends"); // weights with listed backends
  EXPECT_EQ(loaded.diagnostics.errorCount(), 15u) << loaded.diagnostics.render();
}

TEST(TopologyModel, GroupCidrsAreCheckedWithTheRightPrefixAsHint) {
  auto loaded = load(R"(cluster: c
nodes: []
groups:
  - name: corp
    cidrs: [ 192.168.1.0/16, 10.0.0.0/33, banana, [10.0.0.0/8], 10.1.0.0/16 ]
  - { name: none, cidrs: [] }
  - { name: missing }
  - { name: scalar, cidrs: 10.0.0.0/8 }
)");
  EXPECT_FALSE(loaded.topology);
  auto* host = at(loaded, "5:14", "topology-bad-cidr");
  EXPECT_EQ(host->message, "'192.168.1.0/16' has host bits set after the prefix length");
  EXPECT_EQ(host->length, 14);
  EXPECT_TRUE(hasHint(host, "did you mean 192.168.0.0/16?"));
  EXPECT_TRUE(hasHint(at(loaded, "5:30", "topology-bad-cidr"), "0 to 32"));
  at(loaded, "5:43", "topology-bad-cidr");
  at(loaded, "5:51", "topology-type");
  at(loaded, "6:26", "topology-missing-key");
  EXPECT_EQ(at(loaded, "7:5", "topology-missing-key")->message, "a group has no 'cidrs'");
  at(loaded, "8:28", "topology-type");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 7u) << loaded.diagnostics.render();
}

TEST(TopologyModel, ServicePortsAreChecked) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints: [{ name: a, labels: { app: a }, addresses: [10.0.0.1], interface: va }]
services:
  - name: s
    ports: [ tcp/70000, tcpx/80, 5432, tcp/0, tcp/90-80, udp/53-55, udp/53-55, "tcp/8a" ]
    selector: { app: a }
  - { name: t, ports: tcp/80, selector: { app: a } }
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(at(loaded, "7:14", "topology-bad-port")->message,
            "port 70000 is out of range (1-65535) in 'tcp/70000'");
  EXPECT_EQ(at(loaded, "7:25", "topology-bad-port")->message,
            "unknown protocol 'tcpx' in 'tcpx/80': ports are tcp, udp or sctp");
  EXPECT_TRUE(hasHint(at(loaded, "7:34", "topology-bad-port"), "tcp/5432"));
  at(loaded, "7:40", "topology-bad-port");
  EXPECT_TRUE(contains(at(loaded, "7:47", "topology-bad-port")->message, "ends before"));
  auto* twice = at(loaded, "7:69", "topology-duplicate-port");
  EXPECT_EQ(twice->notes.at(0).location.str(), "t.yaml:7:58");
  at(loaded, "7:80", "topology-bad-port");
  EXPECT_TRUE(contains(at(loaded, "9:23", "topology-type")->message, "a list of ports"));
  EXPECT_EQ(loaded.diagnostics.errorCount(), 8u) << loaded.diagnostics.render();
}

TEST(TopologyModel, NamedPortsAreSinglePortsWithKubernetesNames) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - name: a
        addresses: [10.0.0.1]
        interface: va
        ports:
          http: tcp/8080
          dns-2: udp/53
          HTTP: tcp/1
          a-very-long-port-name: tcp/2
          "8080": tcp/8080
          range: tcp/8000-8999
          bad: tcp/70000
          http: tcp/81
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_TRUE(hasHint(at(loaded, "11:11", "topology-bad-port-name"), "lowercase"));
  EXPECT_TRUE(contains(at(loaded, "12:11", "topology-bad-port-name")->message, "15 characters"));
  EXPECT_TRUE(contains(at(loaded, "13:11", "topology-bad-port-name")->message, "one letter"));
  auto* range = at(loaded, "14:18", "topology-bad-port");
  EXPECT_EQ(range->message, "named port 'range' must be a single port, not a range");
  EXPECT_TRUE(hasHint(range, "write tcp/8000"));
  at(loaded, "15:16", "topology-bad-port");
  EXPECT_EQ(at(loaded, "16:11", "topology-duplicate-name")->notes.at(0).location.str(),
            "t.yaml:9:11");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 6u) << loaded.diagnostics.render();

  auto good = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - { name: a, addresses: [10.0.0.1], interface: va, ports: { http: tcp/8080, dns: udp/53, m: sctp/9 } }
)");
  ASSERT_TRUE(good.topology) << good.diagnostics.render();
  EXPECT_EQ(good.topology->nodes[0].endpoints[0].namedPorts,
            (std::map<std::string, PortRange>{{"dns", {IPPROTO_UDP, 53, 53}},
                                              {"http", {IPPROTO_TCP, 8080, 8080}},
                                              {"m", {IPPROTO_SCTP, 9, 9}}}));
}

TEST(TopologyModel, UnknownNamespacesAreErrors) {
  auto loaded = load(R"(cluster: c
namespaces: { shop: {}, infra: {} }
nodes:
  - name: n
    endpoints:
      - { name: a, namespace: shpo, addresses: [10.0.0.1], interface: va }
services:
  - { name: s, namespace: finance, selector: { app: a } }
)");
  EXPECT_FALSE(loaded.topology);
  auto* endpoint = at(loaded, "6:31", "topology-unknown-namespace");
  EXPECT_EQ(endpoint->message, "unknown namespace 'shpo'");
  EXPECT_TRUE(hasHint(endpoint, "did you mean 'shop'?"));
  EXPECT_TRUE(hasHint(at(loaded, "8:27", "topology-unknown-namespace"), "declare it under"));
  EXPECT_EQ(loaded.diagnostics.errorCount(), 2u) << loaded.diagnostics.render();
}

TEST(TopologyModel, ASelectorMatchingNothingIsAWarning) {
  auto loaded = load(R"(cluster: c
namespaces: { shop: {}, infra: {} }
nodes:
  - name: n
    endpoints:
      - { name: a, namespace: infra, labels: { app: db }, addresses: [10.0.0.1], interface: va }
services:
  - { name: typo, selector: { app: dbb } }
  - { name: scoped, namespace: shop, selector: { app: db } }
  - { name: fine, selector: { app: db } }
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  EXPECT_EQ(loaded.diagnostics.warningCount(), 2u) << loaded.diagnostics.render();
  auto* typo = at(loaded, "8:29", "topology-empty-service");
  EXPECT_EQ(typo->severity, Severity::Warning);
  EXPECT_EQ(typo->message, "the selector of service 'typo' matches no endpoint");
  EXPECT_TRUE(hasHint(at(loaded, "9:48", "topology-empty-service"), "namespace 'shop'"));
}

TEST(TopologyModel, BackendsAreScopedToTheServiceNamespaceInFileOrder) {
  auto loaded = load(R"(cluster: c
namespaces: { shop: { labels: { team: retail } }, infra: {} }
nodes:
  - name: n1
    endpoints:
      - { name: a, namespace: shop, labels: { app: db, v: "1" }, addresses: [10.0.0.1], interface: va }
      - { name: b, namespace: infra, labels: { app: db }, addresses: [10.0.0.2], interface: vb }
  - name: n2
    endpoints:
      - { name: c, namespace: shop, labels: { app: db }, addresses: [10.0.0.3], interface: va }
      - { name: d, labels: { app: db }, addresses: [10.0.0.4], interface: vd }
services:
  - { name: shop-db, namespace: shop, selector: { app: db } }
  - { name: any-db, selector: { app: db } }
  - { name: v1, selector: { app: db, v: "1" } }
  - { name: retail, selector: { namespace.team: retail } }
)");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& t = *loaded.topology;
  auto names = [&](const char* service) {
    std::vector<std::string> out;
    for (const auto* e : t.backends(*t.findService(service))) out.push_back(e->name);
    return out;
  };
  EXPECT_EQ(names("shop-db"), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names("any-db"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(names("v1"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(names("retail"), (std::vector<std::string>{"a", "c"}));
}

TEST(TopologyModel, ServicesNeedASelector) {
  auto loaded = load(R"(cluster: c
nodes: []
services:
  - { name: a }
  - { name: b, selector: {} }
  - name: c
    selector:
  - { name: d, selector: [app] }
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(at(loaded, "4:5", "topology-missing-key")->message, "a service has no 'selector'");
  EXPECT_EQ(at(loaded, "5:26", "topology-missing-key")->message,
            "a service's selector may not be empty");
  at(loaded, "7:5", "topology-missing-key");
  at(loaded, "8:26", "topology-type");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 4u) << loaded.diagnostics.render();
}

TEST(TopologyModel, WrongYamlTypesAreErrors) {
  struct Case {
    const char* text;
    const char* where;
    const char* message;
  };
  const Case cases[] = {
      {"[1, 2]", "1:1", "the topology must be a mapping with 'cluster' and 'nodes', not a list"},
      {"just text", "1:1",
       "the topology must be a mapping with 'cluster' and 'nodes', not a string"},
      {"cluster: [x]\nnodes: []", "1:10", "'cluster' must be a string, not a list"},
      {"cluster: c\nnodes: { n: 1 }", "2:8", "'nodes' must be a list of nodes, not a mapping"},
      {"cluster: c\nnodes:\n  - 5", "3:5", "a node must be a mapping"},
      {"cluster: c\nnodes:\n  - { name: n, endpoints: {} }", "3:27",
       "'endpoints' must be a list of endpoints, not a mapping"},
      {"cluster: c\nnodes:\n  - { name: n, endpoints: [x] }", "3:28",
       "an endpoint must be a mapping"},
      {"cluster: c\nnodes: []\nnamespaces: [shop]", "3:13", "'namespaces' must be a mapping"},
      {"cluster: c\nnodes: []\nnamespaces: { shop: [x] }", "3:21", "namespace 'shop' must be"},
      {"cluster: c\nnodes: []\nservices: { a: 1 }", "3:11", "'services' must be a list"},
      {"cluster: c\nnodes: []\nservices: [x]", "3:12", "a service must be a mapping"},
      {"cluster: c\nnodes: []\ngroups: x", "3:9", "'groups' must be a list"},
      {"cluster: c\nnodes: []\ngroups: [[x]]", "3:10", "a group must be a mapping"},
      {"cluster: c\nnodes:\n  - { name: [n] }", "3:13", "'name' must be a string, not a list"},
      {"cluster: c\nnodes:\n  - { name: n, address: [1.2.3.4] }", "3:25", "'address' must be"},
      {"cluster: c\nnodes: []\n? [a]\n: b", "3:3", "a key in the topology must be a string"},
  };
  for (const auto& c : cases) {
    auto loaded = load(c.text);
    EXPECT_FALSE(loaded.topology) << c.text;
    auto* d = at(loaded, c.where, "topology-type");
    EXPECT_TRUE(contains(d->message, c.message)) << c.text << "\n" << d->message;
  }
}

TEST(TopologyModel, RequiredKeysAndNames) {
  auto loaded = load(R"(nodes:
  - address: 10.0.0.1
    endpoints:
      - { addresses: [10.0.0.2] }
      - { name: "bad name", addresses: [10.0.0.3], interface: vb }
      - { name: -dash, addresses: [10.0.0.4], interface: vc }
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(at(loaded, "1:1", "topology-missing-key")->message, "the topology has no 'cluster'");
  EXPECT_EQ(at(loaded, "2:5", "topology-missing-key")->message, "a node has no 'name'");
  // An endpoint without name and interface: both reported at the mapping.
  EXPECT_EQ(std::count_if(loaded.diagnostics.all().begin(), loaded.diagnostics.all().end(),
                          [](const Diagnostic& d) {
                            return d.location.str() == "t.yaml:4:9" &&
                                   d.name == "topology-missing-key";
                          }),
            2);
  auto* bad = at(loaded, "5:17", "topology-bad-name");
  EXPECT_EQ(bad->message, "'bad name' is not a valid name");
  EXPECT_EQ(bad->length, 10);
  at(loaded, "6:17", "topology-bad-name");
  EXPECT_EQ(loaded.diagnostics.errorCount(), 6u) << loaded.diagnostics.render();

  auto noNodes = load("cluster: c\n");
  EXPECT_EQ(at(noNodes, "1:1", "topology-missing-key")->message, "the topology has no 'nodes'");
}

TEST(TopologyModel, DuplicateKeysInAMappingAreErrors) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    name: m
cluster: d
)");
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(at(loaded, "4:5", "topology-duplicate-key")->notes.at(0).location.str(), "t.yaml:3:5");
  at(loaded, "5:1", "topology-duplicate-key");
}

TEST(TopologyModel, YamlSyntaxErrorsCarryTheirPosition) {
  auto loaded = load("cluster: c\nnodes: [\n  - {name: x\n");
  EXPECT_FALSE(loaded.topology);
  ASSERT_EQ(loaded.diagnostics.all().size(), 1u);
  EXPECT_EQ(loaded.diagnostics.all()[0].name, "yaml");
  EXPECT_EQ(loaded.diagnostics.all()[0].location.str(), "t.yaml:3:3");
  EXPECT_TRUE(contains(loaded.diagnostics.all()[0].message, "invalid YAML"));

  auto tabs = load("cluster: c\nnodes:\n\t- name: n\n");
  EXPECT_FALSE(tabs.topology);
  EXPECT_TRUE(tabs.diagnostics.hasErrors());

  auto unbalanced = load("cluster: c\nnodes: [}\n");
  EXPECT_FALSE(unbalanced.topology);
  EXPECT_EQ(unbalanced.diagnostics.all().at(0).name, "yaml");
  EXPECT_EQ(unbalanced.diagnostics.all().at(0).location.line, 2);
}

// libyaml counts columns in code points; diagnostics count bytes, as they
// always have for the topology.
TEST(TopologyModel, ColumnsAfterNonAsciiTextAreInBytes) {
  auto loaded = load("cluster: c\nnodes:\n  - name: n\n    endpoints:\n"
                     "      - { name: a, labels: { owner: caf\xc3\xa9 }, addresses: [10.0.0.1], "
                     "interface: va }\n"
                     "      - { name: \xc3\xa9t\xc3\xa9, addresses: [10.0.0.2], interface: va }\n");
  EXPECT_FALSE(loaded.topology);
  // 'é' is two bytes: the second 'va' stands at code point 56, byte 58.
  EXPECT_EQ(at(loaded, "6:58", "topology-duplicate-interface")->notes.at(0).location.str(),
            "t.yaml:5:80");
}

TEST(TopologyModel, YamlSyntaxErrorsSayWhatWasBeingParsed) {
  auto loaded = load("cluster: c\nnodes:\n  - { name: n\n");
  ASSERT_EQ(loaded.diagnostics.all().size(), 1u);
  const auto& error = loaded.diagnostics.all()[0];
  EXPECT_EQ(error.message, "invalid YAML: did not find expected ',' or '}'");
  ASSERT_EQ(error.notes.size(), 1u);
  EXPECT_EQ(error.notes[0].location.str(), "t.yaml:3:5");
  EXPECT_EQ(error.notes[0].message, "while parsing a flow mapping");
}

TEST(TopologyModel, AliasesShareTheAnchoredNode) {
  auto loaded = load("cluster: c\nnodes:\n  - name: n\n    endpoints:\n"
                     "      - { name: a, labels: &l { app: web }, addresses: [10.0.0.1], "
                     "interface: va }\n"
                     "      - { name: b, labels: *l, addresses: [10.0.0.2], interface: vb }\n");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  EXPECT_EQ(loaded.topology->nodes.at(0).endpoints.at(1).labels.at("app"), "web");
  auto undefined = load("cluster: c\nnodes: *nodes\n");
  EXPECT_EQ(at(undefined, "2:8", "yaml")->message, "invalid YAML: found undefined alias 'nodes'");
  auto quotedNull = load("cluster: \"null\"\nnodes: []\n");
  ASSERT_TRUE(quotedNull.topology) << quotedNull.diagnostics.render();
  EXPECT_EQ(quotedNull.topology->cluster, "null");
}

TEST(TopologyModel, EmptyAndMultiDocumentFiles) {
  for (const char* text : {"", "\n\n# only a comment\n", "~", "---\n"}) {
    auto loaded = load(text);
    EXPECT_FALSE(loaded.topology) << text;
    at(loaded, "1:1", "topology-empty");
  }
  // An explicit end of document is still one document.
  auto ended = load("---\ncluster: c\nnodes: []\n...\n");
  EXPECT_TRUE(ended.topology) << ended.diagnostics.render();
  auto two = load("cluster: c\nnodes: []\n---\ncluster: d\n");
  EXPECT_FALSE(two.topology);
  at(two, "3:1", "topology-type"); // the second "---"
}

TEST(TopologyModel, ReportsManyErrorsInOneRun) {
  std::string text = "cluster: c\nnodes:\n  - name: n\n    endpoints:\n";
  for (int i = 0; i < 20; ++i)
    text += "      - { name: e" + std::to_string(i) + ", addresses: [10.0.0." +
            std::to_string(300 + i) + "], interface: v" + std::to_string(i) + " }\n";
  auto loaded = load(text);
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(loaded.diagnostics.errorCount(), 20u);
  // Reported in file order.
  auto lines = summary(loaded.diagnostics);
  EXPECT_TRUE(std::is_sorted(loaded.diagnostics.all().begin(), loaded.diagnostics.all().end(),
                             [](const auto& a, const auto& b) { return a.location < b.location; }));
}

TEST(TopologyModel, StopsAfterAHundredErrors) {
  std::string text = "cluster: c\nnodes:\n  - name: n\n    endpoints:\n";
  for (int i = 0; i < 500; ++i) text += "      - 1\n";
  auto loaded = load(text);
  EXPECT_FALSE(loaded.topology);
  EXPECT_EQ(loaded.diagnostics.errorCount(), 101u);
  EXPECT_EQ(loaded.diagnostics.all().back().name, "topology-too-many-errors");
}

TEST(TopologyModel, IsDeterministic) {
  std::string text = std::string(kBriefExample) + "  - { name: corp, cidrs: [10.0.0.1/8] }\n";
  auto first = load(text);
  auto second = load(text);
  EXPECT_EQ(first.diagnostics.render(), second.diagnostics.render());
  EXPECT_EQ(first.diagnostics.errorCount(), 2u) << first.diagnostics.render();
}

TEST(TopologyModel, RendersWithSourceLineAndNote) {
  auto loaded = load(R"(cluster: c
nodes:
  - name: n
    endpoints:
      - { name: a, addresses: [10.0.0.1], interface: va }
      - { name: a, addresses: [10.0.0.2], interface: vb }
)");
  EXPECT_EQ(loaded.diagnostics.render(),
            "t.yaml:6:17: error: duplicate endpoint name 'a' [topology-duplicate-name]\n"
            " 6 |       - { name: a, addresses: [10.0.0.2], interface: vb }\n"
            "   |                 ^\n"
            "t.yaml:5:17: note: the first endpoint named 'a' is here\n"
            " 5 |       - { name: a, addresses: [10.0.0.1], interface: va }\n"
            "   |                 ^\n");
}

TEST(TopologyModel, MissingFileIsAnIoError) {
  Diagnostics diagnostics;
  EXPECT_FALSE(topology::loadFile("/nonexistent/topology.yaml", diagnostics));
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "io");
}

// Names and labels are UTF-8, as in Kubernetes: any other byte, in a value,
// a key or a comment, is an error where it is (columns in bytes, as in the
// other topology diagnostics), so that nothing downstream (identities.json,
// --format json) ever sees it.
TEST(TopologyModel, TextThatIsNotUtf8IsAnErrorWhereItIs) {
  auto inValue = load("cluster: c\nnodes:\n  - name: n\n    endpoints:\n"
                      "      - { name: a, labels: { owner: \"caf\xc3\xa9\xff\" }, addresses: "
                      "[10.0.0.1], interface: va }\n");
  EXPECT_FALSE(inValue.topology);
  ASSERT_EQ(inValue.diagnostics.all().size(), 1u);
  EXPECT_EQ(at(inValue, "5:43", "encoding")->message,
            "the topology is not UTF-8 text: unexpected byte 0xff");

  auto inComment = load("# owner: \xc3\ncluster: c\nnodes: []\n");
  EXPECT_FALSE(inComment.topology);
  at(inComment, "1:10", "encoding");
  auto inKey = load("cluster: c\nnodes: []\n\xfe\xff: 1\n");
  EXPECT_FALSE(inKey.topology);
  at(inKey, "3:1", "encoding");

  // UTF-16 without a byte order mark, which a YAML reader may transcode: its
  // NUL bytes give it away. (With a mark, the mark is not UTF-8.)
  auto utf16 = load(std::string("c\0l\0u\0s\0t\0e\0r\0:\0 \0c\0\n\0", 22));
  EXPECT_FALSE(utf16.topology);
  EXPECT_EQ(at(utf16, "1:2", "encoding")->message,
            "the topology is not UTF-8 text: unexpected byte 0x00");
}

TEST(TopologyModel, Utf8LabelsAndEscapesLoad) {
  // YAML escapes give UTF-8 (U+00FF for \xff) or a YAML error (a surrogate).
  auto loaded = load("cluster: c\nnodes:\n  - name: n\n    endpoints:\n"
                     "      - { name: a, labels: { owner: caf\xc3\xa9, x: \"\\xff\" }, addresses: "
                     "[10.0.0.1], interface: va }\n");
  ASSERT_TRUE(loaded.topology) << loaded.diagnostics.render();
  const auto& labels = loaded.topology->nodes.at(0).endpoints.at(0).labels;
  EXPECT_EQ(labels.at("owner"), "caf\xc3\xa9");
  EXPECT_EQ(labels.at("x"), "\xc3\xbf");
  auto surrogate = load("cluster: c\nnodes: []\nx: \"\\ud800\"\n");
  EXPECT_FALSE(surrogate.topology);
  EXPECT_EQ(surrogate.diagnostics.all().at(0).name, "yaml");
}

// Inputs that have crashed or hung YAML readers elsewhere: each must end in
// diagnostics, never in an exception, a crash or an endless loop.
TEST(TopologyRobustness, HostileInputsEndInDiagnostics) {
  std::vector<std::string> inputs = {
      std::string(5000, '[') + std::string(5000, ']'),
      "cluster: c\nnodes: " + std::string(3000, '{') + std::string(3000, '}'),
      "cluster: c\nnodes:\n  - &n { name: n, endpoints: [*n] }\n",
      "cluster: *undefined\n",
      "cluster: &a c\n&a nodes: []\n",
      "cluster: !!binary aGVsbG8=\nnodes: !!map {}\n",
      "cluster: c\nnodes: []\n<<: { cluster: d }\n",
      std::string("cluster: c\0nodes: []\n", 22),
      "cluster: \xff\xfe\nnodes: []\n",
      "\xef\xbb\xbf"
      "cluster: c\nnodes: []\nx: \"\\uD800\"\n",
      "cluster: c\nnodes:\n  - name: n\n    address: \"::ffff:1.2.3.4\"\n",
      "? \n: \n",
      "- - - - -\n",
      ",\x04_u", // made YAML::LoadAll return empty documents forever (fuzz_topology)
      "%YAML 1.2\n%TAG ! tag:x\n--- !x\ncluster: c\n",
      "cluster: c\nnodes: [{name: n, endpoints: [{name: e, addresses: [\"\"], interface: \"\"}]}]",
  };
  for (const auto& text : inputs) {
    Diagnostics diagnostics;
    std::optional<topology::Topology> topology;
    EXPECT_NO_THROW(topology = topology::loadText("t.yaml", text, diagnostics)) << text;
    EXPECT_TRUE(topology || diagnostics.hasErrors()) << text;
  }
}

TEST(TopologyRobustness, AliasFanOutIsBounded) {
  // Every `*e` shares one node: 2000 x 2000 endpoints from 20 KB of text.
  std::string text = "cluster: c\nnodes:\n  - &n\n    name: n\n    endpoints:\n";
  text += "      - &e { name: a, addresses: [10.0.0.1], interface: v }\n";
  for (int i = 0; i < 2000; ++i) text += "      - *e\n";
  for (int i = 0; i < 2000; ++i) text += "  - *n\n";
  auto loaded = load(text);
  EXPECT_FALSE(loaded.topology);
  EXPECT_LE(loaded.diagnostics.all().size(), 101u);
}

TEST(PortRange, ParsesAndPrints) {
  EXPECT_EQ(topology::parsePortRange("tcp/8080"), (PortRange{IPPROTO_TCP, 8080, 8080}));
  EXPECT_EQ(topology::parsePortRange("udp/53-55"), (PortRange{IPPROTO_UDP, 53, 55}));
  EXPECT_EQ(topology::parsePortRange("sctp/1-65535"), (PortRange{IPPROTO_SCTP, 1, 65535}));
  EXPECT_EQ(topology::toText({IPPROTO_TCP, 8080, 8080}), "tcp/8080");
  EXPECT_EQ(topology::toText({IPPROTO_UDP, 53, 55}), "udp/53-55");
  for (const char* text : {"tcp/8080", "udp/1-2", "sctp/9"})
    EXPECT_EQ(topology::toText(*topology::parsePortRange(text)), text);

  struct Bad {
    const char* text;
    const char* message;
  };
  for (const auto& bad : std::initializer_list<Bad>{
           {"tcp/70000", "port 70000 is out of range (1-65535) in 'tcp/70000'"},
           {"tcp/99999999999999", "out of range"},
           {"tcp/0", "port 0 is out of range"},
           {"tcpx/80", "unknown protocol 'tcpx'"},
           {"TCP/80", "unknown protocol 'TCP'"},
           {"icmp/8", "unknown protocol 'icmp'"},
           {"8080", "write protocol/port"},
           {"tcp/", "'' is not a port number"},
           {"tcp/8a", "'8a' is not a port number"},
           {"tcp/-80", "is not a port number"},
           {"tcp/+80", "is not a port number"},
           {"tcp/ 80", "is not a port number"},
           {"tcp/80-", "is not a port number"},
           {"tcp/90-80", "ends before it starts"},
           {"tcp/1-2-3", "is not a port number"},
           {"", "write protocol/port"},
       }) {
    std::string error;
    EXPECT_FALSE(topology::parsePortRange(bad.text, &error)) << bad.text;
    EXPECT_TRUE(contains(error, bad.message)) << bad.text << ": " << error;
  }
  EXPECT_FALSE(topology::parsePortRange("tcp/0")) << "the message is optional";
}

} // namespace
} // namespace polc
