#include "polc/topology/loader.h"

#include <gtest/gtest.h>

namespace polc {
namespace {

TEST(Topology, LoadsTheExample) {
  Diagnostics diagnostics;
  auto topology = topology::loadFile(POLC_SOURCE_DIR "/examples/policies/shop.yaml", diagnostics);
  ASSERT_TRUE(topology) << diagnostics.render();
  EXPECT_EQ(topology->cluster, "demo");
  ASSERT_EQ(topology->nodes.size(), 1u);
  auto endpoints = topology->allEndpoints();
  ASSERT_EQ(endpoints.size(), 4u);
  EXPECT_EQ(endpoints[1]->name, "web-1");
  EXPECT_EQ(endpoints[1]->labels.at("app"), "web");
  EXPECT_EQ(endpoints[1]->interface, "pw-web1");
  EXPECT_EQ(endpoints[1]->node, "node-1");
}

TEST(Topology, ReportsEveryProblemWithItsYamlLine) {
  Diagnostics diagnostics;
  auto topology = topology::loadText("t.yaml", R"(cluster: c
nodes:
  - name: n1
    address: 10.0.0.1
    endpoints:
      - name: a
        addresses: [10.0.0.5]
        interface: veth-a
      - name: a
        addresses: [10.0.0.5, 10.0.0.300]
        interface: this-name-is-far-too-long
        colour: red
)",
                                     diagnostics);
  EXPECT_FALSE(topology);
  std::vector<std::string> seen;
  for (const auto& d : diagnostics.all()) seen.push_back(d.location.str() + " " + d.message);
  auto has = [&](const std::string& needle) {
    for (const auto& s : seen)
      if (s.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("t.yaml:9:15 duplicate endpoint name 'a'")) << diagnostics.render();
  EXPECT_TRUE(has("t.yaml:10:21 address 10.0.0.5 is used twice")) << diagnostics.render();
  EXPECT_TRUE(has("'10.0.0.300' is not an IPv4 or IPv6 address")) << diagnostics.render();
  EXPECT_TRUE(has("is not a valid interface name")) << diagnostics.render();
  EXPECT_TRUE(has("t.yaml:12:9 unknown key 'colour'")) << diagnostics.render();
}

TEST(Topology, Ipv6AddressesAreCanonicalAndDuplicatesFound) {
  Diagnostics diagnostics;
  auto topology = topology::loadText("t.yaml", R"(cluster: c
nodes:
  - name: n1
    address: 10.0.0.1
    endpoints:
      - { name: a, addresses: [10.0.0.5, "FD00:0::10"], interface: va }
      - { name: b, addresses: ["fd00::10"], interface: vb }
)",
                                     diagnostics);
  EXPECT_FALSE(topology);
  ASSERT_EQ(diagnostics.errorCount(), 1u) << diagnostics.render();
  EXPECT_NE(diagnostics.all()[0].message.find("fd00::10 is used twice"), std::string::npos);

  Diagnostics clean;
  auto ok =
      topology::loadText("t.yaml",
                         "cluster: c\nnodes:\n  - name: n\n    address: fd00::1\n    endpoints:\n  "
                         "    - { name: a, addresses: [\"FD00:0::10\"], interface: va }\n",
                         clean);
  ASSERT_TRUE(ok) << clean.render();
  EXPECT_EQ(ok->nodes[0].endpoints[0].addresses[0], "fd00::10");
}

TEST(Topology, YamlSyntaxErrorCarriesItsLine) {
  Diagnostics diagnostics;
  auto topology = topology::loadText("t.yaml", "cluster: c\nnodes: [\n  - {name: x\n", diagnostics);
  EXPECT_FALSE(topology);
  ASSERT_EQ(diagnostics.errorCount(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "yaml");
  EXPECT_GT(diagnostics.all()[0].location.line, 1);
}

TEST(Topology, WrongShapesAreErrorsNotCrashes) {
  for (const char* text :
       {"", "[1, 2]", "cluster: [x]\nnodes: 3", "nodes:\n  - 5\n  - {endpoints: [7]}",
        "cluster: c\nnodes:\n  - name: n\n    address: 1.2.3.4\n    endpoints:\n      - name: e\n  "
        "      labels: [a]\n        addresses: x\n"}) {
    Diagnostics diagnostics;
    EXPECT_FALSE(topology::loadText("t.yaml", text, diagnostics)) << text;
    EXPECT_TRUE(diagnostics.hasErrors()) << text;
  }
}

} // namespace
} // namespace polc
