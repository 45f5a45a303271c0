#include "polc/topology/loader.h"

#include "polc/support/files.h"

#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <cctype>
#include <optional>
#include <set>

namespace polc::topology {

std::vector<const Endpoint*> Topology::allEndpoints() const {
  std::vector<const Endpoint*> endpoints;
  for (const auto& node : nodes)
    for (const auto& endpoint : node.endpoints) endpoints.push_back(&endpoint);
  return endpoints;
}

namespace {

// The canonical text of an IPv4 or IPv6 host address (so that "fd00:0::1"
// and "fd00::1" are the same address), or nothing when it is neither.
std::optional<std::string> canonicalAddress(const std::string& text) {
  in6_addr address{};
  char buffer[INET6_ADDRSTRLEN];
  int family = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(family, text.c_str(), &address) != 1) return std::nullopt;
  return std::string(inet_ntop(family, &address, buffer, sizeof buffer));
}

// Kernel interface names: 1-15 characters, no '/', ':' or whitespace.
bool isInterfaceName(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

class Reader {
public:
  Reader(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  std::optional<Topology> read(const YAML::Node& root) {
    Topology topology;
    topology.file = file_;
    if (!root.IsMap()) {
      error(root, "the topology must be a mapping with 'cluster' and 'nodes'");
      return std::nullopt;
    }
    checkKeys(root, {"cluster", "nodes"});
    topology.cluster = scalar(root, "cluster", /*required=*/true);
    auto nodes = root["nodes"];
    if (!nodes || !nodes.IsSequence()) {
      error(nodes ? nodes : root, "'nodes' must be a list of nodes");
    } else {
      for (const auto& node : nodes) readNode(node, topology);
    }
    if (diagnostics_.errorCount() > errorsAtStart_) return std::nullopt;
    return topology;
  }

private:
  SourceLocation at(const YAML::Node& node) const {
    auto mark = node.Mark();
    if (mark.line < 0) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }

  Diagnostic& error(const YAML::Node& node, std::string message) {
    return diagnostics_.error("topology", at(node), std::move(message));
  }

  void checkKeys(const YAML::Node& map, std::set<std::string> known) {
    for (const auto& entry : map) {
      auto key = entry.first.as<std::string>();
      if (!known.contains(key)) {
        auto& d = error(entry.first, "unknown key '" + key + "'");
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        d.hints.push_back("known keys here: " + list);
      }
    }
  }

  std::string scalar(const YAML::Node& map, const char* key, bool required) {
    auto value = map[key];
    if (!value) {
      if (required) error(map, std::string("missing '") + key + "'");
      return {};
    }
    if (!value.IsScalar() || value.Scalar().empty()) {
      error(value, std::string("'") + key + "' must be a non-empty string");
      return {};
    }
    return value.Scalar();
  }

  void readNode(const YAML::Node& yaml, Topology& topology) {
    if (!yaml.IsMap()) {
      error(yaml, "a node must be a mapping with 'name', 'address' and 'endpoints'");
      return;
    }
    checkKeys(yaml, {"name", "address", "endpoints"});
    Node node;
    node.location = at(yaml);
    node.name = scalar(yaml, "name", true);
    if (!node.name.empty() && !nodeNames_.insert(node.name).second)
      error(yaml["name"], "duplicate node name '" + node.name + "'");
    node.address = scalar(yaml, "address", true);
    if (!node.address.empty()) node.address = checkAddress(yaml["address"], node.address);
    auto endpoints = yaml["endpoints"];
    if (endpoints && !endpoints.IsSequence())
      error(endpoints, "'endpoints' must be a list");
    else if (endpoints)
      for (const auto& endpoint : endpoints) readEndpoint(endpoint, node);
    topology.nodes.push_back(std::move(node));
  }

  // Returns the canonical form of a valid address, the input otherwise.
  std::string checkAddress(const YAML::Node& where, const std::string& address) {
    auto canonical = canonicalAddress(address);
    if (!canonical) {
      auto& d = error(where, "'" + address + "' is not an IPv4 or IPv6 address");
      d.hints.push_back(
          "write a host address such as 10.0.1.10 or fd00::10, without a prefix length");
      return address;
    }
    if (!addresses_.insert(*canonical).second)
      error(where, "address " + address + " is used twice in the topology");
    return *canonical;
  }

  void readEndpoint(const YAML::Node& yaml, Node& node) {
    if (!yaml.IsMap()) {
      error(yaml, "an endpoint must be a mapping with 'name', 'labels', 'addresses', 'interface'");
      return;
    }
    checkKeys(yaml, {"name", "labels", "addresses", "interface"});
    Endpoint endpoint;
    endpoint.location = at(yaml);
    endpoint.node = node.name;
    endpoint.name = scalar(yaml, "name", true);
    if (!endpoint.name.empty() && !endpointNames_.insert(endpoint.name).second)
      error(yaml["name"], "duplicate endpoint name '" + endpoint.name + "'");
    if (auto labels = yaml["labels"]) {
      if (!labels.IsMap())
        error(labels, "'labels' must be a mapping of label keys to values");
      else
        for (const auto& label : labels) {
          if (!label.second.IsScalar()) {
            error(label.second, "label values must be strings");
            continue;
          }
          endpoint.labels[label.first.as<std::string>()] = label.second.Scalar();
        }
    }
    auto addresses = yaml["addresses"];
    if (!addresses || !addresses.IsSequence() || addresses.size() == 0) {
      error(addresses ? addresses : yaml, "an endpoint needs 'addresses', a non-empty list");
    } else {
      for (const auto& address : addresses) {
        if (!address.IsScalar()) {
          error(address, "an address must be a string");
          continue;
        }
        endpoint.addresses.push_back(checkAddress(address, address.Scalar()));
      }
    }
    endpoint.interface = scalar(yaml, "interface", true);
    if (!endpoint.interface.empty()) {
      if (!isInterfaceName(endpoint.interface)) {
        auto& d =
            error(yaml["interface"], "'" + endpoint.interface + "' is not a valid interface name");
        d.hints.push_back("interface names have 1 to 15 characters, without '/', ':' or spaces");
      } else if (!interfaces_.insert(node.name + "/" + endpoint.interface).second) {
        error(yaml["interface"],
              "interface '" + endpoint.interface + "' is used twice on node '" + node.name + "'");
      }
    }
    node.endpoints.push_back(std::move(endpoint));
  }

  std::string file_;
  Diagnostics& diagnostics_;
  size_t errorsAtStart_ = diagnostics_.errorCount();
  std::set<std::string> nodeNames_, endpointNames_, addresses_, interfaces_;
};

} // namespace

std::optional<Topology> loadText(const std::string& path, const std::string& text,
                                 Diagnostics& diagnostics) {
  diagnostics.addSource(path, text);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diagnostics.error("yaml", {path, e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  try {
    return Reader(path, diagnostics).read(root);
  } catch (const YAML::Exception& e) {
    // Conversions of malformed nodes; reported where yaml-cpp saw them.
    diagnostics.error("topology", {path, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return std::nullopt;
  }
}

std::optional<Topology> loadFile(const std::string& path, Diagnostics& diagnostics) {
  auto text = readFile(path);
  if (!text) {
    diagnostics.error("io", {path, 0, 0}, text.error());
    return std::nullopt;
  }
  return loadText(path, *text, diagnostics);
}

} // namespace polc::topology
