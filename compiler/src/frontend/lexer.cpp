#include "lexer.h"

#include "PolicyLexer.h"

#include "polc/support/internal_error.h"
#include "polc/support/utf8.h"

#include <algorithm>
#include <array>
#include <vector>

namespace polc::frontend {

using grammar::PolicyLexer;

Utf8InputStream::Utf8InputStream(std::string_view text) {
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);
  _data = decodeUtf8(text);
}

// As ANTLRInputStream::getText: the code points from a to b (both included,
// b cut to the end), nothing for an interval that starts outside the text.
std::string Utf8InputStream::getText(const antlr4::misc::Interval& interval) {
  if (interval.a < 0 || interval.b < 0) return "";
  auto start = size_t(interval.a);
  if (start >= _data.size()) return "";
  auto stop = std::min(size_t(interval.b), _data.size() - 1);
  return encodeUtf8(std::u32string_view(_data).substr(start, stop - start + 1));
}

namespace {

// ---- character classes of the lexer rules ----

bool isDigit(char32_t c) {
  return c >= '0' && c <= '9';
}
bool isLetter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isHex(char32_t c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// [a-zA-Z0-9_.\-]
bool isIdentChar(char32_t c) {
  return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-';
}

// The rules below say how many characters of `text` from `at` they match
// at the most (0: none). `text` is a view, so text[n] past its end is read
// through at().
struct Text {
  std::u32string_view chars;
  // The character at n, or 0 past the end (no rule matches a 0 where it
  // matters: 0 is in no class that continues a token).
  char32_t at(size_t n) const { return n < chars.size() ? chars[n] : 0; }
  bool startsWith(size_t n, std::u32string_view word) const {
    return chars.substr(std::min(n, chars.size())).starts_with(word);
  }
  size_t skip(size_t n, bool (*in)(char32_t)) const {
    while (n < chars.size() && in(chars[n])) ++n;
    return n;
  }
};

// ('/' [0-9]*)? after n.
size_t optionalSlashDigits(const Text& text, size_t n) {
  return text.at(n) == '/' ? text.skip(n + 1, isDigit) : n;
}

// PORT_SPEC : ('tcp' | 'udp' | 'sctp') '/' [a-zA-Z0-9\-]* ;
size_t portSpec(const Text& text, size_t at) {
  for (std::u32string_view protocol : {U"tcp/", U"udp/", U"sctp/"}) {
    if (!text.startsWith(at, protocol)) continue;
    auto end = text.skip(at + protocol.size(),
                         [](char32_t c) { return isLetter(c) || isDigit(c) || c == '-'; });
    return end - at;
  }
  return 0;
}

// CIDR_PREFIX
//   : [0-9]+ ('.' [0-9]+)+ ('/' [0-9]*)?
//   | [0-9]+ '/' [0-9]*
//   | [0-9a-fA-F]* ':' [0-9a-fA-F:.]* ('/' [0-9]*)?
//   ;
size_t cidrPrefix(const Text& text, size_t at) {
  size_t longest = 0;
  auto digits = text.skip(at, isDigit);
  if (digits > at) {
    auto end = digits;
    while (text.at(end) == '.' && isDigit(text.at(end + 1))) end = text.skip(end + 1, isDigit);
    if (end > digits) longest = std::max(longest, optionalSlashDigits(text, end) - at);
    if (text.at(digits) == '/') longest = std::max(longest, text.skip(digits + 1, isDigit) - at);
  }
  // The hex digits before ':' are as many as there are: ':' cannot follow fewer.
  auto hex = text.skip(at, isHex);
  if (text.at(hex) == ':') {
    auto end = text.skip(hex + 1, [](char32_t c) { return isHex(c) || c == ':' || c == '.'; });
    longest = std::max(longest, optionalSlashDigits(text, end) - at);
  }
  return longest;
}

// INT : [0-9]+ ;
size_t integer(const Text& text, size_t at) {
  return text.skip(at, isDigit) - at;
}

// IDENT : [a-zA-Z_] ([a-zA-Z0-9_.\-] | '/' [a-zA-Z0-9_.\-])* ;
size_t identifier(const Text& text, size_t at) {
  auto first = text.at(at);
  if (!isLetter(first) && first != '_') return 0;
  auto end = at + 1;
  while (true) {
    if (isIdentChar(text.at(end)))
      ++end;
    else if (text.at(end) == '/' && isIdentChar(text.at(end + 1)))
      end += 2;
    else
      return end - at;
  }
}

// STRING              : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
// UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;
// The same body: `closed` says whether the closing '"' is wanted.
size_t string(const Text& text, size_t at, bool closed) {
  if (text.at(at) != '"') return 0;
  auto lineEnd = [](char32_t c) { return c == '\r' || c == '\n'; };
  auto end = at + 1;
  while (end < text.chars.size()) {
    auto c = text.chars[end];
    if (c == '"') return closed ? end + 1 - at : end - at;
    if (lineEnd(c)) break;
    if (c == '\\') {
      if (end + 1 >= text.chars.size() || lineEnd(text.chars[end + 1])) break;
      end += 2;
      continue;
    }
    ++end;
  }
  return closed ? 0 : end - at;
}

// COMMENT : ('#' | '//') ~[\r\n]* -> channel(HIDDEN) ;
size_t comment(const Text& text, size_t at) {
  size_t opener = text.at(at) == '#' ? 1 : text.startsWith(at, U"//") ? 2 : 0;
  if (opener == 0) return 0;
  return text.skip(at + opener, [](char32_t c) { return c != '\r' && c != '\n'; }) - at;
}

// WS : [ \t\r\n]+ -> skip ;
size_t whitespace(const Text& text, size_t at) {
  return text.skip(at, [](char32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }) -
         at;
}

// The rules written as one literal ('include', '&&', ...), from the
// grammar's vocabulary, by their first character.
class Literals {
public:
  Literals() {
    // The vocabulary is static data of the generated lexer; an instance on
    // an empty input is the way to it.
    antlr4::ANTLRInputStream empty;
    PolicyLexer reference(&empty);
    const auto& vocabulary = reference.getVocabulary();
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
      auto literal = vocabulary.getLiteralName(type);
      if (literal.empty()) {
        if (!implemented(type))
          internalError("lexer.cpp has no rule for token " + vocabulary.getSymbolicName(type) +
                        " of Policy.g4");
        continue;
      }
      // 'word': ASCII without escapes in this grammar.
      if (literal.size() < 3 || literal.find('\\') != std::string::npos ||
          !std::all_of(literal.begin(), literal.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        internalError("lexer.cpp cannot read the literal " + literal + " of Policy.g4");
      std::u32string word(literal.begin() + 1, literal.end() - 1);
      byFirst_[size_t(word[0])].push_back({type, std::move(word)});
    }
  }

  // Every literal that matches at `at`.
  template <typename F> void forEachMatch(const Text& text, size_t at, F&& f) const {
    auto first = text.at(at);
    if (first >= byFirst_.size()) return;
    for (const auto& [type, word] : byFirst_[size_t(first)])
      if (text.startsWith(at, word)) f(type, word.size());
  }

private:
  // The token types without a literal that Lexer::match implements.
  static bool implemented(size_t type) {
    switch (type) {
    case PolicyLexer::PORT_SPEC:
    case PolicyLexer::CIDR_PREFIX:
    case PolicyLexer::INT:
    case PolicyLexer::IDENT:
    case PolicyLexer::STRING:
    case PolicyLexer::UNTERMINATED_STRING:
    case PolicyLexer::COMMENT:
    case PolicyLexer::WS:
    case PolicyLexer::BAD_CHAR:
      return true;
    default:
      return false;
    }
  }

  struct Literal {
    size_t type;
    std::u32string word;
  };
  std::array<std::vector<Literal>, 128> byFirst_;
};

const Literals& literals() {
  static const Literals table;
  return table;
}

class Lexer {
public:
  explicit Lexer(std::u32string_view text) : text_(text) {}

  // The next token's type and length, at the position reached.
  struct Match {
    size_t type;
    size_t length;
  };
  Match match() const;
  // Moves past `length` characters, counting lines and columns as ANTLR's
  // lexer does: '\n' starts a line, every other code point is one column.
  void advance(size_t length);

  bool atEnd() const { return position_ >= text_.size(); }
  size_t position() const { return position_; }
  size_t line() const { return line_; }
  size_t column() const { return column_; }

private:
  std::u32string_view text_;
  size_t position_ = 0;
  size_t line_ = 1;   // as ANTLR counts: from 1
  size_t column_ = 0; // in code points, from 0
};

// ANTLR numbers token types in the order of the lexer rules, so "listed
// first" is "the smaller type".
Lexer::Match Lexer::match() const {
  Text text{text_};
  auto at = position_;
  Match best{PolicyLexer::BAD_CHAR, 1}; // BAD_CHAR : . ;
  auto consider = [&](size_t type, size_t length) {
    if (length > best.length || (length == best.length && length > 0 && type < best.type))
      best = {type, length};
  };
  literals().forEachMatch(text, at, consider);
  consider(PolicyLexer::PORT_SPEC, portSpec(text, at));
  consider(PolicyLexer::CIDR_PREFIX, cidrPrefix(text, at));
  consider(PolicyLexer::INT, integer(text, at));
  consider(PolicyLexer::IDENT, identifier(text, at));
  consider(PolicyLexer::STRING, string(text, at, true));
  consider(PolicyLexer::UNTERMINATED_STRING, string(text, at, false));
  consider(PolicyLexer::COMMENT, comment(text, at));
  consider(PolicyLexer::WS, whitespace(text, at));
  return best;
}

void Lexer::advance(size_t length) {
  for (auto end = position_ + length; position_ < end; ++position_) {
    if (text_[position_] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
}

} // namespace

std::string LexedToken::getText() const {
  if (type_ == kEof) return "<EOF>";
  return input_->getText(antlr4::misc::Interval(start_, stop_));
}

std::vector<LexedToken> lex(Utf8InputStream& input) {
  std::vector<LexedToken> tokens;
  // About one token in eight characters in a policy: room for most files,
  // so that the vector is rarely moved as it grows.
  tokens.reserve(input.codePoints().size() / 8 + 16);
  Lexer lexer(input.codePoints());
  while (!lexer.atEnd()) {
    auto [type, length] = lexer.match();
    auto start = lexer.position();
    auto line = lexer.line();
    auto column = lexer.column();
    lexer.advance(length);
    if (type == PolicyLexer::WS) continue;
    auto channel = type == PolicyLexer::COMMENT ? antlr4::Token::HIDDEN_CHANNEL
                                                : antlr4::Token::DEFAULT_CHANNEL;
    tokens.emplace_back(input, type, channel, start, lexer.position() - 1, line, column,
                        tokens.size());
  }
  // As ANTLR's emitEOF: empty, from here to just before here.
  tokens.emplace_back(input, antlr4::Token::EOF, antlr4::Token::DEFAULT_CHANNEL, lexer.position(),
                      lexer.position() - 1, lexer.line(), lexer.column(), tokens.size());
  return tokens;
}

std::unique_ptr<antlr4::Token> TokenReplay::nextToken() {
  const auto& token = tokens_[std::min(next_, tokens_.size() - 1)]; // EOF again at the end
  next_ = std::min(next_ + 1, tokens_.size());
  return getTokenFactory()->create({this, &input_}, token.getType(), "", token.getChannel(),
                                   token.getStartIndex(), token.getStopIndex(), token.getLine(),
                                   token.getCharPositionInLine());
}

size_t TokenReplay::getLine() const {
  return tokens_[std::min(next_, tokens_.size() - 1)].getLine();
}

size_t TokenReplay::getCharPositionInLine() {
  return tokens_[std::min(next_, tokens_.size() - 1)].getCharPositionInLine();
}

} // namespace polc::frontend
