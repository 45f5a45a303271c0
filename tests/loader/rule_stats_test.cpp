// polc stats' join without a kernel: a build output written by hand,
// counters as the datapath keys them, and the lines a person reads; plus
// the counters' summing over CPUs on the in-memory backend.
#include "polc/loader/rule_stats.h"

#include "polc/loader/metrics.h"

#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc/maps/counter_maps.h"
#include "polc/support/files.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kWebIfindex = 7, kAllowRule = 10, kDenyRule = 11, kNoTableRule = 12;

maps::Counter counter(uint32_t ifindex, uint32_t rule, uint8_t direction, uint8_t reason,
                      uint8_t verdict, uint64_t packets, uint64_t bytes) {
  return {ifindex, rule, direction, reason, verdict, packets, bytes};
}

class RuleStatsTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("polc-rule-stats-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    artifacts::Manifest manifest;
    manifest.polcVersion = "test";
    manifest.cluster = "c";
    artifacts::EndpointArtifacts web;
    web.name = "web-1";
    web.interface = "pw-web1";
    web.identity = 300;
    web.ingressTable = "tables/in.json";
    web.egressTable = "tables/eg.json";
    manifest.nodes.push_back({"node-1", "10.9.0.1", "nodes/node-1/ipcache.json", {web}});
    ASSERT_TRUE(writeFile(dir / "manifest.json", artifacts::toJson(manifest).dump()));
    artifacts::PolicyTable ingress{
        true,
        {{.identity = 301, .protocol = 6, .port = 80, .portPrefixBits = 16, .ruleId = kAllowRule},
         {.identity = 302, .verdict = artifacts::Verdict::Deny, .ruleId = kDenyRule}}};
    ASSERT_TRUE(writeFile(dir / "tables/in.json", artifacts::toJson(ingress).dump()));
    ASSERT_TRUE(
        writeFile(dir / "tables/eg.json", artifacts::toJson(artifacts::PolicyTable{}).dump()));
    artifacts::RuleList rules{
        {{kAllowRule, "web", "allow from app == \"a\" on tcp/80", "p.pol:3:5"},
         {kDenyRule, "web", "deny from app == \"b\"", "p.pol:4:5"},
         {kNoTableRule, "web", "allow from app == \"c\"", "p.pol:5:5"}}};
    ASSERT_TRUE(writeFile(dir / "rules.json", artifacts::toJson(rules).dump()));
    node.node = "node-1";
    node.outDir = dir.string();
    EndpointStatus web1;
    web1.endpoint = "web-1";
    web1.interface = "pw-web1";
    web1.ifindex = kWebIfindex;
    node.endpoints.push_back(web1);
  }
  void TearDown() override { fs::remove_all(dir); }

  fs::path dir;
  NodeStatus node;
};

TEST_F(RuleStatsTest, ARuleCountsItsFlowsFirstPacketsAndTheRestOtherReasonsGetTheirOwnLine) {
  maps::Counters counters;
  counters.capacity = 100;
  counters.counters = {
      counter(kWebIfindex, kAllowRule, POLC_CT_INGRESS, POLC_REASON_RULE,
              POLC_EVENT_VERDICT_ALLOWED, 2, 120),
      counter(kWebIfindex, kAllowRule, POLC_CT_INGRESS, POLC_REASON_CT_ESTABLISHED,
              POLC_EVENT_VERDICT_ALLOWED, 5, 500),
      counter(kWebIfindex, POLC_CT_RULE_NONE, POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY,
              POLC_EVENT_VERDICT_DENIED, 3, 180),
      counter(kWebIfindex, POLC_CT_RULE_NONE, POLC_CT_EGRESS, POLC_REASON_CT_REPLY,
              POLC_EVENT_VERDICT_ALLOWED, 7, 700),
      counter(99, kAllowRule, POLC_CT_INGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_ALLOWED, 50,
              5000), // an interface that is none of the node's endpoints
      counter(kWebIfindex, 4242, POLC_CT_INGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_ALLOWED, 1,
              60), // a rule of an earlier revision
  };
  RuleStats stats;
  auto added = stats.add(node, counters);
  ASSERT_TRUE(added) << added.error();
  auto lines = stats.lines();
  ASSERT_EQ(lines.size(), 5u);
  ASSERT_TRUE(lines[0].rule);
  EXPECT_EQ(lines[0].rule->id, kAllowRule);
  EXPECT_EQ(lines[0].rule->location, "p.pol:3:5");
  EXPECT_EQ(lines[0].direction, "ingress");
  EXPECT_EQ(lines[0].verdict, "allowed");
  EXPECT_EQ(lines[0].packets, 7u);
  EXPECT_EQ(lines[0].bytes, 620u);
  EXPECT_EQ(lines[0].endpoints, std::vector<std::string>{"web-1"});
  EXPECT_EQ(lines[1].rule->id, kDenyRule);
  EXPECT_EQ(lines[1].verdict, "denied");
  EXPECT_EQ(lines[1].packets, 0u);
  EXPECT_EQ(lines[2].rule->id, kNoTableRule);
  EXPECT_TRUE(lines[2].direction.empty()) << "in no table: can never match here";
  EXPECT_TRUE(lines[2].endpoints.empty());
  EXPECT_FALSE(lines[3].rule);
  EXPECT_EQ(lines[3].reason, "reply");
  EXPECT_EQ(lines[3].direction, "egress");
  EXPECT_EQ(lines[3].packets, 7u);
  EXPECT_EQ(lines[4].reason, "default-deny");
  EXPECT_EQ(lines[4].verdict, "denied");
  EXPECT_EQ(lines[4].endpoints, std::vector<std::string>{"web-1"});
  EXPECT_EQ(lines[4].packets, 3u);
  ASSERT_EQ(stats.warnings().size(), 1u);
  EXPECT_NE(stats.warnings()[0].find("1 packet(s) counted for rules that the loaded build"),
            std::string::npos);
}

TEST_F(RuleStatsTest, AnEndpointFilterKeepsOnlyItsRulesAndCounters) {
  maps::Counters counters;
  counters.counters = {counter(kWebIfindex, POLC_CT_RULE_NONE, POLC_CT_INGRESS,
                               POLC_REASON_DEFAULT_DENY, POLC_EVENT_VERDICT_DENIED, 3, 180)};
  RuleStats other({"db-1"});
  ASSERT_TRUE(other.add(node, counters));
  EXPECT_TRUE(other.lines().empty());
  RuleStats web({"web-1"});
  ASSERT_TRUE(web.add(node, counters));
  EXPECT_EQ(web.lines().size(), 3u) << "its two rules and its default deny";
}

TEST_F(RuleStatsTest, AFullCounterMapIsSaid) {
  maps::Counters counters;
  counters.capacity = 1;
  counters.counters = {counter(kWebIfindex, kAllowRule, POLC_CT_INGRESS, POLC_REASON_RULE,
                               POLC_EVENT_VERDICT_ALLOWED, 1, 60)};
  RuleStats stats;
  ASSERT_TRUE(stats.add(node, counters));
  ASSERT_EQ(stats.warnings().size(), 1u);
  EXPECT_NE(stats.warnings()[0].find("counter map is full"), std::string::npos);
}

TEST_F(RuleStatsTest, MetricsSumEachEndpointsCountersByReasonAndNameEveryRule) {
  maps::Counters counters;
  counters.capacity = 100;
  counters.counters = {
      counter(kWebIfindex, kAllowRule, POLC_CT_INGRESS, POLC_REASON_RULE,
              POLC_EVENT_VERDICT_ALLOWED, 2, 120),
      counter(kWebIfindex, 4242, POLC_CT_INGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_ALLOWED, 1,
              60), // summed with the other rule's: same endpoint, direction, verdict, reason
      counter(kWebIfindex, POLC_CT_RULE_NONE, POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY,
              POLC_EVENT_VERDICT_DENIED, 3, 180),
  };
  node.monitor = MonitorStatus{"drops", 1000, 1000, 5, 1, 2, true};
  RuleStats stats;
  ASSERT_TRUE(stats.add(node, counters));
  const auto lines = stats.lines();
  const auto text = prometheusText({{&node, counters}}, &lines);
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("# TYPE polc_packets_total counter")) << text;
  EXPECT_TRUE(has("polc_packets_total{node=\"node-1\",endpoint=\"web-1\",direction=\"ingress\","
                  "verdict=\"allowed\",reason=\"rule\"} 3"))
      << text;
  EXPECT_TRUE(has("polc_bytes_total{node=\"node-1\",endpoint=\"web-1\",direction=\"ingress\","
                  "verdict=\"denied\",reason=\"default-deny\"} 180"))
      << text;
  EXPECT_TRUE(has("polc_events_lost_total{node=\"node-1\"} 1")) << text;
  EXPECT_TRUE(has("polc_events_rate_limited_total{node=\"node-1\"} 2")) << text;
  EXPECT_TRUE(has("polc_counting{node=\"node-1\"} 1")) << text;
  EXPECT_TRUE(has("polc_counter_keys_capacity{node=\"node-1\"} 100")) << text;
  EXPECT_TRUE(has("polc_rule_packets_total{policy=\"web\",rule_id=\"10\",location=\"p.pol:3:5\","
                  "direction=\"ingress\",verdict=\"allowed\"} 2"))
      << text;
  EXPECT_TRUE(has("polc_rule_packets_total{policy=\"web\",rule_id=\"11\",location=\"p.pol:4:5\","
                  "direction=\"ingress\",verdict=\"denied\"} 0"))
      << "an unused rule is a zero, not missing";
  EXPECT_EQ(text.find("rule_id=\"12\""), std::string::npos) << "in no table: no series";
  EXPECT_EQ(prometheusText({{&node, counters}}).find("polc_rule_"), std::string::npos)
      << "per rule only when asked";
  EXPECT_EQ(prometheusLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(CounterMapsTest, CountersAreSummedOverCpus) {
  maps::InMemoryMaps memory;
  constexpr unsigned kCpus = 3;
  const size_t slot = 16;
  auto map = memory.create("polc_counters", sizeof(polc_counter_key), slot * kCpus, 10);
  const maps::Counter key{kWebIfindex, kAllowRule, POLC_CT_INGRESS, POLC_REASON_RULE,
                          POLC_EVENT_VERDICT_ALLOWED};
  std::string value(slot * kCpus, '\0');
  for (unsigned cpu = 0; cpu < kCpus; ++cpu) {
    polc_counter_value perCpu{cpu + 1, 100 * (cpu + 1)};
    std::memcpy(value.data() + cpu * slot, &perCpu, sizeof perCpu);
  }
  ASSERT_TRUE(memory.update(map, "polc_counters", maps::counterKeyBytes(key), value));
  auto read = maps::readCounters(memory, map, kCpus);
  ASSERT_TRUE(read) << read.error();
  ASSERT_EQ(read->counters.size(), 1u);
  EXPECT_EQ(read->counters[0].packets, 6u);
  EXPECT_EQ(read->counters[0].bytes, 600u);
  EXPECT_EQ(read->counters[0].ruleId, kAllowRule);
  EXPECT_EQ(read->capacity, 10u);
  EXPECT_FALSE(read->full());
}

TEST(CounterMapsTest, ForgettingInterfacesDeletesOnlyTheirCounters) {
  maps::InMemoryMaps memory;
  constexpr unsigned kCpus = 2;
  auto map = memory.create("polc_counters", sizeof(polc_counter_key), 16 * kCpus, 10);
  const std::string value(16 * kCpus, '\1');
  for (uint32_t ifindex : {7u, 8u, 9u})
    for (uint8_t reason : {POLC_REASON_RULE, POLC_REASON_CT_REPLY})
      ASSERT_TRUE(memory.update(map, "polc_counters",
                                maps::counterKeyBytes({ifindex, kAllowRule, POLC_CT_INGRESS, reason,
                                                       POLC_EVENT_VERDICT_ALLOWED}),
                                value));
  auto forgotten = maps::forgetInterfaces(memory, map, {7, 9, 42}, kCpus);
  ASSERT_TRUE(forgotten) << forgotten.error();
  EXPECT_EQ(*forgotten, 4u);
  auto left = maps::readCounters(memory, map, kCpus);
  ASSERT_TRUE(left) << left.error();
  ASSERT_EQ(left->counters.size(), 2u);
  for (const auto& c : left->counters) EXPECT_EQ(c.ifindex, 8u);
}

} // namespace
} // namespace polc::loader
