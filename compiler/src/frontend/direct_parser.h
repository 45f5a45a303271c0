// A recursive-descent parser for the files that are free of syntax errors,
// which are nearly all that polc compiles. It builds the items straight from
// the tokens through the AstBuilder, in the order of the text, as the walk
// of ANTLR's parse tree does; it builds no parse tree, so it takes a small
// part of the time ANTLR's parser takes to build one, and to free it.
//
// It knows the grammar of Policy.g4 but not its error messages: at the first
// token the grammar does not allow there, it gives up, and the file is
// parsed again by ANTLR, whose error strategy explains the mistake
// (syntax.cpp). tests/unit/direct_parser_test.cpp checks that it accepts
// what ANTLR's parser accepts, and builds the same items with the same
// diagnostics. Internal to the frontend library.
#pragma once

#include "ast_builder.h"
#include "syntax.h"

#include <optional>
#include <vector>

namespace polc::frontend {

// The items of a lexed text that lexSyntax did not refuse, with what the
// AstBuilder reported; nullopt, and nothing reported, when the text is not
// a file of the grammar (or holds a selector too deep to build).
std::optional<std::vector<Item>> parseDirect(const SyntaxTree& tree, Diagnostics& diagnostics);

} // namespace polc::frontend
