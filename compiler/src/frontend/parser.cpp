#include "polc/frontend/parser.h"

#include "PolicyLexer.h"
#include "PolicyParser.h"
#include "antlr4-runtime.h"

#include "polc/support/files.h"

#include <charconv>
#include <netinet/in.h>

namespace polc::frontend {

using grammar::PolicyLexer;
using grammar::PolicyParser;

namespace {

// Forwards ANTLR's syntax errors into the diagnostics store instead of stderr.
class DiagnosticErrorListener : public antlr4::BaseErrorListener {
public:
  DiagnosticErrorListener(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  void syntaxError(antlr4::Recognizer*, antlr4::Token* offending, size_t line,
                   size_t charPositionInLine, const std::string& message,
                   std::exception_ptr) override {
    auto& d = diagnostics_.error("syntax", {file_, int(line), int(charPositionInLine) + 1},
                                 "syntax error: " + message);
    if (offending && offending->getType() != antlr4::Token::EOF)
      d.length = std::max<int>(1, int(offending->getText().size()));
    ++count_;
  }
  int count() const { return count_; }

private:
  std::string file_;
  Diagnostics& diagnostics_;
  int count_ = 0;
};

class AstBuilder {
public:
  AstBuilder(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  ast::File build(PolicyParser::FileContext* file) {
    ast::File result;
    result.path = file_;
    for (auto* item : file->item()) {
      if (auto* let = item->letDecl()) {
        result.lets.push_back(
            {let->name->getText(), selector(let->selector()), at(let->getStart())});
      } else if (auto* policy = item->policyDecl()) {
        result.policies.push_back(buildPolicy(policy));
      }
    }
    return result;
  }

private:
  SourceLocation at(antlr4::Token* token) const {
    return {file_, int(token->getLine()), int(token->getCharPositionInLine()) + 1};
  }

  std::string unquote(antlr4::Token* token) const {
    auto text = token->getText();
    std::string value;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] == '\\' && i + 2 < text.size()) ++i;
      value.push_back(text[i]);
    }
    return value;
  }

  ast::Policy buildPolicy(PolicyParser::PolicyDeclContext* ctx) {
    ast::Policy policy;
    policy.name = unquote(ctx->name);
    policy.location = at(ctx->getStart());
    policy.select = selector(ctx->selectClause()->selector());
    for (auto* block : ctx->directionBlock()) {
      ast::DirectionBlock b;
      b.direction = block->direction->getType() == PolicyParser::INGRESS ? ast::Direction::Ingress
                                                                         : ast::Direction::Egress;
      b.location = at(block->getStart());
      for (auto* rule : block->ruleDecl()) b.rules.push_back(buildRule(rule, b.direction));
      policy.blocks.push_back(std::move(b));
    }
    return policy;
  }

  ast::Rule buildRule(PolicyParser::RuleDeclContext* ctx, ast::Direction direction) {
    ast::Rule rule;
    rule.verdict =
        ctx->verdict->getType() == PolicyParser::ALLOW ? ast::Verdict::Allow : ast::Verdict::Deny;
    rule.direction = direction;
    rule.location = at(ctx->getStart());
    bool saysFrom = ctx->peerDirection->getType() == PolicyParser::FROM;
    if (saysFrom != (direction == ast::Direction::Ingress)) {
      auto& d =
          diagnostics_.error("peer-direction", at(ctx->peerDirection),
                             std::string("an ") + std::string(ast::toString(direction)) +
                                 " rule names its peer with '" +
                                 (direction == ast::Direction::Ingress ? "from" : "to") + "'");
      d.length = int(ctx->peerDirection->getText().size());
      d.hints.push_back(std::string("write '") + ctx->verdict->getText() + " " +
                        (direction == ast::Direction::Ingress ? "from" : "to") + " ...'");
    }
    rule.peer = selector(ctx->peer()->selector());
    if (auto* ports = ctx->portList())
      for (auto* spec : ports->portSpec()) portRange(spec->PORT_SPEC()->getSymbol(), rule.ports);
    return rule;
  }

  void portRange(antlr4::Token* token, std::vector<ast::PortRange>& out) {
    auto text = token->getText();
    auto slash = text.find('/');
    auto protocolText = text.substr(0, slash);
    auto range = text.substr(slash + 1);
    auto dash = range.find('-');
    auto parse = [&](const std::string& digits, uint32_t& value) {
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      return ec == std::errc() && end == digits.data() + digits.size() && value >= 1 &&
             value <= 65535;
    };
    uint32_t first = 0, last = 0;
    bool ok = parse(range.substr(0, dash), first);
    ok = ok &&
         (dash == std::string::npos ? (last = first, true) : parse(range.substr(dash + 1), last));
    if (!ok) {
      auto& d = diagnostics_.error("port-range", at(token), "port out of range in '" + text + "'");
      d.length = int(text.size());
      d.hints.push_back("ports are 1 to 65535");
      return;
    }
    if (first > last) {
      auto& d =
          diagnostics_.error("port-range", at(token),
                             "empty port range '" + text + "': the first port is above the last");
      d.length = int(text.size());
      d.hints.push_back("write " + protocolText + "/" + std::to_string(last) + "-" +
                        std::to_string(first));
      return;
    }
    uint8_t protocol = protocolText == "tcp"   ? IPPROTO_TCP
                       : protocolText == "udp" ? IPPROTO_UDP
                                               : IPPROTO_SCTP;
    out.push_back({protocol, uint16_t(first), uint16_t(last), at(token)});
  }

  ast::SelectorPtr selector(PolicyParser::SelectorContext* ctx) {
    auto result = std::make_shared<ast::Selector>();
    result->location = at(ctx->getStart());
    result->length = std::max<int>(1, int(ctx->getStop()->getStopIndex()) -
                                          int(ctx->getStart()->getStartIndex()) + 1);
    using Kind = ast::Selector::Kind;
    if (auto* c = dynamic_cast<PolicyParser::NotSelectorContext*>(ctx)) {
      result->kind = Kind::Not;
      result->operands.push_back(selector(c->selector()));
    } else if (auto* c = dynamic_cast<PolicyParser::AndSelectorContext*>(ctx)) {
      result->kind = Kind::And;
      result->operands = {selector(c->selector(0)), selector(c->selector(1))};
    } else if (auto* c = dynamic_cast<PolicyParser::OrSelectorContext*>(ctx)) {
      result->kind = Kind::Or;
      result->operands = {selector(c->selector(0)), selector(c->selector(1))};
    } else if (auto* c = dynamic_cast<PolicyParser::ParenSelectorContext*>(ctx)) {
      return selector(c->selector());
    } else if (dynamic_cast<PolicyParser::AnySelectorContext*>(ctx)) {
      result->kind = Kind::Any;
    } else if (auto* c = dynamic_cast<PolicyParser::HasSelectorContext*>(ctx)) {
      result->kind = Kind::Has;
      result->key = c->labelKey()->getText();
    } else if (auto* c = dynamic_cast<PolicyParser::CompareSelectorContext*>(ctx)) {
      result->kind = c->op->getText() == "==" ? Kind::Equal : Kind::NotEqual;
      result->key = c->labelKey()->getText();
      result->values.push_back(unquote(c->STRING()->getSymbol()));
    } else if (auto* c = dynamic_cast<PolicyParser::SetSelectorContext*>(ctx)) {
      result->kind = c->op->getType() == PolicyParser::IN ? Kind::In : Kind::NotIn;
      result->key = c->labelKey()->getText();
      for (auto* value : c->STRING()) result->values.push_back(unquote(value->getSymbol()));
    } else if (auto* c = dynamic_cast<PolicyParser::LetReferenceContext*>(ctx)) {
      result->kind = Kind::LetReference;
      result->key = c->IDENT()->getText();
    }
    return result;
  }

  std::string file_;
  Diagnostics& diagnostics_;
};

} // namespace

std::optional<ast::File> parseText(const std::string& path, std::string text,
                                   Diagnostics& diagnostics) {
  diagnostics.addSource(path, text);
  antlr4::ANTLRInputStream input(text);
  PolicyLexer lexer(&input);
  DiagnosticErrorListener listener(path, diagnostics);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  PolicyParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  auto* tree = parser.file();
  if (listener.count() > 0) return std::nullopt;
  auto errorsBefore = diagnostics.errorCount();
  auto file = AstBuilder(path, diagnostics).build(tree);
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;
  return file;
}

std::optional<ast::File> parseFile(const std::string& path, Diagnostics& diagnostics) {
  auto text = readFile(path);
  if (!text) {
    diagnostics.error("io", {path, 0, 0}, text.error());
    return std::nullopt;
  }
  return parseText(path, std::move(*text), diagnostics);
}

} // namespace polc::frontend
