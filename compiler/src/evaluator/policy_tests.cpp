#include "polc/evaluator/policy_tests.h"

#include "polc/evaluator/service_flow.h"
#include "polc/support/files.h"
#include "polc/support/protocol.h"
#include "polc/support/suggest.h"
#include "polc/support/utf8.h"

#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>

namespace polc::evaluator {

namespace {

struct Token {
  std::string text;
  int column = 1;
};

// Whitespace-separated words up to a # or // comment.
std::vector<Token> tokenize(const std::string& line) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    if (line[i] == '#' || line.compare(i, 2, "//") == 0) break;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    tokens.push_back({line.substr(start, i - start), int(start) + 1});
  }
  return tokens;
}

std::optional<unsigned> number(const std::string& text, unsigned max) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > max)
    return std::nullopt;
  return value;
}

class LineParser {
public:
  LineParser(std::vector<Token> tokens, std::string file, int line, Diagnostics& diagnostics)
      : tokens_(std::move(tokens)), file_(std::move(file)), line_(line), diagnostics_(diagnostics) {
  }

  SourceLocation at(size_t index) const {
    int column = index < tokens_.size() ? tokens_[index].column
                 : tokens_.empty()      ? 1
                                        : tokens_.back().column + int(tokens_.back().text.size());
    return {file_, line_, column};
  }
  int width(size_t index) const {
    return index < tokens_.size() ? int(tokens_[index].text.size()) : 1;
  }
  bool done() const { return next_ >= tokens_.size(); }
  const std::string* peek() const { return done() ? nullptr : &tokens_[next_].text; }

  Diagnostic& error(DiagnosticId id, size_t index, const std::string& message) {
    failed_ = true;
    return diagnostics_.error(id, at(index), message).underline(width(index));
  }

  // The next token, or an error naming what was expected.
  const Token* take(const std::string& what) {
    if (done()) {
      error(DiagnosticId::TestSyntax, next_, "expected " + what + " at the end of the line");
      return nullptr;
    }
    return &tokens_[next_++];
  }
  bool keyword(const std::string& word) {
    const auto* token = take("'" + word + "'");
    if (!token) return false;
    if (token->text != word) {
      error(DiagnosticId::TestSyntax, next_ - 1,
            "expected '" + word + "', found '" + token->text + "'");
      return false;
    }
    return true;
  }
  bool end() {
    if (done()) return true;
    error(DiagnosticId::TestSyntax, next_,
          "unexpected '" + tokens_[next_].text + "' after the expectation")
        .hint("comments start with # or //");
    return false;
  }
  size_t position() const { return next_; }
  bool failed() const { return failed_; }

  // `service/NAME` as a destination: the name, consumed; nullopt (nothing
  // consumed) for any other token.
  std::optional<std::string> serviceName() {
    constexpr std::string_view kPrefix = "service/";
    if (!peek() || !peek()->starts_with(kPrefix)) return std::nullopt;
    auto name = peek()->substr(kPrefix.size());
    if (name.empty()) {
      error(DiagnosticId::TestFlowEnd, next_, "'service/' names no service")
          .hint("write service/NAME, e.g. service/db");
      return std::nullopt;
    }
    ++next_;
    return name;
  }

  std::optional<FlowEnd> flowEnd(const std::string& role) {
    const auto* token = take(role + " (an endpoint name, an address or 'entity world|host')");
    if (!token) return std::nullopt;
    std::string text = token->text;
    size_t index = next_ - 1;
    if (text == "entity") {
      const auto* which = take("'world' or 'host' after 'entity'");
      if (!which) return std::nullopt;
      text += " " + which->text;
      index = next_ - 1;
    }
    if (text == "from" || text == "to" || text == "on") {
      error(DiagnosticId::TestSyntax, index,
            "expected " + role + ", found the keyword '" + text + "'");
      return std::nullopt;
    }
    auto end = FlowEnd::parse(text);
    if (!end) {
      error(DiagnosticId::TestFlowEnd, index, end.error());
      return std::nullopt;
    }
    return *end;
  }

  // tcp/N, udp/N, sctp/N, icmp type T [code C], icmpv6 type T [code C].
  bool l4(Flow& flow) {
    const auto* token = take("a protocol and port, e.g. tcp/443 or icmp type 8");
    if (!token) return false;
    size_t index = next_ - 1;
    auto slash = token->text.find('/');
    auto name = token->text.substr(0, slash);
    auto protocol = protocolFromName(name);
    if (!protocol || *protocol == 0) {
      auto& d = error(DiagnosticId::TestProtocol, index, "unknown protocol '" + name + "'");
      if (auto close = closestMatch(name, {"tcp", "udp", "sctp", "icmp", "icmpv6"}))
        d.hint("did you mean '" + *close + "'?");
      else
        d.hint("use tcp/N, udp/N, sctp/N, icmp type T or icmpv6 type T");
      return false;
    }
    flow.protocol = *protocol;
    if (*protocol == IPPROTO_ICMP || *protocol == IPPROTO_ICMPV6) {
      if (slash != std::string::npos) {
        error(DiagnosticId::TestPort, index, name + " has no ports")
            .hint("write " + name + " type T [code C]");
        return false;
      }
      if (!keyword("type")) return false;
      const auto* type = take("an ICMP type (0-255)");
      if (!type) return false;
      auto typeValue = number(type->text, 255);
      if (!typeValue) {
        error(DiagnosticId::TestPort, next_ - 1,
              "'" + type->text + "' is not an ICMP type (0-255)");
        return false;
      }
      flow.icmpType = uint8_t(*typeValue);
      if (peek() && *peek() == "code") {
        ++next_;
        const auto* code = take("an ICMP code (0-255)");
        if (!code) return false;
        auto codeValue = number(code->text, 255);
        if (!codeValue) {
          error(DiagnosticId::TestPort, next_ - 1,
                "'" + code->text + "' is not an ICMP code (0-255)");
          return false;
        }
        flow.icmpCode = uint8_t(*codeValue);
      }
      return true;
    }
    if (slash == std::string::npos) {
      error(DiagnosticId::TestPort, index,
            "an expectation is one packet: give its destination port")
          .hint("write " + name + "/PORT, e.g. " + name + "/443");
      return false;
    }
    auto portText = token->text.substr(slash + 1);
    if (portText.find('-') != std::string::npos) {
      error(DiagnosticId::TestPort, index,
            "'" + token->text + "' is a range; an expectation is one packet")
          .hint("write one expectation per port that matters, e.g. both ends of the range");
      return false;
    }
    auto port = number(portText, 65535);
    if (!port || *port == 0) {
      error(DiagnosticId::TestPort, index, "'" + portText + "' is not a port (1-65535)");
      return false;
    }
    flow.port = uint16_t(*port);
    return true;
  }

private:
  std::vector<Token> tokens_;
  std::string file_;
  int line_;
  Diagnostics& diagnostics_;
  size_t next_ = 0;
  bool failed_ = false;
};

std::string resolvePath(const std::string& testFile, const std::string& path) {
  return (std::filesystem::path(testFile).parent_path() / path).lexically_normal().string();
}

std::string sideName(const SideVerdict& side) {
  return std::string(side.direction == ast::Direction::Egress ? "egress of " : "ingress of ") +
         side.endpoint->name;
}

void addDecidingRules(const ir::Program& program, const Verdict& verdict, CaseResult& result) {
  for (const auto* side : {&verdict.egress, &verdict.ingress})
    for (uint32_t id : side->decidingRules) {
      const auto& rule = program.rules.at(id);
      DecidingRule deciding{sideName(*side), rule.stableId, rule.policy, rule.text,
                            rule.location.str()};
      if (std::none_of(result.decidingRules.begin(), result.decidingRules.end(),
                       [&](const DecidingRule& known) {
                         return known.side == deciding.side && known.id == deciding.id;
                       }))
        result.decidingRules.push_back(std::move(deciding));
    }
}

void judgeDirect(const ir::Program& program, const Expectation& expectation, CaseResult& result) {
  auto verdict = evaluate(program, expectation.flow);
  if (!verdict) {
    result.error = verdict.error();
    return;
  }
  result.actualVerdict = verdictName(verdict->allowed, verdict->audited);
  result.passed = result.actualVerdict == expectation.verdict;
  result.reason = verdict->reason;
  addDecidingRules(program, *verdict, result);
}

// The frontend of `service/NAME` on the flow's protocol and port.
Expected<const services::Frontend*> frontendOf(const services::ServiceTable& table,
                                               const std::string& name, const Flow& flow) {
  auto frontends = table.ofService(name);
  if (frontends.empty()) {
    std::vector<std::string> names;
    for (const auto& frontend : table.frontends) names.push_back(frontend.service);
    auto guess = closestMatch(name, names);
    return Error{"no service '" + name + "' with a vip and ports" +
                 (guess ? "; did you mean '" + *guess + "'?" : "")};
  }
  return frontendOnPort(frontends, name, flow);
}

// To a vip: on every backend a new flow may reach (the source port only
// picks which; this one is the one `polc explain` assumes).
void judgeThroughService(const ir::Program& program, const services::Frontend& frontend,
                         const Expectation& expectation, CaseResult& result) {
  constexpr uint16_t kSourcePort = 40000;
  auto flow = evaluateServiceFlow(program, frontend, expectation.flow, kSourcePort);
  if (!flow) {
    result.error = flow.error();
    return;
  }
  auto judged = anyBackendVerdict(*flow);
  result.actualVerdict = judged.verdict;
  result.passed = judged.verdict == expectation.verdict;
  result.reason = judged.reason;
  for (size_t backend : judged.deciding) addDecidingRules(program, flow->verdicts[backend], result);
}

CaseResult fileFailure(const std::string& path, std::string error) {
  CaseResult result;
  result.name = path;
  result.error = std::move(error);
  return result;
}

} // namespace

std::optional<TestFile> parseTestFile(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics) {
  diagnostics.addSource(path, text);
  // Test files are UTF-8 like policies: names and flows quoted from them go
  // into diagnostics and reports, which must be text.
  if (auto bad = invalidUtf8(text); bad != std::string_view::npos) {
    auto at = positionOfByte(text, bad, /*columnInCodePoints=*/false); // tokenize counts bytes
    diagnostics
        .error(DiagnosticId::Encoding, {path, at.line, at.column},
               "the file is not valid UTF-8: unexpected " + describeByte(text, bad))
        .hint("test files are UTF-8 text; convert it, e.g. with iconv -t UTF-8");
    return std::nullopt;
  }
  TestFile file{path, {}};
  std::string policy, topology;
  bool failed = false;
  int lineNumber = 0;
  size_t start = 0;
  while (start <= text.size()) {
    auto newline = text.find('\n', start);
    std::string line =
        text.substr(start, newline == std::string::npos ? std::string::npos : newline - start);
    start = newline == std::string::npos ? text.size() + 1 : newline + 1;
    ++lineNumber;
    LineParser parser(tokenize(line), path, lineNumber, diagnostics);
    const std::string* directive = parser.peek();
    if (!directive) continue;
    std::string word = *directive;
    parser.take("");
    if (word == "policy" || word == "topology") {
      const auto* argument = parser.take("a file path after '" + word + "'");
      if (argument && parser.end())
        (word == "policy" ? policy : topology) = resolvePath(path, argument->text);
    } else if (word == "expect") {
      Expectation expectation;
      expectation.location = parser.at(0);
      expectation.name = path + ":" + std::to_string(lineNumber);
      const auto* verdict = parser.take("'allow', 'deny' or 'audit'");
      if (verdict && verdict->text != "allow" && verdict->text != "deny" &&
          verdict->text != "audit")
        parser.error(DiagnosticId::TestSyntax, 1,
                     "expected 'allow', 'deny' or 'audit', found '" + verdict->text + "'");
      std::optional<FlowEnd> from, to;
      if (!parser.failed() && parser.keyword("from")) from = parser.flowEnd("a source");
      if (from && parser.keyword("to")) {
        if (auto service = parser.serviceName()) {
          expectation.toService = *service;
          to = FlowEnd::world(); // the backends stand for it (judgeThroughService)
        } else if (!parser.failed()) {
          to = parser.flowEnd("a destination");
        }
      }
      if (to && parser.keyword("on") && parser.l4(expectation.flow)) parser.end();
      if (!parser.failed()) {
        if (policy.empty() || topology.empty()) {
          parser
              .error(DiagnosticId::TestNoInputs, 0,
                     std::string("no '") + (policy.empty() ? "policy" : "topology") +
                         "' line before this expectation")
              .hint("start the file with 'policy FILE.pol' and 'topology FILE.yaml'");
        } else {
          expectation.verdict = verdict->text;
          expectation.flow.from = *from;
          expectation.flow.to = *to;
          const auto toText =
              expectation.toService.empty() ? to->text() : "service/" + expectation.toService;
          expectation.text = verdict->text + " from " + from->text() + " to " + toText + " on " +
                             expectation.flow.l4Text();
          expectation.policyFile = policy;
          expectation.topologyFile = topology;
          file.expectations.push_back(std::move(expectation));
        }
      }
    } else {
      auto& d =
          parser.error(DiagnosticId::TestUnknownDirective, 0, "unknown directive '" + word + "'");
      if (auto close = closestMatch(word, {"policy", "topology", "expect"}))
        d.hint("did you mean '" + *close + "'?");
      else
        d.hint("a line is 'policy FILE', 'topology FILE' or 'expect allow|deny|audit from A to B "
               "on P'");
    }
    failed = failed || parser.failed();
  }
  if (failed) return std::nullopt;
  if (file.expectations.empty())
    diagnostics.warning(DiagnosticId::TestEmpty, {path, 0, 0}, "no expectations in " + path);
  return file;
}

size_t TestReport::passed() const {
  size_t count = 0;
  for (const auto& c : cases) count += c.passed;
  return count;
}
size_t TestReport::failed() const {
  return cases.size() - passed();
}

TestReport runTestFiles(const std::vector<std::string>& files, const CompileFn& compile,
                        Diagnostics& diagnostics) {
  TestReport report;
  // Compiled once per (policy, topology); nullptr when it failed.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<CompiledPolicy>> programs;
  for (const auto& path : files) {
    auto text = readFile(path);
    if (!text) {
      diagnostics.error(DiagnosticId::TestRead, {path, 0, 0}, text.error());
      report.cases.push_back(fileFailure(path, "cannot read the test file: " + text.error()));
      continue;
    }
    auto file = parseTestFile(path, *text, diagnostics);
    if (!file) {
      report.cases.push_back(fileFailure(path, "the test file has errors (see above)"));
      continue;
    }
    for (const auto& expectation : file->expectations) {
      CaseResult result;
      result.name = expectation.name;
      result.expectation = expectation.text;
      auto key = std::pair(expectation.policyFile, expectation.topologyFile);
      auto found = programs.find(key);
      if (found == programs.end()) {
        auto program = compile(key.first, key.second, diagnostics);
        found = programs
                    .emplace(key, program ? std::make_unique<CompiledPolicy>(std::move(*program))
                                          : nullptr)
                    .first;
      }
      if (!found->second) {
        result.error = key.first + " with " + key.second + " does not compile (see above)";
        report.cases.push_back(std::move(result));
        continue;
      }
      const auto& compiled = *found->second;
      const auto& flow = expectation.flow;
      const services::Frontend* frontend = frontendAt(compiled.services, flow);
      if (!expectation.toService.empty()) {
        auto named = frontendOf(compiled.services, expectation.toService, flow);
        if (!named) {
          result.error = named.error();
          report.cases.push_back(std::move(result));
          continue;
        }
        frontend = *named;
      }
      if (frontend)
        judgeThroughService(compiled.program, *frontend, expectation, result);
      else
        judgeDirect(compiled.program, expectation, result);
      report.cases.push_back(std::move(result));
    }
  }
  return report;
}

std::string renderReport(const TestReport& report) {
  std::string out;
  for (const auto& c : report.cases) {
    out += (c.passed ? "ok   " : "FAIL ") + c.name;
    if (!c.expectation.empty()) out += "  expect " + c.expectation;
    out += "\n";
    if (c.passed) continue;
    if (!c.error.empty()) {
      out += "     error: " + c.error + "\n";
      continue;
    }
    out += "     actual: " + *c.actualVerdict + ": " + c.reason + "\n";
    for (const auto& rule : c.decidingRules)
      out += "     " + rule.side + ": rule " + std::to_string(rule.id) + "  " + rule.location +
             "  policy \"" + rule.policy + "\": " + rule.text + "\n";
  }
  out +=
      std::to_string(report.passed()) + " passed, " + std::to_string(report.failed()) + " failed\n";
  return out;
}

} // namespace polc::evaluator
