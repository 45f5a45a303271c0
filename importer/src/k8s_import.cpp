// The import as a whole: read every document, check what clashes, then
// write the topology and the .pol files (sorted, so the same objects give
// the same bytes whatever their order in the inputs).
#include "polc/importer/k8s.h"

#include "cluster_objects.h"
#include "network_policy.h"
#include "polc/artifacts/digest.h"
#include "polc/frontend/formatter.h"
#include "polc/support/files.h"
#include "polc/support/internal_error.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <set>

namespace polc::importer {
namespace {

std::string yamlLabels(const Labels& labels) {
  if (labels.empty()) return "{}";
  std::string text = "{ ";
  bool first = true;
  for (const auto& [key, value] : labels) {
    text += (first ? "" : ", ") + doubleQuoted(key) + ": " + doubleQuoted(value);
    first = false;
  }
  return text + " }";
}

// Reads every document of every input into `cluster`. The documents must
// outlive the cluster (its policies keep their spec as YAML nodes).
void readInputs(const std::vector<K8sInput>& inputs, std::deque<yaml::Document>& documents,
                Reporter& reporter, Cluster& cluster) {
  for (const auto& input : inputs) {
    reporter.diagnostics().addSource(input.name, input.text);
    yaml::Mark from;
    for (;;) {
      auto& document = documents.emplace_back(yaml::Document::parse(input.text, from));
      if (const auto& error = document.error()) {
        SourceLocation at{input.name, error->mark.line + 1, error->mark.column + 1};
        auto& diagnostic = reporter.diagnostics().error(
            DiagnosticId::K8sYaml, at, "not valid YAML or JSON: " + error->message);
        if (error->context)
          diagnostic.note(
              {input.name, error->context->second.line + 1, error->context->second.column + 1}, 1,
              error->context->first);
        break;
      }
      if (auto root = document.root()) readObject(Field(*root, "", &input.name), reporter, cluster);
      auto later = document.laterDocument();
      if (!later || later->offset <= from.offset) break; // no progress: never loop
      from = *later;
    }
  }
}

// Every namespace named by a Namespace object, a pod, a service or a policy,
// with the label Kubernetes gives each its name.
void addImplicitNamespaces(Cluster& cluster, Reporter& reporter) {
  std::map<std::string, SourceLocation> named;
  for (const auto& [key, pod] : cluster.pods) named.emplace(key.first, pod.id.location);
  for (const auto& [key, service] : cluster.services) named.emplace(key.first, service.id.location);
  for (const auto& [key, policy] : cluster.policies) named.emplace(key.first, policy.id.location);
  for (const auto& [name, location] : named) {
    if (cluster.namespaces.count(name)) continue;
    reporter.note(location,
                  "Namespace " + name + ": not in the input; imported with only its name label");
    NamespaceObject ns;
    ns.id.kind = "Namespace";
    ns.id.name = name;
    ns.id.location = location;
    ns.labels[kNamespaceNameLabel] = name;
    cluster.namespaces.emplace(name, std::move(ns));
  }
}

struct Endpoint {
  const PodObject* pod;
  std::string interface;
};

// Pods by node, with their interfaces; an address that two objects would
// have (the topology gives each one owner: a node's, a service's, a pod's)
// and an interface name that two pods of a node would have are errors.
std::map<std::string, std::vector<Endpoint>> placePods(Cluster& cluster, Reporter& reporter) {
  std::map<std::string, std::vector<Endpoint>> byNode;
  std::map<IpPrefix, const ObjectId*> owners;
  auto claim = [&](const IpPrefix& address, const ObjectId& id) {
    auto [at, inserted] = owners.emplace(address, &id);
    if (inserted) return true;
    reporter.diagnostics()
        .error(DiagnosticId::K8sNameClash, id.location,
               id.text() + ": address " + address.addressText() + " is also " + at->second->text() +
                   "'s")
        .note(at->second->location, 1, at->second->text() + " is here");
    return false;
  };
  for (const auto& [name, node] : cluster.nodes)
    if (!node.internalAddresses.empty()) claim(node.internalAddresses.front(), node.id);
  for (const auto& [key, service] : cluster.services)
    if (service.vip) claim(*service.vip, service.id);
  std::map<std::pair<std::string, std::string>, const ObjectId*> interfaces;
  for (const auto& [key, pod] : cluster.pods) {
    bool clash = false;
    for (const auto& address : pod.addresses) clash = !claim(address, pod.id) || clash;
    auto interface = podInterfaceName(key.first, key.second);
    auto [at, inserted] = interfaces.emplace(std::pair{pod.node, interface}, &pod.id);
    if (!inserted) {
      reporter.diagnostics()
          .error(DiagnosticId::K8sNameClash, pod.id.location,
                 pod.id.text() + ": interface name " + interface + " is also " +
                     at->second->text() + "'s on node " + pod.node)
          .note(at->second->location, 1, at->second->text() + " is here");
      clash = true;
    }
    if (!clash) byNode[pod.node].push_back({&pod, interface});
  }
  return byNode;
}

std::string topologyText(const Cluster& cluster,
                         const std::map<std::string, std::vector<Endpoint>>& byNode,
                         Reporter& reporter) {
  std::string text = "# Imported by `polc import k8s` from Kubernetes objects: regenerate it "
                     "rather than edit it.\n"
                     "cluster: kubernetes\n"
                     "namespaces:";
  text += cluster.namespaces.empty() ? " {}\n" : "\n";
  for (const auto& [name, ns] : cluster.namespaces)
    text += "  " + doubleQuoted(name) + ": { labels: " + yamlLabels(ns.labels) + " }\n";
  std::set<std::string> nodeNames;
  for (const auto& [name, node] : cluster.nodes) nodeNames.insert(name);
  for (const auto& [name, endpoints] : byNode)
    if (nodeNames.insert(name).second)
      reporter.note(endpoints.front().pod->id.location,
                    "Node " + name + ": not in the input; imported without an address");
  text += nodeNames.empty() ? "nodes: []\n" : "nodes:\n";
  for (const auto& name : nodeNames) {
    text += "  - name: " + doubleQuoted(name) + "\n";
    auto node = cluster.nodes.find(name);
    if (node != cluster.nodes.end() && !node->second.internalAddresses.empty()) {
      const auto& addresses = node->second.internalAddresses;
      text += "    address: " + doubleQuoted(addresses.front().addressText()) + "\n";
      if (addresses.size() > 1)
        reporter.note(node->second.id.location,
                      node->second.id.text() +
                          ": polc gives a node one address: " + addresses.front().addressText() +
                          "; its other InternalIPs are not "
                          "imported");
    }
    auto endpoints = byNode.find(name);
    if (endpoints == byNode.end()) {
      text += "    endpoints: []\n";
      continue;
    }
    text += "    endpoints:\n";
    for (const auto& endpoint : endpoints->second) {
      const auto& pod = *endpoint.pod;
      text += "      - name: " + doubleQuoted(pod.id.nameSpace + "." + pod.id.name) + "\n";
      text += "        namespace: " + doubleQuoted(pod.id.nameSpace) + "\n";
      text += "        labels: " + yamlLabels(pod.labels) + "\n";
      text += "        addresses: [";
      for (size_t i = 0; i < pod.addresses.size(); ++i)
        text += (i ? ", " : "") + doubleQuoted(pod.addresses[i].addressText());
      text += "]\n";
      text += "        interface: " + doubleQuoted(endpoint.interface) + "\n";
      if (!pod.namedPorts.empty()) {
        text += "        ports: {";
        bool first = true;
        for (const auto& [portName, port] : pod.namedPorts) {
          text += std::string(first ? " " : ", ") + doubleQuoted(portName) + ": " + port;
          first = false;
        }
        text += " }\n";
      }
    }
  }
  text += "services:";
  text += cluster.services.empty() ? " []\n" : "\n";
  for (const auto& [key, service] : cluster.services) {
    text += "  - name: " + doubleQuoted(key.first + "." + key.second) + "\n";
    text += "    namespace: " + doubleQuoted(key.first) + "\n";
    if (service.vip) text += "    vip: " + doubleQuoted(service.vip->addressText()) + "\n";
    if (!service.ports.empty()) {
      text += "    ports: [";
      for (size_t i = 0; i < service.ports.size(); ++i) text += (i ? ", " : "") + service.ports[i];
      text += "]\n";
    }
    text += "    selector: " + yamlLabels(service.selector) + "\n";
  }
  return text;
}

// A namespace's file; "main" is taken by the root file, and no namespace
// name has a '.', so "main.namespace.pol" is nobody else's.
std::string policyFileName(const std::string& nameSpace) {
  return nameSpace == "main" ? "main.namespace.pol" : nameSpace + ".pol";
}

std::string formatted(const std::string& name, const std::string& text) {
  Diagnostics diagnostics;
  auto result = frontend::formatText(name, text, diagnostics);
  if (!result || diagnostics.hasErrors())
    internalError("polc import k8s wrote " + name + " that polc cannot parse:\n" +
                  diagnostics.render() + "\n" + text);
  return *result;
}

} // namespace

std::string podInterfaceName(const std::string& nameSpace, const std::string& name) {
  return "pk" + artifacts::sha256Hex(nameSpace + "/" + name).substr(0, 13);
}

std::vector<K8sInput> readK8sInputs(const std::vector<std::string>& paths,
                                    Diagnostics& diagnostics) {
  std::vector<K8sInput> inputs;
  auto read = [&](const std::string& path) {
    auto text = readFile(path);
    if (!text)
      diagnostics.error(DiagnosticId::Io, {path, 0, 0}, text.error());
    else
      inputs.push_back({path, std::move(*text)});
  };
  for (const auto& path : paths) {
    if (path == "-") {
      inputs.push_back({"<stdin>", std::string(std::istreambuf_iterator<char>(std::cin), {})});
      continue;
    }
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      read(path);
      continue;
    }
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      auto extension = entry.path().extension();
      if (entry.is_regular_file(error) &&
          (extension == ".yaml" || extension == ".yml" || extension == ".json"))
        files.push_back(entry.path().string());
    }
    if (error) diagnostics.error(DiagnosticId::Io, {path, 0, 0}, path + ": " + error.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) read(file);
  }
  return inputs;
}

K8sImport importK8s(const std::vector<K8sInput>& inputs, const K8sOptions& options,
                    Diagnostics& diagnostics) {
  K8sImport result;
  Reporter reporter(diagnostics, result.notes, options.lenient);
  std::deque<yaml::Document> documents;
  Cluster cluster;
  readInputs(inputs, documents, reporter, cluster);
  addImplicitNamespaces(cluster, reporter);
  auto byNode = placePods(cluster, reporter);

  std::map<std::string, std::string> policiesByNamespace;
  for (const auto& [key, policy] : cluster.policies)
    if (auto text = translateNetworkPolicy(policy, cluster, reporter))
      policiesByNamespace[key.first] +=
          (policiesByNamespace[key.first].empty() ? "" : "\n") + *text;

  result.namespaces = cluster.namespaces.size();
  result.services = cluster.services.size();
  result.policies = cluster.policies.size();
  std::set<std::string> nodes;
  for (const auto& [name, node] : cluster.nodes) nodes.insert(name);
  for (const auto& [name, endpoints] : byNode) {
    nodes.insert(name);
    result.endpoints += endpoints.size();
  }
  result.nodes = nodes.size();
  std::string topology = topologyText(cluster, byNode, reporter);
  if (diagnostics.hasErrors()) return result;

  result.files["topology.yaml"] = std::move(topology);
  std::string main = "# Imported by `polc import k8s`: the NetworkPolicies of every namespace.\n"
                     "# Build: polc build main.pol --topology topology.yaml\n";
  for (const auto& [nameSpace, text] : policiesByNamespace) {
    auto file = policyFileName(nameSpace);
    main += "include " + doubleQuoted(file) + "\n";
    result.files[file] = formatted(file, "# The NetworkPolicies of namespace " + nameSpace +
                                             ", imported by `polc import k8s`.\n\n" + text);
  }
  for (const auto& [id, why] : cluster.untranslated)
    main +=
        "\n# NOT translated (--lenient): " + id.apiVersion + " " + id.text() + ": " + why + "\n";
  result.files["main.pol"] = formatted("main.pol", main);
  return result;
}

} // namespace polc::importer
