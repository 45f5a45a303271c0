#include "generator.h"

#include "polc/support/ip_prefix.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace polc::difftest {
namespace {

using Labels = std::map<std::string, std::string>;

// Small alphabets, so that random selectors and label sets often meet.
const std::vector<std::pair<std::string, std::vector<std::string>>> kEndpointLabels = {
    {"app", {"web", "db", "api", "cache"}},
    {"env", {"prod", "dev"}},
    {"tier", {"front", "back"}},
    {"x.io/role", {"a", "b"}}, // a Kubernetes-style key with '.' and '/'
};
const std::vector<std::pair<std::string, std::vector<std::string>>> kNamespaceLabels = {
    {"team", {"red", "blue"}},
    {"zone", {"z1", "z2"}},
};
const std::vector<std::string> kNamespaces = {"ns-a", "ns-b", "ns-c"};
// Named ports and the protocol each is defined for.
const std::vector<std::pair<std::string, std::string>> kPortNames = {
    {"http", "tcp"}, {"dns", "udp"}, {"metrics", "tcp"}, {"sig", "sctp"}};
// Ports at the edges of ranges and port prefixes.
const std::vector<int> kEdgePorts = {1,     2,     22,   53,   79,   80,   81,    443,
                                     1023,  1024,  1025, 8000, 8080, 8999, 32767, 32768,
                                     49151, 49152, 4095, 4096, 255,  256,  65534, 65535};
const std::vector<int> kIcmpTypes = {0, 3, 5, 8, 11, 13, 128, 129, 135, 255};

struct NamespaceSpec {
  std::string name;
  Labels labels;
};

struct EndpointSpec {
  std::string name;
  std::string node;
  std::string nameSpace; // empty: none
  Labels labels;         // as written (without the namespace's)
  std::vector<IpPrefix> addresses;
  std::map<std::string, std::string> ports; // name -> "tcp/8080"
};

struct NodeSpec {
  std::string name;
  std::optional<IpPrefix> address;
};

struct ServiceSpec {
  std::string name;
  std::string nameSpace;
  std::optional<IpPrefix> vip;
  std::vector<std::string> ports;
  Labels selector;
  std::map<std::string, int> weights; // by backend endpoint name
};

struct GroupSpec {
  std::string name;
  std::vector<IpPrefix> cidrs;
};

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

// Clears the bits of `prefix` after its length.
IpPrefix masked(IpPrefix prefix) {
  for (int bit = prefix.length; bit < prefix.maxLength(); ++bit)
    prefix.bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
  return prefix;
}

class Generator {
public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  GeneratedCase run(uint64_t seed) {
    makeTopology();
    GeneratedCase generated;
    generated.seed = seed;
    generated.topology = topologyText();
    generated.policy = policyText();
    return generated;
  }

private:
  // ---- randomness ----
  int uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T> const T& pick(const std::vector<T>& items) {
    return items[size_t(uniform(0, int(items.size()) - 1))];
  }

  // ---- addresses ----
  IpPrefix address(uint8_t family, std::initializer_list<uint8_t> head, uint32_t low) {
    IpPrefix prefix;
    prefix.family = family;
    prefix.length = family == 4 ? 32 : 128;
    size_t i = 0;
    for (uint8_t byte : head) prefix.bytes[i++] = byte;
    size_t size = family == 4 ? 4 : 16;
    prefix.bytes[size - 2] = uint8_t(low >> 8);
    prefix.bytes[size - 1] = uint8_t(low);
    return prefix;
  }

  // An address not used yet: endpoint, node and service addresses are unique.
  IpPrefix fresh(uint8_t family, std::initializer_list<uint8_t> head, uint32_t maxLow) {
    for (;;) {
      auto candidate = address(family, head, uint32_t(uniform(1, int(maxLow))));
      if (used_.insert(candidate).second) return candidate;
    }
  }

  IpPrefix endpointAddress(uint8_t family) {
    // 10.1.0.0/22 and fd00:1::/112: small, so CIDRs and neighbours meet them.
    if (family == 4) return fresh(4, {10, 1}, 0x3ff);
    return fresh(6, {0xfd, 0x00, 0x00, 0x01}, 0x3ff);
  }

  // A random prefix near the cluster's addresses or in well-known space.
  IpPrefix randomPrefix(uint8_t family) {
    IpPrefix prefix;
    prefix.family = family;
    if (family == 4) {
      static const std::vector<std::array<uint8_t, 4>> bases = {
          {10, 1, 0, 0},   {10, 10, 0, 0},   {10, 96, 0, 0}, {192, 168, 0, 0},
          {172, 16, 0, 0}, {203, 0, 113, 0}, {0, 0, 0, 0},   {10, 1, 1, 0}};
      auto base = pick(bases);
      std::copy(base.begin(), base.end(), prefix.bytes.begin());
      if (chance(0.2))
        for (int i = 0; i < 4; ++i) prefix.bytes[size_t(i)] = uint8_t(uniform(0, 255));
      else
        prefix.bytes[3] = uint8_t(uniform(0, 255));
      static const std::vector<int> lengths = {0, 1, 8, 12, 16, 20, 22, 24, 25, 28, 30, 31, 32};
      prefix.length = uint8_t(chance(0.7) ? pick(lengths) : uniform(0, 32));
    } else {
      static const std::vector<std::array<uint8_t, 4>> bases = {{0xfd, 0x00, 0x00, 0x01},
                                                                {0xfd, 0x00, 0x00, 0x10},
                                                                {0xfd, 0x00, 0x00, 0x96},
                                                                {0x20, 0x01, 0x0d, 0xb8},
                                                                {0x00, 0x00, 0x00, 0x00}};
      auto base = pick(bases);
      std::copy(base.begin(), base.end(), prefix.bytes.begin());
      if (chance(0.2))
        for (int i = 0; i < 16; ++i) prefix.bytes[size_t(i)] = uint8_t(uniform(0, 255));
      else {
        prefix.bytes[14] = uint8_t(uniform(0, 3));
        prefix.bytes[15] = uint8_t(uniform(0, 255));
      }
      static const std::vector<int> lengths = {0, 8, 16, 32, 48, 64, 96, 112, 118, 120, 127, 128};
      prefix.length = uint8_t(chance(0.7) ? pick(lengths) : uniform(0, 128));
    }
    return masked(prefix);
  }

  // A prefix inside `outer` (possibly equal to it).
  IpPrefix insidePrefix(const IpPrefix& outer) {
    IpPrefix inner = outer;
    inner.length = uint8_t(chance(0.1) ? outer.length : uniform(outer.length, outer.maxLength()));
    for (int bit = outer.length; bit < inner.length; ++bit)
      if (chance(0.5)) inner.bytes[bit / 8] |= uint8_t(0x80u >> (bit % 8));
    return masked(inner);
  }

  std::string prefixText(const IpPrefix& prefix) { return prefix.text(chance(0.5)); }

  // ---- topology ----
  Labels randomLabels(const std::vector<std::pair<std::string, std::vector<std::string>>>& alphabet,
                      double each) {
    Labels labels;
    for (const auto& [key, values] : alphabet)
      if (chance(each)) labels[key] = pick(values);
    return labels;
  }

  void makeTopology() {
    int namespaceCount = uniform(0, 3);
    for (int i = 0; i < namespaceCount; ++i)
      namespaces_.push_back({kNamespaces[size_t(i)], randomLabels(kNamespaceLabels, 0.6)});
    int nodeCount = uniform(1, 3);
    for (int i = 1; i <= nodeCount; ++i) {
      NodeSpec node{"node-" + std::to_string(i), std::nullopt};
      if (chance(0.9))
        node.address =
            chance(0.7) ? fresh(4, {10, 10, 0}, 0xff) : fresh(6, {0xfd, 0x00, 0x00, 0x10}, 0xff);
      nodes_.push_back(node);
    }
    int endpointCount = uniform(1, 10);
    // Endpoints with the same labels share an identity, so they must agree
    // on named ports: ports are chosen once per label set.
    std::map<std::pair<std::string, Labels>, std::map<std::string, std::string>> portsOf;
    for (int i = 1; i <= endpointCount; ++i) {
      EndpointSpec endpoint;
      endpoint.name = "ep-" + std::to_string(i);
      endpoint.node = pick(nodes_).name;
      if (!namespaces_.empty() && chance(0.8)) endpoint.nameSpace = pick(namespaces_).name;
      endpoint.labels = randomLabels(kEndpointLabels, 0.6);
      // One to three addresses, IPv4, IPv6 or both, in any order.
      int addressCount = chance(0.7) ? 1 : uniform(2, 3);
      for (int a = 0; a < addressCount; ++a)
        endpoint.addresses.push_back(endpointAddress(chance(0.55) ? 4 : 6));
      auto [slot, isNew] = portsOf.try_emplace({endpoint.nameSpace, endpoint.labels});
      if (isNew)
        for (const auto& [name, protocol] : kPortNames)
          if (chance(0.4)) slot->second[name] = protocol + "/" + std::to_string(pick(kEdgePorts));
      endpoint.ports = slot->second;
      endpoints_.push_back(endpoint);
    }
    int serviceCount = uniform(0, 3);
    for (int i = 1; i <= serviceCount; ++i) {
      ServiceSpec service;
      service.name = "svc-" + std::to_string(i);
      if (!namespaces_.empty() && chance(0.5)) service.nameSpace = pick(namespaces_).name;
      if (chance(0.8))
        service.vip =
            chance(0.7) ? fresh(4, {10, 96, 0}, 0xff) : fresh(6, {0xfd, 0x00, 0x00, 0x96}, 0xff);
      std::set<std::string> ports;
      std::map<std::string, std::vector<std::pair<int, int>>> portsTaken; // by protocol
      int portCount = uniform(0, 2);
      for (int p = 0; p < portCount; ++p) {
        std::string protocol = pick(std::vector<std::string>{"tcp", "udp", "sctp"});
        int first = pick(kEdgePorts);
        int last = chance(0.5) ? first : std::max(first, pick(kEdgePorts));
        // At a vip a range is a frontend per port, each with its Maglev
        // table: a few ports, not tens of thousands.
        if (service.vip) last = std::min({last, first + 15, 65535});
        // Ports of one service never overlap (the topology refuses that).
        auto& taken = portsTaken[protocol];
        if (std::any_of(taken.begin(), taken.end(), [&](const auto& range) {
              return range.first <= last && first <= range.second;
            }))
          continue;
        taken.emplace_back(first, last);
        ports.insert(protocol + "/" + std::to_string(first) +
                     (last != first ? "-" + std::to_string(last) : ""));
      }
      service.ports.assign(ports.begin(), ports.end());
      // Often the labels of an existing endpoint, so that it has backends.
      const auto& model = pick(endpoints_);
      if (!model.labels.empty() && chance(0.7)) {
        for (const auto& [key, value] : model.labels)
          if (service.selector.empty() || chance(0.5)) service.selector[key] = value;
      } else {
        const auto& [key, values] = pick(kEndpointLabels);
        service.selector[key] = pick(values);
      }
      // Weights for some backends (Topology::backends' match), 0 drains;
      // a service whose backends are all drained refuses new flows.
      for (const auto& endpoint : endpoints_) {
        if (!service.nameSpace.empty() && endpoint.nameSpace != service.nameSpace) continue;
        bool backs =
            std::all_of(service.selector.begin(), service.selector.end(), [&](const auto& pair) {
              auto label = endpoint.labels.find(pair.first);
              return label != endpoint.labels.end() && label->second == pair.second;
            });
        if (backs && chance(0.3)) service.weights[endpoint.name] = uniform(0, 3);
      }
      services_.push_back(service);
    }
    int groupCount = uniform(0, 2);
    for (int i = 1; i <= groupCount; ++i) {
      GroupSpec group{"grp-" + std::to_string(i), {}};
      int cidrCount = uniform(1, 3);
      for (int c = 0; c < cidrCount; ++c) group.cidrs.push_back(randomPrefix(chance(0.6) ? 4 : 6));
      groups_.push_back(group);
    }
  }

  static std::string flowMap(const std::map<std::string, std::string>& map) {
    if (map.empty()) return "{}";
    std::string text = "{ ";
    bool first = true;
    for (const auto& [key, value] : map) {
      text += (first ? "" : ", ") + quoted(key) + ": " + quoted(value);
      first = false;
    }
    return text + " }";
  }

  std::string topologyText() const {
    std::string out = "cluster: difftest\n";
    if (!namespaces_.empty()) {
      out += "namespaces:\n";
      for (const auto& ns : namespaces_)
        out += "  " + ns.name + ": { labels: " + flowMap(ns.labels) + " }\n";
    }
    out += "nodes:\n";
    for (const auto& node : nodes_) {
      out += "  - name: " + node.name + "\n";
      if (node.address) out += "    address: " + quoted(node.address->addressText()) + "\n";
      out += "    endpoints:";
      bool any = false;
      for (const auto& endpoint : endpoints_) {
        if (endpoint.node != node.name) continue;
        if (!any) out += "\n";
        any = true;
        out += "      - name: " + endpoint.name + "\n";
        if (!endpoint.nameSpace.empty()) out += "        namespace: " + endpoint.nameSpace + "\n";
        out += "        labels: " + flowMap(endpoint.labels) + "\n";
        out += "        addresses: [";
        for (size_t i = 0; i < endpoint.addresses.size(); ++i)
          out += (i ? ", " : "") + quoted(endpoint.addresses[i].addressText());
        out += "]\n";
        out += "        interface: dt-" + endpoint.name + "\n";
        if (!endpoint.ports.empty()) out += "        ports: " + flowMap(endpoint.ports) + "\n";
      }
      if (!any) out += " []\n";
    }
    if (!services_.empty()) {
      out += "services:\n";
      for (const auto& service : services_) {
        out += "  - name: " + service.name + "\n";
        if (!service.nameSpace.empty()) out += "    namespace: " + service.nameSpace + "\n";
        if (service.vip) out += "    vip: " + quoted(service.vip->addressText()) + "\n";
        out += "    ports: [";
        for (size_t i = 0; i < service.ports.size(); ++i)
          out += (i ? ", " : " ") + service.ports[i] + (i + 1 == service.ports.size() ? " " : "");
        out += "]\n";
        out += "    selector: " + flowMap(service.selector) + "\n";
        if (!service.weights.empty()) {
          out += "    weights: {";
          for (const auto& [name, weight] : service.weights)
            out += (name == service.weights.begin()->first ? " " : ", ") + quoted(name) + ": " +
                   std::to_string(weight);
          out += " }\n";
        }
      }
    }
    if (!groups_.empty()) {
      out += "groups:\n";
      for (const auto& group : groups_) {
        out += "  - name: " + group.name + "\n    cidrs: [";
        for (size_t i = 0; i < group.cidrs.size(); ++i)
          out += (i ? ", " : "") + quoted(group.cidrs[i].text());
        out += "]\n";
      }
    }
    return out;
  }

  // ---- selectors ----
  enum Precedence { kOr = 0, kAnd = 1, kUnary = 2 };

  std::string labelValue(const std::vector<std::string>& values) {
    // Now and then a value no endpoint has (a warning, not an error), also
    // one with the escapes a string may hold (already escaped here).
    int kind = uniform(0, 99);
    if (kind < 4) return "zzz";
    if (kind < 6) return R"(q\"x\\y)";
    return pick(values);
  }

  // A key and the values it can take, including the reserved namespace keys.
  std::pair<std::string, std::vector<std::string>> selectorKey() {
    int kind = uniform(0, 9);
    if (kind <= 5) return pick(kEndpointLabels);
    if (kind <= 7) return {"namespace", kNamespaces};
    const auto& [key, values] = pick(kNamespaceLabels);
    return {"namespace." + key, values};
  }

  std::string leafSelector() {
    if (!lets_.empty() && chance(0.15)) return pick(lets_);
    auto [key, values] = selectorKey();
    switch (uniform(0, 6)) {
    case 0:
      return chance(0.3) ? "any" : "has(" + key + ")";
    case 1:
      return key + " == " + quoted(labelValue(values));
    case 2:
      return key + " != " + quoted(labelValue(values));
    case 3:
    case 4: {
      std::string text = key + (uniform(0, 1) ? " in (" : " notin (");
      int count = uniform(1, 3);
      for (int i = 0; i < count; ++i) text += (i ? ", " : "") + quoted(labelValue(values));
      return text + ")";
    }
    case 5:
      return "!has(" + key + ")";
    default:
      return "has(" + key + ")";
    }
  }

  // Text of a selector and the precedence of its top operator; children are
  // parenthesized only where the grammar needs it (and now and then anyway).
  std::pair<std::string, Precedence> selectorTree(int depth) {
    if (depth >= 3 || chance(0.45)) return {leafSelector(), kUnary};
    auto wrap = [&](const std::pair<std::string, Precedence>& child, Precedence needed) {
      if (child.second < needed || chance(0.1)) return "(" + child.first + ")";
      return child.first;
    };
    // One call per statement: the order of evaluation inside an expression
    // is unspecified, and the same seed must give the same text everywhere.
    int kind = uniform(0, 4);
    if (kind == 0) {
      auto child = selectorTree(depth + 1);
      return {"!" + wrap(child, kUnary), kUnary};
    }
    Precedence op = kind <= 2 ? kAnd : kOr;
    auto left = selectorTree(depth + 1);
    std::string text = wrap(left, op);
    auto right = selectorTree(depth + 1);
    text += (op == kAnd ? " && " : " || ") + wrap(right, op);
    return {text, op};
  }

  std::string selector() { return selectorTree(0).first; }

  // ---- peers and ports ----
  // Now and then exactly an address of the cluster (an endpoint's, a
  // node's, a service's), or a prefix just around it.
  IpPrefix cidrPrefix() {
    if (!used_.empty() && chance(0.15)) {
      auto it = used_.begin();
      std::advance(it, uniform(0, int(used_.size()) - 1));
      IpPrefix prefix = *it;
      if (chance(0.5)) prefix.length = uint8_t(uniform(prefix.maxLength() - 8, prefix.maxLength()));
      return masked(prefix);
    }
    return randomPrefix(chance(0.6) ? 4 : 6);
  }

  std::string cidrPeer() {
    std::vector<IpPrefix> prefixes;
    int count = uniform(1, 2);
    for (int i = 0; i < count; ++i) prefixes.push_back(cidrPrefix());
    std::string text = "cidr ";
    for (size_t i = 0; i < prefixes.size(); ++i) text += (i ? ", " : "") + prefixText(prefixes[i]);
    if (chance(0.5)) {
      int holes = uniform(1, 2);
      text += " except ";
      for (int i = 0; i < holes; ++i)
        text += (i ? ", " : "") + prefixText(insidePrefix(pick(prefixes)));
    }
    return text;
  }

  std::string peer() {
    for (;;) {
      switch (uniform(0, 9)) {
      case 0:
      case 1:
      case 2:
        return selector();
      case 3:
        if (services_.empty()) continue;
        return "service " + quoted(pick(services_).name);
      case 4:
      case 5:
        return cidrPeer();
      case 6:
        if (groups_.empty()) continue;
        return "group " + quoted(pick(groups_).name);
      default:
        return "entity " + pick(std::vector<std::string>{"world", "host", "cluster", "all"});
      }
    }
  }

  int port() { return chance(0.7) ? pick(kEdgePorts) : uniform(1, 65535); }

  std::string portSpec() {
    const std::string protocol = pick(std::vector<std::string>{"tcp", "udp", "sctp"});
    switch (uniform(0, 9)) {
    case 0:
    case 1:
      return protocol + "/" + std::to_string(port());
    case 2:
    case 3: {
      if (chance(0.15)) return protocol + "/1-65535";
      int first = port(), last = port();
      if (first > last) std::swap(first, last);
      return protocol + "/" + std::to_string(first) + "-" + std::to_string(last);
    }
    case 4:
      return protocol;
    case 5: {
      const auto& [name, definedFor] = pick(kPortNames);
      // Mostly the protocol the name is defined for; sometimes not (no match).
      return (chance(0.85) ? definedFor : protocol) + "/" + name;
    }
    default: {
      std::string text = chance(0.5) ? "icmp" : "icmpv6";
      if (chance(0.75)) {
        text += " type " + std::to_string(chance(0.7) ? pick(kIcmpTypes) : uniform(0, 255));
        if (chance(0.4)) text += " code " + std::to_string(chance(0.5) ? 0 : uniform(0, 255));
      }
      return text;
    }
    }
  }

  std::string rule(bool ingress) {
    std::string text = chance(0.7) ? "allow" : "deny";
    text += ingress ? " from " : " to ";
    text += peer();
    if (chance(0.7)) {
      int count = uniform(1, 3);
      text += " on ";
      for (int i = 0; i < count; ++i) text += (i ? ", " : "") + portSpec();
    }
    return text;
  }

  std::string policyText() {
    std::string out = "# difftest: generated\n";
    int letCount = uniform(0, 2);
    for (int i = 1; i <= letCount; ++i) {
      std::string name = "sel" + std::to_string(i);
      out += "let " + name + " = " + selector() + "\n";
      lets_.push_back(name); // usable from here on
    }
    if (chance(0.35)) {
      out += "default deny ";
      int which = uniform(0, 2);
      out += which == 0 ? "ingress" : which == 1 ? "egress" : "ingress, egress";
      if (chance(0.5)) out += " for " + selector();
      out += "\n";
    }
    int policyCount = uniform(1, 4);
    for (int p = 1; p <= policyCount; ++p) {
      out += std::string(chance(0.2) ? "\naudit " : "\n") + "policy " +
             quoted("pol-" + std::to_string(p)) + " {\n";
      out += "  select " + (chance(0.1) ? std::string("any") : selector()) + "\n";
      for (bool ingress : {true, false}) {
        if (!chance(0.6)) continue;
        out += ingress ? "  ingress {\n" : "  egress {\n";
        int ruleCount = uniform(0, 5);
        for (int r = 0; r < ruleCount; ++r) out += "    " + rule(ingress) + "\n";
        out += "  }\n";
      }
      out += "}\n";
    }
    return out;
  }

  std::mt19937_64 rng_;
  std::set<IpPrefix> used_;
  std::vector<NamespaceSpec> namespaces_;
  std::vector<NodeSpec> nodes_;
  std::vector<EndpointSpec> endpoints_;
  std::vector<ServiceSpec> services_;
  std::vector<GroupSpec> groups_;
  std::vector<std::string> lets_;
};

} // namespace

GeneratedCase generateCase(uint64_t seed) {
  return Generator(seed).run(seed);
}

} // namespace polc::difftest
