// Canonical text of AST pieces: used in rule references and summaries. The
// text parses back to the same AST (parentheses only where precedence needs
// them, strings re-escaped, prefixes in canonical form).
#pragma once

#include "polc/frontend/ast.h"

#include <string>

namespace polc::ast {

// app == "web" && env in ("prod", "staging")
std::string toText(const Selector&);
// tcp/80, tcp/8000-8999, tcp, tcp/http, icmp type 3 code 1
std::string toText(const PortSpec&);
// app == "web", service "db", cidr 10.0.0.0/8 except 10.1.0.0/16, entity world
std::string toText(const Peer&);
// allow from app == "web" on tcp/80, udp/53
std::string toText(const Rule&);
// default deny ingress, egress for app == "web"
std::string toText(const DefaultDeny&);
// The whole policy set as policy text (lets, default denies, policies, each
// group in file order), every item followed by its location as a comment:
// `polc build --dump-after` of an AST stage.
std::string toText(const File&);

} // namespace polc::ast
