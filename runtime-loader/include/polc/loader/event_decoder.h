// Turns a verdict event (struct polc_event, bpf/lib/polc_monitor.h) into
// names a person reads: the endpoint from the interface it came in on, the
// peer as endpoint name / world / host / CIDR / service, the rule as policy,
// file:line and text, all from the build output the node runs.
#pragma once

#include "polc/loader/loader.h"
#include "polc/support/expected.h"
#include "polc/support/ip_prefix.h"
#include "polc_structs.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace polc::loader {

// The names of POLC_REASON_* and POLC_EVENT_VERDICT_*, as events and
// counters print them ("default-deny", "allowed"); "unknown" for others.
const char* reasonName(uint8_t reason);
const char* verdictName(uint8_t verdict);

struct DecodedRule {
  uint32_t id = 0;
  std::string policy;
  std::string location; // file:line:col
  std::string text;     // the rule as written, normalized
  std::string action;   // "allow" or "deny"
  bool audit = false;   // a rule of an audit policy (language.md): it never drops
};

using Labels = std::map<std::string, std::string>;

struct DecodedPeer {
  uint32_t identity = 0;
  std::string kind; // endpoint, host, world, remote-node, unknown, cidr, service
  // The endpoint's name (its labels "k=v,k=v" when its address is none of
  // the build's endpoints), the CIDR, the service's name; else the kind.
  std::string name;
  Labels labels{}; // an endpoint's
};

// One side of a packet, as --from / --to select it.
struct DecodedParty {
  std::string address;
  std::string kind; // as DecodedPeer's
  std::string name;
  const Labels* labels = nullptr;
};

// The service frontend a packet was sent to (its vip, protocol and port):
// the event's addresses are then the backend's.
struct DecodedService {
  std::string name, vip, protocol;
  uint16_t port = 0;
};

struct DecodedEvent {
  uint64_t unixNanoseconds = 0; // wall clock, from the event's monotonic time
  std::string node;
  std::string endpoint; // empty when the interface is not one of the node's endpoints
  Labels endpointLabels;
  std::string interface;
  uint32_t ifindex = 0;
  std::string direction; // "ingress" (into the endpoint) or "egress"
  std::string verdict;   // "allowed", "denied", "audit"
  std::string
      reason; // rule, default-deny, no-rule, reply, related, established, malformed, no-ipv6
  std::optional<DecodedRule> rule;
  std::string family;   // "ipv4" or "ipv6"
  std::string protocol; // "tcp", "udp", "icmp", "icmpv6" or the number
  std::string source, destination;
  uint16_t sourcePort = 0, destinationPort = 0; // TCP and UDP
  std::optional<uint8_t> icmpType, icmpCode;
  DecodedPeer peer;
  std::optional<DecodedService> service; // translated to a backend, or refused
  uint32_t length = 0;
  bool newFlow = false;

  // The packet's source and destination: the endpoint or its peer.
  DecodedParty sourceParty() const;
  DecodedParty destinationParty() const;
};

// What --from and --to take: an endpoint (or service) name, an address or
// CIDR prefix that holds the party's address, world / host / remote-node /
// unknown, or labels "k=v[,k=v]" that the party's labels all include.
class PartySelector {
public:
  static Expected<PartySelector> parse(std::string_view text);
  bool matches(const DecodedParty&) const;

private:
  enum class Kind { Name, Prefix, Reserved, Labels } kind_ = Kind::Name;
  std::string text_;
  std::optional<IpPrefix> prefix_;
  Labels labels_;
};

class EventDecoder {
public:
  // From a node as status reports it: its endpoints' interfaces, and the
  // build output it runs (outDir; the manifest must still be the recorded
  // revision, else the names would be another build's).
  static Expected<EventDecoder> forNode(const NodeStatus&);

  DecodedEvent decode(const polc_event&) const;

  // After a reload: the node's endpoints as `newer` has them, and its names
  // beside those known (a newer name wins for the same id: rule and
  // identity ids name the same thing in every build).
  void learn(EventDecoder newer);

private:
  struct Endpoint {
    std::string name, interface;
    Labels labels{};
  };
  std::string node_;
  std::map<uint32_t, Endpoint> endpoints_;               // the node's, by ifindex
  std::map<std::string, std::string> endpointByAddress_; // every node's
  std::map<uint32_t, DecodedPeer> identities_;
  std::map<uint32_t, DecodedRule> rules_;
  std::map<uint32_t, DecodedService> services_; // by frontend id (services.json)
  int64_t monotonicToUnix_ = 0;                 // add to a CLOCK_MONOTONIC time
};

} // namespace polc::loader
