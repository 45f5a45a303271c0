// polc lab: namespaces and veth pairs through iproute2 (run with an argument
// vector, never a shell), sysctls by entering the namespace.
#include "polc/lab/lab.h"

#include "polc/support/command.h"
#include "polc/support/netns_guard.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

namespace polc::lab {

namespace fs = std::filesystem;

namespace {

// Host side of every endpoint's veth: the endpoint's gateway (as in Cilium).
constexpr const char* kGatewayV4 = "169.254.1.1";
constexpr const char* kGatewayV6 = "fe80::1";
constexpr const char* kEndpointInterface = "eth0";
constexpr size_t kMaxInterfaceName = 15; // IFNAMSIZ - 1
// Node-to-node links: node i (in topology order) has 169.254.2.<i+1> and
// fe80::2:<i+1> on each of its links, the next hop of the other nodes'
// routes to its endpoints. Link-local, so they never clash with topology
// addresses (endpoint gateways use 169.254.1.1 and fe80::1).
constexpr size_t kMaxLinkedNodes = 250;

bool isNameCharacter(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
}

Status checkPrefix(const std::string& prefix) {
  if (prefix.empty() || !std::all_of(prefix.begin(), prefix.end(), isNameCharacter))
    return Error{"lab prefix \"" + prefix +
                 "\" must be non-empty and contain only letters, digits and '-'"};
  return okStatus();
}

// Names become namespace file names and interface names.
Status checkName(const std::string& what, const std::string& name) {
  bool ok = !name.empty() &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return isNameCharacter(c) || c == '_' || c == '.'; }) &&
            name != "." && name != "..";
  if (!ok)
    return Error{what + " name \"" + name +
                 "\" may contain only letters, digits, '-', '_' and '.'"};
  return okStatus();
}

bool isIpv6(const IpPrefix& address) {
  return address.family == 6;
}

// "10.66.1.10/32", "fd66::10/128": validate() let only host prefixes through.
std::string hostRoute(const IpPrefix& address) {
  return address.text();
}

Status writeSysctl(const std::string& netns, const std::string& key, const std::string& value) {
  // /proc/sys/net shows the namespace of the thread that opens it.
  auto entered = NetnsGuard::enter(netns);
  if (!entered) return Error{entered.error()};
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  std::ofstream out(path);
  out << value << "\n";
  out.flush();
  if (!out)
    return Error{"netns " + netns + ": cannot set " + key + "=" + value + ": " +
                 std::strerror(errno)};
  return okStatus();
}

Status addNamespace(const std::string& name, std::vector<std::string>& created) {
  if (auto added = runChecked({"ip", "netns", "add", name}); !added) return added;
  created.push_back(name);
  return runChecked({"ip", "-n", name, "link", "set", "dev", "lo", "up"});
}

Status buildNode(const topology::Node& node, const LabOptions& options,
                 std::vector<std::string>& created) {
  const auto nodeNs = nodeNamespace(options.prefix, node.name);
  if (auto ok = addNamespace(nodeNs, created); !ok) return ok;
  // The node namespace routes between its endpoints, like a host stack.
  if (auto ok = writeSysctl(nodeNs, "net.ipv4.ip_forward", "1"); !ok) return ok;
  if (auto ok = writeSysctl(nodeNs, "net.ipv6.conf.all.forwarding", "1"); !ok) return ok;
  if (node.address)
    if (auto ok = runChecked(
            {"ip", "-n", nodeNs, "address", "add", hostRoute(*node.address), "dev", "lo"});
        !ok)
      return ok;

  for (const auto& endpoint : node.endpoints) {
    const auto endpointNs = endpointNamespace(options.prefix, endpoint.name);
    if (auto ok = addNamespace(endpointNs, created); !ok) return ok;
    const auto& hostSide = endpoint.interface;
    // Created inside the node namespace with its peer moved straight into
    // the endpoint's: nothing ever appears in the caller's namespace.
    std::vector<std::vector<std::string>> commands = {
        {"ip", "-n", nodeNs, "link", "add", "name", hostSide, "type", "veth", "peer", "name",
         kEndpointInterface, "netns", endpointNs},
        {"ip", "-n", nodeNs, "address", "add", std::string(kGatewayV4) + "/32", "dev", hostSide},
        {"ip", "-n", nodeNs, "link", "set", "dev", hostSide, "up"},
        {"ip", "-n", endpointNs, "link", "set", "dev", kEndpointInterface, "up"},
        {"ip", "-n", endpointNs, "route", "add", kGatewayV4, "dev", kEndpointInterface, "scope",
         "link"},
        {"ip", "-n", endpointNs, "route", "add", "default", "via", kGatewayV4, "dev",
         kEndpointInterface},
    };
    bool hasIpv6 = std::any_of(endpoint.addresses.begin(), endpoint.addresses.end(), isIpv6);
    if (hasIpv6) {
      commands.push_back({"ip", "-n", nodeNs, "address", "add", std::string(kGatewayV6) + "/64",
                          "dev", hostSide, "nodad"});
      commands.push_back({"ip", "-n", endpointNs, "-6", "route", "add", "default", "via",
                          kGatewayV6, "dev", kEndpointInterface});
    }
    for (const auto& address : endpoint.addresses) {
      std::vector<std::string> addAddress = {
          "ip", "-n", endpointNs, "address", "add", hostRoute(address), "dev", kEndpointInterface};
      if (isIpv6(address)) addAddress.push_back("nodad"); // usable at once, no DAD delay
      commands.push_back(addAddress);
      commands.push_back({"ip", "-n", nodeNs, "route", "add", hostRoute(address), "dev", hostSide});
    }
    for (const auto& command : commands)
      if (auto ok = runChecked(command); !ok)
        return Error{"endpoint " + endpoint.name + ": " + ok.error()};
  }
  return okStatus();
}

// The interface in `node`'s namespace that leads to node `peer` (index
// `peerIndex`): "to-<peer>" when that fits, else "to-node<index>".
std::string nodeLinkInterface(const std::string& peer, size_t peerIndex) {
  std::string name = "to-" + peer;
  return name.size() <= kMaxInterfaceName ? name : "to-node" + std::to_string(peerIndex);
}

std::string nodeLinkAddressV4(size_t index) {
  return "169.254.2." + std::to_string(index + 1);
}

std::string nodeLinkAddressV6(size_t index) {
  char text[32];
  std::snprintf(text, sizeof text, "fe80::2:%zx", index + 1);
  return text;
}

// Routes in `from`'s namespace to everything of node `to` (its address and
// its endpoints' addresses) over the link between them.
std::vector<std::vector<std::string>> routesToNode(const std::string& fromNs,
                                                   const std::string& link,
                                                   const topology::Node& to, size_t toIndex) {
  std::vector<std::vector<std::string>> commands = {{"ip", "-n", fromNs, "route", "add",
                                                     nodeLinkAddressV4(toIndex), "dev", link,
                                                     "scope", "link"}};
  auto route = [&](const IpPrefix& address) {
    if (isIpv6(address))
      commands.push_back({"ip", "-n", fromNs, "-6", "route", "add", hostRoute(address), "via",
                          nodeLinkAddressV6(toIndex), "dev", link});
    else
      commands.push_back({"ip", "-n", fromNs, "route", "add", hostRoute(address), "via",
                          nodeLinkAddressV4(toIndex), "dev", link});
  };
  if (to.address) route(*to.address);
  for (const auto& endpoint : to.endpoints)
    for (const auto& address : endpoint.addresses) route(address);
  return commands;
}

// Joins every pair of node namespaces with a veth, so that endpoints on
// different nodes reach each other as on a flat, routed cluster network:
// the source address is kept end to end, so each node's ipcache identifies
// a remote endpoint by it.
Status linkNodes(const topology::Topology& topology, const LabOptions& options) {
  const auto& nodes = topology.nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t j = i + 1; j < nodes.size(); ++j) {
      const auto nsI = nodeNamespace(options.prefix, nodes[i].name);
      const auto nsJ = nodeNamespace(options.prefix, nodes[j].name);
      const auto linkI = nodeLinkInterface(nodes[j].name, j); // in i, leads to j
      const auto linkJ = nodeLinkInterface(nodes[i].name, i);
      std::vector<std::vector<std::string>> commands = {
          {"ip", "-n", nsI, "link", "add", "name", linkI, "type", "veth", "peer", "name", linkJ,
           "netns", nsJ},
      };
      for (const auto& [ns, link, index] : {std::tuple{nsI, linkI, i}, std::tuple{nsJ, linkJ, j}}) {
        commands.push_back(
            {"ip", "-n", ns, "address", "add", nodeLinkAddressV4(index) + "/32", "dev", link});
        commands.push_back({"ip", "-n", ns, "address", "add", nodeLinkAddressV6(index) + "/64",
                            "dev", link, "nodad"});
        commands.push_back({"ip", "-n", ns, "link", "set", "dev", link, "up"});
      }
      for (auto& command : routesToNode(nsI, linkI, nodes[j], j)) commands.push_back(command);
      for (auto& command : routesToNode(nsJ, linkJ, nodes[i], i)) commands.push_back(command);
      for (const auto& command : commands)
        if (auto ok = runChecked(command); !ok)
          return Error{"link between nodes " + nodes[i].name + " and " + nodes[j].name + ": " +
                       ok.error()};
    }
  return okStatus();
}

Status validate(const topology::Topology& topology, const LabOptions& options) {
  if (auto ok = checkPrefix(options.prefix); !ok) return ok;
  std::set<std::string> nodes, endpoints;
  if (topology.nodes.size() > kMaxLinkedNodes)
    return Error{"the lab links at most " + std::to_string(kMaxLinkedNodes) + " nodes"};
  for (size_t index = 0; index < topology.nodes.size(); ++index) {
    const auto& node = topology.nodes[index];
    if (auto ok = checkName("node", node.name); !ok) return ok;
    if (!nodes.insert(node.name).second) return Error{"node " + node.name + " appears twice"};
    if (node.address && !node.address->isHost())
      return Error{"node " + node.name + ": " + node.address->text() + " is not a host address"};
    std::set<std::string> interfaces;
    for (const auto& endpoint : node.endpoints) {
      if (auto ok = checkName("endpoint", endpoint.name); !ok) return ok;
      if (!endpoints.insert(endpoint.name).second)
        return Error{"endpoint " + endpoint.name + " appears twice"};
      if (auto ok = checkName("interface", endpoint.interface); !ok)
        return Error{"endpoint " + endpoint.name + ": " + ok.error()};
      if (endpoint.interface.size() > kMaxInterfaceName)
        return Error{"endpoint " + endpoint.name + ": interface name " + endpoint.interface +
                     " is longer than " + std::to_string(kMaxInterfaceName) + " characters"};
      if (!interfaces.insert(endpoint.interface).second)
        return Error{"node " + node.name + ": interface " + endpoint.interface + " is used twice"};
      for (size_t peer = 0; peer < topology.nodes.size(); ++peer)
        if (peer != index &&
            endpoint.interface == nodeLinkInterface(topology.nodes[peer].name, peer))
          return Error{"endpoint " + endpoint.name + ": interface " + endpoint.interface +
                       " is the name of the lab's link to node " + topology.nodes[peer].name};
      // Addresses are parsed values already; only their shape matters here.
      for (const auto& address : endpoint.addresses)
        if (!address.isHost())
          return Error{"endpoint " + endpoint.name + ": " + address.text() +
                       " is not a host address"};
    }
  }
  return okStatus();
}

Expected<std::vector<std::string>> labNamespaces(const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::exists(kNetnsDir, ec)) return names;
  fs::directory_iterator it(kNetnsDir, ec), end;
  if (ec) return Error{std::string("cannot list ") + kNetnsDir + ": " + ec.message()};
  for (; it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.starts_with(prefix + "-n-") || name.starts_with(prefix + "-e-")) names.push_back(name);
  }
  if (ec) return Error{std::string("cannot list ") + kNetnsDir + ": " + ec.message()};
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

std::string nodeNamespace(const std::string& prefix, const std::string& node) {
  return prefix + "-n-" + node;
}

std::string endpointNamespace(const std::string& prefix, const std::string& endpoint) {
  return prefix + "-e-" + endpoint;
}

Expected<LabReport> up(const topology::Topology& topology, const LabOptions& options) {
  if (auto ok = validate(topology, options); !ok) return Error{ok.error()};
  auto existing = labNamespaces(options.prefix);
  if (!existing) return Error{existing.error()};
  if (!existing->empty())
    return Error{"a lab with prefix \"" + options.prefix + "\" already exists (" +
                 existing->front() + ", ...); remove it first with: polc lab down --prefix " +
                 options.prefix};

  LabReport report;
  auto removeCreated = [&] {
    // Removing a namespace removes the veths inside it.
    for (auto it = report.namespaces.rbegin(); it != report.namespaces.rend(); ++it)
      (void)runChecked({"ip", "netns", "delete", *it});
  };
  for (const auto& node : topology.nodes) {
    if (auto built = buildNode(node, options, report.namespaces); !built) {
      removeCreated();
      return Error{"lab up: " + built.error()};
    }
  }
  if (auto linked = linkNodes(topology, options); !linked) {
    removeCreated();
    return Error{"lab up: " + linked.error()};
  }
  return report;
}

Expected<LabReport> down(const LabOptions& options) {
  if (auto ok = checkPrefix(options.prefix); !ok) return Error{ok.error()};
  auto names = labNamespaces(options.prefix);
  if (!names) return Error{names.error()};
  LabReport report;
  std::string errors;
  for (const auto& name : *names) {
    if (auto removed = runChecked({"ip", "netns", "delete", name}); !removed)
      errors += (errors.empty() ? "" : "\n") + removed.error();
    else
      report.namespaces.push_back(name);
  }
  if (!errors.empty()) return Error{"lab down: " + errors};
  return report;
}

} // namespace polc::lab
