// frontend::lex against the lexer ANTLR generates from Policy.g4: the
// same tokens (type, channel, text, line, column, start and stop) for every
// policy of the repository, for the edge cases of each lexer rule, and for
// many random texts over the characters the rules care about.
#include "PolicyLexer.h"
#include "lexer.h"

#include "policy_files.h"

#include "polc/support/utf8.h"

#include <gtest/gtest.h>

#include <random>

namespace polc {
namespace {

std::string describe(const antlr4::Token& token) {
  return std::to_string(token.getType()) + "/" + std::to_string(token.getChannel()) + " '" +
         token.getText() + "' " + std::to_string(token.getLine()) + ":" +
         std::to_string(token.getCharPositionInLine()) + " [" +
         std::to_string(token.getStartIndex()) + "," + std::to_string(token.getStopIndex()) + "]";
}

// Every token up to and including EOF, one line each.
template <typename Source> std::vector<std::string> tokensOf(Source& source) {
  std::vector<std::string> tokens;
  while (true) {
    auto token = source.nextToken();
    tokens.push_back(describe(*token));
    if (token->getType() == antlr4::Token::EOF) return tokens;
  }
}

void expectSameTokens(const std::string& text, const std::string& what) {
  antlr4::ANTLRInputStream antlrInput(text);
  grammar::PolicyLexer antlrLexer(&antlrInput);
  antlrLexer.removeErrorListeners();
  auto expected = tokensOf(antlrLexer);
  frontend::Utf8InputStream input(text);
  auto lexed = frontend::lex(input);
  std::vector<std::string> tokens;
  for (auto& token : lexed) tokens.push_back(describe(token));
  EXPECT_EQ(tokens, expected) << what;
  // And as ANTLR's objects, for its parser.
  frontend::TokenReplay replay(input, lexed);
  EXPECT_EQ(tokensOf(replay), expected) << what;
}

TEST(Lexer, SameTokensAsAntlrForEveryPolicyOfTheRepository) {
  for (const auto& [path, text] : testing::repositoryPolicies())
    if (isUtf8(text)) expectSameTokens(text, path); // else refused before lexing
}

TEST(Lexer, SameTokensAsAntlrAtTheEdgesOfEachRule) {
  for (const char* text : {
           "",
           " ",
           "\n\n",
           "\xef\xbb\xbfpolicy", // a byte order mark is dropped
           "a\xef\xbb\xbf b",    // elsewhere it is a character
           "allow allowed in int icmp icmpv6 icmpv7 notin notinx",
           "audit audited audit.log audit/x auditpolicy audit policy _audit",
           "tcp tcp/ tcp/80 tcp/8000-8999 tcp/http tcp/80.5 tcp/-x udp/ sctp/1 icmp/8 tcp//80",
           "10 10.0 10. 10.0.0.0/8 10.0.0.0/ 10/8 10/ 1.2.3.4.5/99x 1..2",
           "fd00::/64 ::1 ::ffff:1.2.3.4 : :/ a: abc:def deadbeef fd00:: x:y 12ab:/7",
           "app.kubernetes.io/name a/b a//b a/ a/-b _x x- x. 9x",
           "\"\" \"a\" \"a\\\"b\" \"a\\\\\" \"a\\nb\" \"unterminated\n\"a\\\n\"a\\",
           "\"caf\xc3\xa9\" caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e",
           "# comment\n// comment\r\n#\n//\n/ /x a#b a//b",
           "! != == = && || & | ( ) { } , ;",
           "\t\r \r\n x\ry\n\n z",
           "policy \"p\" {\n  select app == \"web\"\n  ingress { allow from cidr 10.0.0.0/8 "
           "except 10.1.0.0/16 on tcp/80, icmp type 8 code 0 }\n}",
       })
    expectSameTokens(text, text);
}

TEST(Lexer, SameTokensAsAntlrForRandomTexts) {
  // Pieces of every rule, glued at random: most texts are nonsense, which
  // is where the rules meet.
  const std::vector<std::string> pieces = {
      "a",    "f",  "x",   "Z",   "_",    "-",    ".",  "/",  ":",     "0",
      "9",    "12", "tcp", "udp", "sctp", "icmp", "v6", "in", "notin", "any",
      "cidr", "\"", "\\",  "#",   "!",    "=",    "&",  "|",  "(",     ")",
      "{",    "}",  ",",   " ",   "\t",   "\n",   "\r", "é",  "✓",     "\xf0\x9d\x84\x9e",
      "audit"};
  std::mt19937 random(17);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    auto length = random() % 24;
    for (size_t k = 0; k < length; ++k) text += pieces[random() % pieces.size()];
    expectSameTokens(text, text);
  }
}

TEST(Lexer, InputTextIsAntlrsForEveryInterval) {
  std::string text = "\xef\xbb\xbf"
                     "a\xc3\xa9\n\xe2\x9c\x93z";
  antlr4::ANTLRInputStream antlrInput(text);
  frontend::Utf8InputStream input(text);
  ASSERT_EQ(input.size(), antlrInput.size());
  for (ssize_t a = -1; a <= 6; ++a)
    for (ssize_t b = -1; b <= 6; ++b)
      EXPECT_EQ(input.getText({a, b}), antlrInput.getText({a, b})) << a << "," << b;
}

} // namespace
} // namespace polc
