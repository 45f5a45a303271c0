#include "polc/frontend/parser.h"
#include "polc/frontend/printer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/stat.h>

namespace polc {
namespace {

using Kind = ast::Selector::Kind;

std::optional<ast::File> parse(const std::string& text, Diagnostics& diagnostics) {
  return frontend::parseText("test.pol", text, diagnostics);
}

// Parses a file that must be valid, failing the test with the diagnostics otherwise.
ast::File parseOk(const std::string& text) {
  Diagnostics diagnostics;
  auto file = parse(text, diagnostics);
  EXPECT_TRUE(file) << diagnostics.render();
  EXPECT_EQ(diagnostics.all().size(), 0u) << diagnostics.render();
  return file ? *file : ast::File{};
}

// The selector of `select` in a one-policy file.
ast::SelectorPtr selectorOf(const std::string& selector) {
  auto file = parseOk("policy \"p\" { select " + selector + " }");
  if (file.policies.empty()) return std::make_shared<ast::Selector>();
  return file.policies[0].select;
}

// The only rule of an ingress (from) or egress (to) block.
ast::Rule ruleOf(const std::string& rule) {
  bool egress = rule.find(" to ") != std::string::npos;
  auto file = parseOk("policy \"p\" { select any " + std::string(egress ? "egress" : "ingress") +
                      " { " + rule + " } }");
  if (file.policies.empty() || file.policies[0].blocks.empty() ||
      file.policies[0].blocks[0].rules.empty())
    return {};
  return file.policies[0].blocks[0].rules[0];
}

// Diagnostics of a text that must fail to parse.
Diagnostics errorsOf(const std::string& text) {
  Diagnostics diagnostics;
  EXPECT_FALSE(parse(text, diagnostics)) << "parsed: " << text;
  EXPECT_GT(diagnostics.errorCount(), 0u);
  return diagnostics;
}

std::string names(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics.all()) out += (out.empty() ? "" : " ") + d.name;
  return out;
}

// ---- the example ----

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
  ASSERT_EQ(file->files.size(), 1u);
}

// ---- selectors ----

TEST(Frontend, SelectorEqualityWithSpans) {
  auto s = selectorOf(R"(app == "web")");
  EXPECT_EQ(s->kind, Kind::Equal);
  EXPECT_EQ(s->key, "app");
  EXPECT_EQ(s->values, std::vector<std::string>{"web"});
  // policy "p" { select app == "web" }
  //                     ^21    ^28
  EXPECT_EQ(s->location.column, 21);
  EXPECT_EQ(s->length, 12);
  EXPECT_EQ(s->keySpan.location.column, 21);
  EXPECT_EQ(s->keySpan.length, 3);
  ASSERT_EQ(s->valueSpans.size(), 1u);
  EXPECT_EQ(s->valueSpans[0].location.column, 28);
  EXPECT_EQ(s->valueSpans[0].length, 5);
}

TEST(Frontend, SelectorInequality) {
  auto s = selectorOf(R"(env != "dev")");
  EXPECT_EQ(s->kind, Kind::NotEqual);
  EXPECT_EQ(s->key, "env");
  EXPECT_EQ(s->values.at(0), "dev");
}

TEST(Frontend, SelectorSetsWithValueSpans) {
  auto in = selectorOf(R"(env in ("prod", "staging"))");
  EXPECT_EQ(in->kind, Kind::In);
  EXPECT_EQ(in->values, (std::vector<std::string>{"prod", "staging"}));
  ASSERT_EQ(in->valueSpans.size(), 2u);
  EXPECT_EQ(in->valueSpans[1].location.column, 37);
  EXPECT_EQ(in->valueSpans[1].length, 9);
  auto notIn = selectorOf(R"(env notin ("dev"))");
  EXPECT_EQ(notIn->kind, Kind::NotIn);
  EXPECT_EQ(notIn->values, std::vector<std::string>{"dev"});
}

TEST(Frontend, SelectorHasAndNotHas) {
  auto has = selectorOf("has(debug)");
  EXPECT_EQ(has->kind, Kind::Has);
  EXPECT_EQ(has->key, "debug");
  EXPECT_EQ(has->keySpan.location.column, 25);
  auto notHas = selectorOf("!has(debug)");
  EXPECT_EQ(notHas->kind, Kind::NotHas);
  EXPECT_EQ(notHas->key, "debug");
  EXPECT_TRUE(notHas->operands.empty());
  EXPECT_EQ(notHas->location.column, 21);
  EXPECT_EQ(ast::toText(*notHas), "!has(debug)");
  // Parentheses do not change what it means.
  EXPECT_EQ(selectorOf("!(has(debug))")->kind, Kind::NotHas);
}

TEST(Frontend, SelectorAnyNotAndLetReference) {
  EXPECT_EQ(selectorOf("any")->kind, Kind::Any);
  auto file = parseOk("let web = app == \"web\"\npolicy \"p\" { select !web }");
  ASSERT_EQ(file.lets.size(), 1u);
  EXPECT_EQ(file.lets[0].name, "web");
  EXPECT_EQ(file.lets[0].location.line, 1);
  EXPECT_EQ(file.lets[0].selector->kind, Kind::Equal);
  const auto& s = *file.policies.at(0).select;
  EXPECT_EQ(s.kind, Kind::Not);
  ASSERT_EQ(s.operands.size(), 1u);
  EXPECT_EQ(s.operands[0]->kind, Kind::LetReference);
  EXPECT_EQ(s.operands[0]->key, "web");
}

TEST(Frontend, SelectorPrecedenceNotAndOr) {
  // ! binds tighter than &&, which binds tighter than ||.
  auto s = selectorOf(R"(!has(a) && b == "1" || c == "2" && !d == "3")");
  ASSERT_EQ(s->kind, Kind::Or);
  const auto& left = *s->operands[0];
  const auto& right = *s->operands[1];
  ASSERT_EQ(left.kind, Kind::And);
  EXPECT_EQ(left.operands[0]->kind, Kind::NotHas);
  EXPECT_EQ(left.operands[1]->kind, Kind::Equal);
  ASSERT_EQ(right.kind, Kind::And);
  EXPECT_EQ(right.operands[1]->kind, Kind::Not);
  // Chains are left-associative.
  auto chain = selectorOf(R"(a == "1" && b == "2" && c == "3")");
  ASSERT_EQ(chain->kind, Kind::And);
  EXPECT_EQ(chain->operands[0]->kind, Kind::And);
  EXPECT_EQ(chain->operands[1]->key, "c");
  // Parentheses override.
  auto grouped = selectorOf(R"(a == "1" && (b == "2" || c == "3"))");
  ASSERT_EQ(grouped->kind, Kind::And);
  EXPECT_EQ(grouped->operands[1]->kind, Kind::Or);
}

TEST(Frontend, KubernetesLabelKeys) {
  auto s = selectorOf(R"(app.kubernetes.io/name == "web" && has(k8s.io/some-key_1))");
  EXPECT_EQ(s->operands[0]->key, "app.kubernetes.io/name");
  EXPECT_EQ(s->operands[0]->keySpan.length, 22);
  EXPECT_EQ(s->operands[1]->key, "k8s.io/some-key_1");
}

TEST(Frontend, KeywordsThatAreLabelKeys) {
  auto s = selectorOf(
      R"(service == "a" && group != "b" && type in ("c") && has(code) && tcp == "d" && entity == "e" && cidr == "f" && policy == "g" && audit != "h" && has(audit))");
  EXPECT_EQ(
      ast::toText(*s),
      R"(service == "a" && group != "b" && type in ("c") && has(code) && tcp == "d" && entity == "e" && cidr == "f" && policy == "g" && audit != "h" && has(audit))");
  // A keyword key in a peer, next to the keyword's own use.
  auto rule = ruleOf(R"(allow from service == "db" on tcp/5432)");
  EXPECT_EQ(rule.peer.kind, ast::Peer::Kind::Selector);
  EXPECT_EQ(rule.peer.selector->key, "service");
}

TEST(Frontend, StringEscapes) {
  auto s = selectorOf(R"(note == "say \"hi\" \\ bye")");
  EXPECT_EQ(s->values.at(0), R"(say "hi" \ bye)");
  EXPECT_EQ(ast::toText(*s), R"(note == "say \"hi\" \\ bye")");
  auto diagnostics = errorsOf(R"(policy "p" { select a == "x\n" })");
  EXPECT_EQ(diagnostics.all().at(0).name, "bad-escape");
}

// ---- ports ----

TEST(Frontend, PortsNumbersRangesAndWholeProtocols) {
  auto rule = ruleOf("allow from any on tcp/80, udp/53, sctp/9, tcp/8000-8999, tcp, udp, sctp");
  ASSERT_EQ(rule.ports.size(), 7u);
  EXPECT_EQ(rule.ports[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(rule.ports[0].first, 80);
  EXPECT_EQ(rule.ports[0].last, 80);
  EXPECT_EQ(rule.ports[1].protocol, IPPROTO_UDP);
  EXPECT_EQ(rule.ports[2].protocol, IPPROTO_SCTP);
  EXPECT_EQ(rule.ports[2].first, 9);
  EXPECT_EQ(rule.ports[3].first, 8000);
  EXPECT_EQ(rule.ports[3].last, 8999);
  for (size_t i = 4; i < 7; ++i) {
    EXPECT_EQ(rule.ports[i].first, 0);
    EXPECT_EQ(rule.ports[i].last, 65535);
  }
  EXPECT_EQ(rule.ports[5].protocol, IPPROTO_UDP);
  EXPECT_EQ(ast::toText(rule), "allow from any on tcp/80, udp/53, sctp/9, tcp/8000-8999, tcp, "
                               "udp, sctp");
  // Spans of each port.
  EXPECT_EQ(rule.ports[3].length, 13);
}

TEST(Frontend, NamedPorts) {
  auto rule = ruleOf("allow from any on tcp/http, udp/dns-1");
  ASSERT_EQ(rule.ports.size(), 2u);
  EXPECT_EQ(rule.ports[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(rule.ports[0].namedPort, "http");
  EXPECT_EQ(rule.ports[1].namedPort, "dns-1");
  EXPECT_EQ(ast::toText(rule.ports[0]), "tcp/http");
}

TEST(Frontend, IcmpTypesAndCodes) {
  auto rule = ruleOf("allow from any on icmp, icmp type 8, icmp type 3 code 1, icmpv6 type 128, "
                     "icmpv6 type 1 code 0");
  ASSERT_EQ(rule.ports.size(), 5u);
  EXPECT_EQ(rule.ports[0].protocol, IPPROTO_ICMP);
  EXPECT_FALSE(rule.ports[0].icmpType);
  EXPECT_EQ(rule.ports[1].icmpType, 8);
  EXPECT_FALSE(rule.ports[1].icmpCode);
  EXPECT_EQ(rule.ports[2].icmpType, 3);
  EXPECT_EQ(rule.ports[2].icmpCode, 1);
  EXPECT_EQ(rule.ports[3].protocol, IPPROTO_ICMPV6);
  EXPECT_EQ(rule.ports[3].icmpType, 128);
  EXPECT_EQ(rule.ports[4].icmpCode, 0);
  EXPECT_EQ(ast::toText(rule), "allow from any on icmp, icmp type 8, icmp type 3 code 1, "
                               "icmpv6 type 128, icmpv6 type 1 code 0");
}

TEST(Frontend, RejectsBadPorts) {
  Diagnostics diagnostics;
  auto file = parse(
      R"(policy "p" { select any ingress { allow from any on tcp/0, udp/70000, tcp/90-80 } })",
      diagnostics);
  EXPECT_FALSE(file);
  ASSERT_EQ(diagnostics.errorCount(), 3u) << diagnostics.render();
  for (const auto& d : diagnostics.all()) EXPECT_EQ(d.name, "port-range");
  EXPECT_EQ(diagnostics.all()[0].location.column, 53);
  EXPECT_EQ(diagnostics.all()[0].length, 5);
  EXPECT_EQ(diagnostics.all()[1].hints.at(0), "ports are 1 to 65535");
  EXPECT_EQ(diagnostics.all()[2].hints.at(0), "write tcp/80-90");
}

TEST(Frontend, RejectsMoreBadPorts) {
  auto diagnostics = errorsOf(R"(policy "p" { select any ingress {
    allow from any on tcp/
    allow from any on tcp/HTTP
    allow from any on udp/99999999999999999999
    allow from any on tcp/80-
    allow from any on icmp type 256, icmpv6 type 1 code 300
  } })");
  EXPECT_EQ(names(diagnostics), "port-range bad-port-name port-range port-range icmp-range "
                                "icmp-range")
      << diagnostics.render();
  EXPECT_EQ(diagnostics.all()[1].hints.at(0), "port names are lowercase: write tcp/http");
  EXPECT_EQ(diagnostics.all()[4].location.str(), "test.pol:6:33"); // the number
}

// ---- peers ----

TEST(Frontend, ServiceAndGroupPeers) {
  auto service = ruleOf(R"(allow to service "db")");
  EXPECT_EQ(service.direction, ast::Direction::Egress);
  EXPECT_EQ(service.peer.kind, ast::Peer::Kind::Service);
  EXPECT_EQ(service.peer.name, "db");
  EXPECT_TRUE(service.ports.empty());
  auto group = ruleOf(R"(deny from group "corp" on tcp/22)");
  EXPECT_EQ(group.verdict, ast::Verdict::Deny);
  EXPECT_EQ(group.peer.kind, ast::Peer::Kind::Group);
  EXPECT_EQ(group.peer.name, "corp");
  EXPECT_EQ(group.peer.length, 12);
  EXPECT_EQ(ast::toText(group), R"(deny from group "corp" on tcp/22)");
}

TEST(Frontend, EntityPeers) {
  for (auto [name, entity] : {std::pair{"world", ast::Entity::World},
                              {"host", ast::Entity::Host},
                              {"cluster", ast::Entity::Cluster},
                              {"all", ast::Entity::All}}) {
    auto rule = ruleOf(std::string("allow from entity ") + name);
    EXPECT_EQ(rule.peer.kind, ast::Peer::Kind::Entity);
    EXPECT_EQ(rule.peer.entity, entity);
    EXPECT_EQ(ast::toText(rule.peer), std::string("entity ") + name);
  }
}

TEST(Frontend, UnknownEntityHasDidYouMean) {
  auto diagnostics = errorsOf(R"(policy "p" { select any egress { allow to entity wrld } })");
  ASSERT_EQ(diagnostics.all().size(), 1u);
  const auto& d = diagnostics.all()[0];
  EXPECT_EQ(d.name, "unknown-entity");
  EXPECT_EQ(d.message, "unknown entity 'wrld': did you mean 'world'?");
  EXPECT_EQ(d.location.column, 50);
  EXPECT_EQ(d.length, 4);
  auto any = errorsOf(R"(policy "p" { select any egress { allow to entity any } })");
  EXPECT_EQ(any.all().at(0).message, "unknown entity 'any': did you mean 'all'?");
}

TEST(Frontend, CidrPeersIPv4AndIPv6) {
  auto rule = ruleOf("allow from cidr 10.0.0.0/8, fd00::/64, 192.168.1.5, 2001:db8::1 except "
                     "10.1.0.0/16, fd00::5");
  ASSERT_EQ(rule.peer.kind, ast::Peer::Kind::Cidr);
  const auto& cidr = rule.peer.cidr;
  ASSERT_EQ(cidr.prefixes.size(), 4u);
  EXPECT_EQ(cidr.prefixes[0].first.text(), "10.0.0.0/8");
  EXPECT_EQ(cidr.prefixes[1].first.family, 6);
  EXPECT_EQ(cidr.prefixes[1].first.text(), "fd00::/64");
  EXPECT_EQ(cidr.prefixes[2].first.text(), "192.168.1.5/32");
  EXPECT_EQ(cidr.prefixes[3].first.length, 128);
  EXPECT_EQ(cidr.prefixes[1].second.location.column, 63);
  EXPECT_EQ(cidr.prefixes[1].second.length, 9);
  ASSERT_EQ(cidr.except.size(), 2u);
  EXPECT_EQ(cidr.except[0].first.text(), "10.1.0.0/16");
  EXPECT_EQ(ast::toText(rule.peer),
            "cidr 10.0.0.0/8, fd00::/64, 192.168.1.5, 2001:db8::1 except 10.1.0.0/16, fd00::5");
}

TEST(Frontend, RejectsBadCidrs) {
  auto diagnostics = errorsOf(R"(policy "p" { select any ingress {
    allow from cidr 10.0.0.1/8
    allow from cidr 10.0.0.0/33, 300.1.2.3, fd00:::1
    allow from cidr 10.0.0.0/8 except 11.0.0.0/16, fd00::/64
  } })");
  EXPECT_EQ(names(diagnostics), "bad-cidr bad-cidr bad-cidr bad-cidr cidr-except cidr-except")
      << diagnostics.render();
  const auto& hostBits = diagnostics.all()[0];
  EXPECT_EQ(hostBits.location.str(), "test.pol:2:21");
  EXPECT_EQ(hostBits.length, 10);
  EXPECT_EQ(hostBits.hints.at(0), "did you mean 10.0.0.0/8?");
  EXPECT_EQ(diagnostics.all()[4].location.str(), "test.pol:4:39");
}

// After a prefix with host bits set, no second error claims that its except
// lies outside it: the first error is the whole story.
TEST(Frontend, ABadPrefixDoesNotCascadeIntoAnExceptError) {
  auto diagnostics = errorsOf(R"(policy "p" { select any egress {
    allow to cidr 10.1.2.3/16 except 10.1.5.0/24
  } })");
  EXPECT_EQ(names(diagnostics), "bad-cidr") << diagnostics.render();
}

TEST(Frontend, RejectsPeerWordOfTheOtherDirection) {
  Diagnostics diagnostics;
  auto file = parse(R"(policy "p" { select any ingress { allow to any } })", diagnostics);
  EXPECT_FALSE(file);
  ASSERT_EQ(diagnostics.errorCount(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "peer-direction");
  EXPECT_EQ(diagnostics.all()[0].hints.at(0), "write 'allow from ...'");
}

// ---- top-level items ----

TEST(Frontend, DefaultDeny) {
  auto file = parseOk("default deny ingress\n"
                      "default deny egress\n"
                      "default deny ingress, egress for app == \"web\"\n");
  ASSERT_EQ(file.defaults.size(), 3u);
  EXPECT_EQ(file.defaults[0].directions, std::vector{ast::Direction::Ingress});
  EXPECT_FALSE(file.defaults[0].selector);
  EXPECT_EQ(file.defaults[1].directions, std::vector{ast::Direction::Egress});
  EXPECT_EQ(file.defaults[2].directions,
            (std::vector{ast::Direction::Ingress, ast::Direction::Egress}));
  ASSERT_TRUE(file.defaults[2].selector);
  EXPECT_EQ(file.defaults[2].location.line, 3);
  EXPECT_EQ(ast::toText(file.defaults[2]), R"(default deny ingress, egress for app == "web")");
}

TEST(Frontend, PolicyBlocksMayBeEmptyAndRepeat) {
  auto file =
      parseOk(R"(policy "p" { select any ingress {} egress { } ingress { allow from any } })");
  const auto& policy = file.policies.at(0);
  ASSERT_EQ(policy.blocks.size(), 3u);
  EXPECT_TRUE(policy.blocks[0].rules.empty());
  EXPECT_EQ(policy.blocks[1].direction, ast::Direction::Egress);
  EXPECT_EQ(policy.blocks[2].rules.size(), 1u);
  EXPECT_EQ(policy.blocks[1].location.column, 36);
}

TEST(Frontend, AuditPolicies) {
  auto file = parseOk("# comment\n  audit policy \"tighten-web\" {\n  select app == \"web\"\n"
                      "  ingress { allow from app == \"frontend\" on tcp/80 }\n}\n"
                      "policy \"web\" { select app == \"web\" }\n");
  ASSERT_EQ(file.policies.size(), 2u);
  const auto& audit = file.policies[0];
  EXPECT_TRUE(audit.audit);
  EXPECT_EQ(audit.name, "tighten-web");
  EXPECT_EQ(ast::toText(*audit.select), R"(app == "web")");
  ASSERT_EQ(audit.blocks.size(), 1u);
  EXPECT_EQ(audit.blocks[0].rules.size(), 1u);
  // The declaration starts at `audit`, as a let's starts at `let`.
  EXPECT_EQ(audit.location.str(), "test.pol:2:3");
  EXPECT_FALSE(file.policies[1].audit);
}

TEST(Frontend, CommentsOfBothKindsAnywhere) {
  auto file = parseOk("# top\n// also\npolicy \"p\" { # after brace\n"
                      "  select app == \"a\" // trailing\n"
                      "    && env == \"b\"  # mid-selector\n"
                      "  ingress { allow from any } # end\n}\n# last");
  EXPECT_EQ(ast::toText(*file.policies.at(0).select), R"(app == "a" && env == "b")");
}

// ---- includes ----

class IncludeTest : public testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::path(testing::TempDir()) /
           ("polc_include_" +
            std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "sub");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(IncludeTest, MergesIncludedFilesInIncludeOrder) {
  write("lets.pol", "let web = app == \"web\"\n");
  write("sub/db.pol", "include \"../lets.pol\"\npolicy \"db\" { select app == \"db\" }\n");
  auto root = write("root.pol", "let a = any\ninclude \"sub/db.pol\"\n"
                                "policy \"root\" { select web }\n");
  Diagnostics diagnostics;
  auto file = frontend::parseFile(root, diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  EXPECT_EQ(file->path, root);
  ASSERT_EQ(file->files.size(), 3u);
  EXPECT_EQ(file->files[0], root);
  EXPECT_EQ(file->files[1], (dir_ / "sub/db.pol").string());
  EXPECT_EQ(file->files[2], (dir_ / "lets.pol").string());
  ASSERT_EQ(file->lets.size(), 2u);
  EXPECT_EQ(file->lets[0].name, "a");
  EXPECT_EQ(file->lets[1].name, "web");
  EXPECT_EQ(file->lets[1].location.file, (dir_ / "lets.pol").string());
  ASSERT_EQ(file->policies.size(), 2u);
  EXPECT_EQ(file->policies[0].name, "db");
  EXPECT_EQ(file->policies[1].name, "root");
}

TEST_F(IncludeTest, DiamondIncludesAreReadOnce) {
  write("common.pol", "let common = has(x)\n");
  write("a.pol", "include \"common.pol\"\npolicy \"a\" { select common }\n");
  write("b.pol", "include \"./common.pol\"\npolicy \"b\" { select common }\n");
  auto root = write("root.pol", "include \"a.pol\"\ninclude \"b.pol\"\n");
  Diagnostics diagnostics;
  auto file = frontend::parseFile(root, diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  EXPECT_EQ(file->files.size(), 4u);
  EXPECT_EQ(file->lets.size(), 1u);
  EXPECT_EQ(file->policies.size(), 2u);
}

TEST_F(IncludeTest, CycleIsAnErrorWithTheChain) {
  write("a.pol", "include \"b.pol\"\n");
  write("b.pol", "\n  include \"root.pol\"\n");
  auto root = write("root.pol", "include \"a.pol\"\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  ASSERT_EQ(diagnostics.all().size(), 1u) << diagnostics.render();
  const auto& d = diagnostics.all()[0];
  EXPECT_EQ(d.name, "include-cycle");
  EXPECT_EQ(d.location.str(), (dir_ / "b.pol").string() + ":2:3");
  EXPECT_EQ(d.length, 18);
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_EQ(d.notes[0].location.str(), root + ":1:1");
  EXPECT_EQ(d.notes[0].message, root + " includes " + (dir_ / "a.pol").string() + " here");
  EXPECT_EQ(d.notes[1].location.file, (dir_ / "a.pol").string());
}

TEST_F(IncludeTest, SelfIncludeIsACycle) {
  auto root = write("root.pol", "include \"root.pol\"\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  EXPECT_EQ(names(diagnostics), "include-cycle");
}

TEST_F(IncludeTest, MissingIncludeIsAnErrorAtTheInclude) {
  auto root = write("root.pol", "let a = any\ninclude \"nope.pol\"\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  ASSERT_EQ(diagnostics.all().size(), 1u);
  EXPECT_EQ(diagnostics.all()[0].name, "include-missing");
  EXPECT_EQ(diagnostics.all()[0].location.str(), root + ":2:1");
}

TEST_F(IncludeTest, AnIncludeThatIsNoRegularFileIsAnErrorAtTheInclude) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo.pol").c_str(), 0600), 0);
  auto root = write("root.pol", "let a = any\n  include \"fifo.pol\"\ninclude \"/dev/zero\"\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  ASSERT_EQ(diagnostics.all().size(), 2u);
  const auto& fifo = diagnostics.all()[0];
  EXPECT_EQ(fifo.name, "include-missing");
  EXPECT_EQ(fifo.location.str(), root + ":2:3");
  EXPECT_EQ(fifo.message, "cannot read included file '" + (dir_ / "fifo.pol").string() +
                              "': it is a FIFO, not a regular file");
  EXPECT_TRUE(fifo.hints.empty()) << "it exists: no hint about relative paths";
  const auto& device = diagnostics.all()[1];
  EXPECT_EQ(device.location.str(), root + ":3:1");
  EXPECT_EQ(device.message,
            "cannot read included file '/dev/zero': it is a character device, not a regular file");
}

TEST_F(IncludeTest, ErrorsInIncludedFilesQuoteTheirSource) {
  write("bad.pol", "policy \"x\" { select app = \"y\" }\n");
  auto root = write("root.pol", "include \"bad.pol\"\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  auto text = diagnostics.render();
  EXPECT_NE(text.find("bad.pol:1:25"), std::string::npos) << text;
  EXPECT_NE(text.find("select app = \"y\""), std::string::npos) << text;
}

TEST_F(IncludeTest, FilesWithSyntaxErrorsStillReadTheirIncludes) {
  write("bad.pol", "let a = app = \"y\"\n");
  auto root = write("root.pol", "include \"bad.pol\"\npolicy \"p\" { selct any }\n");
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile(root, diagnostics));
  diagnostics.sort();
  ASSERT_EQ(diagnostics.all().size(), 2u) << diagnostics.render();
  EXPECT_EQ(diagnostics.all()[0].location.str(), (dir_ / "bad.pol").string() + ":1:13");
  EXPECT_EQ(diagnostics.all()[1].location.str(), root + ":2:14");
  EXPECT_EQ(diagnostics.all()[1].message, "unknown keyword 'selct': did you mean 'select'?");
}

TEST_F(IncludeTest, ParseTextResolvesIncludesBesideItsPath) {
  write("lets.pol", "let web = any\n");
  Diagnostics diagnostics;
  auto file =
      frontend::parseText((dir_ / "virtual.pol").string(), "include \"lets.pol\"\n", diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  EXPECT_EQ(file->lets.size(), 1u);
}

// ---- syntax errors ----

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

TEST(Frontend, ManyErrorsInOneRun) {
  auto diagnostics = errorsOf(R"(let = any
policy "a" {
  select on
  ingress {
    allow from on tcp/80
    alow from any
    allow from app == "x" on tcp/80 tcp/81
  }
}
policy b { select any }
policy "c" { select any egress { allow to entity $ } }
)");
  std::vector<std::pair<std::string, std::string>> expected = {
      {"test.pol:1:5", "missing a name before '='"},
      {"test.pol:3:10", "expected a selector, found 'on'"},
      {"test.pol:5:16", "expected a peer (a selector, service, cidr, group or entity), found 'on'"},
      {"test.pol:6:5", "unknown keyword 'alow': did you mean 'allow'?"},
      {"test.pol:7:37", "expected 'allow', 'deny' or '}', found 'tcp/81'"},
      {"test.pol:10:8", "expected the policy name in double quotes, found 'b'"},
      {"test.pol:11:50", "unexpected character '$'"},
  };
  ASSERT_EQ(diagnostics.all().size(), expected.size()) << diagnostics.render();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(diagnostics.all()[i].location.str(), expected[i].first) << i;
    EXPECT_EQ(diagnostics.all()[i].message, expected[i].second) << i;
    EXPECT_EQ(diagnostics.all()[i].name, "syntax");
  }
  EXPECT_EQ(diagnostics.all()[3].length, 4);
  EXPECT_EQ(diagnostics.all()[4].length, 6);
  EXPECT_EQ(diagnostics.all()[4].hints.at(0), "separate ports with ','");
}

// Where and what each diagnostic is, "file:line:col: [name] message", sorted.
std::vector<std::string> located(Diagnostics diagnostics) {
  diagnostics.sort();
  std::vector<std::string> out;
  for (const auto& d : diagnostics.all())
    out.push_back(d.location.str() + ": [" + d.name + "] " + d.message);
  return out;
}

TEST(Frontend, RecoveryReportsEachIndependentErrorOnce) {
  // One syntax error in each construct; recovery resumes after each at the
  // next rule, block or item, so each is reported, and nothing else.
  auto diagnostics = errorsOf(R"(let frontend app == "frontend"
default deny ingress, for app == "web"
include lets.pol
policy web {
  select app == "web"
  ingress {
    alow from frontend on tcp/80
    allow from app == "lb" on tcp/80, , udp/53
    allow from app == on tcp/81
    allow from any
  }
}
policy "db" {
  select app == "db" &&
  egress {
    allow to service db on tcp/5432
    deny to entity world
  }
}
)");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:1:14: [syntax] missing '=' before 'app'",
                "test.pol:2:23: [syntax] missing 'ingress' or 'egress' before 'for'",
                "test.pol:3:9: [syntax] expected the file name in double quotes, found 'lets.pol'",
                "test.pol:4:8: [syntax] expected the policy name in double quotes, found 'web'",
                "test.pol:7:5: [syntax] unknown keyword 'alow': did you mean 'allow'?",
                "test.pol:8:39: [syntax] expected a port such as tcp/80, found ','",
                "test.pol:9:23: [syntax] missing a value in double quotes before 'on'",
                "test.pol:15:3: [syntax] expected a selector, found 'egress'",
                "test.pol:16:22: [syntax] expected the service name in double quotes after "
                "'service', found 'db'",
            }))
      << diagnostics.render();
}

TEST(Frontend, RecoveryDoesNotMisreadTheClosingBraces) {
  // ANTLR's own recovery left the rule list at the error, so the block's '}'
  // closed the policy and the policy's '}' was reported as out of place.
  auto diagnostics = errorsOf(R"(policy "web" {
  select app == "web"
  ingress {
    allow from app = "frontend" on tcp/80
    allow from app == "lb" on tcp/80
  }
}
policy "db" { select app == "db" egress { allow to app = "web" } }
)");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:4:20: [syntax] expected '==', '!=', 'in' or 'notin' after label key "
                "'app', found '='",
                "test.pol:8:56: [syntax] expected '==', '!=', 'in' or 'notin' after label key "
                "'app', found '='",
            }))
      << diagnostics.render();
  // Skipping steps over a braced block as a whole.
  auto braces = errorsOf("policy \"p\" { select any foo { allow from any } }\n"
                         "policy \"q\" { select any }\n");
  EXPECT_EQ(located(braces), (std::vector<std::string>{
                                 "test.pol:1:25: [syntax] expected 'ingress', 'egress' or '}', "
                                 "found 'foo'",
                             }))
      << braces.render();
}

TEST(Frontend, MisspeltKeywordsAreReadAsTheKeyword) {
  // The rest of the rule parses, and its own errors are reported.
  auto diagnostics = errorsOf(R"(polcy "p" {
  select any
  ingres {
    alow form any on tcp/70000
    allow from app == "x"
    dny from any
  }
})");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:1:1: [syntax] unknown keyword 'polcy': did you mean 'policy'?",
                "test.pol:3:3: [syntax] unknown keyword 'ingres': did you mean 'ingress'?",
                "test.pol:4:5: [syntax] unknown keyword 'alow': did you mean 'allow'?",
                "test.pol:4:10: [syntax] unknown keyword 'form': did you mean 'from'?",
                "test.pol:4:22: [port-range] port 70000 is out of range in 'tcp/70000'",
                "test.pol:6:5: [syntax] unknown keyword 'dny': did you mean 'deny'?",
            }))
      << diagnostics.render();
}

TEST(Frontend, PartsThatParsedAreCheckedDespiteSyntaxErrors) {
  auto diagnostics = errorsOf(R"(policy "p" {
  select any
  ingress {
    allow from cidr 10.0.0.1/8 on tcp/70000
    allow from on tcp/0
    allow from app == "x" on tcp/, udp/53 udp/54
    allow to entity wrld
  }
}
let bad.name = has(x
)");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:4:21: [bad-cidr] '10.0.0.1/8' has host bits set after the prefix length",
                "test.pol:4:35: [port-range] port 70000 is out of range in 'tcp/70000'",
                "test.pol:5:16: [syntax] expected a peer (a selector, service, cidr, group or "
                "entity), found 'on'",
                "test.pol:6:30: [port-range] missing port after 'tcp/'",
                "test.pol:6:43: [syntax] expected 'allow', 'deny' or '}', found 'udp/54'",
                "test.pol:7:11: [peer-direction] an ingress rule names its peer with 'from'",
                "test.pol:7:21: [unknown-entity] unknown entity 'wrld': did you mean 'world'?",
                "test.pol:10:5: [bad-let-name] let name 'bad.name' contains '.' or '/'",
                "test.pol:10:21: [syntax] missing ')' before the end of the file",
            }))
      << diagnostics.render();
}

TEST(Frontend, MissingBraceBeforeTheNextBlock) {
  auto diagnostics = errorsOf(R"(policy "p" {
  select any
  ingress {
    allow from any
  egress {
    allow to any on tcp/0
  }
}
)");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:5:3: [syntax] missing '}' to close the ingress block of policy \"p\"",
                "test.pol:6:21: [port-range] port 0 is out of range in 'tcp/0'",
            }))
      << diagnostics.render();
  ASSERT_EQ(diagnostics.all()[0].notes.size(), 2u);
  EXPECT_EQ(diagnostics.all()[0].notes[0].location.str(), "test.pol:3:11");
}

TEST(Frontend, DidYouMeanForMisspeltKeywords) {
  auto diagnostics = errorsOf("polcy \"p\" { select any }\n");
  EXPECT_EQ(diagnostics.all().at(0).message, "unknown keyword 'polcy': did you mean 'policy'?");
  auto block = errorsOf("policy \"p\" { select any ingres { } }\n");
  EXPECT_EQ(block.all().at(0).message, "unknown keyword 'ingres': did you mean 'ingress'?");
  EXPECT_EQ(block.all().at(0).location.column, 25);
  auto from = errorsOf("policy \"p\" { select any ingress { allow form any } }\n");
  EXPECT_EQ(from.all().at(0).message, "unknown keyword 'form': did you mean 'from'?");
}

TEST(Frontend, MissingClosingBraceNamesThePolicyAndPointsAtTheOpening) {
  auto diagnostics = errorsOf("policy \"web\" {\n  select any\n  ingress {\n"
                              "    allow from any\n\npolicy \"db\" { select any }\n");
  ASSERT_EQ(diagnostics.all().size(), 1u) << diagnostics.render();
  const auto& d = diagnostics.all()[0];
  EXPECT_EQ(d.message, "missing '}' to close the ingress block of policy \"web\"");
  EXPECT_EQ(d.location.str(), "test.pol:6:1");
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_EQ(d.notes[0].location.str(), "test.pol:3:11");
  EXPECT_EQ(d.notes[1].location.str(), "test.pol:1:14");
  EXPECT_EQ(d.notes[1].message, "policy \"web\" opens here");

  auto atEnd = errorsOf("policy \"web\" {\n  select any\n  egress { }\n");
  ASSERT_EQ(atEnd.all().size(), 1u) << atEnd.render();
  EXPECT_EQ(atEnd.all()[0].message, "missing '}' to close policy \"web\"");
  // Just after the last token, not on a line that does not exist.
  EXPECT_EQ(atEnd.all()[0].location.str(), "test.pol:3:13");
}

TEST(Frontend, ClearMessagesForCommonSlips) {
  auto assign = errorsOf("policy \"p\" { select app = \"web\" }");
  EXPECT_EQ(assign.all().at(0).message,
            "expected '==', '!=', 'in' or 'notin' after label key 'app', found '='");
  EXPECT_EQ(assign.all().at(0).hints.at(0), "compare with '=='");
  auto unquoted = errorsOf("policy \"p\" { select any egress { allow to service db } }");
  EXPECT_EQ(unquoted.all().at(0).message,
            "expected the service name in double quotes after 'service', found 'db'");
  EXPECT_EQ(unquoted.all().at(0).hints.at(0), "write service \"db\"");
  auto unterminated = errorsOf("policy \"p\" { select app == \"web }\n");
  EXPECT_EQ(unterminated.all().at(0).message, "unterminated string");
  EXPECT_EQ(unterminated.all().at(0).location.column, 28);
  auto paren = errorsOf("policy \"p\" { select (a == \"b\" ingress {} }");
  EXPECT_EQ(paren.all().at(0).message, "missing ')' before 'ingress'");
  ASSERT_EQ(paren.all().at(0).notes.size(), 1u);
  EXPECT_EQ(paren.all().at(0).notes[0].location.column, 21);
  auto empty = errorsOf("policy \"p\" { select any ingress { allow from any on } }");
  EXPECT_EQ(empty.all().at(0).message, "expected a port such as tcp/80, found '}'");
  // A misspelt protocol: the port as it was meant.
  auto htp = errorsOf("policy \"p\" { select any ingress { allow from any on htp/80 } }");
  EXPECT_EQ(htp.all().at(0).message, "expected a port such as tcp/80, found 'htp/80'");
  ASSERT_FALSE(htp.all().at(0).hints.empty());
  EXPECT_EQ(htp.all().at(0).hints.back(), "did you mean 'tcp/80'?");
  auto upd = errorsOf("policy \"p\" { select any ingress { allow from any on upd/53 } }");
  ASSERT_FALSE(upd.all().at(0).hints.empty());
  EXPECT_EQ(upd.all().at(0).hints.back(), "did you mean 'udp/53'?");
}

TEST(Frontend, AuditMarksAPolicyAndNothingElse) {
  // Anything but `policy` after `audit` is told what `audit` is for; parsing
  // resumes, so the errors after it are reported too.
  auto diagnostics = errorsOf(R"(audit "web" {
  select app == "web"
  ingress { allow from any on tcp/0 }
}
audit let a = any
policy "db" {
  select app == "db"
  ingress {
    audit deny from app == "web"
  }
}
audit)");
  EXPECT_EQ(located(diagnostics),
            (std::vector<std::string>{
                "test.pol:1:7: [syntax] 'audit' marks a policy: expected 'policy' after it, "
                "found \"web\"",
                "test.pol:3:31: [port-range] port 0 is out of range in 'tcp/0'",
                "test.pol:5:7: [syntax] 'audit' marks a policy: expected 'policy' after it, "
                "found 'let'",
                "test.pol:9:5: [syntax] expected 'allow', 'deny' or '}', found 'audit'",
                "test.pol:12:6: [syntax] 'audit' marks a policy: expected 'policy' after it, "
                "found the end of the file",
            }))
      << diagnostics.render();
  diagnostics.sort();
  EXPECT_EQ(diagnostics.all()[0].hints,
            std::vector<std::string>{"write audit policy \"NAME\" { ... }"});
  EXPECT_EQ(diagnostics.all()[0].length, 5);
  EXPECT_EQ(diagnostics.all()[3].hints,
            std::vector<std::string>{
                "'audit' is a keyword that marks a policy: audit policy \"NAME\" { ... }"});

  // A keyword is no name; `audit policy` after a missing selector or '}' is
  // the next policy, not a stray `audit`.
  auto name = errorsOf("let audit = any\n");
  EXPECT_EQ(located(name),
            (std::vector<std::string>{"test.pol:1:5: [syntax] expected a name, found 'audit'"}));
  EXPECT_EQ(name.all().at(0).hints.size(), 1u);
  auto selector = errorsOf("let a =\naudit policy \"p\" { select any }\n");
  EXPECT_EQ(located(selector), (std::vector<std::string>{
                                   "test.pol:2:1: [syntax] expected a selector, found 'audit'"}));
  EXPECT_TRUE(selector.all().at(0).hints.empty());
  auto brace = errorsOf("policy \"a\" { select any\naudit policy \"b\" { select any }\n");
  EXPECT_EQ(located(brace),
            (std::vector<std::string>{"test.pol:2:1: [syntax] missing '}' to close policy \"a\""}));
  // A misspelt `audit` is read as the keyword.
  auto misspelt = errorsOf("audti policy \"p\" { select any }\n");
  EXPECT_EQ(misspelt.all().at(0).message, "unknown keyword 'audti': did you mean 'audit'?");
}

TEST(Frontend, OneMistakeOneError) {
  // Recovery inserts the missing '('; the ')' it then lacks is not a second error.
  auto has = errorsOf("policy \"p\" { select has x }");
  EXPECT_EQ(names(has), "syntax");
  EXPECT_EQ(has.all().at(0).message, "missing '(' before 'x'");
  auto in = errorsOf("policy \"p\" { select a in \"x\" }");
  EXPECT_EQ(names(in), "syntax");
}

TEST(Frontend, DeepNestingIsAnErrorNotACrash) {
  for (const std::string opener : {"(", "!", "!("}) {
    std::string text = "policy \"p\" { select ";
    for (int i = 0; i < 10000; ++i) text += opener;
    text += "any }";
    auto diagnostics = errorsOf(text);
    ASSERT_EQ(diagnostics.all().size(), 1u) << opener;
    EXPECT_EQ(diagnostics.all()[0].name, "nesting");
    EXPECT_EQ(diagnostics.all()[0].location.line, 1);
  }
  // 200 levels are fine.
  std::string ok = "policy \"p\" { select ";
  for (int i = 0; i < 199; ++i) ok += "(";
  ok += "any";
  for (int i = 0; i < 199; ++i) ok += ")";
  parseOk(ok + " }");
}

TEST(Frontend, VeryLongChainsAreAnErrorNotACrash) {
  std::string text = "policy \"p\" { select a == \"b\"";
  for (int i = 0; i < 100000; ++i) text += " && a == \"b\"";
  auto diagnostics = errorsOf(text + " }");
  EXPECT_EQ(names(diagnostics), "nesting");
  // A long but reasonable chain is fine.
  std::string ok = "policy \"p\" { select a == \"b\"";
  for (int i = 0; i < 500; ++i) ok += " || a == \"b\"";
  parseOk(ok + " }");
}

TEST(Frontend, GarbageDoesNotCrash) {
  for (std::string text : {"",
                           "}",
                           "{{{{",
                           "policy",
                           "policy \"",
                           "\"",
                           "let",
                           "let a =",
                           "policy \"p\" { select",
                           "include",
                           "default",
                           "default deny",
                           "default deny ingress for",
                           "!!!!",
                           "policy \"p\" { select any ingress { allow from cidr } }",
                           "policy \"p\" { select any ingress { allow from cidr 1.2.3.4/ } }",
                           "policy \"p\" { select has( ) }",
                           "\x01\x02\xff\xfe",
                           "# only a comment",
                           "policy \"p\" { select any ingress { allow from any on icmp type } }",
                           "policy \"p\" { select a in () }",
                           ")))",
                           "&& || ==",
                           "tcp/80 10.0.0.0/8 fd00::"}) {
    Diagnostics diagnostics;
    parse(text, diagnostics);
    SUCCEED();
  }
}

// Every byte of a policy is UTF-8: a stray one, in a string or a comment,
// is an error at its line and column (in characters, as every column of a
// policy), never an exception from ANTLR's UTF-32 conversion.
TEST(Frontend, BytesThatAreNotUtf8AreAnErrorWhereTheyAre) {
  auto inString = errorsOf("policy \"web\" {\n  select app == \"caf\xc3\xa9\xff\"\n}\n");
  ASSERT_EQ(inString.all().size(), 1u);
  EXPECT_EQ(inString.all()[0].name, "encoding");
  EXPECT_EQ(inString.all()[0].location.str(), "test.pol:2:22");
  EXPECT_EQ(inString.all()[0].message, "the file is not valid UTF-8: unexpected byte 0xff");

  auto inComment = errorsOf("let a = any // owner: \xe2\x9c\n");
  ASSERT_EQ(inComment.all().size(), 1u);
  EXPECT_EQ(inComment.all()[0].location.str(), "test.pol:1:23");
  EXPECT_EQ(inComment.all()[0].message, "the file is not valid UTF-8: unexpected byte 0xe2");

  // Overlong, surrogate, beyond U+10FFFF, a stray continuation byte.
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"}) {
    auto diagnostics = errorsOf(std::string("# ") + bad + "\nlet a = any\n");
    EXPECT_EQ(names(diagnostics), "encoding") << bad;
    EXPECT_EQ(diagnostics.all()[0].location.str(), "test.pol:1:3") << bad;
  }
  // UTF-8 is fine anywhere text is.
  parseOk("// caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e\npolicy \"caf\xc3\xa9\" { select app == "
          "\"\xf0\x9d\x84\x9e\" }\n");
}

// ---- printer round trip ----

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

TEST(Frontend, PrinterMarksAuditPolicies) {
  auto file = parseOk("audit policy \"a\" { select any }\npolicy \"b\" { select any }\n");
  auto text = ast::toText(file);
  EXPECT_EQ(text, "# files: test.pol\n"
                  "audit policy \"a\" {  # test.pol:1:1\n  select any\n}\n"
                  "policy \"b\" {  # test.pol:2:1\n  select any\n}\n");
  // It is policy text: it parses back to the same.
  auto again = parseOk(text);
  ASSERT_EQ(again.policies.size(), 2u);
  EXPECT_TRUE(again.policies[0].audit);
  EXPECT_FALSE(again.policies[1].audit);
}

// Structural equality of selectors, ignoring locations.
bool sameSelector(const ast::Selector& a, const ast::Selector& b) {
  if (a.kind != b.kind || a.key != b.key || a.values != b.values ||
      a.operands.size() != b.operands.size())
    return false;
  for (size_t i = 0; i < a.operands.size(); ++i)
    if (!sameSelector(*a.operands[i], *b.operands[i])) return false;
  return true;
}

TEST(Frontend, RoundTripOfEveryConstruct) {
  const std::vector<std::string> rules = {
      R"(allow from app == "a" && (b != "c" || !has(d)) && !(e in ("f", "g") || h notin ("i")))",
      R"(allow from a == "1" || b == "2" && c == "3")",
      R"(allow from (a == "1" || b == "2") && c == "3")",
      R"(allow from a == "1" || (b == "2" || c == "3"))",
      R"(allow from !!has(x))",
      R"(allow from service "db" on tcp/5432)",
      R"(allow from group "corp")",
      R"(deny from entity world on tcp, udp/53, sctp/1-2)",
      R"(allow from cidr 10.0.0.0/8, fd00::/64 except 10.1.0.0/16 on tcp/http)",
      R"(allow from any on icmp type 8, icmpv6 type 128 code 0, icmp)",
      R"(allow from k8s.io/app == "x\"y")",
  };
  for (const auto& text : rules) {
    auto first = ruleOf(text);
    auto printed = ast::toText(first);
    auto second = ruleOf(printed);
    EXPECT_EQ(ast::toText(second), printed) << text;
    EXPECT_EQ(first.peer.kind, second.peer.kind);
    if (first.peer.selector && second.peer.selector) {
      EXPECT_TRUE(sameSelector(*first.peer.selector, *second.peer.selector)) << text;
    }
    EXPECT_EQ(first.ports.size(), second.ports.size()) << text;
  }
  // Redundant parentheses are dropped, necessary ones kept.
  EXPECT_EQ(ast::toText(ruleOf(R"(allow from ((a == "1")) && (b == "2"))")),
            R"(allow from a == "1" && b == "2")");
  EXPECT_EQ(ast::toText(ruleOf(R"(allow from a == "1" || (b == "2" || c == "3"))")),
            R"(allow from a == "1" || (b == "2" || c == "3"))");
}

TEST(Frontend, MissingFileIsAnError) {
  Diagnostics diagnostics;
  EXPECT_FALSE(frontend::parseFile("/nonexistent/x.pol", diagnostics));
  EXPECT_EQ(diagnostics.all().at(0).name, "io");
}

} // namespace
} // namespace polc
