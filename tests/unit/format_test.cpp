#include "polc/frontend/formatter.h"
#include "polc/frontend/parser.h"
#include "polc/frontend/printer.h"
#include "polc/support/files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace polc {
namespace {

std::string format(const std::string& text) {
  Diagnostics diagnostics;
  auto formatted = frontend::formatText("test.pol", text, diagnostics);
  EXPECT_TRUE(formatted) << diagnostics.render();
  return formatted.value_or("");
}

// Everything the AST says, as text: formatting must not change it.
// `path` places the text, so that its includes resolve.
std::string meaning(const std::string& text, const std::string& path = "test.pol") {
  Diagnostics diagnostics;
  auto file = frontend::parseText(path, text, diagnostics);
  EXPECT_TRUE(file) << diagnostics.render();
  if (!file) return {};
  std::string out;
  for (const auto& let : file->lets)
    out += "let " + let.name + " = " + ast::toText(*let.selector) + "\n";
  for (const auto& d : file->defaults) out += ast::toText(d) + "\n";
  for (const auto& policy : file->policies) {
    out += (policy.audit ? "audit policy " : "policy ") + policy.name + ": " +
           ast::toText(*policy.select) + "\n";
    for (const auto& block : policy.blocks) {
      out += std::string(ast::toString(block.direction)) + "\n";
      for (const auto& rule : block.rules) out += "  " + ast::toText(rule) + "\n";
    }
  }
  return out;
}

std::vector<std::string> comments(const std::string& text) {
  std::vector<std::string> found;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto line = text.substr(start, end - start);
    auto hash = line.find_first_of("#");
    auto slashes = line.find("//");
    auto at = std::min(hash, slashes);
    if (at != std::string::npos) {
      auto comment = line.substr(at);
      comment.erase(comment.find_last_not_of(" \t\r") + 1);
      found.push_back(comment);
    }
    start = end + 1;
  }
  return found;
}

const char* kMessy = R"(# Header comment


// second header
let   frontend=app=="frontend"   # trailing on let
let web = app == "web"&&env in("prod" ,"staging")
policy "web"{select web  # who
ingress{allow from frontend on tcp/80,tcp/443
  # own-line inside a block


  allow from cidr 10.0.0.0/8 except 10.1.0.0/16 on tcp/8000-8999 // trailing
}
egress{ }
    egress {
      allow to service "db"
      allow to !has(debug) && (tier != "x" ||
        # why this tier
        tier == "y") on icmp type 8
      # a commented-out rule
    }


}
default deny ingress ,egress for has( isolated )
include "other.pol"   # trailing include
# footer
)";

const char* kMessyFormatted = R"(# Header comment

// second header
let frontend = app == "frontend" # trailing on let
let web = app == "web" && env in ("prod", "staging")
policy "web" {
  select web # who
  ingress {
    allow from frontend on tcp/80, tcp/443
    # own-line inside a block

    allow from cidr 10.0.0.0/8 except 10.1.0.0/16 on tcp/8000-8999 // trailing
  }
  egress {}
  egress {
    allow to service "db"
    allow to !has(debug) && (tier != "x" ||
        # why this tier
        tier == "y") on icmp type 8
    # a commented-out rule
  }
}
default deny ingress, egress for has(isolated)
include "other.pol" # trailing include
# footer
)";

TEST(Format, CanonicalLayout) {
  EXPECT_EQ(format(kMessy), kMessyFormatted);
}

TEST(Format, IsIdempotent) {
  auto once = format(kMessy);
  EXPECT_EQ(format(once), once);
}

TEST(Format, KeepsEveryComment) {
  EXPECT_EQ(comments(format(kMessy)), comments(kMessy));
}

TEST(Format, ExpandsOneLinePolicies) {
  EXPECT_EQ(format(R"(policy "p" { select any ingress { allow from any deny from a == "b" } })"),
            "policy \"p\" {\n  select any\n  ingress {\n    allow from any\n"
            "    deny from a == \"b\"\n  }\n}\n");
}

TEST(Format, AuditPolicies) {
  auto text = "audit   policy \"a\"{select any}\n"
              "# why b is only audited\n"
              "audit # until the rollout\n"
              "  policy \"b\" { select any ingress { allow from any } }\n";
  auto once = format(text);
  EXPECT_EQ(once, "audit policy \"a\" {\n  select any\n}\n"
                  "# why b is only audited\n"
                  "audit # until the rollout\n"
                  "    policy \"b\" {\n  select any\n  ingress {\n    allow from any\n  }\n}\n");
  EXPECT_EQ(format(once), once);
  EXPECT_EQ(comments(once), comments(text));
  EXPECT_EQ(meaning(once), meaning(text));
}

TEST(Format, EmptyAndCommentOnlyFiles) {
  EXPECT_EQ(format(""), "");
  EXPECT_EQ(format("\n\n"), "");
  EXPECT_EQ(format("# just this   \n\n\n# and this"), "# just this\n\n# and this\n");
}

TEST(Format, TrailingCommentInsideASelectorBreaksTheLine) {
  auto text = "let a = x == \"1\" && # first\n y == \"2\"\n";
  auto once = format(text);
  EXPECT_EQ(once, "let a = x == \"1\" && # first\n    y == \"2\"\n");
  EXPECT_EQ(format(once), once);
}

TEST(Format, RefusesTextWithSyntaxErrors) {
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::formatText("bad.pol", "policy \"p\" { select = }", diagnostics));
  EXPECT_TRUE(diagnostics.hasErrors());
  EXPECT_EQ(diagnostics.all().at(0).location.file, "bad.pol");
}

TEST(Format, FormatsDespiteSemanticErrors) {
  // A port out of range is the checker's business, not fmt's.
  EXPECT_EQ(format("policy \"p\" { select any ingress { allow from any on tcp/0 } }"),
            "policy \"p\" {\n  select any\n  ingress {\n    allow from any on tcp/0\n  }\n}\n");
}

// Inputs for the property tests: every example and a few odd layouts.
std::vector<std::pair<std::string, std::string>> corpus() {
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"messy", kMessy},
      {"crlf", "policy \"p\" {\r\n  select any # c\r\n\r\n\r\n  ingress {}\r\n}\r\n"},
      {"no-final-newline", "let a = any"},
      {"comment-before-brace", "policy \"p\" # name\n{ select any }\n"},
      {"comments-everywhere",
       "# a\npolicy # b\n\"p\" # c\n{ # d\nselect # e\nany # f\ningress # g\n{ # h\nallow # i\n"
       "from # j\nany # k\non # l\ntcp/80 # m\n, # n\nudp # o\n} # p\n} # q\n"},
      {"unicode", "# ünïcödé — comment\nlet a = k == \"välue\" # ✓\n\n\n\nlet b = any\n"},
      {"audit", "audit policy \"a\" { select audit == \"x\" }\n\n\naudit\npolicy \"b\" # b\n"
                "{ select has(audit) }\n"},
  };
  for (const auto& entry :
       std::filesystem::directory_iterator(POLC_SOURCE_DIR "/examples/policies")) {
    if (entry.path().extension() != ".pol") continue;
    auto text = readFile(entry.path());
    if (text) inputs.emplace_back(entry.path().string(), *text);
  }
  return inputs;
}

TEST(Format, PropertiesOnTheCorpus) {
  for (const auto& [name, text] : corpus()) {
    SCOPED_TRACE(name);
    auto once = format(text);
    EXPECT_EQ(format(once), once) << once;
    EXPECT_EQ(comments(once), comments(text));
    if (name != "messy") { // messy includes a file that does not exist
      auto path = name.ends_with(".pol") ? name : std::string("test.pol");
      EXPECT_EQ(meaning(once, path), meaning(text, path));
    }
    EXPECT_EQ(once.find('\r'), std::string::npos);
    EXPECT_EQ(once.find(" \n"), std::string::npos) << "trailing space";
    EXPECT_EQ(once.find("\n\n\n"), std::string::npos) << "two blank lines";
  }
}

TEST(Format, TheShopExampleIsAlreadyCanonical) {
  auto text = readFile(POLC_SOURCE_DIR "/examples/policies/shop.pol");
  ASSERT_TRUE(text);
  EXPECT_EQ(format(*text), *text);
}

// Valid policies with comments and odd spacing sprinkled between tokens:
// formatting keeps the meaning and every comment, and is idempotent.
TEST(Format, RandomLayoutsOfValidPolicies) {
  const std::vector<std::string> tokens = {
      "let",        "a",      "=",           "has",     "(",      "k8s.io/x", ")",      "policy",
      "\"p\"",      "{",      "select",      "!",       "a",      "||",       "env",    "in",
      "(",          "\"x\"",  ",",           "\"y\"",   ")",      "&&",       "(",      "b",
      "!=",         "\"z\"",  ")",           "ingress", "{",      "allow",    "from",   "cidr",
      "10.0.0.0/8", "except", "10.1.0.0/16", "on",      "tcp/80", ",",        "icmp",   "type",
      "3",          "code",   "1",           "deny",    "from",   "entity",   "world",  "}",
      "egress",     "{",      "}",           "egress",  "{",      "allow",    "to",     "service",
      "\"db\"",     "allow",  "to",          "any",     "on",     "udp",      "}",      "}",
      "default",    "deny",   "ingress",     ",",       "egress", "for",      "a",      "audit",
      "policy",     "\"q\"",  "{",           "select",  "audit",  "==",       "\"on\"", "}"};
  const std::vector<std::string> separators = {" ",  "  ",     "\n",       "\n\n\n",
                                               "\t", " # c\n", "\n// d\n", "\n\n# e\n\n"};
  std::mt19937 random(1234);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (const auto& token : tokens) text += token + separators[random() % separators.size()];
    SCOPED_TRACE(text);
    auto once = format(text);
    EXPECT_EQ(format(once), once);
    EXPECT_EQ(meaning(once), meaning(text));
    EXPECT_EQ(comments(once), comments(text));
  }
}

// Random fragments: whatever the parser and formatter make of them, they
// return (no crash, no hang), and fmt output still parses the same way.
TEST(Format, RandomFragmentsNeverCrash) {
  const std::vector<std::string> fragments = {
      "policy",    "\"p\"",  "{",      "}",         "(",       ")",       "select",
      "ingress",   "egress", "allow",  "deny",      "from",    "to",      "on",
      "tcp/80",    "tcp/",   "udp",    "icmp type", "300",     "cidr",    "10.0.0.1/8",
      "fd00::/64", "except", "entity", "wrld",      "service", "group",   "\"",
      "&&",        "||",     "!",      "==",        "=",       "in",      "notin",
      ",",         "has",    "any",    "let",       "x",       "include", "default",
      "for",       "#",      "\n",     "$",         "\"\\q\"", "k.io/a",  "audit"};
  std::mt19937 random(99);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    auto length = random() % 40;
    for (size_t i = 0; i < length; ++i) text += fragments[random() % fragments.size()] + " ";
    Diagnostics diagnostics;
    frontend::parseText("fuzz.pol", text, diagnostics);
    Diagnostics formatDiagnostics;
    auto formatted = frontend::formatText("fuzz.pol", text, formatDiagnostics);
    if (formatted) {
      Diagnostics again;
      EXPECT_EQ(frontend::formatText("fuzz.pol", *formatted, again), formatted) << text;
    }
    diagnostics.render();
  }
}

TEST(Format, UnifiedDiff) {
  EXPECT_EQ(frontend::unifiedDiff("a.pol", "x\n", "x\n"), "");
  auto diff =
      frontend::unifiedDiff("a.pol", "1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\nfour\n5\n6\n7\n8\n");
  EXPECT_EQ(diff, "--- a.pol\n+++ a.pol (formatted)\n@@ -2,5 +2,5 @@\n 2\n 3\n-4\n+four\n 5\n 6\n");
}

} // namespace
} // namespace polc
