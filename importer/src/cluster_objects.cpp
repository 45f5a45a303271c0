#include "cluster_objects.h"

#include "polc/topology/topology.h"

#include <algorithm>

namespace polc::importer {
namespace {

constexpr std::string_view kImportedKinds =
    "Namespace, Pod, Service, Node, NetworkPolicy (networking.k8s.io/v1)";

// A container port's name as Kubernetes allows it (IANA_SVC_NAME): at most
// 15 lowercase letters, digits and '-', with a letter, '-' neither at an end
// nor twice in a row.
bool isPortName(const std::string& name) {
  if (name.empty() || name.size() > 15 || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string::npos)
    return false;
  bool letter = false;
  for (char c : name) {
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      return false;
  }
  return letter;
}

std::optional<IpPrefix> addressOf(ObjectReader& reader, const std::optional<Field>& field) {
  auto text = reader.string(field);
  if (!text) return std::nullopt;
  auto address = parseAddress(*text);
  if (!address)
    reader.reporter().error(DiagnosticId::K8sInvalid, reader.object(), *field,
                            "'" + *text + "' is not an IPv4 or IPv6 address");
  return address;
}

// polc's topology reserves the keys namespace and namespace.* for the
// namespace labels it adds itself.
bool checkNotReserved(ObjectReader& reader, const Field& labels, const Labels& read) {
  for (const auto& [key, value] : read) {
    if (key != topology::kNamespaceLabel && !key.starts_with(topology::kNamespaceLabelPrefix))
      continue;
    reader.reporter()
        .error(DiagnosticId::K8sUntranslatable, reader.object(), *labels.child(key),
               "label key '" + key + "' is reserved in polc for the namespace's name and labels")
        .hint("polc selects namespaces with 'namespace == \"N\"' and 'namespace.KEY'; rename "
              "the label");
    return false;
  }
  return true;
}

template <typename Key, typename Object>
bool insertUnique(std::map<Key, Object>& objects, Key key, Object object, Reporter& reporter,
                  const Field& root) {
  auto [at, inserted] = objects.try_emplace(std::move(key), std::move(object));
  if (inserted) return true;
  reporter
      .error(DiagnosticId::K8sNameClash, at->second.id, root,
             "defined twice; polc would give both the same name")
      .note(at->second.id.location, 1, "first defined here");
  return false;
}

void readNamespace(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  NamespaceObject ns{id, {}};
  auto labelsField = root.child("metadata")->child("labels");
  ns.labels = reader.labels(labelsField);
  ns.labels[kNamespaceNameLabel] = id.name; // what the API server enforces
  insertUnique(cluster.namespaces, id.name, std::move(ns), reader.reporter(), root);
}

void readPod(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  auto& reporter = reader.reporter();
  auto spec = root.child("spec");
  auto status = root.child("status");
  if (!reader.isMapOrAbsent(spec) || !reader.isMapOrAbsent(status)) return;
  auto field = [](const std::optional<Field>& map, const std::string& key) {
    return map ? map->child(key) : std::nullopt;
  };
  auto phase = reader.string(field(status, "phase"));
  if (phase && (*phase == "Succeeded" || *phase == "Failed")) {
    reporter.note(id.location, id.text() + ": skipped: it has ended (" + *phase +
                                   "), and its address may belong to another pod now");
    return;
  }
  if (reader.boolean(field(spec, "hostNetwork")).value_or(false)) {
    reporter.note(id.location, id.text() +
                                   ": skipped: it uses the host's network, so its traffic is the "
                                   "node's (entity host, remote-node), not an endpoint's");
    for (const auto& item : reader.items(field(status, "podIPs")))
      if (auto address = addressOf(reader, item.child("ip")))
        cluster.hostNetworkAddresses.emplace_back(*address, id.text());
    return;
  }
  PodObject pod{id, {}, {}, {}, {}};
  auto labelsField = root.child("metadata")->child("labels");
  pod.labels = reader.labels(labelsField);
  if (labelsField && !checkNotReserved(reader, *labelsField, pod.labels)) return;
  pod.node = reader.string(field(spec, "nodeName")).value_or("");
  if (!pod.node.empty() && !isDnsSubdomain(pod.node)) {
    reporter.error(DiagnosticId::K8sInvalid, id, *field(spec, "nodeName"),
                   "'" + pod.node + "' is not a valid node name");
    return;
  }
  for (const auto& item : reader.items(field(status, "podIPs")))
    if (auto address = addressOf(reader, item.child("ip"))) pod.addresses.push_back(*address);
  if (pod.addresses.empty())
    if (auto address = addressOf(reader, field(status, "podIP"))) pod.addresses.push_back(*address);
  std::sort(pod.addresses.begin(), pod.addresses.end());
  pod.addresses.erase(std::unique(pod.addresses.begin(), pod.addresses.end()), pod.addresses.end());
  for (const auto& container : reader.items(field(spec, "containers"))) {
    for (const auto& port : reader.items(container.child("ports"))) {
      auto name = reader.string(port.child("name"));
      auto number = reader.integer(port.child("containerPort"), 1, 65535);
      auto protocol = reader.protocol(port.child("protocol"));
      if (!name || !number || !protocol) continue; // only named ports matter to policy
      if (!isPortName(*name)) {
        reporter.error(DiagnosticId::K8sInvalid, id, *port.child("name"),
                       "'" + *name + "' is not a valid port name (IANA_SVC_NAME)");
        continue;
      }
      auto text = *protocol + "/" + std::to_string(*number);
      auto [at, inserted] = pod.namedPorts.emplace(*name, text);
      if (!inserted && at->second != text)
        reporter.error(DiagnosticId::K8sInvalid, id, *port.child("name"),
                       "port name '" + *name + "' is given twice, to " + at->second + " and " +
                           text);
    }
  }
  if (pod.node.empty()) {
    reporter.note(id.location, id.text() + ": skipped: it is not scheduled to a node");
    return;
  }
  if (pod.addresses.empty()) {
    reporter.note(id.location, id.text() + ": skipped: it has no address yet");
    return;
  }
  insertUnique(cluster.pods, NamespacedName{id.nameSpace, id.name}, std::move(pod), reporter, root);
}

void readNode(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  NodeObject node{id, {}};
  auto status = root.child("status");
  if (!reader.isMapOrAbsent(status)) return;
  for (const auto& item : reader.items(status ? status->child("addresses") : std::nullopt)) {
    if (reader.string(item.child("type")).value_or("") != "InternalIP") continue;
    if (auto address = addressOf(reader, item.child("address")))
      node.internalAddresses.push_back(*address);
  }
  insertUnique(cluster.nodes, id.name, std::move(node), reader.reporter(), root);
}

void readService(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  auto& reporter = reader.reporter();
  auto spec = root.child("spec");
  if (!spec || !spec->isMap()) {
    reporter.error(DiagnosticId::K8sInvalid, id, root, "a Service needs a spec");
    return;
  }
  if (reader.string(spec->child("type")).value_or("") == "ExternalName") {
    reporter.note(id.location,
                  id.text() + ": skipped: an ExternalName service is a DNS name, not an address");
    return;
  }
  ServiceObject service{id, {}, {}, {}};
  auto selectorField = spec->child("selector");
  service.selector = reader.labels(selectorField);
  if (selectorField && !checkNotReserved(reader, *selectorField, service.selector)) return;
  if (service.selector.empty()) {
    reporter.note(id.location, id.text() +
                                   ": skipped: it has no selector, so its backends are listed in "
                                   "EndpointSlices, which polc's services cannot hold yet (they "
                                   "pick backends by labels)");
    return;
  }
  auto clusterIp = reader.string(spec->child("clusterIP")).value_or("");
  if (clusterIp.empty() || clusterIp == "None")
    reporter.note(id.location, id.text() + ": headless (no cluster IP): imported without a vip");
  else
    service.vip = addressOf(reader, spec->child("clusterIP"));
  for (const auto& port : reader.items(spec->child("ports"))) {
    auto number = reader.integer(port.child("port"), 1, 65535);
    auto protocol = reader.protocol(port.child("protocol"));
    if (!number || !protocol) continue;
    auto text = *protocol + "/" + std::to_string(*number);
    if (std::find(service.ports.begin(), service.ports.end(), text) == service.ports.end())
      service.ports.push_back(text); // in the Service's order
  }
  insertUnique(cluster.services, NamespacedName{id.nameSpace, id.name}, std::move(service),
               reporter, root);
}

void readNetworkPolicy(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  if (id.apiVersion != "networking.k8s.io/v1") {
    reader.reporter().error(DiagnosticId::K8sInvalid, id, root.child("apiVersion").value_or(root),
                            "polc imports NetworkPolicy of networking.k8s.io/v1, not '" +
                                id.apiVersion + "'");
    return;
  }
  auto spec = root.child("spec");
  if (!spec || !spec->isMap()) {
    reader.reporter().error(DiagnosticId::K8sInvalid, id, spec.value_or(root),
                            "a NetworkPolicy needs a spec (a map)");
    return;
  }
  insertUnique(cluster.policies, NamespacedName{id.nameSpace, id.name}, PolicyObject{id, *spec},
               reader.reporter(), root);
}

void readAdminPolicy(ObjectReader& reader, const Field& root, Cluster& cluster) {
  const auto& id = reader.object();
  if (reader.reporter().untranslatable(
          id, *root.child("kind"), "needs policy tiers, not yet in polc's language",
          "admin policies decide before (and baseline ones after) every NetworkPolicy; "
          "issue #21 adds tiers"))
    cluster.untranslated.emplace_back(id, "needs policy tiers, not yet in polc's language");
}

bool namespaced(const std::string& kind) {
  return kind == "Pod" || kind == "Service" || kind == "NetworkPolicy" || kind == "EndpointSlice";
}

} // namespace

void readObject(const Field& root, Reporter& reporter, Cluster& cluster) {
  ObjectId none;
  if (root.isNull()) return; // an empty document
  if (!root.isMap()) {
    reporter.error(DiagnosticId::K8sInvalid, none, root, "expected a Kubernetes object (a map)");
    return;
  }
  auto kindField = root.child("kind");
  auto items = root.child("items");
  ObjectReader bare(reporter, none);
  auto kind = bare.string(kindField);
  if (!kind) {
    reporter.error(DiagnosticId::K8sInvalid, none, root, "expected a Kubernetes object: no 'kind'");
    return;
  }
  if (items && kind->ends_with("List")) { // List, PodList, ...: each item is an object
    for (const auto& item : bare.items(items)) readObject(item.asObject(), reporter, cluster);
    return;
  }
  ObjectId id;
  id.kind = *kind;
  id.apiVersion = bare.string(root.child("apiVersion")).value_or("");
  id.location = root.location();
  auto metadata = root.child("metadata");
  if (!metadata || !metadata->isMap()) {
    reporter.error(DiagnosticId::K8sInvalid, none, root, *kind + " without metadata");
    return;
  }
  id.name = bare.string(metadata->child("name")).value_or("");
  bool namespacedKind = namespaced(*kind);
  bool clusterScoped = *kind == "Namespace" || *kind == "Node" || *kind == "AdminNetworkPolicy" ||
                       *kind == "BaselineAdminNetworkPolicy";
  if (!clusterScoped) // kinds polc does not know keep their namespace for the note
    id.nameSpace =
        bare.string(metadata->child("namespace")).value_or(namespacedKind ? "default" : "");
  ObjectReader reader(reporter, id);
  if (*kind == "AdminNetworkPolicy" || *kind == "BaselineAdminNetworkPolicy") {
    readAdminPolicy(reader, root, cluster);
    return;
  }
  bool known = *kind == "Namespace" || *kind == "Pod" || *kind == "Service" || *kind == "Node" ||
               *kind == "NetworkPolicy";
  if (!known) {
    if (*kind == "EndpointSlice")
      reporter.note(id.location, id.text() + ": read, not used: polc's services pick their "
                                             "backends by the Service's selector");
    else
      reporter.note(id.location,
                    id.text() + ": skipped: polc imports " + std::string(kImportedKinds));
    return;
  }
  bool validName =
      *kind == "Namespace" || *kind == "Service" ? isDnsLabel(id.name) : isDnsSubdomain(id.name);
  if (!validName) {
    reporter.error(DiagnosticId::K8sInvalid, id, metadata->child("name").value_or(*metadata),
                   "'" + id.name + "' is not a valid " + *kind + " name");
    return;
  }
  if (namespacedKind && !isDnsLabel(id.nameSpace)) {
    reporter.error(DiagnosticId::K8sInvalid, id, metadata->child("namespace").value_or(*metadata),
                   "'" + id.nameSpace + "' is not a valid namespace name");
    return;
  }
  if (*kind == "Namespace")
    readNamespace(reader, root, cluster);
  else if (*kind == "Pod")
    readPod(reader, root, cluster);
  else if (*kind == "Node")
    readNode(reader, root, cluster);
  else if (*kind == "Service")
    readService(reader, root, cluster);
  else
    readNetworkPolicy(reader, root, cluster);
}

} // namespace polc::importer
