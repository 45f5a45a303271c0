#include "network_policy.h"

#include "polc/topology/topology.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace polc::importer {
namespace {

// ---- Label selectors ----

struct Requirement {
  enum class Op { Equals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Equals;
  std::vector<std::string> values;
};

// A metav1.LabelSelector: matchLabels and matchExpressions, all ANDed. No
// requirement at all selects everything.
struct LabelSelector {
  std::vector<Requirement> requirements;

  bool matches(const Labels& labels) const {
    return std::all_of(requirements.begin(), requirements.end(), [&](const Requirement& r) {
      auto found = labels.find(r.key);
      bool has = found != labels.end();
      auto among = [&] {
        return has && std::find(r.values.begin(), r.values.end(), found->second) != r.values.end();
      };
      switch (r.op) {
      case Requirement::Op::Equals:
      case Requirement::Op::In:
        return among();
      case Requirement::Op::NotIn:
        return !among(); // a missing key is not in the set
      case Requirement::Op::Exists:
        return has;
      case Requirement::Op::DoesNotExist:
        return !has;
      }
      return false;
    });
  }

  // polc's selector terms, each key behind `keyPrefix` ("namespace." for a
  // namespace's labels).
  std::vector<std::string> terms(const std::string& keyPrefix) const {
    std::vector<std::string> terms;
    auto set = [](const std::vector<std::string>& values) {
      std::string text;
      for (const auto& value : values) text += (text.empty() ? "" : ", ") + doubleQuoted(value);
      return "(" + text + ")";
    };
    for (const auto& r : requirements) {
      auto key = keyPrefix + r.key;
      switch (r.op) {
      case Requirement::Op::Equals:
        terms.push_back(key + " == " + doubleQuoted(r.values.front()));
        break;
      case Requirement::Op::In:
        terms.push_back(key + " in " + set(r.values));
        break;
      case Requirement::Op::NotIn:
        terms.push_back(key + " notin " + set(r.values));
        break;
      case Requirement::Op::Exists:
        terms.push_back("has(" + key + ")");
        break;
      case Requirement::Op::DoesNotExist:
        terms.push_back("!has(" + key + ")");
        break;
      }
    }
    return terms;
  }
};

// Why polc's grammar cannot write `key` as a label key (a word that is a
// keyword of its own, a leading digit, a key that reads as a port).
std::optional<std::string> polcKeyProblem(const std::string& key) {
  static constexpr std::array kKeywords = {"select", "ingress", "egress", "allow", "deny",
                                           "from",   "to",      "on",     "any",   "has",
                                           "in",     "notin",   "let"};
  if (std::find(kKeywords.begin(), kKeywords.end(), key) != kKeywords.end())
    return "'" + key + "' is a keyword of polc's language";
  if (key.empty() ||
      !((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z') || key[0] == '_'))
    return "polc's label keys start with a letter or '_'";
  for (std::string_view protocol : {"tcp/", "udp/", "sctp/"})
    if (key.starts_with(protocol) &&
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
                              protocol.size()) == std::string::npos)
      return "'" + key + "' reads as a port in polc's language";
  return std::nullopt;
}

// ---- Prefixes ----

// "10.0.0.0/8" into a prefix; host bits are cleared (a warning, as
// Kubernetes accepts them). nullopt when it is no CIDR.
std::optional<IpPrefix> readCidr(ObjectReader& reader, const Field& field) {
  auto text = reader.string(field);
  if (!text) {
    if (field.isNull())
      reader.reporter().error(DiagnosticId::K8sInvalid, reader.object(), field, "expected a CIDR");
    return std::nullopt;
  }
  auto slash = text->find('/');
  std::optional<IpPrefix> address;
  unsigned length = 0;
  if (slash != std::string::npos) {
    address = parseAddress(std::string_view(*text).substr(0, slash));
    auto digits = std::string_view(*text).substr(slash + 1);
    auto [end, problem] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (problem != std::errc() || end != digits.data() + digits.size() || digits.empty())
      address.reset();
  }
  if (!address || length > address->maxLength()) {
    reader.reporter().error(DiagnosticId::K8sInvalid, reader.object(), field,
                            "'" + *text + "' is not a CIDR (ADDRESS/LENGTH)");
    return std::nullopt;
  }
  IpPrefix prefix = *address;
  prefix.length = uint8_t(length);
  for (unsigned bit = length; bit < prefix.maxLength(); ++bit)
    prefix.bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
  if (prefix.bytes != address->bytes)
    reader.reporter().warning(DiagnosticId::K8sHostBits, reader.object(), field,
                              "'" + *text + "' has host bits set; imported as " + prefix.text());
  return prefix;
}

// ---- One policy ----

struct PeerText {
  std::string peer;
  std::string comment; // lines of "# ..." before the rule, when approximated
};

class PolicyTranslator {
public:
  PolicyTranslator(const PolicyObject& policy, const Cluster& cluster, Reporter& reporter)
      : policy_(policy), cluster_(cluster), reader_(reporter, policy.id), reporter_(reporter) {}

  std::optional<std::string> translate() {
    const auto& spec = policy_.spec;
    // Every field is checked even after an error, so that one run reports
    // them all.
    reader_.onlyKnownFields(spec, {"podSelector", "policyTypes", "ingress", "egress"});
    auto podSelectorField = spec.child("podSelector");
    std::optional<LabelSelector> podSelector;
    if (!podSelectorField)
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, spec,
                      "no podSelector (required; {} selects every pod of the namespace)");
    else
      podSelector = selector(*podSelectorField, /*ofNamespaces=*/false);
    auto ingress = spec.child("ingress");
    auto egress = spec.child("egress");
    auto [isolatesIngress, isolatesEgress] = policyTypes(spec.child("policyTypes"), egress);
    bool podSelectorRead = podSelector.has_value();
    if (!podSelectorRead) podSelector.emplace(); // reported; the rules are still checked

    auto terms = podSelector->terms("");
    terms.insert(terms.begin(), namespaceTerm(policy_.id.nameSpace));
    bool selectsAny = std::any_of(cluster_.pods.begin(), cluster_.pods.end(), [&](const auto& pod) {
      return pod.first.first == policy_.id.nameSpace && podSelector->matches(pod.second.labels);
    });
    if (podSelectorRead && !selectsAny)
      reporter_.warning(DiagnosticId::K8sEmptySelector, policy_.id, *podSelectorField,
                        "selects no imported pod of namespace '" + policy_.id.nameSpace + "'");

    std::string text = "# " + policy_.id.apiVersion + " " + policy_.id.text() + "\n";
    text += "policy " + doubleQuoted(policy_.id.qualifiedName()) + " {\n";
    text += "select " + join(terms) + "\n";
    // Rules of a direction the policy does not isolate are checked too (a
    // field is never dropped unread), then left out, with a note.
    auto ingressBlock = block(ingress, /*isIngress=*/true);
    auto egressBlock = block(egress, /*isIngress=*/false);
    if (isolatesIngress)
      text += ingressBlock;
    else if (ingress && ingress->size() > 0)
      reporter_.note(ingress->location(), policy_.id.text() +
                                              ": spec.ingress is ignored: policyTypes does not "
                                              "list Ingress");
    if (isolatesEgress)
      text += egressBlock;
    else if (egress && egress->size() > 0)
      reporter_.note(egress->location(), policy_.id.text() +
                                             ": spec.egress is ignored: policyTypes does not "
                                             "list Egress");
    text += "}\n";
    if (reporter_.diagnostics().errorCount() > errorsBefore_) return std::nullopt;
    return text;
  }

private:
  // Which directions the policy isolates: policyTypes, or when absent (or
  // empty) Ingress always and Egress iff there are egress rules.
  std::pair<bool, bool> policyTypes(const std::optional<Field>& field,
                                    const std::optional<Field>& egress) {
    auto items = reader_.items(field);
    if (items.empty()) return {true, egress && egress->isSequence() && egress->size() > 0};
    bool ingress = false, egressType = false;
    for (const auto& item : items) {
      auto type = reader_.string(item);
      if (type == "Ingress")
        ingress = true;
      else if (type == "Egress")
        egressType = true;
      else if (type)
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, item,
                        "unknown policy type '" + *type + "'; the types are Ingress and Egress");
    }
    return {ingress, egressType};
  }

  // `ingress { ... }` / `egress { ... }`: one allow line per peer of each
  // rule; an absent or empty rule list still isolates (allows nothing).
  std::string block(const std::optional<Field>& rules, bool isIngress) {
    std::string text = isIngress ? "ingress {\n" : "egress {\n";
    const char* peersKey = isIngress ? "from" : "to";
    for (const auto& rule : reader_.items(rules)) {
      if (!rule.isMap() && !rule.isNull()) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, rule, "expected a rule (a map)");
        continue;
      }
      reader_.onlyKnownFields(rule, {peersKey, "ports"});
      auto ports = portList(rule.child("ports"));
      text += "# " + rule.path() + "\n";
      auto peers = reader_.items(rule.child(peersKey));
      std::string verb = std::string("allow ") + (isIngress ? "from " : "to ");
      if (peers.empty()) // absent or empty: every peer
        text += verb + "entity all" + ports + "\n";
      for (const auto& peerField : peers)
        if (auto written = peer(peerField))
          text += written->comment + verb + written->peer + ports + "\n";
    }
    return text + "}\n";
  }

  // One item of `from`/`to`.
  std::optional<PeerText> peer(const Field& field) {
    if (!field.isMap()) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field, "expected a peer (a map)");
      return std::nullopt;
    }
    reader_.onlyKnownFields(field, {"podSelector", "namespaceSelector", "ipBlock"});
    auto pods = field.child("podSelector");
    auto namespaces = field.child("namespaceSelector");
    auto ipBlock = field.child("ipBlock");
    if (ipBlock && (pods || namespaces)) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, *ipBlock,
                      "a peer with an ipBlock may have no podSelector or namespaceSelector");
      return std::nullopt;
    }
    if (ipBlock) return cidrPeer(*ipBlock);
    if (!pods && !namespaces) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field,
                      "a peer needs a podSelector, a namespaceSelector or an ipBlock");
      return std::nullopt;
    }
    return selectorPeer(field, pods, namespaces);
  }

  // podSelector alone: pods of the policy's namespace; namespaceSelector
  // alone: every pod of the namespaces it selects; both: one peer, ANDed.
  std::optional<PeerText> selectorPeer(const Field& field, const std::optional<Field>& pods,
                                       const std::optional<Field>& namespaces) {
    std::optional<LabelSelector> podSelector, namespaceSelector;
    if (pods && !(podSelector = selector(*pods, false))) return std::nullopt;
    if (namespaces && !(namespaceSelector = selector(*namespaces, true))) return std::nullopt;
    std::vector<std::string> terms;
    if (namespaceSelector)
      terms = namespaceSelector->terms(std::string(topology::kNamespaceLabelPrefix));
    else
      terms.push_back(namespaceTerm(policy_.id.nameSpace));
    if (podSelector)
      for (auto& term : podSelector->terms("")) terms.push_back(std::move(term));

    bool selectsAny = std::any_of(cluster_.pods.begin(), cluster_.pods.end(), [&](const auto& pod) {
      auto ns = namespaceLabels(pod.first.first);
      bool inNamespace = namespaceSelector ? namespaceSelector->matches(ns)
                                           : pod.first.first == policy_.id.nameSpace;
      return inNamespace && (!podSelector || podSelector->matches(pod.second.labels));
    });
    if (!selectsAny)
      reporter_.warning(DiagnosticId::K8sEmptySelector, policy_.id, field,
                        "this peer selects no imported pod");
    return PeerText{terms.empty() ? "any" : join(terms), ""};
  }

  // `cidr C except E, ...`, exact while no pod or node address lies in it:
  // polc's cidr peer never stands for them, while an ipBlock does.
  std::optional<PeerText> cidrPeer(const Field& field) {
    if (!field.isMap()) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field, "expected an ipBlock (a map)");
      return std::nullopt;
    }
    reader_.onlyKnownFields(field, {"cidr", "except"});
    auto cidrField = field.child("cidr");
    if (!cidrField) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field, "an ipBlock needs a cidr");
      return std::nullopt;
    }
    auto cidr = readCidr(reader_, *cidrField);
    if (!cidr) return std::nullopt;
    std::vector<IpPrefix> excepts;
    for (const auto& item : reader_.items(field.child("except"))) {
      auto except = readCidr(reader_, item);
      if (!except) return std::nullopt;
      if (!cidr->contains(*except) || *except == *cidr) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, item,
                        except->text() + " is not strictly inside the ipBlock's cidr " +
                            cidr->text());
        return std::nullopt;
      }
      excepts.push_back(*except);
    }
    PeerText text{"cidr " + cidr->text(), ""};
    for (size_t i = 0; i < excepts.size(); ++i)
      text.peer += (i == 0 ? " except " : ", ") + excepts[i].text();

    auto covered = coveredAddresses(*cidr, excepts);
    if (covered.empty()) return text;
    std::string list;
    for (size_t i = 0; i < covered.size() && i < 3; ++i) list += (i == 0 ? "" : ", ") + covered[i];
    if (covered.size() > 3) list += " and " + std::to_string(covered.size() - 3) + " more";
    if (!reporter_.untranslatable(
            policy_.id, field,
            "ipBlock " + text.peer.substr(5) + " covers cluster addresses (" + list +
                "), which an ipBlock matches but polc's cidr peer never does",
            "polc's language cannot say \"this prefix, endpoints in it included\" yet; select "
            "those pods with a podSelector/namespaceSelector peer instead"))
      return std::nullopt;
    text.comment = "# NOT exact (--lenient): this ipBlock also covers " + list +
                   "; polc's cidr peer does not match them, so this rule does not allow them\n";
    return text;
  }

  std::vector<std::string> coveredAddresses(const IpPrefix& cidr,
                                            const std::vector<IpPrefix>& excepts) const {
    std::vector<std::string> covered;
    auto check = [&](const IpPrefix& address, const std::string& what) {
      if (!cidr.contains(address)) return;
      for (const auto& except : excepts)
        if (except.contains(address)) return;
      covered.push_back(what + " (" + address.addressText() + ")");
    };
    for (const auto& [name, pod] : cluster_.pods)
      for (const auto& address : pod.addresses) check(address, "pod " + pod.id.qualifiedName());
    for (const auto& [name, node] : cluster_.nodes)
      for (const auto& address : node.internalAddresses) check(address, "node " + name);
    for (const auto& [address, what] : cluster_.hostNetworkAddresses) check(address, what);
    return covered;
  }

  // " on tcp/80, udp/53" or "" (every port) for a rule's ports.
  std::string portList(const std::optional<Field>& field) {
    std::vector<std::string> ports;
    for (const auto& item : reader_.items(field)) {
      if (!item.isMap()) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, item, "expected a port (a map)");
        continue;
      }
      reader_.onlyKnownFields(item, {"protocol", "port", "endPort"});
      if (auto port = portSpec(item)) ports.push_back(*port);
    }
    return ports.empty() ? "" : " on " + join(ports, ", ");
  }

  std::optional<std::string> portSpec(const Field& item) {
    auto parsedProtocol = reader_.protocol(item.child("protocol"));
    if (!parsedProtocol) return std::nullopt;
    const auto& protocol = *parsedProtocol;
    auto portField = item.child("port");
    auto endPortField = item.child("endPort");
    bool hasEndPort = endPortField && !endPortField->isNull();
    if (!portField || portField->isNull()) {
      if (hasEndPort) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, *endPortField,
                        "endPort needs a numeric port");
        return std::nullopt;
      }
      return protocol; // every port of the protocol
    }
    auto port = reader_.string(portField);
    if (!port) return std::nullopt;
    bool numeric = !port->empty() && port->find_first_not_of("0123456789") == std::string::npos;
    if (!numeric) {
      if (hasEndPort) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, *endPortField,
                        "endPort needs a numeric port, not the named port '" + *port + "'");
        return std::nullopt;
      }
      return protocol + "/" + *port; // resolved per destination by polc
    }
    auto first = reader_.integer(portField, 1, 65535);
    if (!first) return std::nullopt;
    if (!hasEndPort) return protocol + "/" + std::to_string(*first);
    auto last = reader_.integer(endPortField, *first, 65535);
    if (!last) return std::nullopt;
    if (*last == *first) return protocol + "/" + std::to_string(*first);
    return protocol + "/" + std::to_string(*first) + "-" + std::to_string(*last);
  }

  // A LabelSelector's requirements, checked (operators, values, keys polc
  // can write); nullopt after an error.
  std::optional<LabelSelector> selector(const Field& field, bool ofNamespaces) {
    if (field.isNull()) return LabelSelector{};
    if (!field.isMap()) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field,
                      "expected a label selector (a map)");
      return std::nullopt;
    }
    auto errors = reporter_.diagnostics().errorCount();
    reader_.onlyKnownFields(field, {"matchLabels", "matchExpressions"});
    LabelSelector selector;
    for (const auto& [key, value] : reader_.labels(field.child("matchLabels")))
      if (checkKey(*field.child("matchLabels")->child(key), key, ofNamespaces))
        selector.requirements.push_back({key, Requirement::Op::Equals, {value}});
    for (const auto& expression : reader_.items(field.child("matchExpressions")))
      if (auto requirement = matchExpression(expression, ofNamespaces))
        selector.requirements.push_back(std::move(*requirement));
    if (reporter_.diagnostics().errorCount() > errors) return std::nullopt;
    return selector;
  }

  std::optional<Requirement> matchExpression(const Field& field, bool ofNamespaces) {
    if (!field.isMap()) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field,
                      "expected a requirement (a map)");
      return std::nullopt;
    }
    reader_.onlyKnownFields(field, {"key", "operator", "values"});
    auto key = reader_.string(field.child("key"));
    auto op = reader_.string(field.child("operator"));
    if (!key || !op) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field,
                      "a requirement needs a key and an operator");
      return std::nullopt;
    }
    if (auto problem = labelKeyProblem(*key)) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, *field.child("key"),
                      "label key '" + *key + "': " + *problem);
      return std::nullopt;
    }
    if (!checkKey(*field.child("key"), *key, ofNamespaces)) return std::nullopt;
    Requirement requirement{*key, Requirement::Op::In, {}};
    bool needsValues = true;
    if (*op == "NotIn")
      requirement.op = Requirement::Op::NotIn;
    else if (*op == "Exists")
      requirement.op = Requirement::Op::Exists, needsValues = false;
    else if (*op == "DoesNotExist")
      requirement.op = Requirement::Op::DoesNotExist, needsValues = false;
    else if (*op != "In") {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, *field.child("operator"),
                      "unknown operator '" + *op +
                          "'; the operators are In, NotIn, Exists and "
                          "DoesNotExist");
      return std::nullopt;
    }
    for (const auto& item : reader_.items(field.child("values"))) {
      auto value = item.isNull() ? std::optional<std::string>("") : reader_.string(item);
      if (!value) return std::nullopt;
      if (auto problem = labelValueProblem(*value)) {
        reporter_.error(DiagnosticId::K8sInvalid, policy_.id, item,
                        "label value '" + *value + "': " + *problem);
        return std::nullopt;
      }
      requirement.values.push_back(*value);
    }
    if (needsValues == requirement.values.empty()) {
      reporter_.error(DiagnosticId::K8sInvalid, policy_.id, field,
                      "operator " + *op +
                          (needsValues ? " needs at least one value" : " takes no values"));
      return std::nullopt;
    }
    return requirement;
  }

  // A key polc's grammar can write, and for pods not one of polc's
  // reserved namespace keys.
  bool checkKey(const Field& where, const std::string& key, bool ofNamespaces) {
    if (!ofNamespaces &&
        (key == topology::kNamespaceLabel || key.starts_with(topology::kNamespaceLabelPrefix))) {
      reporter_.error(DiagnosticId::K8sUntranslatable, policy_.id, where,
                      "label key '" + key + "' is reserved in polc for namespace labels");
      return false;
    }
    if (auto problem = polcKeyProblem(key)) {
      reporter_.error(DiagnosticId::K8sUntranslatable, policy_.id, where,
                      "label key '" + key + "' cannot be written in a polc selector: " + *problem);
      return false;
    }
    return true;
  }

  Labels namespaceLabels(const std::string& name) const {
    auto found = cluster_.namespaces.find(name);
    if (found != cluster_.namespaces.end()) return found->second.labels;
    return {{kNamespaceNameLabel, name}};
  }

  static std::string namespaceTerm(const std::string& name) {
    return std::string(topology::kNamespaceLabel) + " == " + doubleQuoted(name);
  }

  static std::string join(const std::vector<std::string>& terms,
                          const std::string& separator = " && ") {
    std::string text;
    for (const auto& term : terms) text += (text.empty() ? "" : separator) + term;
    return text;
  }

  const PolicyObject& policy_;
  const Cluster& cluster_;
  ObjectReader reader_;
  Reporter& reporter_;
  size_t errorsBefore_ = reporter_.diagnostics().errorCount();
};

} // namespace

std::optional<std::string> translateNetworkPolicy(const PolicyObject& policy,
                                                  const Cluster& cluster, Reporter& reporter) {
  return PolicyTranslator(policy, cluster, reporter).translate();
}

} // namespace polc::importer
