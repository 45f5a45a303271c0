// The items of a file from ANTLR's parse tree: the parse of a file with
// syntax errors (a file without any takes the direct parser), built by the
// same AstBuilder. Internal to the frontend library.
#pragma once

#include "ast_builder.h"
#include "syntax.h"

#include <vector>

namespace polc::frontend {

// The items of `tree` (parsed by buildParseTree). In a tree with syntax
// errors, only the parts that parsed are built (see intact()): their errors
// are reported, and their includes read, but the items are not meant to be
// used.
std::vector<Item> walkParseTree(const SyntaxTree& tree, Diagnostics& diagnostics);

} // namespace polc::frontend
