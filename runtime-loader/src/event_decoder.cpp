#include "polc/loader/event_decoder.h"

#include "build_json.h"

#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <ctime>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;

std::string labelsText(const Labels& labels) {
  std::string text;
  for (const auto& [key, value] : labels) {
    if (!text.empty()) text += ",";
    text += key + "=" + value;
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
    for (const auto& [key, value] : identity["labels"].items())
      peer.labels[key] = value.is_string() ? value.get<std::string>() : value.dump();
    peer.name = labelsText(peer.labels);
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

} // namespace

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
  case POLC_REASON_NO_BACKEND:
    return "no-backend";
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

Expected<EventDecoder> EventDecoder::forNode(const NodeStatus& node) {
  EventDecoder decoder;
  decoder.node_ = node.node;
  for (const auto& endpoint : node.endpoints)
    decoder.endpoints_[uint32_t(endpoint.ifindex)] = {endpoint.endpoint, endpoint.interface};
  decoder.monotonicToUnix_ =
      clockNanoseconds(CLOCK_REALTIME) - clockNanoseconds(CLOCK_MONOTONIC_COARSE);
  auto manifest = readLoadedManifest(node, "decode events with");
  if (!manifest) return Error{manifest.error()};
  const fs::path outDir = node.outDir;
  auto identities = readBuildJson(outDir / "identities.json");
  if (!identities) return Error{identities.error()};
  for (const auto& identity : (*identities)["identities"]) {
    auto peer = identityPeer(identity);
    decoder.identities_[peer.identity] = peer;
  }
  std::map<std::string, Endpoint*> attached; // the node's endpoints with programs, by name
  for (auto& [ifindex, endpoint] : decoder.endpoints_) attached[endpoint.name] = &endpoint;
  for (const auto& manifestNode : manifest->nodes)
    for (const auto& endpoint : manifestNode.endpoints) {
      for (const auto& address : endpoint.addresses)
        decoder.endpointByAddress_[address] = endpoint.name;
      if (manifestNode.name != node.node) continue;
      auto known = attached.find(endpoint.name);
      auto identity = decoder.identities_.find(endpoint.identity);
      if (known != attached.end() && identity != decoder.identities_.end())
        known->second->labels = identity->second.labels;
    }
  auto rules = readBuildRules(outDir);
  if (!rules) return Error{rules.error()};
  for (auto& rule : *rules) decoder.rules_[rule.id] = std::move(rule);
  if (!manifest->services.empty()) {
    auto services = readBuildJson(outDir / manifest->services);
    if (!services) return Error{services.error()};
    try {
      for (const auto& frontend : (*services)["frontends"])
        decoder.services_[frontend.at("id").get<uint32_t>()] = {
            frontend.at("service").get<std::string>(), frontend.at("vip").get<std::string>(),
            frontend.at("protocol").get<std::string>(), frontend.at("port").get<uint16_t>()};
    } catch (const std::exception& e) {
      return Error{(outDir / manifest->services).string() + ": malformed: " + e.what()};
    }
  }
  return decoder;
}

void EventDecoder::learn(EventDecoder newer) {
  for (auto& [ifindex, endpoint] : newer.endpoints_) endpoints_[ifindex] = std::move(endpoint);
  for (auto& [address, name] : newer.endpointByAddress_) endpointByAddress_[address] = name;
  for (auto& [id, peer] : newer.identities_) identities_[id] = std::move(peer);
  for (auto& [id, rule] : newer.rules_) rules_[id] = std::move(rule);
  for (auto& [id, service] : newer.services_) services_[id] = std::move(service);
  monotonicToUnix_ = newer.monotonicToUnix_;
}

DecodedEvent EventDecoder::decode(const polc_event& event) const {
  DecodedEvent decoded;
  decoded.unixNanoseconds = uint64_t(int64_t(event.time_ns) + monotonicToUnix_);
  decoded.node = node_;
  decoded.ifindex = event.ifindex;
  if (auto it = endpoints_.find(event.ifindex); it != endpoints_.end()) {
    decoded.endpoint = it->second.name;
    decoded.endpointLabels = it->second.labels;
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
  const auto& peerAddress =
      event.direction == POLC_CT_INGRESS ? decoded.source : decoded.destination;
  if (decoded.peer.kind == "endpoint")
    if (auto it = endpointByAddress_.find(peerAddress); it != endpointByAddress_.end())
      decoded.peer.name = it->second;
  if (event.frontend_id != 0)
    if (auto it = services_.find(event.frontend_id); it != services_.end())
      decoded.service = it->second;
  decoded.length = event.length;
  decoded.newFlow = (event.flags & POLC_EVENT_FLAG_NEW_FLOW) != 0;
  return decoded;
}

DecodedParty DecodedEvent::sourceParty() const {
  const bool fromPeer = direction == "ingress";
  return fromPeer ? DecodedParty{source, peer.kind, peer.name, &peer.labels}
                  : DecodedParty{source, "endpoint", endpoint, &endpointLabels};
}

DecodedParty DecodedEvent::destinationParty() const {
  const bool toPeer = direction == "egress";
  return toPeer ? DecodedParty{destination, peer.kind, peer.name, &peer.labels}
                : DecodedParty{destination, "endpoint", endpoint, &endpointLabels};
}

Expected<PartySelector> PartySelector::parse(std::string_view text) {
  PartySelector selector;
  selector.text_ = std::string(text);
  if (text.empty()) return Error{"an empty selector selects nothing"};
  if (text == "world" || text == "host" || text == "remote-node" || text == "unknown") {
    selector.kind_ = Kind::Reserved;
  } else if (text.find('=') != std::string_view::npos) {
    selector.kind_ = Kind::Labels;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string_view::npos) end = text.size();
      auto pair = text.substr(start, end - start);
      auto equals = pair.find('=');
      if (equals == std::string_view::npos || equals == 0)
        return Error{"\"" + selector.text_ + "\": labels are key=value, separated by commas"};
      selector.labels_[std::string(pair.substr(0, equals))] = std::string(pair.substr(equals + 1));
      start = end + 1;
    }
  } else if (auto prefix = parsePrefix(text)) {
    selector.kind_ = Kind::Prefix;
    selector.prefix_ = *prefix;
  } else if (text.find_first_of("/:") != std::string_view::npos ||
             text.find_first_not_of("0123456789.") == std::string_view::npos) {
    PrefixError why;
    parsePrefix(text, &why);
    return Error{"\"" + selector.text_ + "\": " + why.message +
                 (why.hint.empty() ? "" : " (" + why.hint + ")")};
  }
  return selector;
}

bool PartySelector::matches(const DecodedParty& party) const {
  switch (kind_) {
  case Kind::Reserved:
    return party.kind == text_;
  case Kind::Prefix: {
    auto address = parseAddress(party.address);
    return address && prefix_->contains(*address);
  }
  case Kind::Labels:
    if (!party.labels) return false;
    return std::all_of(labels_.begin(), labels_.end(), [&](const auto& wanted) {
      auto it = party.labels->find(wanted.first);
      return it != party.labels->end() && it->second == wanted.second;
    });
  case Kind::Name:
    break;
  }
  return party.name == text_;
}

} // namespace polc::loader
