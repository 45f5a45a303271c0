// Canonical text of AST pieces: used in rule references, summaries and by fmt.
#pragma once

#include "polc/frontend/ast.h"

#include <string>

namespace polc::ast {

std::string toText(const Selector&);
std::string toText(const PortSpec&);
// "allow from app == "web" on tcp/80, udp/53"
std::string toText(const Rule&);

} // namespace polc::ast
