// The maps' part of a load, on the in-memory MapBackend: no kernel. What a
// load keeps, updates in place or takes new maps for, that an in-place
// update writes only what differs, and that a failure at any write is undone.
#include "load_maps.h"

#include "polc/maps/map_backend.h"
#include "polc/maps/monitor_maps.h"
#include "polc/maps/pin_layout.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace polc::runtime {
namespace {

using maps::InMemoryMaps;
using maps::MapContents;
using maps::MapHandle;

artifacts::PolicyEntry allowTcp(uint32_t identity, uint16_t port, uint32_t rule = 1) {
  return {.identity = identity,
          .protocol = IPPROTO_TCP,
          .port = port,
          .portPrefixBits = 16,
          .verdict = artifacts::Verdict::Allow,
          .ruleId = rule};
}

MapContents policyContents(const std::vector<artifacts::PolicyEntry>& entries) {
  artifacts::PolicyTable table;
  table.entries = entries;
  auto contents = maps::toMapContents("policy", maps::toPolicyMapEntries(table));
  EXPECT_TRUE(contents) << contents.error();
  return *contents;
}

MapContents ipcacheContents(const std::vector<artifacts::IpcacheEntry>& entries) {
  artifacts::Ipcache ipcache;
  ipcache.entries = entries;
  auto encoded = maps::toIpcacheMapEntries(ipcache);
  EXPECT_TRUE(encoded) << encoded.error();
  auto contents = maps::toMapContents("ipcache", *encoded);
  EXPECT_TRUE(contents) << contents.error();
  return *contents;
}

MapHandle policyMap(InMemoryMaps& maps, const MapContents& contents, uint32_t capacity = 4096) {
  auto map = maps.create("policy", sizeof(polc_policy_key), sizeof(polc_policy_value), capacity);
  maps.contents(map) = contents;
  return map;
}

polc_ipcache_lengths lengthsIn(InMemoryMaps& maps, MapHandle lengths) {
  polc_ipcache_lengths value{};
  const auto& contents = maps.contents(lengths);
  if (!contents.empty()) std::memcpy(&value, contents.begin()->second.data(), sizeof value);
  return value;
}

bool sameLengths(const polc_ipcache_lengths& a, const polc_ipcache_lengths& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// A node as a load finds it: an ipcache (with its lengths map) and two
// endpoints' policy maps, each with the contents before and after the load.
struct NodeMaps {
  InMemoryMaps maps;
  MapHandle ipcache, lengths, tableA, tableB;
  MapContents ipcacheBefore, ipcacheAfter, aBefore, aAfter, bBefore, bAfter;

  NodeMaps() {
    ipcacheBefore = ipcacheContents({{4, "10.0.0.1", 32, 300}, {4, "10.1.0.0", 16, 2}});
    ipcacheAfter = ipcacheContents(
        {{4, "10.0.0.1", 32, 301}, {4, "10.2.0.0", 24, 2}, {6, "fd00::1", 128, 302}});
    std::vector<artifacts::PolicyEntry> entries;
    for (uint16_t port = 1000; port < 1100; ++port) entries.push_back(allowTcp(300, port));
    aBefore = policyContents(entries);
    entries[7].ruleId = 9;                // changed
    entries.push_back(allowTcp(301, 80)); // added
    entries.erase(entries.begin() + 50);  // removed
    aAfter = policyContents(entries);
    bBefore = policyContents({allowTcp(300, 22)});
    bAfter = policyContents({});

    ipcache = maps.create("ipcache", sizeof(polc_ipcache_key), sizeof(polc_ipcache_value), 1024);
    maps.contents(ipcache) = ipcacheBefore;
    lengths = maps.create("lengths", sizeof(uint32_t), sizeof(polc_ipcache_lengths), 1);
    const uint32_t zero = 0;
    maps.contents(lengths)[maps::toBytes(zero)] =
        maps::toBytes(maps::ipcacheLengths({&ipcacheBefore}));
    tableA = policyMap(maps, aBefore);
    tableB = policyMap(maps, bBefore);
    maps.resetCounts();
  }

  // The switch's map steps in the load's order, stopping at the first error.
  Status switchOver(Rollback& rollback) {
    if (auto ok = updateIpcacheInPlace(maps, rollback, ipcache, lengths, "ipcache", ipcacheBefore,
                                       ipcacheAfter);
        !ok)
      return ok;
    if (auto ok = updateInPlace(maps, rollback, tableA, "a ingress", aBefore, aAfter); !ok)
      return ok;
    return updateInPlace(maps, rollback, tableB, "b ingress", bBefore, bAfter);
  }

  void expectBefore() {
    EXPECT_EQ(maps.contents(ipcache), ipcacheBefore);
    EXPECT_TRUE(sameLengths(lengthsIn(maps, lengths), maps::ipcacheLengths({&ipcacheBefore})));
    EXPECT_EQ(maps.contents(tableA), aBefore);
    EXPECT_EQ(maps.contents(tableB), bBefore);
  }
};

TEST(LoadMaps, TableOnlyChangeWritesOnlyTheEntriesThatDiffer) {
  NodeMaps node;
  Rollback rollback;
  ASSERT_TRUE(node.switchOver(rollback));
  EXPECT_EQ(node.maps.contents(node.tableA), node.aAfter);
  EXPECT_EQ(node.maps.contents(node.tableB), node.bAfter);
  EXPECT_EQ(node.maps.contents(node.ipcache), node.ipcacheAfter);
  // 100 entries, one changed, one added, one removed: 2 writes and 1 delete.
  EXPECT_EQ(node.maps.counts(node.tableA).updates, 2u);
  EXPECT_EQ(node.maps.counts(node.tableA).deletes, 1u);
  EXPECT_EQ(node.maps.counts(node.tableB).updates, 0u);
  EXPECT_EQ(node.maps.counts(node.tableB).deletes, 1u);
  // The ipcache: a changed identity, two new prefixes, one gone.
  EXPECT_EQ(node.maps.counts(node.ipcache).updates, 3u);
  EXPECT_EQ(node.maps.counts(node.ipcache).deletes, 1u);
  // Its lengths: the union while entries change, then exactly the new ones.
  EXPECT_EQ(node.maps.counts(node.lengths).updates, 2u);
  EXPECT_TRUE(
      sameLengths(lengthsIn(node.maps, node.lengths), maps::ipcacheLengths({&node.ipcacheAfter})));
}

// Every write of the switch, in turn, fails; undoing restores every map as
// it was before the load, whatever had been written by then.
TEST(LoadMaps, AFailureAtAnyWriteIsUndone) {
  size_t writes = 0;
  {
    NodeMaps node;
    Rollback rollback;
    ASSERT_TRUE(node.switchOver(rollback));
    for (auto map : {node.ipcache, node.lengths, node.tableA, node.tableB})
      writes += node.maps.counts(map).updates + node.maps.counts(map).deletes;
  }
  ASSERT_EQ(writes, 10u);
  for (size_t failAt = 0; failAt <= writes; ++failAt) {
    SCOPED_TRACE("failing write " + std::to_string(failAt));
    NodeMaps node;
    Rollback rollback;
    node.maps.failWritesAfter(failAt);
    auto switched = node.switchOver(rollback);
    EXPECT_EQ(bool(switched), failAt == writes);
    if (!switched) {
      EXPECT_NE(switched.error().find("Cannot allocate memory"), std::string::npos);
    }
    node.maps.allowWrites();
    EXPECT_EQ(rollback.run(), ""); // a later step's failure undoes a complete switch too
    node.expectBefore();
  }
}

TEST(LoadMaps, UndoThatFailsSaysWhichMap) {
  NodeMaps node;
  Rollback rollback;
  node.maps.failWritesAfter(7); // 6 for the ipcache, then one into table a
  ASSERT_FALSE(node.switchOver(rollback));
  auto errors = rollback.run(); // writes still fail
  EXPECT_NE(errors.find("map a ingress: writing an entry"), std::string::npos) << errors;
  EXPECT_NE(errors.find("map ipcache"), std::string::npos) << errors;
}

// An in-place update adds before it deletes: old and new must fit at once,
// or the endpoint takes new maps (and programs) sized for its table.
TEST(LoadMaps, KeptTableThatWouldOverflowItsLiveMapTakesNewMaps) {
  InMemoryMaps maps;
  const auto pin = maps::policyPin("/pins", "n1", "a", artifacts::Direction::Ingress);
  maps.pin(pin, policyMap(maps, {}, 64));
  EXPECT_TRUE(fitsLiveMap(maps, pin, 40, 24));
  EXPECT_FALSE(fitsLiveMap(maps, pin, 40, 25));
  EXPECT_FALSE(fitsLiveMap(maps, pin, std::nullopt, 1)); // unknown fill: assumed full
  EXPECT_TRUE(fitsLiveMap(maps, "/pins/n1/b/polc_policy_in", std::nullopt, 1000)); // no map
}

TEST(LoadMaps, OnlyTablesOfKeptProgramsFilledByACommittedLoadAreKnown) {
  NodeState previous;
  const auto pin = maps::relativePin("n1", "a", artifacts::kMapPolicyIngress);
  previous.tableSha256[pin] = "digest-1";
  previous.mapEntries[pin] = 5;
  EXPECT_EQ(tableKnownLoaded(previous, ProgramPlan::Keep, pin, "digest-1"), 5u);
  EXPECT_EQ(tableKnownLoaded(previous, ProgramPlan::Keep, pin, "digest-2"), std::nullopt);
  EXPECT_EQ(tableKnownLoaded(previous, ProgramPlan::Replace, pin, "digest-1"), std::nullopt);
  EXPECT_EQ(tableKnownLoaded(previous, ProgramPlan::Keep, "n1/b/polc_policy_in", "digest-1"),
            std::nullopt);
  previous.pending = PendingLoad{}; // a killed load may have written it half way
  EXPECT_EQ(tableKnownLoaded(previous, ProgramPlan::Keep, pin, "digest-1"), std::nullopt);
}

TEST(LoadMaps, PolicyEpochCountsUpFromZeroAndWraps) {
  InMemoryMaps maps;
  auto epoch = maps.create("polc_epoch", sizeof(uint32_t), sizeof(polc_epoch_value), 1);
  auto value = [&] {
    polc_epoch_value read{};
    const auto& contents = maps.contents(epoch);
    if (!contents.empty()) std::memcpy(&read, contents.begin()->second.data(), sizeof read);
    return read.epoch;
  };
  ASSERT_TRUE(maps::bumpPolicyEpoch(maps, epoch, "polc_epoch")); // absent element: 0 before
  EXPECT_EQ(value(), 1u);
  ASSERT_TRUE(maps::bumpPolicyEpoch(maps, epoch, "polc_epoch"));
  EXPECT_EQ(value(), 2u);
  maps.contents(epoch)[maps::toBytes(uint32_t{0})] =
      maps::toBytes(polc_epoch_value{.epoch = POLC_CT_EPOCH_MASK});
  ASSERT_TRUE(maps::bumpPolicyEpoch(maps, epoch, "polc_epoch"));
  EXPECT_EQ(value(), 0u);
  maps.failWritesAfter(0);
  auto failed = maps::bumpPolicyEpoch(maps, epoch, "polc_epoch");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("polc_epoch"), std::string::npos) << failed.error();
}

TEST(InMemoryMaps, AFullMapRefusesANewKeyButTakesAnUpdate) {
  InMemoryMaps maps;
  auto map = policyMap(maps, policyContents({allowTcp(300, 1), allowTcp(300, 2)}), 2);
  const auto full = policyContents({allowTcp(300, 1), allowTcp(300, 3)});
  auto added = maps::applyContents(maps, map, "small", maps.contents(map), full);
  ASSERT_FALSE(added);
  EXPECT_NE(added.error().find("Argument list too long"), std::string::npos) << added.error();
  const auto rewritten = policyContents({allowTcp(300, 1, 7), allowTcp(300, 2)});
  EXPECT_TRUE(maps::applyContents(maps, map, "small", maps.contents(map), rewritten));
  EXPECT_EQ(maps.contents(map), rewritten);
}

TEST(InMemoryMaps, IpcacheLookupFindsTheLongestPrefixAsTheDatapathDoes) {
  NodeMaps node;
  auto identityOf = [&](const char* address) {
    unsigned char bytes[4];
    EXPECT_EQ(inet_pton(AF_INET, address, bytes), 1);
    auto identity =
        maps::lookupIpcache(node.maps, node.ipcache, node.lengths, POLC_FAMILY_IPV4, bytes);
    EXPECT_TRUE(identity) << identity.error();
    return identity ? identity.value() : 0u;
  };
  EXPECT_EQ(identityOf("10.0.0.1"), 300u);
  EXPECT_EQ(identityOf("10.1.2.3"), 2u);
  EXPECT_EQ(identityOf("192.168.0.1"), uint32_t{POLC_IDENTITY_WORLD});
}

// The node's monitor maps in memory, and the config element as the
// datapath reads it.
class MonitorMapsTest : public ::testing::Test {
protected:
  InMemoryMaps maps;
  const maps::MonitorMaps handles{
      maps.create("polc_monitor_config", sizeof(uint32_t), sizeof(polc_monitor_config), 1),
      maps.create("polc_monitor_endpoints", sizeof(uint32_t), sizeof(polc_monitor_endpoint), 16)};
  polc_monitor_config config() {
    polc_monitor_config read{};
    const auto& contents = maps.contents(handles.config);
    if (!contents.empty()) std::memcpy(&read, contents.begin()->second.data(), sizeof read);
    return read;
  }
};

// What the monitor reports (polc/maps/monitor_maps.h): the config's summary
// (max_level, flags) follows every change, so that the datapath's
// one-element check stays right.
TEST_F(MonitorMapsTest, LevelsAndTheirSummary) {
  auto settings = maps::readMonitorSettings(maps, handles);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_EQ(*settings, maps::MonitorSettings{}) << "nothing written: drops, default rate";

  using Level = maps::MonitorLevel;
  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::Off, std::nullopt));
  EXPECT_EQ(config().level, POLC_MONITOR_OFF);
  EXPECT_EQ(config().max_level, POLC_MONITOR_OFF);
  EXPECT_EQ(config().flags, 0);

  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::All, 7u));
  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::Flows, 8u));
  EXPECT_EQ(config().max_level, POLC_MONITOR_ALL);
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_ENDPOINT_LEVELS);
  settings = maps::readMonitorSettings(maps, handles);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_EQ(settings->node, Level::Off);
  EXPECT_EQ(settings->endpoints, (std::map<uint32_t, Level>{{7, Level::All}, {8, Level::Flows}}));

  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::Default, 7u));
  EXPECT_EQ(config().max_level, POLC_MONITOR_FLOWS);
  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::Default, 8u));
  EXPECT_EQ(config().max_level, POLC_MONITOR_OFF);
  EXPECT_EQ(config().flags, 0);
  EXPECT_TRUE(maps.contents(handles.endpoints).empty());

  ASSERT_TRUE(maps::setEventRate(maps, handles, 50, 20));
  settings = maps::readMonitorSettings(maps, handles);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_EQ(settings->rate, 50u);
  EXPECT_EQ(settings->burst, 20u);
  EXPECT_EQ(settings->node, Level::Off) << "the rate leaves the level";
  EXPECT_TRUE(settings->counting) << "counting is on unless switched off";

  ASSERT_TRUE(maps::setCounting(maps, handles, false));
  EXPECT_EQ(config().counting, POLC_COUNTING_OFF);
  settings = maps::readMonitorSettings(maps, handles);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_FALSE(settings->counting);
  EXPECT_EQ(settings->rate, 50u) << "the switch leaves the rest";
  EXPECT_EQ(config().max_level, POLC_MONITOR_OFF);
  ASSERT_TRUE(maps::setCounting(maps, handles, true));
  EXPECT_EQ(config().counting, POLC_COUNTING_ON);

  // Audit lives in the endpoint's entry beside its level: each survives the
  // other going back to the default.
  ASSERT_TRUE(maps::setAudit(maps, handles, 7, true));
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_AUDIT);
  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::All, 7u));
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_AUDIT | POLC_MONITOR_FLAG_ENDPOINT_LEVELS);
  ASSERT_TRUE(maps::setMonitorLevel(maps, handles, Level::Default, 7u));
  settings = maps::readMonitorSettings(maps, handles);
  ASSERT_TRUE(settings) << settings.error();
  EXPECT_EQ(settings->audit, std::set<uint32_t>{7}) << "the level's reset keeps audit";
  EXPECT_TRUE(settings->endpoints.empty());
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_AUDIT);
  ASSERT_TRUE(maps::setAudit(maps, handles, 7, false));
  EXPECT_EQ(config().flags, 0);
  EXPECT_TRUE(maps.contents(handles.endpoints).empty()) << "nothing left to hold";

  EXPECT_EQ(maps::parseMonitorLevel("flows"), Level::Flows);
  EXPECT_EQ(maps::parseMonitorLevel("everything"), std::nullopt);
}

// The datapath reads the config's summary before an endpoint's entry: the
// summary is widened before the entry is written, so a packet in between
// (here: the entry's write failing) never misses an endpoint's setting.
TEST_F(MonitorMapsTest, TheSummaryCoversAnEntryBeforeItIsWritten) {
  maps.failWritesAfter(1); // the widened summary, then nothing
  EXPECT_FALSE(maps::setAudit(maps, handles, 7, true));
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_AUDIT);
  EXPECT_TRUE(maps.contents(handles.endpoints).empty());
  maps.allowWrites();
  ASSERT_TRUE(maps::setAudit(maps, handles, 7, false));
  EXPECT_EQ(config().flags, 0) << "made exact again";

  maps.failWritesAfter(1);
  EXPECT_FALSE(maps::setMonitorLevel(maps, handles, maps::MonitorLevel::Off, 7u));
  EXPECT_EQ(config().max_level, POLC_MONITOR_DROPS)
      << "widened from what a zeroed max_level means (drops), not lowered to off";
  EXPECT_EQ(config().flags, POLC_MONITOR_FLAG_ENDPOINT_LEVELS);
  maps.allowWrites();
}

TEST(MonitorMaps, EventCountsAreSummedOverCpus) {
  InMemoryMaps maps;
  constexpr unsigned kCpus = 3;
  auto stats =
      maps.create("polc_event_stats", sizeof(uint32_t), sizeof(polc_event_stats) * kCpus, 1);
  std::string perCpu;
  for (unsigned cpu = 0; cpu < kCpus; ++cpu)
    perCpu += maps::toBytes(polc_event_stats{.sent = cpu + 1, .lost = 10 * cpu, .limited = 100});
  maps.contents(stats)[maps::toBytes(uint32_t{0})] = perCpu;
  auto counts = maps::readEventCounts(maps, stats, kCpus);
  ASSERT_TRUE(counts) << counts.error();
  EXPECT_EQ(*counts, (maps::EventCounts{.sent = 6, .lost = 30, .limited = 300}));
}

} // namespace
} // namespace polc::runtime
