// The direct parser against ANTLR's parser (compare_parsers.h) on every
// policy of the repository, many random policies over the whole grammar
// (with the mistakes the AstBuilder reports), and the same with one token
// deleted, doubled, swapped or replaced.
#include "compare_parsers.h"
#include "policy_files.h"

#include <gtest/gtest.h>

#include <random>

namespace polc {
namespace {

// Whether the direct parser built the items (the comparison must agree).
bool expectSameParse(const std::string& text) {
  auto comparison = testing::compareParsers(text);
  EXPECT_EQ(comparison.mismatch, "") << text;
  return comparison.direct;
}

TEST(DirectParser, SameAsAntlrForEveryPolicyOfTheRepository) {
  int direct = 0;
  for (const auto& [path, text] : testing::repositoryPolicies()) direct += expectSameParse(text);
  EXPECT_GT(direct, 10); // most are free of syntax errors
}

// Random policies over the whole grammar, as tokens, with the mistakes
// that are the AstBuilder's to report (escapes, names, ports, prefixes,
// entities, the peer word) among the choices.
class Generator {
public:
  explicit Generator(unsigned seed) : random_(seed) {}

  std::vector<std::string> file() {
    tokens_.clear();
    for (auto items = pick(1, 4); items > 0; --items) item();
    return tokens_;
  }

private:
  size_t pick(size_t low, size_t high) { return low + random_() % (high - low + 1); }
  bool chance(unsigned percent) { return random_() % 100 < percent; }
  template <typename... T> void emit(T... words) { (tokens_.push_back(words), ...); }
  void oneOf(std::initializer_list<const char*> words) {
    emit(std::string(*(words.begin() + pick(0, words.size() - 1))));
  }

  void item() {
    switch (pick(0, 4)) {
    case 0:
      emit("include");
      oneOf({"\"other.pol\"", "\"\"", "\"a\\\\b.pol\""});
      break;
    case 1:
      emit("let");
      oneOf({"web", "web-2", "a.b", "x/y"});
      emit("=");
      selector(3);
      break;
    case 2:
      emit("default", "deny");
      direction();
      while (chance(30)) {
        emit(",");
        direction();
      }
      if (chance(50)) {
        emit("for");
        selector(3);
      }
      break;
    default:
      policy();
    }
  }

  void direction() { oneOf({"ingress", "egress"}); }

  void policy() {
    if (chance(30)) emit("audit");
    emit("policy");
    oneOf({"\"web\"", "\"\"", "\"a\\\"b\"", "\"bad\\x\""});
    emit("{", "select");
    selector(3);
    for (auto blocks = pick(0, 3); blocks > 0; --blocks) {
      bool ingress = chance(50);
      emit(ingress ? "ingress" : "egress", "{");
      for (auto rules = pick(0, 3); rules > 0; --rules) rule(ingress);
      emit("}");
    }
    emit("}");
  }

  void rule(bool ingress) {
    oneOf({"allow", "deny"});
    emit(chance(90) == ingress ? "from" : "to");
    peer();
    if (chance(60)) {
      emit("on");
      port();
      while (chance(30)) {
        emit(",");
        port();
      }
    }
  }

  void peer() {
    switch (pick(0, 5)) {
    case 0:
      oneOf({"service", "group"});
      oneOf({"\"db\"", "\"\"", "\"d\\\\b\""});
      break;
    case 1:
      emit("entity");
      oneOf({"world", "host", "cluster", "all", "any", "wrld", "nothing"});
      break;
    case 2:
      emit("cidr");
      prefixes();
      if (chance(40)) {
        emit("except");
        prefixes();
      }
      break;
    default:
      selector(3);
    }
  }

  void prefixes() {
    prefix();
    while (chance(30)) {
      emit(",");
      prefix();
    }
  }

  void prefix() {
    oneOf({"10.0.0.0/8", "10.1.0.0/16", "192.168.1.5", "10.0.0.0/33", "10/8", "fd00::/64",
           "fd00:1::/32", "::1", "1.2.3.4.5", "300.0.0.0/8", "0.0.0.0/0"});
  }

  void port() {
    oneOf({"tcp/80", "udp/53", "sctp/9", "tcp/8000-8999", "tcp/http", "tcp/0", "tcp/99999",
           "tcp/9-1", "tcp/Http", "tcp/", "tcp/-web", "tcp/a-very-long-port-name", "tcp/1x", "tcp",
           "udp", "sctp", "icmp", "icmpv6"});
    auto protocol = tokens_.back();
    if ((protocol == "icmp" || protocol == "icmpv6") && chance(60)) {
      emit("type");
      oneOf({"8", "0", "255", "256", "99999999999"});
      if (chance(50)) {
        emit("code");
        oneOf({"1", "300"});
      }
    }
  }

  void key() {
    oneOf({"app",     "env",     "app.kubernetes.io/name",
           "service", "group",   "entity",
           "cidr",    "except",  "type",
           "code",    "tcp",     "udp",
           "sctp",    "icmp",    "icmpv6",
           "default", "include", "policy",
           "for",     "audit"});
  }

  void value() { oneOf({"\"web\"", "\"\"", "\"a\\\"b\"", "\"bad\\n\"", "\"x\\\\y\""}); }

  void selector(int depth) {
    if (depth > 0 && chance(35)) {
      selector(depth - 1);
      oneOf({"&&", "||"});
      selector(depth - 1);
      return;
    }
    primary(depth);
  }

  void primary(int depth) {
    switch (depth > 0 ? pick(0, 8) : pick(2, 8)) {
    case 0:
      emit("!");
      primary(depth - 1);
      break;
    case 1:
      emit("(");
      selector(depth - 1);
      emit(")");
      break;
    case 2:
      emit("any");
      break;
    case 3:
      emit("has", "(");
      key();
      emit(")");
      break;
    case 4:
    case 5:
      key();
      oneOf({"==", "!="});
      value();
      break;
    case 6:
      key();
      oneOf({"in", "notin"});
      emit("(");
      value();
      while (chance(40)) {
        emit(",");
        value();
      }
      emit(")");
      break;
    default:
      oneOf({"web", "db", "let-name"});
    }
  }

  std::mt19937 random_;
  std::vector<std::string> tokens_;
};

std::string join(const std::vector<std::string>& tokens, std::mt19937& random) {
  std::string text;
  for (const auto& token : tokens) {
    switch (random() % 12) {
    case 0:
      text += "\n";
      break;
    case 1:
      text += " # a comment\n";
      break;
    case 2:
      text += " // another\n  ";
      break;
    default:
      text += " ";
    }
    text += token;
  }
  return text;
}

TEST(DirectParser, SameAsAntlrForRandomPolicies) {
  Generator generator(7);
  std::mt19937 random(11);
  int direct = 0;
  for (int i = 0; i < 1500; ++i) direct += expectSameParse(join(generator.file(), random));
  EXPECT_EQ(direct, 1500); // the generator writes only files of the grammar
}

TEST(DirectParser, SameAsAntlrForRandomPoliciesWithOneTokenWrong) {
  Generator generator(23);
  std::mt19937 random(5);
  const std::vector<std::string> strangers = {
      "alow",   "ingres",     "=",   "&",    "|",  "'web'", "\"open", "(",    ")",   "{",
      "}",      ",",          "on",  "from", "to", "in",    "select", "deny", "let", "policy",
      "tcp/80", "10.0.0.0/8", "any", "web",  "==", "!",     "type",   "8",    "#",   "audit"};
  int direct = 0;
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    auto tokens = generator.file();
    auto at = random() % tokens.size();
    switch (random() % 4) {
    case 0:
      tokens.erase(tokens.begin() + long(at));
      break;
    case 1: {
      auto doubled = tokens[at];
      tokens.insert(tokens.begin() + long(at), doubled);
      break;
    }
    case 2:
      if (at + 1 < tokens.size()) std::swap(tokens[at], tokens[at + 1]);
      break;
    default:
      tokens[at] = strangers[random() % strangers.size()];
    }
    bool built = expectSameParse(join(tokens, random));
    direct += built;
    refused += !built;
  }
  // Both kinds of outcome are exercised.
  EXPECT_GT(direct, 25);
  EXPECT_GT(refused, 1000);
}

TEST(DirectParser, GivesUpOnASelectorTooDeepAndAntlrReportsIt) {
  std::string chain = "a == \"b\"";
  for (int i = 0; i < 1001; ++i) chain += " && a == \"b\"";
  auto text = "policy \"p\" { select " + chain + " }";
  Diagnostics diagnostics;
  auto tree = frontend::lexSyntax("p.pol", text, diagnostics);
  EXPECT_FALSE(frontend::parseDirect(*tree, diagnostics));
  EXPECT_TRUE(diagnostics.all().empty());
  expectSameParse(text);
}

} // namespace
} // namespace polc
