// The Kubernetes objects an import reads, as far as polc needs them, keyed
// by the names they get in polc (which is how name clashes are found).
// NetworkPolicies keep their spec as YAML: network_policy.h translates them
// once every pod and namespace is known.
#pragma once

#include "object_reader.h"
#include "polc/support/ip_prefix.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::importer {

struct NamespaceObject {
  ObjectId id;
  Labels labels; // with kubernetes.io/metadata.name, as the API server sets it
};

struct PodObject {
  ObjectId id;
  Labels labels;
  std::string node;
  std::vector<IpPrefix> addresses;
  std::map<std::string, std::string> namedPorts; // "http" -> "tcp/8080"
};

struct NodeObject {
  ObjectId id;
  std::vector<IpPrefix> internalAddresses; // status.addresses of type InternalIP, in order
};

struct ServiceObject {
  ObjectId id;
  std::optional<IpPrefix> vip;
  std::vector<std::string> ports; // "tcp/80"
  Labels selector;
};

struct PolicyObject {
  ObjectId id;
  Field spec;
};

using NamespacedName = std::pair<std::string, std::string>;

struct Cluster {
  std::map<std::string, NamespaceObject> namespaces;
  std::map<std::string, NodeObject> nodes;
  std::map<NamespacedName, PodObject> pods;
  std::map<NamespacedName, ServiceObject> services;
  std::map<NamespacedName, PolicyObject> policies;
  // Objects left out under --lenient, for a comment in main.pol.
  std::vector<std::pair<ObjectId, std::string>> untranslated;
  // Addresses of host-network pods: their nodes' (for ipBlock checks).
  std::vector<std::pair<IpPrefix, std::string>> hostNetworkAddresses;
};

// Reads one object (or each item of a List) into `cluster`: a known kind is
// checked and kept, anything else skipped with a note. `root` has the
// object's document or list item, with an empty path.
void readObject(const Field& root, Reporter& reporter, Cluster& cluster);

// The label key Kubernetes gives every namespace: its name.
inline constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

} // namespace polc::importer
