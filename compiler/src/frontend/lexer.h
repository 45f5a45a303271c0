// The tokens of a .pol text for ANTLR's parser, made by a lexer of our own
// rather than by the one ANTLR generates from Policy.g4. ANTLR's lexer
// simulates its ATN one character at a time through a DFA cache that takes a
// lock and a hash lookup per character; it was half of the parse of a
// 10,000-rule file. This one implements the same lexer rules (Policy.g4 is
// still their definition, and tests/unit/lexer_test.cpp compares the two
// lexers token by token) and makes the same tokens: type, channel, line,
// column and start and stop in code points. Internal to the frontend library.
#pragma once

#include "antlr4-runtime.h"

#include <memory>
#include <string>
#include <string_view>

namespace polc::frontend {

// ANTLR's input stream (code points, as ANTLR counts positions) of a text
// that is UTF-8, decoded and encoded without std::wstring_convert. As
// ANTLR's own, it drops a byte order mark that starts the text.
class Utf8InputStream : public antlr4::ANTLRInputStream {
public:
  explicit Utf8InputStream(std::string_view text);

  std::string getText(const antlr4::misc::Interval& interval) override;
  std::u32string_view codePoints() const { return _data; }
};

// The lexer rules of Policy.g4: at each position the longest match of any
// rule; of rules matching as much, the one listed first. Whitespace is
// skipped and comments go to the hidden channel, as the grammar says.
class Lexer : public antlr4::TokenSource {
public:
  explicit Lexer(Utf8InputStream& input);

  std::unique_ptr<antlr4::Token> nextToken() override;
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() override { return column_; }
  antlr4::CharStream* getInputStream() override { return &input_; }
  std::string getSourceName() override { return input_.getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override {
    return antlr4::CommonTokenFactory::DEFAULT.get();
  }

private:
  struct Match {
    size_t type;
    size_t length;
  };
  Match match() const;
  void advance(size_t length);

  Utf8InputStream& input_;
  std::u32string_view text_;
  size_t position_ = 0;
  size_t line_ = 1;   // as ANTLR counts: from 1
  size_t column_ = 0; // in code points, from 0
};

} // namespace polc::frontend
