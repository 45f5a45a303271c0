#include "polc/frontend/parser.h"
#include "polc/frontend/printer.h"

#include <gtest/gtest.h>

#include <netinet/in.h>

namespace polc {
namespace {

std::optional<ast::File> parse(const std::string& text, Diagnostics& diagnostics) {
  return frontend::parseText("test.pol", text, diagnostics);
}

TEST(Frontend, ParsesTheExample) {
  Diagnostics diagnostics;
  auto file = frontend::parseFile(POLC_SOURCE_DIR "/examples/policies/shop.pol", diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  ASSERT_EQ(file->policies.size(), 2u);
  const auto& web = file->policies[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(ast::toText(*web.select), R"(app == "web" && env in ("prod", "staging"))");
  ASSERT_EQ(web.blocks.size(), 2u);
  const auto& rule = web.blocks[0].rules.at(0);
  EXPECT_EQ(ast::toText(rule), R"(allow from app == "frontend" on tcp/80, udp/9000)");
  EXPECT_EQ(rule.location.line, 9);
  EXPECT_EQ(rule.location.column, 5);
}

TEST(Frontend, SelectorOperatorsAndPrecedence) {
  Diagnostics diagnostics;
  auto file = parse(R"(
    let frontend = app == "frontend"
    policy "p" {
      select !has(debug) && (tier != "x" || app.kubernetes.io/name notin ("a", "b")) || any
      egress { deny to frontend on tcp/8000-8999, sctp/9 }
    })",
                    diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  EXPECT_EQ(ast::toText(*file->policies[0].select),
            R"(!has(debug) && (tier != "x" || app.kubernetes.io/name notin ("a", "b")) || any)");
  const auto& rule = file->policies[0].blocks[0].rules[0];
  EXPECT_EQ(rule.verdict, ast::Verdict::Deny);
  EXPECT_EQ(rule.peer->kind, ast::Selector::Kind::LetReference);
  ASSERT_EQ(rule.ports.size(), 2u);
  EXPECT_EQ(rule.ports[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(rule.ports[0].first, 8000);
  EXPECT_EQ(rule.ports[0].last, 8999);
  EXPECT_EQ(rule.ports[1].protocol, IPPROTO_SCTP);
}

TEST(Frontend, ReportsEverySyntaxErrorWithItsPosition) {
  Diagnostics diagnostics;
  auto file = parse("policy \"p\" {\n  select app = \"x\"\n}\npolicy q {}\n", diagnostics);
  EXPECT_FALSE(file);
  ASSERT_GE(diagnostics.errorCount(), 2u);
  EXPECT_EQ(diagnostics.all()[0].location.str(), "test.pol:2:14");
  EXPECT_EQ(diagnostics.all()[0].name, "syntax");
  auto text = diagnostics.render();
  EXPECT_NE(text.find("  select app = \"x\""), std::string::npos) << text;
  EXPECT_NE(text.find("^"), std::string::npos) << text;
}

TEST(Frontend, RejectsBadPorts) {
  Diagnostics diagnostics;
  auto file = parse(
      R"(policy "p" { select any ingress { allow from any on tcp/0, udp/70000, tcp/90-80 } })",
      diagnostics);
  EXPECT_FALSE(file);
  ASSERT_EQ(diagnostics.errorCount(), 3u) << diagnostics.render();
  for (const auto& d : diagnostics.all()) EXPECT_EQ(d.name, "port-range");
  EXPECT_EQ(diagnostics.all()[2].hints.at(0), "write tcp/80-90");
}

TEST(Frontend, RejectsPeerWordOfTheOtherDirection) {
  Diagnostics diagnostics;
  auto file = parse(R"(policy "p" { select any ingress { allow to any } })", diagnostics);
  EXPECT_FALSE(file);
  ASSERT_EQ(diagnostics.errorCount(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "peer-direction");
}

TEST(Frontend, MissingFileIsAnError) {
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile("/nonexistent/x.pol", diagnostics));
  EXPECT_EQ(diagnostics.all().at(0).name, "io");
}

TEST(Frontend, PrinterOutputParsesBackToTheSameText) {
  Diagnostics diagnostics;
  auto file = parse(R"(policy "p" { select !(a == "1" || b in ("2")) && c != "3"
                        ingress { allow from (a == "1" || b == "2") && !has(c) on udp/53 } })",
                    diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  const auto& rule = file->policies[0].blocks[0].rules[0];
  auto text = R"(policy "q" { select )" + ast::toText(*file->policies[0].select) + " ingress { " +
              ast::toText(rule) + " } }";
  auto again = parse(text, diagnostics);
  ASSERT_TRUE(again) << diagnostics.render();
  EXPECT_EQ(ast::toText(*again->policies[0].select), ast::toText(*file->policies[0].select));
  EXPECT_EQ(ast::toText(again->policies[0].blocks[0].rules[0]), ast::toText(rule));
}

} // namespace
} // namespace polc
