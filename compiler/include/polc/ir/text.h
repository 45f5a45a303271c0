// How IR values read to a person: in summaries, explanations and warnings.
#pragma once

#include "polc/ir/ir.h"

#include <string>

namespace polc::ir {

// "tcp/80", "tcp/8000-8999", "tcp", "icmp type 8", "icmp type 3 code 1", "any".
std::string toText(const L4Range&);
// "tcp/80, udp/53"; "any port" for none.
std::string portsText(const std::vector<L4Range>&);
// What an identity stands for: an endpoint label set "{app=web}", "world",
// "host", "cidr 10.0.0.0/8", "service db (10.96.0.5)", "any peer".
std::string identityText(const Program&, uint32_t id);
// The whole program, one fact a line (identities, rules, per endpoint and
// direction its isolation and applied rules, nodes), in the IR's own sorted
// order: `polc build --dump-after` of the IR.
std::string toText(const Program&);

} // namespace polc::ir
