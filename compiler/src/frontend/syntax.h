// The concrete syntax of one .pol text: ANTLR's token stream and parse tree,
// with every syntax error reported to the diagnostics store in plain words.
// Shared by the AST builder (parser.cpp) and the formatter, which needs the
// comments on the hidden channel. Internal to the frontend library.
#pragma once

#include "PolicyParser.h"
#include "antlr4-runtime.h"
#include "lexer.h"

#include "polc/diagnostics/diagnostics.h"

#include <memory>
#include <string>

namespace polc::frontend {

// How deep parentheses and '!' may nest in one selector. ANTLR parses them
// by recursion, so an adversarial input (10000 '(') would exhaust the stack;
// the limit is checked on the tokens before the parser runs.
inline constexpr int kMaxNesting = 200;

// The tokens of one text and, once buildParseTree has run, ANTLR's parse
// tree of them. ANTLR's objects refer to each other by pointer, so they
// live together and never move.
struct SyntaxTree {
  explicit SyntaxTree(const std::string& text) : input(text), lexed(lex(input)) {}
  SyntaxTree(const SyntaxTree&) = delete;
  SyntaxTree& operator=(const SyntaxTree&) = delete;

  std::string path;
  Utf8InputStream input;
  // Every token, EOF last: what the direct parser reads.
  std::vector<LexedToken> lexed;
  // The same tokens as ANTLR's objects, for its parser (buildParseTree).
  TokenReplay replay{input, lexed};
  antlr4::CommonTokenStream tokens{&replay};
  grammar::PolicyParser parser{&tokens};
  // Null until buildParseTree, and when the text was refused.
  grammar::PolicyParser::FileContext* file = nullptr;
  int syntaxErrors = 0;

  bool ok() const { return file != nullptr && syntaxErrors == 0; }
  SourceLocation at(const antlr4::Token* token) const;
};

// Where a token of the file `path` is, as a diagnostic location.
SourceLocation locationOf(const std::string& path, const antlr4::Token* token);
// Characters from the start of `first` to the end of `last`.
int lengthBetween(const antlr4::Token* first, const antlr4::Token* last);

// Lexes `text`, whose source is registered with `diagnostics`. A text that
// is not UTF-8 or nests too deeply is refused: it has syntax errors
// (reported), and is not to be parsed.
std::unique_ptr<SyntaxTree> lexSyntax(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics);
// Parses the tokens of a text that lexSyntax did not refuse into `file`,
// reporting every syntax error.
void buildParseTree(SyntaxTree& tree, Diagnostics& diagnostics);
// Both: lexes and, unless refused, parses `text`.
std::unique_ptr<SyntaxTree> parseSyntax(const std::string& path, const std::string& text,
                                        Diagnostics& diagnostics);

// Whether a subtree parsed without error: no rule of it failed, and recovery
// neither conjured nor skipped a token in it. The AST builder checks these
// parts of a file with syntax errors, so that their own errors (bad ports,
// bad prefixes) are reported in the same run.
bool intact(antlr4::tree::ParseTree* tree);

} // namespace polc::frontend
