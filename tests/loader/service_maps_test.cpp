// The service maps' part of a load (service_maps.h), on the in-memory
// MapBackend: services.json becomes frontends, Maglev tables and backends
// with stable ids; an update writes only what differs, never leaves a
// frontend without its table or backends, and is undone on a failure.
#include "service_maps.h"

#include "polc/maps/map_backend.h"
#include "polc/services/service_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

namespace polc::runtime {
namespace {

using maps::InMemoryMaps;

services::Frontend frontend(const std::string& vip, uint16_t port,
                            std::vector<std::pair<std::string, uint32_t>> backends) {
  services::Frontend result;
  result.service = "s";
  result.vip = *parseAddress(vip);
  result.protocol = IPPROTO_TCP;
  result.port = port;
  for (const auto& [address, weight] : backends)
    result.backends.push_back({*parseAddress(address), 8080, weight, ""});
  return result;
}

// services.json as the build writes it.
std::string text(std::vector<services::Frontend> frontends) {
  std::sort(frontends.begin(), frontends.end(), [](const auto& a, const auto& b) {
    return std::tie(a.vip, a.port) < std::tie(b.vip, b.port);
  });
  return services::toJsonText({std::move(frontends)});
}

ServiceMaps contents(std::vector<services::Frontend> frontends) {
  auto maps = maps::toServiceMapContents(nlohmann::json::parse(text(std::move(frontends))));
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
  EXPECT_EQ(value.affinity_seconds, 0u);
  EXPECT_TRUE(drained.maglev.empty());
  // A drained backend has no entry: a client's affinity to it lapses.
  EXPECT_TRUE(drained.backends.empty());
  auto partly = contents({frontend("10.96.0.5", 80, {{"10.0.0.2", 0}, {"10.0.0.3", 1}})});
  EXPECT_EQ(partly.backends.size(), 1u);

  // Affinity is the frontend's.
  auto sticky = frontend("10.96.0.5", 80, {{"10.0.0.2", 1}});
  sticky.affinitySeconds = 600;
  auto withAffinity = contents({sticky});
  std::memcpy(&value, withAffinity.services.begin()->second.data(), sizeof value);
  EXPECT_EQ(value.affinity_seconds, 600u);

  // Malformed files are errors, never entries.
  const auto good = nlohmann::json::parse(text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}})}));
  ASSERT_TRUE(maps::toServiceMapContents(good));
  auto broken = [&](auto edit) {
    auto json = good;
    edit(json);
    auto maps = maps::toServiceMapContents(json);
    return maps ? std::string() : maps.error();
  };
  EXPECT_NE(broken([](auto& j) { j["maglev_table_size"] = 1031; }), "");
  EXPECT_NE(broken([](auto& j) { j["frontends"][0]["vip"] = "banana"; }), "");
  EXPECT_NE(broken([](auto& j) { j.erase("frontends"); }), "");
  EXPECT_NE(broken([](auto& j) { j["frontends"][0]["port"] = 70000; }), "");
  EXPECT_NE(broken([](auto& j) { j["frontends"][0]["backends"][0]["weight"] = 101; }), "");
  EXPECT_NE(broken([](auto& j) { j["frontends"].push_back(j["frontends"][0]); }), "");
  EXPECT_NE(broken([](auto& j) {
              auto copy = j["frontends"][0];
              copy["port"] = 81; // another frontend, with the same ids
              j["frontends"].push_back(copy);
            }),
            "");
  EXPECT_EQ(broken([](auto& j) { j["frontends"][0]["backends"][0]["weight"] = 100; }), "")
      << "the topology's largest weight is the loader's";
}

// A frontend marked "echo" (the first of its vip) also answers echo
// requests to the vip: one more polc_services entry, ICMP (ICMPv6) port 0,
// with its value, so its table and backends; nothing else.
TEST(ServiceMaps, TheVipsEchoSharesItsFrontendsValue) {
  auto json = nlohmann::json::parse(text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}}),
                                          frontend("fd00:96::5", 80, {{"fd00::2", 1}})}));
  for (auto& line : json["frontends"]) line["echo"] = true;
  auto maps = maps::toServiceMapContents(json);
  ASSERT_TRUE(maps) << maps.error();
  EXPECT_EQ(maps->services.size(), 4u);
  EXPECT_EQ(maps->maglev.size(), 2u);
  EXPECT_EQ(maps->backends.size(), 2u);
  std::map<std::tuple<uint8_t, uint8_t, uint16_t>, std::string> byKey; // family, protocol, port
  for (const auto& [bytes, value] : maps->services) {
    polc_service_key key{};
    std::memcpy(&key, bytes.data(), sizeof key);
    byKey[{key.family, key.protocol, ntohs(key.dport)}] = value;
  }
  EXPECT_EQ((byKey[{POLC_FAMILY_IPV4, IPPROTO_ICMP, 0}]),
            (byKey[{POLC_FAMILY_IPV4, IPPROTO_TCP, 80}]));
  EXPECT_EQ((byKey[{POLC_FAMILY_IPV6, IPPROTO_ICMPV6, 0}]),
            (byKey[{POLC_FAMILY_IPV6, IPPROTO_TCP, 80}]));
  EXPECT_EQ(byKey.size(), 4u);

  // A table with the vip's echo marks its frontend; a delta counts the
  // same polc_services entries as the whole file.
  auto echo = frontend("10.96.0.5", 0, {{"10.0.0.2", 1}});
  echo.protocol = IPPROTO_ICMP;
  const auto plain = text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}})});
  const auto marked = text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}}), echo});
  EXPECT_NE(marked.find("\"echo\": true"), std::string::npos) << marked;
  auto delta = serviceMapDelta(plain, marked);
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->frontends, 2u);
  EXPECT_EQ(delta->after.services.size(), 2u);

  // Two frontends of one vip cannot both answer its echo.
  auto twice = nlohmann::json::parse(text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}}),
                                           frontend("10.96.0.5", 81, {{"10.0.0.2", 1}})}));
  for (auto& line : twice["frontends"]) line["echo"] = true;
  auto refused = maps::toServiceMapContents(twice);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("echo is answered twice"), std::string::npos) << refused.error();
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

// A load that kept the text of what the maps hold reads only the lines that
// differ: the result is the same as reading the whole file and the maps.
TEST(ServiceMaps, TheLinesThatDifferMakeTheSameUpdateAsTheWholeFile) {
  const std::vector<services::Frontend> base = {
      frontend("10.96.0.4", 53, {{"10.0.0.9", 1}}),
      frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}}),
      frontend("10.96.0.6", 443, {{"10.0.0.2", 1}})};
  auto with = [&](auto edit) {
    auto frontends = base;
    edit(frontends);
    return frontends;
  };
  const std::vector<std::pair<const char*, std::vector<services::Frontend>>> changes = {
      {"reweight", with([](auto& f) { f[1].backends[1].weight = 3; })},
      {"drain all", with([](auto& f) { f[2].backends[0].weight = 0; })},
      {"add a backend",
       with([](auto& f) { f[0].backends.insert(f[0].backends.begin(), f[1].backends[1]); })},
      {"remove a service", with([](auto& f) { f.erase(f.begin()); })},
      {"remove a shared backend",
       with([](auto& f) { f.pop_back(), f[1].backends.erase(f[1].backends.begin()); })},
      {"add a service", with([](auto& f) {
         f.push_back(frontend("10.96.0.7", 80, {{"10.0.0.7", 2}}));
       })},
      {"nothing", base}};
  const auto beforeText = text(base);
  for (const auto& [name, frontends] : changes) {
    SCOPED_TRACE(name);
    const auto afterText = text(frontends);
    auto delta = serviceMapDelta(beforeText, afterText);
    ASSERT_TRUE(delta);
    EXPECT_EQ(delta->frontends, frontends.size());

    Live whole, lines;
    Rollback rollback;
    ServiceMaps scratch, empty;
    const auto before = contents(base), after = contents(frontends);
    for (auto* live : {&whole, &lines})
      ASSERT_TRUE(updateServiceMaps(live->maps, rollback, live->handles, empty, before, scratch));
    whole.maps.resetCounts();
    lines.maps.resetCounts();
    ASSERT_TRUE(updateServiceMaps(whole.maps, rollback, whole.handles, before, after, scratch));
    ASSERT_TRUE(updateServiceMaps(lines.maps, rollback, lines.handles, delta->before, delta->after,
                                  scratch));
    EXPECT_TRUE(sameMaps(lines.read(), after));
    for (auto map :
         {&ServiceMapHandles::services, &ServiceMapHandles::maglev, &ServiceMapHandles::backends}) {
      EXPECT_EQ(lines.maps.counts(lines.handles.*map).updates,
                whole.maps.counts(whole.handles.*map).updates);
      EXPECT_EQ(lines.maps.counts(lines.handles.*map).deletes,
                whole.maps.counts(whole.handles.*map).deletes);
    }
    auto byLines = serviceMapChange(delta->before, delta->after);
    auto byWhole = serviceMapChange(before, after);
    EXPECT_EQ(std::tie(byLines.added, byLines.removed, byLines.changed),
              std::tie(byWhole.added, byWhole.removed, byWhole.changed));
  }
}

TEST(ServiceMaps, TextsNotInTheBuildsFormGiveNoDelta) {
  const auto one = text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}})});
  const auto two = text({frontend("10.96.0.5", 80, {{"10.0.0.2", 1}, {"10.0.0.3", 1}})});
  ASSERT_TRUE(serviceMapDelta(one, two));
  EXPECT_FALSE(serviceMapDelta(nlohmann::json::parse(one).dump(2), two));
  EXPECT_FALSE(serviceMapDelta(one, nlohmann::json::parse(two).dump(2)));
  // Another table size.
  auto other = two;
  other.replace(other.rfind("1021"), 4, "1031");
  EXPECT_FALSE(serviceMapDelta(one, other));
}

} // namespace
} // namespace polc::runtime
