#include "polc/loader/event_decoder.h"

#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctime>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;

Expected<nlohmann::json> readJson(const fs::path& path) {
  auto text = readFile(path);
  if (!text) return Error{text.error()};
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Error{path.string() + ": not valid JSON"};
  return json;
}

std::string labelsText(const nlohmann::json& labels) {
  std::string text;
  for (const auto& [key, value] : labels.items()) {
    if (!text.empty()) text += ",";
    text += key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return text;
}

DecodedPeer identityPeer(const nlohmann::json& identity) {
  DecodedPeer peer;
  peer.identity = identity.value("id", 0u);
  if (identity.contains("reserved")) {
    peer.kind = identity["reserved"].get<std::string>();
    peer.name = peer.kind;
  } else if (identity.contains("labels")) {
    peer.kind = "endpoint";
    peer.name = labelsText(identity["labels"]);
  } else if (identity.contains("cidr")) {
    peer.kind = "cidr";
    peer.name = identity["cidr"].get<std::string>();
  } else if (identity.contains("service")) {
    peer.kind = "service";
    peer.name = identity["service"].get<std::string>();
  }
  return peer;
}

int64_t clockNanoseconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

std::string addressText(uint8_t family, const uint32_t* address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == POLC_FAMILY_IPV6 ? AF_INET6 : AF_INET, address, text, sizeof text);
  return text;
}

std::string protocolName(uint8_t protocol) {
  switch (protocol) {
  case IPPROTO_TCP:
    return "tcp";
  case IPPROTO_UDP:
    return "udp";
  case IPPROTO_ICMP:
    return "icmp";
  case IPPROTO_ICMPV6:
    return "icmpv6";
  case IPPROTO_SCTP:
    return "sctp";
  default:
    return std::to_string(protocol);
  }
}

const char* reasonName(uint8_t reason) {
  switch (reason) {
  case POLC_REASON_RULE:
    return "rule";
  case POLC_REASON_DEFAULT_DENY:
    return "default-deny";
  case POLC_REASON_NO_RULE:
    return "no-rule";
  case POLC_REASON_CT_REPLY:
    return "reply";
  case POLC_REASON_CT_RELATED:
    return "related";
  case POLC_REASON_CT_ESTABLISHED:
    return "established";
  case POLC_REASON_MALFORMED:
    return "malformed";
  case POLC_REASON_NO_IPV6:
    return "no-ipv6";
  default:
    return "unknown";
  }
}

const char* verdictName(uint8_t verdict) {
  switch (verdict) {
  case POLC_EVENT_VERDICT_ALLOWED:
    return "allowed";
  case POLC_EVENT_VERDICT_DENIED:
    return "denied";
  case POLC_EVENT_VERDICT_AUDIT:
    return "audit";
  default:
    return "unknown";
  }
}

} // namespace

Expected<EventDecoder> EventDecoder::forNode(const NodeStatus& node) {
  EventDecoder decoder;
  decoder.node_ = node.node;
  for (const auto& endpoint : node.endpoints)
    decoder.endpoints_[uint32_t(endpoint.ifindex)] = {endpoint.endpoint, endpoint.interface};
  decoder.monotonicToUnix_ =
      clockNanoseconds(CLOCK_REALTIME) - clockNanoseconds(CLOCK_MONOTONIC_COARSE);
  if (node.outDir.empty())
    return Error{"node " + node.node + ": its state names no build output to decode events with"};
  const fs::path outDir = node.outDir;
  std::string revision;
  auto manifest = artifacts::readManifest(outDir, &revision);
  if (!manifest) return Error{"node " + node.node + ": " + manifest.error()};
  if (!node.revision.empty() && revision != node.revision)
    return Error{"node " + node.node + " runs revision " + node.revision.substr(0, 12) + " but " +
                 node.outDir + " now holds " + revision.substr(0, 12) +
                 ": the names in it may be another build's (load it, or point at the one loaded)"};
  auto identities = readJson(outDir / "identities.json");
  if (!identities) return Error{identities.error()};
  for (const auto& identity : (*identities)["identities"]) {
    auto peer = identityPeer(identity);
    decoder.identities_[peer.identity] = peer;
  }
  auto rules = readJson(outDir / "rules.json");
  if (!rules) return Error{rules.error()};
  auto list = artifacts::ruleListFromJson(*rules);
  if (!list) return Error{outDir.string() + "/rules.json: " + list.error()};
  for (const auto& rule : list->rules)
    decoder.rules_[rule.id] = {rule.id, rule.policy, rule.location, rule.text,
                               rule.text.starts_with("deny") ? "deny" : "allow"};
  return decoder;
}

DecodedEvent EventDecoder::decode(const polc_event& event) const {
  DecodedEvent decoded;
  decoded.unixNanoseconds = uint64_t(int64_t(event.time_ns) + monotonicToUnix_);
  decoded.node = node_;
  decoded.ifindex = event.ifindex;
  if (auto it = endpoints_.find(event.ifindex); it != endpoints_.end()) {
    decoded.endpoint = it->second.name;
    decoded.interface = it->second.interface;
  }
  decoded.direction = event.direction == POLC_CT_INGRESS ? "ingress" : "egress";
  decoded.verdict = verdictName(event.verdict);
  decoded.reason = reasonName(event.reason);
  if (event.rule_id != POLC_CT_RULE_NONE)
    if (auto it = rules_.find(event.rule_id); it != rules_.end()) decoded.rule = it->second;
  decoded.family = event.family == POLC_FAMILY_IPV6 ? "ipv6" : "ipv4";
  decoded.protocol = protocolName(event.protocol);
  decoded.source = addressText(event.family, event.saddr);
  decoded.destination = addressText(event.family, event.daddr);
  if (event.protocol == IPPROTO_ICMP || event.protocol == IPPROTO_ICMPV6) {
    decoded.icmpType = uint8_t(ntohs(event.dport) >> 8);
    decoded.icmpCode = uint8_t(ntohs(event.dport) & 0xff);
  } else {
    decoded.sourcePort = ntohs(event.sport);
    decoded.destinationPort = ntohs(event.dport);
  }
  if (auto it = identities_.find(event.peer_identity); it != identities_.end())
    decoded.peer = it->second;
  else
    decoded.peer = {event.peer_identity, "unknown",
                    "identity " + std::to_string(event.peer_identity)};
  decoded.length = event.length;
  decoded.newFlow = (event.flags & POLC_EVENT_FLAG_NEW_FLOW) != 0;
  return decoded;
}

} // namespace polc::loader
