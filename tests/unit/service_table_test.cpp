// Services as the datapath sees them (services/service_table.h): a frontend
// per vip port, backends with target ports and weights, and the backend a
// flow goes to.
#include "polc/services/service_table.h"

#include "polc/topology/loader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <set>

namespace polc::services {
namespace {

const char* kTopology = R"(cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: db-1, labels: { app: db }, addresses: [10.0.1.1, "fd00::1"], interface: d1, ports: { sql: tcp/6432 } }
      - { name: db-2, labels: { app: db }, addresses: ["fd00::2", 10.0.1.2], interface: d2, ports: { sql: tcp/6433 } }
      - { name: db-3, labels: { app: db }, addresses: ["fd00::3"], interface: d3 }
      - { name: web-1, labels: { app: web }, addresses: [10.0.2.1], interface: w1 }
services:
  - name: db
    vip: 10.96.0.5
    ports: [ tcp/5432 -> sql, udp/53, tcp/7000-7001 ]
    selector: { app: db }
    weights: { db-2: 0 }
    affinity: { timeout: 10m }
  - name: db6
    vip: "fd00:96::5"
    ports: [ tcp/5432 -> 5000 ]
    selector: { app: db }
  - name: ext
    vip: 10.96.0.9
    ports: [ tcp/443 ]
    backends: [ { address: 192.0.2.11, weight: 3 }, 192.0.2.10 ]
  - { name: nothing, vip: 10.96.0.10, ports: [ tcp/80 ], selector: { app: none } }
  - { name: novip, ports: [ tcp/80 ], selector: { app: web } }
)";

ServiceTable table() {
  Diagnostics diagnostics;
  auto topology = topology::loadText("t.yaml", kTopology, diagnostics);
  EXPECT_TRUE(topology) << diagnostics.render();
  return topology ? buildServiceTable(*topology) : ServiceTable{};
}

IpPrefix address(const char* text) {
  return *parseAddress(text);
}

std::vector<std::string> keys(const Frontend& frontend) {
  std::vector<std::string> keys;
  for (const auto& backend : frontend.backends)
    keys.push_back(backend.key() + "/" + std::to_string(backend.weight));
  return keys;
}

TEST(ServiceTable, AFrontendPerVipPortWithTheBackendsTargets) {
  auto services = table();
  std::vector<std::string> frontends;
  for (const auto& frontend : services.frontends)
    frontends.push_back(frontend.service + " " + frontend.text());
  EXPECT_EQ(frontends, (std::vector<std::string>{
                           "db 10.96.0.5 icmp echo", "db 10.96.0.5 tcp/5432",
                           "db 10.96.0.5 tcp/7000", "db 10.96.0.5 tcp/7001", "db 10.96.0.5 udp/53",
                           "ext 10.96.0.9 icmp echo", "ext 10.96.0.9 tcp/443",
                           "nothing 10.96.0.10 icmp echo", "nothing 10.96.0.10 tcp/80",
                           "db6 fd00:96::5 tcp/5432", "db6 fd00:96::5 icmpv6 echo"}));

  // The named target per backend; db-3 lacks it, and has no IPv4 address.
  const auto* sql = services.find(address("10.96.0.5"), IPPROTO_TCP, 5432);
  ASSERT_NE(sql, nullptr);
  EXPECT_EQ(keys(*sql), (std::vector<std::string>{"10.0.1.1:6432/1", "10.0.1.2:6433/0"}));
  EXPECT_EQ(sql->affinitySeconds, std::optional<uint32_t>(600));
  const auto* dns = services.find(address("10.96.0.5"), IPPROTO_UDP, 53);
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(keys(*dns), (std::vector<std::string>{"10.0.1.1:53/1", "10.0.1.2:53/0"}));
  EXPECT_EQ(keys(*services.find(address("10.96.0.5"), IPPROTO_TCP, 7001)),
            (std::vector<std::string>{"10.0.1.1:7001/1", "10.0.1.2:7001/0"}));
  // IPv6: each endpoint's IPv6 address, whatever its position.
  EXPECT_EQ(keys(*services.find(address("fd00:96::5"), IPPROTO_TCP, 5432)),
            (std::vector<std::string>{"fd00::1:5000/1", "fd00::2:5000/1", "fd00::3:5000/1"}));
  EXPECT_EQ(keys(*services.find(address("10.96.0.9"), IPPROTO_TCP, 443)),
            (std::vector<std::string>{"192.0.2.10:443/1", "192.0.2.11:443/3"}));
  EXPECT_EQ(services.find(address("10.96.0.5"), IPPROTO_TCP, 5433), nullptr);
  EXPECT_EQ(services.ofService("db").size(), 5u); // with its echo
  EXPECT_TRUE(services.ofService("novip").empty());
}

TEST(ServiceTable, DrainedBackendsGetNoFlowAndNoBackendRefuses) {
  auto services = table();
  const auto* sql = services.find(address("10.96.0.5"), IPPROTO_TCP, 5432);
  ASSERT_EQ(sql->maglev.size(), kMaglevTableSize);
  for (uint16_t sport = 1000; sport < 1100; ++sport)
    EXPECT_EQ(pickBackend(*sql, flowTo(*sql, address("10.0.2.1"), sport))->endpoint, "db-1");
  const auto* nothing = services.find(address("10.96.0.10"), IPPROTO_TCP, 80);
  EXPECT_TRUE(nothing->backends.empty());
  EXPECT_EQ(pickBackend(*nothing, flowTo(*nothing, address("10.0.2.1"), 1000)), nullptr);
}

// An echo request to a vip goes where the vip's first port frontend's
// table sends it (the datapath shares that frontend's entries), hashed on
// the identifier; its backends have no port.
TEST(ServiceTable, EachVipAnswersEchoWithItsFirstFrontendsBackends) {
  auto services = table();
  const auto* echo = services.find(address("10.96.0.5"), IPPROTO_ICMP, 0);
  const auto* sql = services.find(address("10.96.0.5"), IPPROTO_TCP, 5432);
  ASSERT_NE(echo, nullptr);
  EXPECT_TRUE(echo->isEcho());
  EXPECT_FALSE(sql->isEcho());
  EXPECT_EQ(echo->service, "db");
  EXPECT_EQ(keys(*echo), (std::vector<std::string>{"10.0.1.1:0/1", "10.0.1.2:0/0"}));
  EXPECT_EQ(echo->maglev, sql->maglev);
  EXPECT_EQ(echo->affinitySeconds, sql->affinitySeconds);
  const auto* echo6 = services.find(address("fd00:96::5"), IPPROTO_ICMPV6, 0);
  ASSERT_NE(echo6, nullptr);
  EXPECT_EQ(echo6->backends.size(), 3u);
  EXPECT_EQ(services.find(address("fd00:96::5"), IPPROTO_ICMP, 0), nullptr);
  std::map<std::string, int> pings;
  for (uint16_t identifier = 0; identifier < 300; ++identifier)
    ++pings[pickBackend(*echo6, flowTo(*echo6, address("fd00::100"), identifier))->endpoint];
  EXPECT_EQ(pings.size(), 3u) << "the identifier picks the backend";
  const auto* refusing = services.find(address("10.96.0.10"), IPPROTO_ICMP, 0);
  ASSERT_NE(refusing, nullptr);
  EXPECT_EQ(pickBackend(*refusing, flowTo(*refusing, address("10.0.2.1"), 7)), nullptr);
}

TEST(ServiceTable, ThreeThousandFlowsFollowTheWeights) {
  auto services = table();
  for (const char* vip : {"fd00:96::5", "10.96.0.9"}) {
    const auto* frontend = services.find(address(vip), IPPROTO_TCP, vip[0] == 'f' ? 5432 : 443);
    ASSERT_NE(frontend, nullptr);
    const auto client = address(vip[0] == 'f' ? "fd00::100" : "10.0.2.1");
    std::map<std::string, int> flows;
    for (int sport = 20000; sport < 23000; ++sport)
      ++flows[pickBackend(*frontend, flowTo(*frontend, client, uint16_t(sport)))->key()];
    uint32_t total = 0;
    for (const auto& backend : frontend->backends) total += backend.weight;
    for (const auto& backend : frontend->backends) {
      double expected = 3000.0 * backend.weight / total;
      EXPECT_NEAR(flows[backend.key()], expected, 0.05 * 3000) << vip << " " << backend.key();
    }
  }
}

TEST(ServiceTable, JsonIsTheFrontendsOnePerLine) {
  const auto text = toJsonText(table());
  auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["maglev_table_size"], kMaglevTableSize);
  const auto& first = json["frontends"][0];
  EXPECT_EQ(first["service"], "db");
  EXPECT_EQ(first["vip"], "10.96.0.5");
  EXPECT_EQ(first["protocol"], "tcp");
  EXPECT_EQ(first["port"], 5432);
  EXPECT_EQ(first["affinity_seconds"], 600);
  auto second = first["backends"][1];
  second.erase("id");
  EXPECT_EQ(second,
            (nlohmann::json{
                {"address", "10.0.1.2"}, {"port", 6433}, {"weight", 0}, {"endpoint", "db-2"}}));
  EXPECT_FALSE(json["frontends"][4].contains("affinity_seconds"));
  // Echo frontends are not written: the first frontend of each vip (all
  // four vips) answers its echo.
  std::vector<std::string> echoes;
  for (const auto& frontend : json["frontends"]) {
    EXPECT_NE(frontend["protocol"], "icmp");
    if (frontend.value("echo", false))
      echoes.push_back(frontend["vip"].get<std::string>() + " " +
                       frontend["protocol"].get<std::string>() + "/" +
                       std::to_string(frontend["port"].get<int>()));
  }
  EXPECT_EQ(echoes, (std::vector<std::string>{"10.96.0.5 tcp/5432", "10.96.0.9 tcp/443",
                                              "10.96.0.10 tcp/80", "fd00:96::5 tcp/5432"}));

  // Ids distinct and never 0: a backend's is its own in each frontend.
  std::set<uint32_t> backendIds, frontendIds;
  for (const auto& frontend : json["frontends"]) {
    EXPECT_TRUE(frontendIds.insert(frontend["id"].get<uint32_t>()).second);
    for (const auto& backend : frontend["backends"])
      EXPECT_TRUE(backendIds.insert(backend["id"].get<uint32_t>()).second);
  }
  EXPECT_FALSE(frontendIds.contains(0) || backendIds.contains(0));
  EXPECT_NE(json["frontends"][0]["backends"][0]["id"], json["frontends"][1]["backends"][0]["id"])
      << "the same endpoint behind two ports";
  // One element per line: what a load diffs.
  size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines, json["frontends"].size() + 5);

  // Ids do not move when another service comes.
  auto topology = std::string(kTopology) +
                  "  - { name: more, vip: 10.96.0.1, ports: [ tcp/1 ], selector: { app: web } }\n";
  Diagnostics diagnostics;
  auto more = topology::loadText("t.yaml", topology, diagnostics);
  ASSERT_TRUE(more) << diagnostics.render();
  auto moreJson = nlohmann::json::parse(toJsonText(buildServiceTable(*more)));
  for (const auto& frontend : json["frontends"])
    EXPECT_NE(std::find(moreJson["frontends"].begin(), moreJson["frontends"].end(), frontend),
              moreJson["frontends"].end());
}

} // namespace
} // namespace polc::services
