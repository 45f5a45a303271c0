// Reads the topology YAML into the model and validates all of it in one run:
// every problem becomes a diagnostic at the offending YAML node, and loading
// goes on so that a user sees all of them at once.
#include "polc/topology/loader.h"

#include "polc/support/files.h"
#include "polc/support/interface_name.h"
#include "polc/support/internal_error.h"
#include "polc/support/suggest.h"
#include "polc/support/utf8.h"

#include "polc/topology/yaml_document.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>

namespace polc::topology {

namespace {

// Bounds on what one load may cost, whatever the input. Aliases make a small
// file describe a huge tree (every `*a` shares the anchored node), so the
// walk counts the nodes it visits instead of trusting the file size.
constexpr size_t kMaxErrors = 100;
constexpr size_t kMaxVisitedNodes = 1'000'000;
constexpr size_t kMaxTextBytes = 64u << 20;
constexpr size_t kMaxNameLength = 63;   // a Kubernetes object name / DNS label
constexpr size_t kMaxLabelLength = 253; // a Kubernetes label key with prefix
constexpr size_t kMaxPortName = 15;     // a Kubernetes named port

// Thrown inside the reader only (error cap, size budget) and caught in
// loadText: the diagnostics already say why.
struct StopLoading {};

std::string describe(const yaml::Node& node) {
  switch (node.kind()) {
  case yaml::Kind::Scalar:
    return "a string";
  case yaml::Kind::Sequence:
    return "a list";
  case yaml::Kind::Map:
    return "a mapping";
  case yaml::Kind::Null:
    break;
  }
  return "an empty value";
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c));
}

// Names of the cluster, namespaces, nodes, endpoints, services and groups:
// they become file names (lab namespaces) and appear in policy text.
std::optional<std::string> nameProblem(const std::string& name) {
  if (name.empty()) return "a name may not be empty";
  if (name.size() > kMaxNameLength)
    return "'" + name + "' is longer than " + std::to_string(kMaxNameLength) + " characters";
  if (!isAlnum(name[0]) || !std::all_of(name.begin(), name.end(), [](char c) {
        return isAlnum(c) || c == '-' || c == '_' || c == '.';
      }))
    return "'" + name + "' is not a valid name";
  return std::nullopt;
}

// Label keys are what the policy language can write unquoted (its IDENT):
// `app`, `tier_2`, `app.kubernetes.io/name`.
std::optional<std::string> labelKeyProblem(const std::string& key) {
  if (key.empty()) return "a label key may not be empty";
  if (key.size() > kMaxLabelLength)
    return "label key '" + key.substr(0, 20) + "...' is longer than " +
           std::to_string(kMaxLabelLength) + " characters";
  if (!(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_') ||
      !std::all_of(key.begin(), key.end(), [](char c) {
        return isAlnum(c) || c == '_' || c == '.' || c == '-' || c == '/';
      }))
    return "'" + key + "' is not a valid label key";
  return std::nullopt;
}

// Label values are quoted strings in policy text: no quotes, backslashes,
// whitespace or control characters, so they print back unambiguously.
std::optional<std::string> labelValueProblem(const std::string& value) {
  if (value.size() > kMaxLabelLength)
    return "label value '" + value.substr(0, 20) + "...' is longer than " +
           std::to_string(kMaxLabelLength) + " characters";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u) || c == '"' || c == '\'' || c == '`' || c == '\\')
      return "label value '" + value + "' contains whitespace, a quote or a backslash";
  }
  return std::nullopt;
}

bool isReservedLabel(std::string_view key) {
  return key == kNamespaceLabel || key.starts_with(kNamespaceLabelPrefix);
}

// Named ports as in Kubernetes: lowercase letters, digits and '-', at most
// 15 characters, with a letter, so that a name never reads as a number.
std::optional<std::string> portNameProblem(const std::string& name) {
  if (name.empty()) return "a port name may not be empty";
  if (name.size() > kMaxPortName)
    return "port name '" + name + "' is longer than " + std::to_string(kMaxPortName) +
           " characters";
  bool letter = false;
  for (char c : name) {
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      return "port name '" + name + "' may contain only lowercase letters, digits and '-'";
  }
  if (!letter) return "port name '" + name + "' needs at least one letter";
  return std::nullopt;
}

SourceLocation markLocation(const std::string& path, const yaml::Mark& mark) {
  return {path, mark.line + 1, mark.column + 1};
}

// One entry of a YAML mapping, with its key as text.
struct Field {
  std::string key;
  yaml::Node keyNode;
  yaml::Node value;
};

// A place already claimed (a name, an address), for "first defined here".
struct Claim {
  SourceLocation location;
  int length = 1;
  std::string owner;
};

class Reader {
public:
  Reader(std::string file, const std::string& text, Diagnostics& diagnostics)
      : file_(std::move(file)), text_(text), diagnostics_(diagnostics) {}

  // The document's root is the topology; a second document is an error.
  std::optional<Topology> read(const yaml::Document& document) {
    Topology topology;
    topology.file = file_;
    auto root = document.root();
    if (!root || root->isNull()) {
      error(DiagnosticId::TopologyEmpty, {file_, 1, 1}, "the topology file is empty")
          .hint("a topology has 'cluster', 'nodes' and optionally 'namespaces', 'services', "
                "'groups'");
      return std::nullopt;
    }
    if (auto later = document.laterDocument())
      error(DiagnosticId::TopologyType, markLocation(file_, *later),
            "a topology file holds one YAML document")
          .hint("remove the '---' and everything after it, or merge the documents");
    if (!root->isMap()) {
      typeError(*root, "the topology", "a mapping with 'cluster' and 'nodes'");
      return std::nullopt;
    }
    auto fields = fieldsOf(*root, {"cluster", "namespaces", "nodes", "services", "groups"});
    topology.cluster = name(*root, fields, "cluster", "the topology").value_or("");

    // Namespaces first: endpoints and services refer to them, wherever the
    // sections appear in the file.
    if (auto* namespaces = find(fields, "namespaces")) readNamespaces(namespaces->value, topology);

    if (auto* nodes = find(fields, "nodes")) {
      if (expect(nodes->value, yaml::Kind::Sequence, "'nodes'", "a list of nodes"))
        for (const auto& node : nodes->value.items()) readNode(node, topology);
    } else {
      error(DiagnosticId::TopologyMissingKey, *root, "the topology has no 'nodes'")
          .hint("add 'nodes:', a list of nodes with their endpoints");
    }
    if (auto* services = find(fields, "services"))
      if (expect(services->value, yaml::Kind::Sequence, "'services'", "a list of services"))
        for (const auto& service : services->value.items()) readService(service, topology);
    if (auto* groups = find(fields, "groups"))
      if (expect(groups->value, yaml::Kind::Sequence, "'groups'", "a list of CIDR groups"))
        for (const auto& group : groups->value.items()) readGroup(group, topology);

    warnAboutEmptyServices(topology);
    if (errors_ > 0) return std::nullopt;
    return topology;
  }

private:
  // -- Locations and diagnostics -------------------------------------------

  SourceLocation at(const yaml::Node& node) const { return markLocation(file_, node.mark()); }

  // How many characters a node spans on its line: a scalar's text (with its
  // quotes), one character for anything else.
  int spanOf(const yaml::Node& node) const {
    auto mark = node.mark();
    if (!node.isScalar() || mark.offset >= text_.size()) return 1;
    size_t length = node.text().size();
    char first = text_[mark.offset];
    if (first == '"' || first == '\'') length += 2;
    auto lineEnd = text_.find('\n', mark.offset);
    if (lineEnd == std::string::npos) lineEnd = text_.size();
    return int(std::clamp<size_t>(length, 1, std::max<size_t>(1, lineEnd - mark.offset)));
  }

  Claim claimOf(const yaml::Node& node, std::string owner) const {
    return {at(node), spanOf(node), std::move(owner)};
  }

  Diagnostic& error(DiagnosticId id, SourceLocation location, std::string message) {
    if (++errors_ > kMaxErrors) {
      diagnostics_.error(DiagnosticId::TopologyTooManyErrors, location,
                         "too many errors in the topology; stopped after " +
                             std::to_string(kMaxErrors));
      throw StopLoading{};
    }
    return diagnostics_.error(id, std::move(location), std::move(message));
  }

  Diagnostic& error(DiagnosticId id, const yaml::Node& node, std::string message) {
    return error(id, at(node), std::move(message)).underline(spanOf(node));
  }

  void typeError(const yaml::Node& node, const std::string& what, const std::string& expected) {
    error(DiagnosticId::TopologyType, node,
          what + " must be " + expected + ", not " + describe(node));
  }

  bool expect(const yaml::Node& node, yaml::Kind kind, const std::string& what,
              const std::string& expected) {
    if (node.kind() == kind) return true;
    typeError(node, what, expected);
    return false;
  }

  void visit(const yaml::Node& node) {
    if (++visited_ > kMaxVisitedNodes) {
      diagnostics_.error(DiagnosticId::TopologyTooLarge, at(node),
                         "the topology is too large (more than " +
                             std::to_string(kMaxVisitedNodes) + " YAML nodes, counting aliases)");
      throw StopLoading{};
    }
  }

  // -- Mappings --------------------------------------------------------------

  // The entries of a mapping in file order. Keys must be strings and appear
  // once; with `known`, any other key is reported (with a did-you-mean).
  // `kind` names what the keys are ("namespace") when they are names, so
  // that a repeated key reads as a duplicate name.
  std::vector<Field> entriesOf(const yaml::Node& map, const std::string& what,
                               const std::string& kind = "") {
    std::vector<Field> fields;
    std::map<std::string, Claim> seen;
    for (const auto& [keyNode, value] : map.entries()) {
      visit(keyNode);
      visit(value);
      if (!keyNode.isScalar()) {
        error(DiagnosticId::TopologyType, keyNode,
              "a key in " + what + " must be a string, not " + describe(keyNode));
        continue;
      }
      const auto& key = keyNode.text();
      if (auto [first, inserted] = seen.emplace(key, claimOf(keyNode, key)); !inserted) {
        if (kind.empty())
          error(DiagnosticId::TopologyDuplicateKey, keyNode,
                "'" + key + "' appears twice in " + what)
              .note(first->second.location, first->second.length, "first written here");
        else
          error(DiagnosticId::TopologyDuplicateName, keyNode,
                "duplicate " + kind + " name '" + key + "'")
              .note(first->second.location, first->second.length,
                    "the first " + kind + " named '" + key + "' is here");
        continue;
      }
      fields.push_back({key, keyNode, value});
    }
    return fields;
  }

  std::vector<Field> fieldsOf(const yaml::Node& map, std::initializer_list<std::string> known,
                              const std::string& what = "the topology") {
    std::vector<std::string> knownKeys(known);
    std::vector<Field> fields;
    for (const auto& field : entriesOf(map, what)) {
      if (std::find(knownKeys.begin(), knownKeys.end(), field.key) != knownKeys.end()) {
        fields.push_back(field);
        continue;
      }
      auto& d = error(DiagnosticId::TopologyUnknownKey, field.keyNode,
                      "unknown key '" + field.key + "' in " + what);
      if (auto guess = closestMatch(field.key, knownKeys))
        d.hint("did you mean '" + *guess + "'?");
      else
        d.hint("known keys here: " + joined(knownKeys));
    }
    return fields;
  }

  static const Field* find(const std::vector<Field>& fields, std::string_view key) {
    for (const auto& field : fields)
      if (field.key == key) return &field;
    return nullptr;
  }

  // A string value; reports its absence (when required) or its type.
  std::optional<std::string> scalar(const yaml::Node& map, const std::vector<Field>& fields,
                                    const char* key, const std::string& what, bool required) {
    auto* field = find(fields, key);
    if (!field) {
      if (required)
        error(DiagnosticId::TopologyMissingKey, map, what + " has no '" + key + "'")
            .hint(std::string("add '") + key + ": ...'");
      return std::nullopt;
    }
    if (!expect(field->value, yaml::Kind::Scalar, std::string("'") + key + "'", "a string"))
      return std::nullopt;
    return field->value.text();
  }

  // A required, valid name.
  std::optional<std::string> name(const yaml::Node& map, const std::vector<Field>& fields,
                                  const char* key, const std::string& what) {
    auto value = scalar(map, fields, key, what, true);
    if (!value) return std::nullopt;
    if (auto problem = nameProblem(*value)) {
      error(DiagnosticId::TopologyBadName, find(fields, key)->value, *problem)
          .hint("names have 1 to " + std::to_string(kMaxNameLength) +
                " letters, digits, '-', '_' or '.', starting with a letter or digit");
      return std::nullopt;
    }
    return value;
  }

  // Records a unique name; a second use is reported with the first as note.
  void claimName(std::map<std::string, Claim>& names, const std::string& name,
                 const yaml::Node& where, const std::string& kind) {
    auto [first, inserted] = names.emplace(name, claimOf(where, name));
    if (!inserted)
      error(DiagnosticId::TopologyDuplicateName, where,
            "duplicate " + kind + " name '" + name + "'")
          .note(first->second.location, first->second.length,
                "the first " + kind + " named '" + name + "' is here");
  }

  // -- Labels ----------------------------------------------------------------

  // A mapping of label keys to values. Reserved keys are refused unless
  // `allowReserved` (selectors may scope by namespace labels).
  Labels readLabels(const yaml::Node& yaml, const std::string& what, bool allowReserved) {
    Labels labels;
    if (yaml.isNull()) return labels;
    if (!expect(yaml, yaml::Kind::Map, what, "a mapping of label keys to values")) return labels;
    for (const auto& field : entriesOf(yaml, what)) {
      if (auto problem = labelKeyProblem(field.key)) {
        error(DiagnosticId::TopologyBadLabel, field.keyNode, *problem)
            .hint("label keys start with a letter or '_' and contain letters, digits, '_', "
                  "'.', '-' or '/', e.g. app or app.kubernetes.io/name");
        continue;
      }
      if (!allowReserved && isReservedLabel(field.key)) {
        error(DiagnosticId::TopologyReservedLabel, field.keyNode,
              "label key '" + field.key + "' is reserved for namespace labels")
            .hint("polc adds 'namespace' and 'namespace.<key>' to every endpoint of a namespace; "
                  "set 'namespace:' on the endpoint or label the namespace instead");
        continue;
      }
      if (!field.value.isScalar()) {
        error(DiagnosticId::TopologyType, field.value.isNull() ? field.keyNode : field.value,
              "the value of label '" + field.key + "' must be a string, not " +
                  describe(field.value))
            .hint("write " + field.key + ": \"\" for an empty value");
        continue;
      }
      if (auto problem = labelValueProblem(field.value.text())) {
        error(DiagnosticId::TopologyBadLabel, field.value, *problem);
        continue;
      }
      labels[field.key] = field.value.text();
    }
    return labels;
  }

  // -- Addresses and ports ---------------------------------------------------

  // A host address that no other endpoint, node or VIP uses.
  std::optional<IpPrefix> readAddress(const yaml::Node& yaml, const std::string& what,
                                      const std::string& owner) {
    if (!expect(yaml, yaml::Kind::Scalar, what, "an IPv4 or IPv6 address")) return std::nullopt;
    const auto& text = yaml.text();
    auto address = parseAddress(text);
    if (!address) {
      auto& d = error(DiagnosticId::TopologyBadAddress, yaml,
                      "'" + text + "' is not an IPv4 or IPv6 address");
      if (parsePrefix(text))
        d.hint("write the host address alone, without a prefix length");
      else
        d.hint("write a host address such as 10.0.1.10 or fd00::10");
      return std::nullopt;
    }
    auto [first, inserted] = addresses_.emplace(*address, claimOf(yaml, owner));
    if (!inserted)
      error(DiagnosticId::TopologyDuplicateAddress, yaml,
            "address " + address->addressText() + " is used twice in the topology")
          .note(first->second.location, first->second.length,
                "already used by " + first->second.owner + " here");
    return address;
  }

  std::optional<PortRange> readPort(const yaml::Node& yaml, const std::string& what) {
    if (!expect(yaml, yaml::Kind::Scalar, what, "a port such as tcp/8080")) return std::nullopt;
    std::string problem;
    auto port = parsePortRange(yaml.text(), &problem);
    if (!port) {
      auto& d = error(DiagnosticId::TopologyBadPort, yaml, problem);
      if (yaml.text().find('/') == std::string::npos)
        d.hint("write the protocol too: tcp/" + yaml.text());
    }
    return port;
  }

  // -- Sections --------------------------------------------------------------

  void readNamespaces(const yaml::Node& yaml, Topology& topology) {
    if (!expect(yaml, yaml::Kind::Map, "'namespaces'",
                "a mapping of namespace names to { labels: ... }"))
      return;
    for (const auto& field : entriesOf(yaml, "'namespaces'", "namespace")) {
      if (auto problem = nameProblem(field.key)) {
        error(DiagnosticId::TopologyBadName, field.keyNode, *problem);
        continue;
      }
      Namespace ns;
      ns.name = field.key;
      ns.location = at(field.keyNode);
      if (!field.value.isNull() &&
          expect(field.value, yaml::Kind::Map, "namespace '" + ns.name + "'",
                 "a mapping such as { labels: { team: retail } }")) {
        auto fields = fieldsOf(field.value, {"labels"}, "namespace '" + ns.name + "'");
        if (auto* labels = find(fields, "labels"))
          // Namespace labels become `namespace.<key>` on endpoints, so any
          // valid key is fine here, `namespace` included.
          ns.labels = readLabels(labels->value, "'labels'", /*allowReserved=*/true);
      }
      namespaces_.emplace(ns.name, topology.namespaces.size());
      topology.namespaces.push_back(std::move(ns));
    }
  }

  // The namespace an endpoint or service names, when it is declared.
  const Namespace* readNamespaceRef(const yaml::Node& map, const std::vector<Field>& fields,
                                    const std::string& what, const Topology& topology) {
    auto name = scalar(map, fields, "namespace", what, false);
    if (!name) return nullptr;
    auto found = namespaces_.find(*name);
    if (found != namespaces_.end()) return &topology.namespaces[found->second];
    auto& d = error(DiagnosticId::TopologyUnknownNamespace, find(fields, "namespace")->value,
                    "unknown namespace '" + *name + "'");
    std::vector<std::string> names;
    for (const auto& ns : topology.namespaces) names.push_back(ns.name);
    if (auto guess = closestMatch(*name, names))
      d.hint("did you mean '" + *guess + "'?");
    else
      d.hint("declare it under 'namespaces:', e.g. namespaces: { " + *name + ": {} }");
    return nullptr;
  }

  void readNode(const yaml::Node& yaml, Topology& topology) {
    visit(yaml);
    if (!yaml.isMap()) {
      typeError(yaml, "a node", "a mapping with 'name', 'address' and 'endpoints'");
      return;
    }
    auto fields = fieldsOf(yaml, {"name", "address", "endpoints"}, "a node");
    Node node;
    node.location = at(yaml);
    if (auto name = this->name(yaml, fields, "name", "a node")) {
      node.name = *name;
      claimName(nodeNames_, node.name, find(fields, "name")->value, "node");
    }
    if (auto* address = find(fields, "address"))
      node.address = readAddress(address->value, "'address'", "node '" + node.name + "'");
    if (auto* endpoints = find(fields, "endpoints"))
      if (expect(endpoints->value, yaml::Kind::Sequence, "'endpoints'", "a list of endpoints"))
        for (const auto& endpoint : endpoints->value.items())
          readEndpoint(endpoint, node, topology);
    topology.nodes.push_back(std::move(node));
  }

  void readEndpoint(const yaml::Node& yaml, Node& node, const Topology& topology) {
    visit(yaml);
    if (!yaml.isMap()) {
      typeError(yaml, "an endpoint", "a mapping with 'name', 'addresses' and 'interface'");
      return;
    }
    auto fields = fieldsOf(yaml, {"name", "namespace", "labels", "addresses", "interface", "ports"},
                           "an endpoint");
    Endpoint endpoint;
    endpoint.location = at(yaml);
    endpoint.node = node.name;
    if (auto name = this->name(yaml, fields, "name", "an endpoint")) {
      endpoint.name = *name;
      claimName(endpointNames_, endpoint.name, find(fields, "name")->value, "endpoint");
    }
    const std::string owner = "endpoint '" + endpoint.name + "'";

    if (auto* labels = find(fields, "labels"))
      endpoint.labels = readLabels(labels->value, "'labels'", /*allowReserved=*/false);
    if (auto* ns = readNamespaceRef(yaml, fields, "an endpoint", topology)) {
      endpoint.nameSpace = ns->name;
      endpoint.labels[std::string(kNamespaceLabel)] = ns->name;
      for (const auto& [key, value] : ns->labels)
        endpoint.labels[std::string(kNamespaceLabelPrefix) + key] = value;
    }

    auto* addresses = find(fields, "addresses");
    if (!addresses) {
      error(DiagnosticId::TopologyMissingKey, yaml, "an endpoint has no 'addresses'")
          .hint("add 'addresses: [10.0.1.10]', one or more IPv4 or IPv6 host addresses");
    } else if (expect(addresses->value, yaml::Kind::Sequence, "'addresses'",
                      "a list of IPv4 or IPv6 addresses")) {
      if (addresses->value.size() == 0)
        error(DiagnosticId::TopologyMissingKey, addresses->value,
              "an endpoint needs at least one address");
      for (const auto& address : addresses->value.items()) {
        visit(address);
        if (auto parsed = readAddress(address, "an address", owner))
          endpoint.addresses.push_back(*parsed);
      }
    }

    if (auto interface = scalar(yaml, fields, "interface", "an endpoint", true)) {
      const auto& where = find(fields, "interface")->value;
      if (!isInterfaceName(*interface)) {
        error(DiagnosticId::TopologyBadInterface, where,
              "'" + *interface + "' is not a valid interface name")
            .hint("interface names have 1 to 15 characters, without '/', ':' or spaces");
      } else {
        endpoint.interface = *interface;
        auto [first, inserted] =
            interfaces_.emplace(node.name + "\n" + *interface, claimOf(where, owner));
        if (!inserted)
          error(DiagnosticId::TopologyDuplicateInterface, where,
                "interface '" + *interface + "' is used twice on node '" + node.name + "'")
              .note(first->second.location, first->second.length,
                    "already used by " + first->second.owner + " here");
      }
    }

    if (auto* ports = find(fields, "ports")) readNamedPorts(ports->value, endpoint);
    node.endpoints.push_back(std::move(endpoint));
  }

  void readNamedPorts(const yaml::Node& yaml, Endpoint& endpoint) {
    if (!expect(yaml, yaml::Kind::Map, "'ports'",
                "a mapping of port names to ports, e.g. { http: tcp/8080 }"))
      return;
    for (const auto& field : entriesOf(yaml, "'ports'", "port")) {
      if (auto problem = portNameProblem(field.key)) {
        error(DiagnosticId::TopologyBadPortName, field.keyNode, *problem)
            .hint("port names have 1 to 15 lowercase letters, digits or '-', e.g. http or "
                  "metrics-2");
        continue;
      }
      auto port = readPort(field.value, "port '" + field.key + "'");
      if (!port) continue;
      if (port->first != port->last) {
        error(DiagnosticId::TopologyBadPort, field.value,
              "named port '" + field.key + "' must be a single port, not a range")
            .hint("write " + toText({port->protocol, port->first, port->first}));
        continue;
      }
      endpoint.namedPorts[field.key] = *port;
    }
  }

  void readService(const yaml::Node& yaml, Topology& topology) {
    visit(yaml);
    if (!yaml.isMap()) {
      typeError(yaml, "a service", "a mapping with 'name', 'ports' and 'selector'");
      return;
    }
    auto fields = fieldsOf(
        yaml, {"name", "namespace", "vip", "ports", "selector", "backends", "weights", "affinity"},
        "a service");
    Service service;
    service.location = at(yaml);
    if (auto name = this->name(yaml, fields, "name", "a service")) {
      service.name = *name;
      claimName(serviceNames_, service.name, find(fields, "name")->value, "service");
    }
    if (auto* ns = readNamespaceRef(yaml, fields, "a service", topology))
      service.nameSpace = ns->name;
    if (auto* vip = find(fields, "vip"))
      service.vip = readAddress(vip->value, "'vip'", "service '" + service.name + "'");
    if (auto* ports = find(fields, "ports")) readServicePorts(ports->value, service);

    Claim selectorClaim;
    auto* selector = find(fields, "selector");
    auto* backends = find(fields, "backends");
    if (selector && backends) {
      error(DiagnosticId::TopologyServiceBackends, backends->keyNode,
            "a service has either a 'selector' or 'backends', not both")
          .note(at(selector->keyNode), int(selector->key.size()), "the selector is here")
          .hint("'backends' lists addresses outside the cluster; endpoints are picked by the "
                "selector");
    } else if (backends) {
      readBackendList(backends->value, service);
    } else if (!selector) {
      error(DiagnosticId::TopologyMissingKey, yaml, "a service has no 'selector'")
          .hint("add 'selector: { app: db }': the labels its backends carry (or 'backends:', "
                "a list of addresses)");
    } else {
      service.selector = readLabels(selector->value, "'selector'", /*allowReserved=*/true);
      selectorClaim = claimOf(selector->value, service.name);
      if (selector->value.isNull() || (selector->value.isMap() && selector->value.size() == 0))
        error(DiagnosticId::TopologyMissingKey,
              selector->value.isNull() ? selector->keyNode : selector->value,
              "a service's selector may not be empty")
            .hint("write the labels its backends carry, e.g. { app: db }");
    }
    if (!service.backendList.empty())
      for (const auto& port : service.ports)
        if (!port.targetName.empty())
          error(DiagnosticId::TopologyServiceBackends, port.location,
                "named target port '" + port.targetName + "' needs backends picked by a selector")
              .hint("a listed backend has no named ports: write the port number");
    if (auto* weights = find(fields, "weights")) readWeights(*weights, service, topology);
    if (auto* affinity = find(fields, "affinity")) readAffinity(affinity->value, service);
    selectorAt_.push_back(selectorClaim);
    topology.services.push_back(std::move(service));
  }

  // `tcp/5432`, `tcp/5432 -> 6432` or `tcp/80 -> http`.
  void readServicePorts(const yaml::Node& yaml, Service& service) {
    if (!expect(yaml, yaml::Kind::Sequence, "'ports'",
                "a list of ports, e.g. [ tcp/5432, tcp/80 -> 8080, tcp/443 -> https ]"))
      return;
    std::map<PortRange, Claim> seen;
    for (const auto& yamlPort : yaml.items()) {
      visit(yamlPort);
      if (!expect(yamlPort, yaml::Kind::Scalar, "a port", "a port such as tcp/5432 -> 5432"))
        continue;
      const auto& text = yamlPort.text();
      ServicePort port;
      port.location = at(yamlPort);
      auto arrow = text.find("->");
      auto front = trimmed(text.substr(0, arrow));
      std::string problem;
      auto range = parsePortRange(front, &problem);
      if (!range) {
        auto& d = error(DiagnosticId::TopologyBadPort, yamlPort, problem);
        if (front.find('/') == std::string::npos) d.hint("write the protocol too: tcp/" + text);
        continue;
      }
      port.port = *range;
      if (arrow != std::string::npos) {
        auto target = trimmed(text.substr(arrow + 2));
        if (range->first != range->last) {
          error(DiagnosticId::TopologyBadPort, yamlPort, "a port range cannot have a target port")
              .hint("write single ports with their targets, or the range alone (its ports are "
                    "kept)");
          continue;
        }
        if (!readTarget(yamlPort, target, port)) continue;
      }
      if (auto [first, inserted] = seen.emplace(port.port, claimOf(yamlPort, "")); !inserted) {
        error(DiagnosticId::TopologyDuplicatePort, yamlPort,
              "port " + toText(port.port) + " is listed twice")
            .note(first->second.location, first->second.length, "first listed here");
        continue;
      }
      // Each port of a vip is one frontend, with one target.
      auto overlapping = std::find_if(seen.begin(), seen.end(), [&](const auto& earlier) {
        const auto& other = earlier.first;
        return other != port.port && other.protocol == port.port.protocol &&
               other.first <= port.port.last && port.port.first <= other.last;
      });
      if (overlapping != seen.end()) {
        error(DiagnosticId::TopologyDuplicatePort, yamlPort,
              "port " + toText(port.port) + " overlaps " + toText(overlapping->first))
            .note(overlapping->second.location, overlapping->second.length, "listed here")
            .hint("list each port once: a port of a vip is one frontend with one target");
        seen.erase(port.port);
        continue;
      }
      service.ports.push_back(std::move(port));
    }
  }

  bool readTarget(const yaml::Node& yamlPort, const std::string& target, ServicePort& port) {
    if (!target.empty() && std::isdigit(static_cast<unsigned char>(target[0]))) {
      std::string problem;
      auto parsed = parsePortRange("tcp/" + target, &problem);
      if (!parsed || parsed->first != parsed->last) {
        error(DiagnosticId::TopologyBadPort, yamlPort,
              "target port '" + target + "' is not a port from 1 to 65535");
        return false;
      }
      port.targetPort = parsed->first;
      return true;
    }
    if (auto problem = portNameProblem(target)) {
      error(DiagnosticId::TopologyBadPortName, yamlPort, "the target port: " + *problem)
          .hint("write a port number (tcp/80 -> 8080) or a named port of the backends "
                "(tcp/80 -> http)");
      return false;
    }
    port.targetName = target;
    return true;
  }

  // `backends: [ 192.0.2.10, { address: 192.0.2.11, weight: 2 } ]`
  void readBackendList(const yaml::Node& yaml, Service& service) {
    if (!expect(yaml, yaml::Kind::Sequence, "'backends'",
                "a list of addresses, e.g. [ 192.0.2.10, { address: 192.0.2.11, weight: 2 } ]"))
      return;
    if (yaml.size() == 0)
      error(DiagnosticId::TopologyMissingKey, yaml, "a service's 'backends' may not be empty");
    std::map<IpPrefix, Claim> seen;
    for (const auto& item : yaml.items()) {
      visit(item);
      ServiceBackend backend;
      backend.location = at(item);
      const yaml::Node* addressNode = &item;
      std::vector<Field> fields;
      if (item.isMap()) {
        fields = fieldsOf(item, {"address", "weight"}, "a backend");
        auto* address = find(fields, "address");
        if (!address) {
          error(DiagnosticId::TopologyMissingKey, item, "a backend has no 'address'")
              .hint("write { address: 192.0.2.10, weight: 1 }");
          continue;
        }
        addressNode = &address->value;
        if (auto* weight = find(fields, "weight")) {
          auto value = readWeight(weight->value);
          if (!value) continue;
          backend.weight = *value;
        }
      }
      if (!expect(*addressNode, yaml::Kind::Scalar, "a backend",
                  "an address, or { address: ..., weight: ... }"))
        continue;
      auto address = parseAddress(addressNode->text());
      if (!address) {
        error(DiagnosticId::TopologyBadAddress, *addressNode,
              "'" + addressNode->text() + "' is not an IPv4 or IPv6 address")
            .hint("write a host address such as 192.0.2.10 or 2001:db8::10");
        continue;
      }
      if (auto [first, inserted] = seen.emplace(*address, claimOf(*addressNode, "")); !inserted) {
        error(DiagnosticId::TopologyDuplicateAddress, *addressNode,
              "backend " + address->addressText() + " is listed twice")
            .note(first->second.location, first->second.length, "first listed here");
        continue;
      }
      if (service.vip && service.vip->family != address->family) {
        error(DiagnosticId::TopologyServiceBackends, *addressNode,
              "backend " + address->addressText() + " is " + familyName(*address) +
                  " but the vip of service '" + service.name + "' is " + familyName(*service.vip))
            .hint("a vip is translated to backends of its own family");
        continue;
      }
      backend.address = *address;
      service.backendList.push_back(backend);
    }
  }

  static std::string familyName(const IpPrefix& prefix) {
    return prefix.family == 4 ? "IPv4" : "IPv6";
  }

  std::optional<uint32_t> readWeight(const yaml::Node& yaml) {
    if (!expect(yaml, yaml::Kind::Scalar, "a weight", "a number from 0 to 100")) return {};
    const auto& text = yaml.text();
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > kMaxBackendWeight) {
      error(DiagnosticId::TopologyBadWeight, yaml,
            "weight '" + text + "' is not a number from 0 to " + std::to_string(kMaxBackendWeight))
          .hint("a backend of weight 2 gets twice the new flows of one of weight 1; 0 drains "
                "it (no new flows, open ones go on)");
      return {};
    }
    return value;
  }

  // `weights: { db-1: 2, db-2: 0 }`, by endpoint name. Read after the
  // nodes, so every endpoint is known.
  void readWeights(const Field& field, Service& service, const Topology& topology) {
    if (!service.backendList.empty()) {
      error(DiagnosticId::TopologyServiceBackends, field.keyNode,
            "'weights' names endpoints picked by a selector")
          .hint("give a listed backend its weight in the list: { address: ..., weight: 2 }");
      return;
    }
    if (!expect(field.value, yaml::Kind::Map, "'weights'",
                "a mapping of backend endpoint names to weights, e.g. { db-1: 2 }"))
      return;
    auto backends = topology.backends(service);
    std::vector<std::string> names;
    for (const auto* backend : backends) names.push_back(backend->name);
    for (const auto& entry : entriesOf(field.value, "'weights'", "backend")) {
      if (std::find(names.begin(), names.end(), entry.key) == names.end()) {
        bool exists = endpointNames_.count(entry.key) > 0;
        auto& d = error(DiagnosticId::TopologyServiceBackends, entry.keyNode,
                        exists ? "endpoint '" + entry.key + "' is not a backend of service '" +
                                     service.name + "'"
                               : "unknown endpoint '" + entry.key + "'");
        if (auto guess = closestMatch(entry.key, names))
          d.hint("did you mean '" + *guess + "'?");
        else if (!names.empty())
          d.hint("its backends: " + joined(names));
        continue;
      }
      if (auto weight = readWeight(entry.value)) service.weights[entry.key] = *weight;
    }
  }

  // `affinity: { timeout: 3h }`: a client address keeps its backend until
  // it has been idle that long.
  void readAffinity(const yaml::Node& yaml, Service& service) {
    if (!expect(yaml, yaml::Kind::Map, "'affinity'", "a mapping such as { timeout: 3h }")) return;
    auto fields = fieldsOf(yaml, {"timeout"}, "'affinity'");
    service.affinitySeconds = kDefaultAffinitySeconds;
    auto* timeout = find(fields, "timeout");
    if (!timeout) return;
    if (!expect(timeout->value, yaml::Kind::Scalar, "'timeout'", "a duration such as 3h")) return;
    auto seconds = parseDuration(timeout->value.text());
    if (!seconds || *seconds == 0 || *seconds > kMaxAffinitySeconds) {
      error(DiagnosticId::TopologyBadDuration, timeout->value,
            "'" + timeout->value.text() + "' is not a duration from 1s to 24h")
          .hint("write seconds, minutes or hours: 90s, 30m, 3h");
      return;
    }
    service.affinitySeconds = uint32_t(*seconds);
  }

  // "90", "90s", "30m", "3h" in seconds.
  static std::optional<uint64_t> parseDuration(const std::string& text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value > kMaxAffinitySeconds) return std::nullopt;
    std::string_view unit(end, text.data() + text.size() - end);
    if (unit.empty() || unit == "s") return value;
    if (unit == "m") return value * 60;
    if (unit == "h") return value * 3600;
    return std::nullopt;
  }

  static std::string trimmed(std::string_view text) {
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return "";
    auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
  }

  void readGroup(const yaml::Node& yaml, Topology& topology) {
    visit(yaml);
    if (!yaml.isMap()) {
      typeError(yaml, "a group", "a mapping with 'name' and 'cidrs'");
      return;
    }
    auto fields = fieldsOf(yaml, {"name", "cidrs"}, "a group");
    Group group;
    group.location = at(yaml);
    if (auto name = this->name(yaml, fields, "name", "a group")) {
      group.name = *name;
      claimName(groupNames_, group.name, find(fields, "name")->value, "group");
    }
    auto* cidrs = find(fields, "cidrs");
    if (!cidrs) {
      error(DiagnosticId::TopologyMissingKey, yaml, "a group has no 'cidrs'")
          .hint("add 'cidrs: [ 192.168.0.0/16 ]'");
    } else if (expect(cidrs->value, yaml::Kind::Sequence, "'cidrs'",
                      "a list of prefixes, e.g. [ 192.168.0.0/16 ]")) {
      if (cidrs->value.size() == 0)
        error(DiagnosticId::TopologyMissingKey, cidrs->value, "a group needs at least one CIDR");
      for (const auto& cidr : cidrs->value.items()) {
        visit(cidr);
        if (!expect(cidr, yaml::Kind::Scalar, "a CIDR", "a prefix such as 10.0.0.0/8")) continue;
        PrefixError problem;
        if (auto prefix = parsePrefix(cidr.text(), &problem))
          group.cidrs.push_back(*prefix);
        else
          error(DiagnosticId::TopologyBadCidr, cidr, problem.message).hint(problem.hint);
      }
    }
    topology.groups.push_back(std::move(group));
  }

  // A selector that picks nothing is legal (the backends may come later) but
  // usually a typo, so it is a warning at the selector.
  void warnAboutEmptyServices(const Topology& topology) {
    for (size_t i = 0; i < topology.services.size(); ++i) {
      const auto& service = topology.services[i];
      const auto& where = selectorAt_[i];
      if (service.selector.empty() || !where.location.valid()) continue;
      if (!topology.backends(service).empty()) continue;
      auto& d = diagnostics_.warning(DiagnosticId::TopologyEmptyService, where.location,
                                     "the selector of service '" + service.name +
                                         "' matches no endpoint");
      d.underline(where.length);
      if (!service.nameSpace.empty())
        d.hint("only endpoints in namespace '" + service.nameSpace + "' are considered");
    }
  }

  std::string file_;
  const std::string& text_;
  Diagnostics& diagnostics_;
  size_t errors_ = 0;
  size_t visited_ = 0;
  std::map<std::string, size_t> namespaces_; // name -> index in topology.namespaces
  std::map<std::string, Claim> nodeNames_, endpointNames_, serviceNames_, groupNames_;
  std::map<std::string, Claim> interfaces_; // "node\ninterface"
  std::map<IpPrefix, Claim> addresses_;
  std::vector<Claim> selectorAt_; // per service, where its selector is written
};

} // namespace

std::optional<Topology> loadText(const std::string& path, const std::string& text,
                                 Diagnostics& diagnostics) {
  diagnostics.addSource(path, text);
  if (text.size() > kMaxTextBytes) {
    diagnostics.error(DiagnosticId::TopologyTooLarge, {path, 1, 1},
                      "the topology file is larger than " + std::to_string(kMaxTextBytes >> 20) +
                          " MiB");
    return std::nullopt;
  }
  // Names and labels are UTF-8, as in Kubernetes, and they end up in JSON
  // (identities.json, -o json) that must be: any other byte, in a value, a
  // key or a comment, is refused where it is, with a clearer message than
  // libyaml's. So is a NUL byte, which YAML allows nowhere: a YAML reader
  // takes a file with them for UTF-16 or UTF-32, and polc reads UTF-8 only.
  if (auto bad = std::min(invalidUtf8(text), text.find('\0')); bad != std::string_view::npos) {
    // In bytes, as the other YAML diagnostics count columns.
    auto at = positionOfByte(text, bad, /*columnInCodePoints=*/false);
    diagnostics
        .error(DiagnosticId::Encoding, {path, at.line, at.column},
               "the topology is not UTF-8 text: unexpected " + describeByte(text, bad))
        .hint("names, labels and every other text of a topology are UTF-8; convert the file, "
              "e.g. with iconv -t UTF-8");
    return std::nullopt;
  }
  try {
    auto document = yaml::Document::parse(text);
    if (const auto& problem = document.error()) {
      auto& d = diagnostics.error(DiagnosticId::Yaml, markLocation(path, problem->mark),
                                  "invalid YAML: " + problem->message);
      if (problem->context)
        d.note(markLocation(path, problem->context->second), 1, problem->context->first);
      if (problem->tooDeep)
        d.hint("a topology needs a handful of levels; look for unbalanced '[' or '{'");
      return std::nullopt;
    }
    return Reader(path, text, diagnostics).read(document);
  } catch (const StopLoading&) {
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    diagnostics.error(DiagnosticId::TopologyTooLarge, {path, 1, 1},
                      "out of memory reading the topology");
    return std::nullopt;
  } catch (const InternalError&) {
    throw;
  } catch (const std::exception& e) {
    // Anything else is a bug in the reader, not a fault of the file: it is
    // not a diagnostic the user could act on.
    internalError("reading the topology " + path + ": " + e.what());
  }
}

std::optional<Topology> loadFile(const std::string& path, Diagnostics& diagnostics) {
  auto text = readFile(path);
  if (!text) {
    diagnostics.error(DiagnosticId::Io, {path, 0, 0}, text.error());
    return std::nullopt;
  }
  return loadText(path, *text, diagnostics);
}

} // namespace polc::topology
