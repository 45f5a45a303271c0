#include "polc/ir/text.h"

#include "polc/support/protocol.h"
#include "polc_structs.h"

#include <netinet/in.h>

namespace polc::ir {

std::string toText(const L4Range& range) {
  if (range.protocol == 0) return "any";
  auto name = protocolName(range.protocol);
  if (range.wholeProtocol()) return name;
  if (range.protocol == IPPROTO_ICMP || range.protocol == IPPROTO_ICMPV6) {
    std::string text = name + " type " + std::to_string(range.first >> 8);
    if (range.first == range.last) text += " code " + std::to_string(range.first & 0xff);
    return text;
  }
  if (range.first == range.last) return name + "/" + std::to_string(range.first);
  return name + "/" + std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::string portsText(const std::vector<L4Range>& ranges) {
  if (ranges.empty()) return "any port";
  std::string text;
  for (const auto& range : ranges) text += (text.empty() ? "" : ", ") + toText(range);
  return text;
}

std::string identityText(const Program& program, uint32_t id) {
  if (id == POLC_IDENTITY_ANY) return "any peer";
  const auto* identity = program.findIdentity(id);
  if (!identity) return "identity " + std::to_string(id);
  switch (identity->kind) {
  case Identity::Kind::Reserved:
    return identity->name;
  case Identity::Kind::Cidr:
    return "cidr " + identity->prefix->text();
  case Identity::Kind::ServiceAddress:
    return "service " + identity->name + " (" + identity->prefix->addressText() + ")";
  case Identity::Kind::Endpoint: {
    std::string text;
    for (const auto& [key, value] : identity->labels)
      text += (text.empty() ? "" : ", ") + key + "=" + value;
    return "{" + text + "}";
  }
  }
  return "identity " + std::to_string(id);
}

} // namespace polc::ir
