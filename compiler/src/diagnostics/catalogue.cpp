#include "polc/diagnostics/catalogue.h"

#include "polc/support/suggest.h"

#include <array>
#include <vector>

namespace polc {

namespace {

using enum DiagnosticId;
constexpr Severity E = Severity::Error;
constexpr Severity W = Severity::Warning;

// The names are the ones polc has always printed: tests, scripts and -W
// flags depend on them, so a name is never changed, only added.
constexpr std::array kCatalogue = {
    DiagnosticInfo{Io, "io", E, "an input file cannot be read"},
    DiagnosticInfo{Encoding, "encoding", E, "an input file is not valid UTF-8"},
    DiagnosticInfo{Syntax, "syntax", E, "the policy does not follow the grammar"},
    DiagnosticInfo{Nesting, "nesting", E, "a selector or block is nested deeper than polc's limit"},
    DiagnosticInfo{IncludeMissing, "include-missing", E, "an included file cannot be read"},
    DiagnosticInfo{IncludeCycle, "include-cycle", E, "a file includes itself, directly or not"},
    DiagnosticInfo{BadEscape, "bad-escape", E, "a string has an escape other than \\\" and \\\\"},
    DiagnosticInfo{BadLetName, "bad-let-name", E, "a let name contains '.' or '/'"},
    DiagnosticInfo{EmptyName, "empty-name", E, "a policy, service or group peer has no name"},
    DiagnosticInfo{DuplicateDirection, "duplicate-direction", W,
                   "a direction is listed twice in a block"},
    DiagnosticInfo{PeerDirection, "peer-direction", E,
                   "a rule names its peer with 'from' or 'to' against its direction"},
    DiagnosticInfo{UnknownEntity, "unknown-entity", E, "an entity peer is not one polc knows"},
    DiagnosticInfo{BadCidr, "bad-cidr", E, "a CIDR of the policy is not a valid IP prefix"},
    DiagnosticInfo{CidrExcept, "cidr-except", E,
                   "an except prefix is not inside any prefix of its peer"},
    DiagnosticInfo{IcmpRange, "icmp-range", E, "an ICMP type or code is outside 0-255"},
    DiagnosticInfo{PortRange, "port-range", E, "a port or port range is malformed or out of range"},
    DiagnosticInfo{BadPortName, "bad-port-name", E, "a named port is not a valid port name"},
    DiagnosticInfo{DuplicateLet, "duplicate-let", E, "a let name is defined twice"},
    DiagnosticInfo{UnknownLet, "unknown-let", E, "a selector refers to a let that is not defined"},
    DiagnosticInfo{UnknownGroup, "unknown-group", E, "a group peer names no group of the topology"},
    DiagnosticInfo{UnknownService, "unknown-service", E,
                   "a service peer names no service of the topology"},
    DiagnosticInfo{UnknownLabel, "unknown-label", W,
                   "a selector uses a label key no endpoint of the topology has"},
    DiagnosticInfo{UnknownLabelValue, "unknown-label-value", W,
                   "a selector uses a label value no endpoint of the topology has"},
    DiagnosticInfo{EmptySelector, "empty-selector", W,
                   "a selector matches no endpoint of the topology"},
    DiagnosticInfo{NamedPortDiffers, "named-port-differs", E,
                   "a named port means different ports on endpoints of one identity"},
    DiagnosticInfo{UnresolvedNamedPort, "unresolved-named-port", W,
                   "no endpoint a rule reaches defines its named port"},
    DiagnosticInfo{CidrCoversEndpoints, "cidr-covers-endpoints", W,
                   "a CIDR contains endpoint addresses, which it does not select"},
    DiagnosticInfo{ShadowedRule, "shadowed-rule", W,
                   "a rule has no effect because earlier rules cover it"},
    DiagnosticInfo{DeadAllow, "dead-allow", W,
                   "an allow has no effect because deny rules refuse all it allows"},
    DiagnosticInfo{TableCapacity, "table-capacity", E,
                   "an endpoint's policy table needs more entries than its map holds"},
    DiagnosticInfo{IpcacheCapacity, "ipcache-capacity", E,
                   "a node's ipcache needs more entries than its map holds"},
    DiagnosticInfo{Yaml, "yaml", E, "the topology is not valid YAML"},
    DiagnosticInfo{TopologyEmpty, "topology-empty", E, "the topology file is empty"},
    DiagnosticInfo{TopologyType, "topology-type", E,
                   "a topology value has the wrong YAML type, or the file has several documents"},
    DiagnosticInfo{TopologyTooLarge, "topology-too-large", E,
                   "the topology exceeds polc's limits on size or YAML nodes"},
    DiagnosticInfo{TopologyTooManyErrors, "topology-too-many-errors", E,
                   "so many topology errors that polc stopped reading it"},
    DiagnosticInfo{TopologyMissingKey, "topology-missing-key", E,
                   "a required topology key is missing or empty"},
    DiagnosticInfo{TopologyUnknownKey, "topology-unknown-key", E,
                   "a topology key is not one polc knows"},
    DiagnosticInfo{TopologyDuplicateKey, "topology-duplicate-key", E,
                   "a topology key appears twice in one map"},
    DiagnosticInfo{TopologyDuplicateName, "topology-duplicate-name", E,
                   "two topology objects of one kind have the same name"},
    DiagnosticInfo{TopologyBadName, "topology-bad-name", E, "a topology name is not a valid name"},
    DiagnosticInfo{TopologyBadLabel, "topology-bad-label", E, "a label key or value is not valid"},
    DiagnosticInfo{TopologyReservedLabel, "topology-reserved-label", E,
                   "a label key is reserved for namespace labels"},
    DiagnosticInfo{TopologyBadAddress, "topology-bad-address", E,
                   "an endpoint address is not an IPv4 or IPv6 address"},
    DiagnosticInfo{TopologyDuplicateAddress, "topology-duplicate-address", E,
                   "an address is given to two endpoints or nodes"},
    DiagnosticInfo{TopologyBadPort, "topology-bad-port", E,
                   "a port of the topology is malformed or out of range"},
    DiagnosticInfo{TopologyBadPortName, "topology-bad-port-name", E,
                   "a named port of the topology is not a valid port name"},
    DiagnosticInfo{TopologyDuplicatePort, "topology-duplicate-port", E,
                   "a port is listed twice for one named port"},
    DiagnosticInfo{TopologyUnknownNamespace, "topology-unknown-namespace", E,
                   "an endpoint names a namespace the topology does not define"},
    DiagnosticInfo{TopologyBadInterface, "topology-bad-interface", E,
                   "an interface name is not one the kernel accepts"},
    DiagnosticInfo{TopologyDuplicateInterface, "topology-duplicate-interface", E,
                   "two endpoints of a node have the same interface"},
    DiagnosticInfo{TopologyBadCidr, "topology-bad-cidr", E,
                   "a CIDR of a group is not a valid IP prefix"},
    DiagnosticInfo{TopologyEmptyService, "topology-empty-service", W,
                   "a service's selector matches no endpoint"},
    DiagnosticInfo{TestRead, "test-read", E, "a policy test file cannot be read"},
    DiagnosticInfo{TestSyntax, "test-syntax", E, "a policy test line is malformed"},
    DiagnosticInfo{TestFlowEnd, "test-flow-end", E,
                   "a test's source or destination is not an endpoint or address"},
    DiagnosticInfo{TestProtocol, "test-protocol", E, "a test names an unknown protocol"},
    DiagnosticInfo{TestPort, "test-port", E, "a test's port, ICMP type or code is not one value"},
    DiagnosticInfo{TestNoInputs, "test-no-inputs", E,
                   "an expectation comes before the file's 'policy' or 'topology' line"},
    DiagnosticInfo{TestUnknownDirective, "test-unknown-directive", E,
                   "a test line starts with an unknown word"},
    DiagnosticInfo{TestEmpty, "test-empty", W, "a policy test file has no expectations"},
};

// The table is indexed by id: each entry must sit at its id's place.
constexpr bool inIdOrder() {
  for (size_t i = 0; i < kCatalogue.size(); ++i)
    if (static_cast<size_t>(kCatalogue[i].id) != i) return false;
  return true;
}
static_assert(inIdOrder(), "kCatalogue must list every DiagnosticId in declaration order");
static_assert(static_cast<size_t>(TestEmpty) + 1 == kCatalogue.size(),
              "every DiagnosticId needs an entry in kCatalogue");

} // namespace

std::span<const DiagnosticInfo> diagnosticCatalogue() {
  return kCatalogue;
}

const DiagnosticInfo& diagnosticInfo(DiagnosticId id) {
  return kCatalogue.at(static_cast<size_t>(id));
}

std::optional<DiagnosticId> findDiagnostic(std::string_view name) {
  for (const auto& info : kCatalogue)
    if (info.name == name) return info.id;
  return std::nullopt;
}

std::optional<std::string> closestDiagnosticName(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& info : kCatalogue) names.emplace_back(info.name);
  return closestMatch(name, names);
}

std::string_view severityName(Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

} // namespace polc
