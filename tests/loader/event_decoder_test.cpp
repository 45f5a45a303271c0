// The event decoder without a kernel: a build output written by hand, a
// polc_event as the datapath fills it, and the names a monitor prints; and
// the --from / --to selectors.
#include "polc/loader/event_decoder.h"

#include "polc/artifacts/manifest.h"
#include "polc/support/files.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kWebIdentity = 300, kDbIdentity = 301, kWebIfindex = 7;

artifacts::EndpointArtifacts endpoint(const char* name, const char* interface, uint32_t identity) {
  artifacts::EndpointArtifacts ep;
  ep.name = name;
  ep.interface = interface;
  ep.identity = identity;
  ep.ingressTable = "tables/in.json";
  ep.egressTable = "tables/eg.json";
  return ep;
}

class EventDecoderTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("polc-decoder-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    artifacts::Manifest manifest;
    manifest.polcVersion = "test";
    manifest.cluster = "c";
    artifacts::EndpointArtifacts web = endpoint("web-1", "pw-web1", kWebIdentity);
    web.addresses = {"10.0.1.20"};
    artifacts::EndpointArtifacts db = endpoint("db-1", "pw-db1", kDbIdentity);
    db.addresses = {"10.0.2.30", "fd00::30"};
    // db-1 runs on another node: a peer is named on any node of the build.
    manifest.nodes.push_back({"node-1", "10.9.0.1", "nodes/node-1/ipcache.json", {web}});
    manifest.nodes.push_back({"node-2", "10.9.0.2", "nodes/node-2/ipcache.json", {db}});
    ASSERT_TRUE(writeFile(dir / "manifest.json", artifacts::toJson(manifest).dump()));
    nlohmann::json identities = {
        {"identities",
         {{{"id", 2}, {"reserved", "world"}},
          {{"id", kWebIdentity}, {"labels", {{"app", "web"}, {"env", "prod"}}}},
          {{"id", kDbIdentity}, {"labels", {{"app", "db"}, {"env", "prod"}}}},
          {{"id", 16777300}, {"cidr", "192.0.2.0/24"}}}}};
    ASSERT_TRUE(writeFile(dir / "identities.json", identities.dump()));
    nlohmann::json rules = {{"rules",
                             {{{"id", 0},
                               {"location", "shop.pol:9:5"},
                               {"policy", "db"},
                               {"text", "allow from app == \"web\" on tcp/5432"}}}}};
    ASSERT_TRUE(writeFile(dir / "rules.json", rules.dump()));
    node.node = "node-1";
    node.outDir = dir.string();
    EndpointStatus web1;
    web1.endpoint = "web-1";
    web1.interface = "pw-web1";
    web1.ifindex = kWebIfindex;
    node.endpoints.push_back(web1);
  }
  void TearDown() override { fs::remove_all(dir); }

  // web-1 sends to `destination`:5432 (egress: the peer is the destination).
  static polc_event egressTo(const char* destination, uint32_t peerIdentity) {
    polc_event event{};
    event.ifindex = kWebIfindex;
    event.direction = POLC_CT_EGRESS;
    event.verdict = POLC_EVENT_VERDICT_ALLOWED;
    event.reason = POLC_REASON_RULE;
    event.rule_id = 0;
    event.family = POLC_FAMILY_IPV4;
    event.protocol = IPPROTO_TCP;
    inet_pton(AF_INET, "10.0.1.20", event.saddr);
    inet_pton(AF_INET, destination, event.daddr);
    event.sport = htons(40000);
    event.dport = htons(5432);
    event.peer_identity = peerIdentity;
    return event;
  }

  fs::path dir;
  NodeStatus node;
};

TEST_F(EventDecoderTest, NamesThePeerEndpointByItsAddressOnAnyNode) {
  auto decoder = EventDecoder::forNode(node);
  ASSERT_TRUE(decoder) << decoder.error();
  auto event = decoder->decode(egressTo("10.0.2.30", kDbIdentity));
  EXPECT_EQ(event.endpoint, "web-1");
  EXPECT_EQ(event.direction, "egress");
  EXPECT_EQ(event.peer.kind, "endpoint");
  EXPECT_EQ(event.peer.name, "db-1");
  EXPECT_EQ(event.peer.labels, (Labels{{"app", "db"}, {"env", "prod"}}));
  EXPECT_EQ(event.endpointLabels, (Labels{{"app", "web"}, {"env", "prod"}}));
  ASSERT_TRUE(event.rule);
  EXPECT_EQ(event.rule->policy, "db");
  EXPECT_EQ(event.rule->location, "shop.pol:9:5");
  EXPECT_EQ(event.destinationPort, 5432);
}

TEST_F(EventDecoderTest, APeerWhoseAddressIsNoEndpointIsNamedByItsLabelsOrKind) {
  auto decoder = EventDecoder::forNode(node);
  ASSERT_TRUE(decoder) << decoder.error();
  EXPECT_EQ(decoder->decode(egressTo("10.0.2.99", kDbIdentity)).peer.name, "app=db,env=prod");
  EXPECT_EQ(decoder->decode(egressTo("192.0.2.7", 16777300)).peer.name, "192.0.2.0/24");
  EXPECT_EQ(decoder->decode(egressTo("198.51.100.1", 2)).peer.name, "world");
  auto unknown = decoder->decode(egressTo("198.51.100.1", 999));
  EXPECT_EQ(unknown.peer.kind, "unknown");
  EXPECT_EQ(unknown.peer.name, "identity 999");
}

TEST_F(EventDecoderTest, SourceAndDestinationAreTheEndpointAndThePeerByDirection) {
  auto decoder = EventDecoder::forNode(node);
  ASSERT_TRUE(decoder) << decoder.error();
  auto out = decoder->decode(egressTo("10.0.2.30", kDbIdentity));
  EXPECT_EQ(out.sourceParty().name, "web-1");
  EXPECT_EQ(out.destinationParty().name, "db-1");
  auto raw = egressTo("10.0.2.30", kDbIdentity);
  raw.direction = POLC_CT_INGRESS; // the same addresses, into web-1: a reply's shape
  std::swap(raw.saddr, raw.daddr);
  auto in = decoder->decode(raw);
  EXPECT_EQ(in.sourceParty().name, "db-1");
  EXPECT_EQ(in.sourceParty().address, "10.0.2.30");
  EXPECT_EQ(in.destinationParty().name, "web-1");
}

TEST_F(EventDecoderTest, SelectorsMatchNamesPrefixesKindsAndLabels) {
  auto decoder = EventDecoder::forNode(node);
  ASSERT_TRUE(decoder) << decoder.error();
  auto event = decoder->decode(egressTo("10.0.2.30", kDbIdentity));
  const auto from = event.sourceParty(), to = event.destinationParty();
  auto matches = [](const char* text, const DecodedParty& party) {
    auto selector = PartySelector::parse(text);
    EXPECT_TRUE(selector) << text << ": " << selector.error();
    return selector && selector->matches(party);
  };
  EXPECT_TRUE(matches("web-1", from));
  EXPECT_FALSE(matches("web-1", to));
  EXPECT_TRUE(matches("db-1", to));
  EXPECT_TRUE(matches("10.0.2.0/24", to));
  EXPECT_TRUE(matches("10.0.2.30", to));
  EXPECT_FALSE(matches("10.0.2.31", to));
  EXPECT_TRUE(matches("app=web", from));
  EXPECT_TRUE(matches("app=db,env=prod", to));
  EXPECT_FALSE(matches("app=db,env=dev", to));
  EXPECT_FALSE(matches("world", to));
  EXPECT_TRUE(matches("world", decoder->decode(egressTo("198.51.100.1", 2)).destinationParty()));
}

TEST(PartySelector, BadSelectorsAreRefusedWithTheReason) {
  for (const char* bad : {"", "10.0.1", "10.0.0.1/8", "=web", "app=web,", "fd00::/129"}) {
    auto selector = PartySelector::parse(bad);
    EXPECT_FALSE(selector) << bad;
  }
  auto hinted = PartySelector::parse("10.0.0.1/8");
  ASSERT_FALSE(hinted);
  EXPECT_NE(hinted.error().find("10.0.0.0/8"), std::string::npos) << hinted.error();
}

TEST_F(EventDecoderTest, AManifestThatIsNoLongerTheLoadedRevisionIsRefused) {
  node.revision = std::string(64, 'a');
  auto decoder = EventDecoder::forNode(node);
  ASSERT_FALSE(decoder);
  EXPECT_NE(decoder.error().find("another build"), std::string::npos) << decoder.error();
}

// A packet translated to a backend (or refused) carries its frontend's id:
// the event names the service beside the backend it went to.
TEST_F(EventDecoderTest, APacketToAServiceNamesTheServiceBesideTheBackend) {
  auto manifestJson = nlohmann::json::parse(*readFile(dir / "manifest.json"));
  manifestJson["services"] = "services.json";
  ASSERT_TRUE(writeFile(dir / "manifest.json", manifestJson.dump()));
  ASSERT_TRUE(writeFile(dir / "services.json",
                        R"({"frontends": [{"backends": [], "id": 77, "port": 5432, )"
                        R"("protocol": "tcp", "service": "db", "vip": "10.96.0.5"}], )"
                        R"("maglev_table_size": 1021})"));
  auto decoder = EventDecoder::forNode(node);
  ASSERT_TRUE(decoder) << decoder.error();
  auto event = egressTo("10.0.2.30", kDbIdentity);
  event.frontend_id = 77;
  auto decoded = decoder->decode(event);
  ASSERT_TRUE(decoded.service);
  EXPECT_EQ(decoded.service->name, "db");
  EXPECT_EQ(decoded.service->vip, "10.96.0.5");
  EXPECT_EQ(decoded.service->protocol, "tcp");
  EXPECT_EQ(decoded.service->port, 5432);
  EXPECT_EQ(decoded.peer.name, "db-1") << "the backend";
  event.frontend_id = 0;
  EXPECT_FALSE(decoder->decode(event).service);

  ASSERT_TRUE(writeFile(dir / "services.json", "{\"frontends\": [{\"id\": 1}]}"));
  auto malformed = EventDecoder::forNode(node);
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().find("services.json: malformed"), std::string::npos)
      << malformed.error();
}

} // namespace
} // namespace polc::loader
