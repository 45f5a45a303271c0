// The tokens of a .pol text, made by a lexer of our own rather than by the
// one ANTLR generates from Policy.g4. ANTLR's lexer simulates its ATN one
// character at a time through a DFA cache that takes a lock and a hash
// lookup per character; it was half of the parse of a 10,000-rule file.
// This one implements the same lexer rules (Policy.g4 is still their
// definition, and tests/unit/lexer_test.cpp compares the two lexers token by
// token) and makes the same tokens: type, channel, line, column and start
// and stop in code points; into a vector, where the direct parser reads
// them, and as ANTLR's objects when ANTLR's parser needs them. Internal to
// the frontend library.
#pragma once

#include "antlr4-runtime.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// One token, holding what ANTLR's CommonToken holds (its text is read from
// the input), in a vector rather than a heap block of its own: the direct
// parser reads these.
class LexedToken final : public antlr4::Token {
public:
  LexedToken(Utf8InputStream& input, size_t type, size_t channel, size_t start, size_t stop,
             size_t line, size_t column, size_t index)
      : input_(&input), type_(uint32_t(type)), channel_(uint32_t(channel)), start_(start),
        stop_(stop), line_(uint32_t(line)), column_(uint32_t(column)), index_(uint32_t(index)) {}

  // As CommonToken's: the text from start to stop, "<EOF>" for EOF.
  std::string getText() const override;
  size_t getType() const override { return type_ == kEof ? EOF : type_; }
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() const override { return column_; }
  size_t getChannel() const override { return channel_; }
  size_t getTokenIndex() const override { return index_; }
  size_t getStartIndex() const override { return start_; }
  size_t getStopIndex() const override { return stop_; }
  // Made by no token source: only the direct parser reads these.
  antlr4::TokenSource* getTokenSource() const override { return nullptr; }
  antlr4::CharStream* getInputStream() const override { return input_; }
  std::string toString() const override { return getText(); }

private:
  static constexpr uint32_t kEof = UINT32_MAX;
  Utf8InputStream* input_;
  uint32_t type_;
  uint32_t channel_;
  size_t start_;
  size_t stop_; // start - 1 for EOF, as ANTLR has it
  uint32_t line_;
  uint32_t column_;
  uint32_t index_;
};

// The tokens of the text of `input`, every channel, EOF last, by the lexer
// rules of Policy.g4: at each position the longest match of any rule; of
// rules matching as much, the one listed first. Whitespace is skipped and
// comments go to the hidden channel, as the grammar says.
std::vector<LexedToken> lex(Utf8InputStream& input);

// ANTLR's token source over lexed tokens: each as the CommonToken that
// ANTLR's lexer would have made, for ANTLR's parser.
class TokenReplay : public antlr4::TokenSource {
public:
  TokenReplay(Utf8InputStream& input, const std::vector<LexedToken>& tokens)
      : input_(input), tokens_(tokens) {}

  std::unique_ptr<antlr4::Token> nextToken() override;
  size_t getLine() const override;
  size_t getCharPositionInLine() override;
  antlr4::CharStream* getInputStream() override { return &input_; }
  std::string getSourceName() override { return input_.getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override {
    return antlr4::CommonTokenFactory::DEFAULT.get();
  }

private:
  Utf8InputStream& input_;
  const std::vector<LexedToken>& tokens_;
  size_t next_ = 0;
};

} // namespace polc::frontend
