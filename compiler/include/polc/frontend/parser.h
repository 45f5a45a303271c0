// Parses a .pol file with the ANTLR-generated parser into the AST. Syntax
// errors (all of them, with positions) go to the diagnostics store.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"

#include <optional>
#include <string>

namespace polc::frontend {

// Reads and parses `path`; nullopt when the file cannot be read or has
// syntax errors (reported to `diagnostics`).
std::optional<ast::File> parseFile(const std::string& path, Diagnostics& diagnostics);
// Parses text that claims to come from `path` (for tests and stdin).
std::optional<ast::File> parseText(const std::string& path, std::string text,
                                   Diagnostics& diagnostics);

} // namespace polc::frontend
