// The service maps' part of a load (service_maps.h), on the in-memory
// MapBackend: services.json becomes frontends, Maglev tables and backends
// with stable ids; an update writes only what differs, never leaves a
// frontend without its table or backends, and is undone on a failure.
#include "service_maps.h"

#include "polc/maps/map_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace polc::runtime {
namespace {

using maps::InMemoryMaps;

nlohmann::json frontend(const std::string& vip, uint16_t port,
                        std::vector<std::pair<std::string, uint32_t>> backends) {
  auto list = nlohmann::json::array();
  for (const auto& [address, weight] : backends)
    list.push_back({{"address", address}, {"port", 8080}, {"weight", weight}, {"endpoint", ""}});
  return {{"service", "s"}, {"vip", vip}, {"protocol", "tcp"}, {"port", port}, {"backends", list}};
}

ServiceMaps contents(std::vector<nlohmann::json> frontends) {
  auto maps =
      serviceMapContents({{"maglev_table_size", POLC_MAGLEV_SIZE}, {"frontends", frontends}});
  EXPECT_TRUE(maps) << maps.error();
  return maps ? *maps : ServiceMaps{};
}

struct Live {
  InMemoryMaps maps;
  ServiceMapHandles handles{
      maps.create("polc_services", sizeof(polc_service_key), sizeof(polc_service_value), 64),
      maps.create("polc_maglev", sizeof(uint32_t), sizeof(polc_maglev_table), 64),
      maps.create("polc_backends", sizeof(uint32_t), sizeof(polc_backend), 64)};
  ServiceMaps read() {
    auto live = readServiceMaps(maps, handles);
    EXPECT_TRUE(live) << live.error();
    return *live;
  }
};

bool sameMaps(const ServiceMaps& a, const ServiceMaps& b) {
  return a.services == b.services && a.maglev == b.maglev && a.backends == b.backends;
}

TEST(ServiceMaps, FrontendsTablesAndBackendsWithStableIds) {
  auto one = contents({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}})});
  EXPECT_EQ(one.services.size(), 1u);
  EXPECT_EQ(one.maglev.size(), 1u);
  EXPECT_EQ(one.backends.size(), 2u);
  // Another frontend does not move the first one's ids or entries.
  auto two = contents({frontend("10.96.0.4", 53, {{"10.0.0.9", 1}}),
                       frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}})});
  for (const auto& [key, value] : one.services) EXPECT_EQ(two.services.at(key), value);
  for (const auto& [key, value] : one.maglev) EXPECT_EQ(two.maglev.at(key), value);
  for (const auto& [key, value] : one.backends) EXPECT_EQ(two.backends.at(key), value);

  // No backend with a weight: the frontend is there (to refuse), its table not.
  auto drained = contents({frontend("10.96.0.5", 80, {{"10.0.0.2", 0}})});
  ASSERT_EQ(drained.services.size(), 1u);
  polc_service_value value{};
  std::memcpy(&value, drained.services.begin()->second.data(), sizeof value);
  EXPECT_EQ(value.backend_count, 0);
  EXPECT_TRUE(drained.maglev.empty());

  EXPECT_FALSE(serviceMapContents({{"maglev_table_size", 1031}, {"frontends", {}}}));
  EXPECT_FALSE(serviceMapContents(
      {{"maglev_table_size", POLC_MAGLEV_SIZE}, {"frontends", {frontend("banana", 80, {})}}}));
  EXPECT_FALSE(serviceMapContents({{"maglev_table_size", POLC_MAGLEV_SIZE}}));
  auto bigPort = frontend("10.96.0.5", 80, {});
  bigPort["port"] = 70000;
  EXPECT_FALSE(
      serviceMapContents({{"maglev_table_size", POLC_MAGLEV_SIZE}, {"frontends", {bigPort}}}));
}

TEST(ServiceMaps, AReweightRewritesOnlyItsTable) {
  Live live;
  Rollback rollback;
  const ServiceMaps empty;
  auto before = contents({frontend("10.96.0.4", 53, {{"10.0.0.9", 1}}),
                          frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}})});
  ServiceMaps scratch;
  ASSERT_TRUE(updateServiceMaps(live.maps, rollback, live.handles, empty, before, scratch));
  EXPECT_TRUE(sameMaps(live.read(), before));

  auto after = contents({frontend("10.96.0.4", 53, {{"10.0.0.9", 1}}),
                         frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 3}})});
  live.maps.resetCounts();
  ASSERT_TRUE(updateServiceMaps(live.maps, rollback, live.handles, before, after, scratch));
  EXPECT_TRUE(sameMaps(live.read(), after));
  EXPECT_EQ(live.maps.counts(live.handles.maglev).updates, 1u);
  EXPECT_EQ(live.maps.counts(live.handles.services).updates, 0u);
  EXPECT_EQ(live.maps.counts(live.handles.backends).updates, 0u);
  auto change = serviceMapChange(before, after);
  EXPECT_EQ(change.changed, 1u);
  EXPECT_EQ(change.added + change.removed, 0u);
}

TEST(ServiceMaps, AFailureHalfWayIsUndone) {
  auto before = contents({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}})});
  auto after = contents({frontend("10.96.0.6", 80, {{"10.0.0.4", 1}})});
  for (size_t writes = 0; writes < 6; ++writes) {
    Live live;
    Rollback rollback;
    ServiceMaps scratch, empty;
    ASSERT_TRUE(updateServiceMaps(live.maps, rollback, live.handles, empty, before, scratch));
    Rollback second;
    live.maps.failWritesAfter(writes);
    auto failed = updateServiceMaps(live.maps, second, live.handles, before, after, scratch);
    live.maps.allowWrites();
    if (failed) {
      EXPECT_TRUE(sameMaps(live.read(), after));
      continue;
    }
    EXPECT_EQ(second.run(), "");
    EXPECT_TRUE(sameMaps(live.read(), before)) << "after " << writes << " writes";
  }
}

} // namespace
} // namespace polc::runtime
