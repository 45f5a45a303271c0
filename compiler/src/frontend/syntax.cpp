#include "syntax.h"

#include "polc/support/suggest.h"
#include "polc/support/utf8.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace polc::frontend {

using grammar::PolicyParser;
using Token = antlr4::Token;

SourceLocation locationOf(const std::string& path, const Token* token) {
  return {path, int(token->getLine()), int(token->getCharPositionInLine()) + 1};
}

SourceLocation SyntaxTree::at(const Token* token) const {
  return locationOf(path, token);
}

int lengthBetween(const Token* first, const Token* last) {
  if (!first || !last) return 1;
  return std::max(1, int(last->getStopIndex()) - int(first->getStartIndex()) + 1);
}

bool intact(antlr4::tree::ParseTree* tree) {
  // A loop rather than recursion: a chain `a && b && ...` is as deep as it is long.
  std::vector<antlr4::tree::ParseTree*> pending = {tree};
  while (!pending.empty()) {
    auto* node = pending.back();
    pending.pop_back();
    if (auto* ctx = dynamic_cast<antlr4::ParserRuleContext*>(node)) {
      // Every rule of the grammar holds a token at least: an empty one
      // stands for a token that recovery conjured.
      if (ctx->exception || ctx->children.empty()) return false;
      pending.insert(pending.end(), ctx->children.begin(), ctx->children.end());
    } else if (dynamic_cast<antlr4::tree::ErrorNode*>(node)) {
      return false;
    } else if (auto* terminal = dynamic_cast<antlr4::tree::TerminalNode*>(node)) {
      if (terminal->getSymbol()->getTokenIndex() == INVALID_INDEX) return false;
    }
  }
  return true;
}

namespace {

// Token types that can begin a selector; a label-key keyword (service,
// type, ...) counts as one because labelKey accepts it.
const std::set<size_t> kLabelKeyKeywords = {
    PolicyParser::SERVICE, PolicyParser::GROUP,   PolicyParser::ENTITY, PolicyParser::CIDR,
    PolicyParser::EXCEPT,  PolicyParser::TYPE,    PolicyParser::CODE,   PolicyParser::TCP,
    PolicyParser::UDP,     PolicyParser::SCTP,    PolicyParser::ICMP,   PolicyParser::ICMPV6,
    PolicyParser::DEFAULT, PolicyParser::INCLUDE, PolicyParser::AUDIT,  PolicyParser::POLICY,
    PolicyParser::FOR};

bool contains(const antlr4::misc::IntervalSet& set, size_t type) {
  return set.contains(type);
}

std::vector<size_t> tokenTypes(const antlr4::misc::IntervalSet& set) {
  std::vector<size_t> types;
  for (auto type : set.toList()) types.push_back(type < 0 ? Token::EOF : size_t(type));
  return types;
}

bool isKeyword(size_t type) {
  return type >= PolicyParser::INCLUDE && type <= PolicyParser::CODE;
}

std::string joinAlternatives(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// How far recovery unwinds after an error: to the next rule of a block, the
// next block of a policy, or the next top-level item.
enum class Level { Rule, Policy, Top };

// Rules are told apart by their index, not by dynamic_cast: sync() asks for
// every item of every list, and a failed dynamic_cast compares type names.
Level levelOf(antlr4::RuleContext* ctx) {
  for (; ctx; ctx = dynamic_cast<antlr4::RuleContext*>(ctx->parent)) {
    auto rule = ctx->getRuleIndex();
    if (rule == PolicyParser::RuleRuleDecl || rule == PolicyParser::RuleDirectionBlock)
      return Level::Rule;
    if (rule == PolicyParser::RulePolicyDecl) return Level::Policy;
  }
  return Level::Top;
}

// The rules holding a list of items (item*, directionBlock*, ruleDecl*),
// where recovery resumes.
bool isItemList(antlr4::RuleContext* ctx) {
  auto rule = ctx->getRuleIndex();
  return rule == PolicyParser::RuleFile || rule == PolicyParser::RulePolicyDecl ||
         rule == PolicyParser::RuleDirectionBlock;
}

antlr4::misc::IntervalSet setOf(std::initializer_list<size_t> types) {
  antlr4::misc::IntervalSet set;
  for (auto type : types) set.add(ssize_t(type));
  return set;
}

// Turns ANTLR's recognition failures into messages a policy author can act
// on: "expected a selector, found 'on'", "unknown keyword 'alow': did you
// mean 'allow'?", "missing '}' to close policy "web"".
//
// Recovery is a compiler's panic mode rather than ANTLR's follow sets: after
// an error in a rule, skip to the next 'allow'/'deny' or the '}' of the
// block; after an error in a policy header, to the next 'ingress'/'egress'
// or the policy's '}'; elsewhere, to the next top-level item. Skipping steps
// over balanced braces, and a misspelt keyword is taken as the keyword it
// resembles, so that what follows it still parses. Errors are not reported
// while recovering (ANTLR's error recovery mode), so recovery itself causes
// none: every independent error of a file is reported once.
class PolicyErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  PolicyErrorStrategy(SyntaxTree& tree, Diagnostics& diagnostics)
      : tree_(tree), diagnostics_(diagnostics) {}

  // In the item lists, anything that cannot start an item is reported once
  // and skipped, and the list goes on; ANTLR would leave the rule instead.
  void sync(antlr4::Parser* parser) override {
    auto* ctx = parser->getContext();
    if (!isItemList(ctx)) {
      DefaultErrorStrategy::sync(parser);
      return;
    }
    auto& atn = parser->getATN();
    auto* token = parser->getCurrentToken();
    const auto& next = atn.nextTokens(atn.states[parser->getState()]);
    if (next.contains(token->getType()) || next.contains(Token::EPSILON)) return;
    auto expected = parser->getExpectedTokens();
    if (expected.contains(token->getType())) return;
    bool recovering = inErrorRecoveryMode(parser);
    // `alow from ...`: read as 'allow'. While recovering, only at the start
    // of a line, where recovery stops for it (resumesAt).
    if (auto keyword = misspeltKeyword(parser, token, expected);
        keyword && (!recovering || firstOnLine(token))) {
      if (int(token->getTokenIndex()) != lastReported_) {
        endErrorCondition(parser);
        beginErrorCondition(parser);
        reportMisspelt(parser, token, expected);
      }
      if (retype(token, keyword)) return;
    }
    if (!recovering) {
      beginErrorCondition(parser);
      reportExpected(parser, token, expected);
    }
    skipTo(parser, levelOf(ctx));
  }

  void recover(antlr4::Parser* parser, std::exception_ptr) override {
    // As ANTLR does: two errors in the same state at the same token would
    // loop forever, so the second one consumes a token.
    auto index = int(parser->getInputStream()->index());
    if (lastErrorIndex == index && lastErrorStates.contains(ssize_t(parser->getState())) &&
        parser->getCurrentToken()->getType() != Token::EOF)
      parser->consume();
    lastErrorIndex = int(parser->getInputStream()->index());
    lastErrorStates.add(ssize_t(parser->getState()));
    skipTo(parser, levelOf(parser->getContext()));
  }

  // One wrong token: besides ANTLR's deletion of an extra token and
  // insertion of a missing one, a misspelt keyword is read as the keyword,
  // and a token in place of the expected one (`policy web {`) is replaced.
  Token* recoverInline(antlr4::Parser* parser) override {
    if (auto* matched = singleTokenDeletion(parser)) {
      parser->consume();
      return matched;
    }
    auto* current = parser->getCurrentToken();
    auto expected = getExpectedTokens(parser);
    if (auto keyword = misspeltKeyword(parser, current, expected)) {
      if (!inErrorRecoveryMode(parser)) {
        beginErrorCondition(parser);
        reportMisspelt(parser, current, expected);
      }
      if (retype(current, keyword)) {
        reportMatch(parser);
        parser->consume();
        return current;
      }
    }
    if (singleTokenInsertion(parser)) return getMissingSymbol(parser);
    if (replaceable(parser)) {
      if (!inErrorRecoveryMode(parser)) {
        beginErrorCondition(parser);
        reportExpected(parser, current, expected);
      }
      auto* missing = getMissingSymbol(parser);
      parser->consume();
      return missing;
    }
    throw antlr4::InputMismatchException(parser);
  }

protected:
  void reportNoViableAlternative(antlr4::Parser* parser,
                                 const antlr4::NoViableAltException& e) override {
    auto* start = e.getStartToken();
    auto* offending = e.getOffendingToken();
    if (start && offending && start->getTokenIndex() < offending->getTokenIndex()) {
      reportAfter(parser, start, offending, e.getExpectedTokens());
      return;
    }
    reportExpected(parser, start ? start : offending, e.getExpectedTokens());
  }

  void reportInputMismatch(antlr4::Parser* parser,
                           const antlr4::InputMismatchException& e) override {
    reportExpected(parser, e.getOffendingToken(), e.getExpectedTokens());
  }

  void reportFailedPredicate(antlr4::Parser* parser,
                             const antlr4::FailedPredicateException& e) override {
    reportExpected(parser, e.getOffendingToken(), e.getExpectedTokens());
  }

  void reportUnwantedToken(antlr4::Parser* parser) override {
    if (inErrorRecoveryMode(parser)) return;
    beginErrorCondition(parser);
    reportExpected(parser, parser->getCurrentToken(), getExpectedTokens(parser));
  }

  void reportMissingToken(antlr4::Parser* parser) override {
    if (inErrorRecoveryMode(parser)) return;
    beginErrorCondition(parser);
    auto* current = parser->getCurrentToken();
    auto expected = getExpectedTokens(parser);
    if (conjuredOpener(parser, expected)) return;
    if (reportUnclosed(parser, current, expected)) return;
    if (lexicalError(current)) return;
    if (reportMisspelt(parser, current, expected)) return;
    if (reportAfterAudit(parser, current, expected)) return;
    auto& d = error(current, "missing " + describeExpected(parser, expected) + " before " +
                                 describeFound(current));
    addClosingNote(d, parser, expected);
  }

private:
  // ---- recovery ----

  // `policy "x"`, `let`, `default deny`, `include "f"`: the start of a
  // top-level item. policy, default and include are label keys too, but a
  // key is always followed by an operator (or by ')' in has(...)). `audit`
  // (a label key too) starts one only before `policy`: a stray one is
  // reported where it is, not taken for the start of the next item.
  bool startsItem(const Token* token) {
    switch (token->getType()) {
    case PolicyParser::LET:
      return true;
    case PolicyParser::AUDIT: {
      auto* next = nextToken(token);
      return next && next->getType() == PolicyParser::POLICY;
    }
    case PolicyParser::POLICY:
    case PolicyParser::DEFAULT:
    case PolicyParser::INCLUDE: {
      auto* next = nextToken(token);
      if (!next) return false;
      static const std::set<size_t> operators = {PolicyParser::EQ,     PolicyParser::NE,
                                                 PolicyParser::IN,     PolicyParser::NOTIN,
                                                 PolicyParser::ASSIGN, PolicyParser::RPAREN};
      return !operators.count(next->getType());
    }
    default:
      return false;
    }
  }

  bool firstOnLine(const Token* token) {
    auto* previous = previousToken(token);
    return !previous || previous->getLine() != token->getLine();
  }

  // Where skipping stops at `level`; `depth` counts the braces it opened.
  bool resumesAt(antlr4::Parser* parser, const Token* token, Level level, int depth) {
    auto type = token->getType();
    if (type == Token::EOF || startsItem(token)) return true;
    if (depth > 0) return false;
    switch (level) {
    case Level::Rule:
      if (type == PolicyParser::ALLOW || type == PolicyParser::DENY ||
          type == PolicyParser::RBRACE || type == PolicyParser::INGRESS ||
          type == PolicyParser::EGRESS)
        return true;
      // `alow from ...` on a line of its own is the next rule, misspelt.
      return firstOnLine(token) &&
             misspeltKeyword(parser, token, setOf({PolicyParser::ALLOW, PolicyParser::DENY}));
    case Level::Policy:
      if (type == PolicyParser::INGRESS || type == PolicyParser::EGRESS ||
          type == PolicyParser::RBRACE)
        return true;
      return firstOnLine(token) &&
             misspeltKeyword(parser, token, setOf({PolicyParser::INGRESS, PolicyParser::EGRESS}));
    case Level::Top:
      return false;
    }
    return false;
  }

  // Consumes tokens up to where parsing may resume at `level`, stepping
  // over balanced braces.
  void skipTo(antlr4::Parser* parser, Level level) {
    int depth = 0;
    while (true) {
      auto* token = parser->getCurrentToken();
      if (resumesAt(parser, token, level, depth)) return;
      if (token->getType() == PolicyParser::LBRACE) ++depth;
      if (token->getType() == PolicyParser::RBRACE && depth > 0) --depth;
      parser->consume();
    }
  }

  // Tokens that recovery must not swallow as the replacement of another.
  bool structural(const Token* token) {
    switch (token->getType()) {
    case Token::EOF:
    case PolicyParser::LBRACE:
    case PolicyParser::RBRACE:
    case PolicyParser::ALLOW:
    case PolicyParser::DENY:
    case PolicyParser::INGRESS:
    case PolicyParser::EGRESS:
      return true;
    default:
      return startsItem(token);
    }
  }

  // Whether the current token stands where the expected one belongs: the
  // token after it is what may follow the expected one.
  bool replaceable(antlr4::Parser* parser) {
    if (structural(parser->getCurrentToken())) return false;
    auto& atn = parser->getATN();
    auto* state = atn.states[parser->getState()];
    if (state->transitions.empty()) return false;
    auto follow = atn.nextTokens(state->transitions[0]->target, parser->getContext());
    return follow.contains(parser->getInputStream()->LA(2));
  }

  // Reads a misspelt keyword as the keyword.
  static bool retype(Token* token, size_t type) {
    auto* writable = dynamic_cast<antlr4::WritableToken*>(token);
    if (!writable) return false;
    writable->setType(type);
    return true;
  }

  // ---- reporting ----

  Diagnostic& error(const Token* where, std::string message) {
    ++tree_.syntaxErrors;
    lastReported_ = where ? int(where->getTokenIndex()) : -1;
    auto location = locationOf(where);
    auto& d = diagnostics_.error(DiagnosticId::Syntax, location, std::move(message));
    if (where && where->getType() != Token::EOF)
      d.underline(std::max(1, int(where->getStopIndex()) - int(where->getStartIndex()) + 1));
    return d;
  }

  // End of file is reported just after the last token, where the missing
  // text belongs, rather than on an empty line below it.
  SourceLocation locationOf(const Token* token) {
    if (token && token->getType() == Token::EOF) {
      for (auto i = int(token->getTokenIndex()) - 1; i >= 0; --i) {
        auto* previous = tree_.tokens.get(size_t(i));
        if (previous->getChannel() != Token::DEFAULT_CHANNEL) continue;
        auto location = tree_.at(previous);
        location.column += int(previous->getStopIndex() - previous->getStartIndex()) + 1;
        return location;
      }
    }
    return tree_.at(token);
  }

  // Bad characters and unterminated strings get their own message wherever
  // they stop the parser: the grammar's expectation is not the problem.
  bool lexicalError(const Token* token) {
    if (!token) return false;
    if (token->getType() == PolicyParser::UNTERMINATED_STRING) {
      error(token, "unterminated string").hint("close the string with '\"' on the same line");
      return true;
    }
    if (token->getType() == PolicyParser::BAD_CHAR) {
      auto text = token->getText();
      auto& d = error(token, "unexpected character '" + text + "'");
      if (text == "&" || text == "|")
        d.hint("write '" + text + text + "' for " + (text == "&" ? "and" : "or"));
      else if (text == "'")
        d.hint("strings are written with double quotes");
      return true;
    }
    return false;
  }

  void reportExpected(antlr4::Parser* parser, Token* found, const antlr4::misc::IntervalSet& set) {
    if (!found) found = parser->getCurrentToken();
    if (conjuredOpener(parser, set)) return;
    if (lexicalError(found)) return;
    if (reportUnclosed(parser, found, set)) return;
    if (reportMisspelt(parser, found, set)) return;
    if (reportAfterAudit(parser, found, set)) return;
    auto type = found->getType();
    // `app = "web"`: the selector ended after a word that was meant as a key.
    auto* previous = previousToken(found);
    if ((type == PolicyParser::ASSIGN || type == PolicyParser::STRING) && previous &&
        (previous->getType() == PolicyParser::IDENT ||
         kLabelKeyKeywords.count(previous->getType()))) {
      auto& d = error(found, "expected '==', '!=', 'in' or 'notin' after label key '" +
                                 previous->getText() + "', found " + describeFound(found));
      if (type == PolicyParser::ASSIGN) d.hint("compare with '=='");
      return;
    }
    auto expected = describeExpected(parser, set);
    auto& d = error(found, "expected " + expected + ", found " + describeFound(found));
    if (type == PolicyParser::IDENT && found->getText().starts_with("icmp"))
      d.hint("ICMP is written 'icmp', 'icmp type 8' or 'icmp type 3 code 1'");
    if (contains(set, PolicyParser::STRING) && type == PolicyParser::IDENT)
      d.hint("write it in double quotes: \"" + found->getText() + "\"");
    // `htp/80`, `tpc/443`: a misspelt protocol where a port goes (three
    // short candidates: two edits still leave no doubt).
    if (contains(set, PolicyParser::PORT_SPEC)) {
      const auto text = found->getText();
      const auto slash = text.find('/');
      const auto word = text.substr(0, slash);
      if (!word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
            return std::isalpha(static_cast<unsigned char>(c));
          }))
        if (auto match = closestMatch(word, {"tcp", "udp", "sctp"}, 2); match && *match != word)
          d.hint("did you mean '" + *match +
                 (slash == std::string::npos ? std::string() : text.substr(slash)) + "'?");
    }
    // `audit deny from ...`, `let audit = ...`: what the keyword is for.
    if (type == PolicyParser::AUDIT && !startsItem(found))
      d.hint("'audit' is a keyword that marks a policy: audit policy \"NAME\" { ... }");
    bool portFound = type == PolicyParser::PORT_SPEC || type == PolicyParser::TCP ||
                     type == PolicyParser::UDP || type == PolicyParser::SCTP ||
                     type == PolicyParser::ICMP || type == PolicyParser::ICMPV6;
    if (portFound && !contains(set, PolicyParser::PORT_SPEC)) {
      d.hint(previous && previous->getType() != PolicyParser::ON
                 ? "separate ports with ','"
                 : "ports follow 'on': allow from PEER on tcp/80");
    }
    addClosingNote(d, parser, set);
  }

  const Token* previousToken(const Token* token) {
    if (token->getTokenIndex() == INVALID_INDEX) return nullptr;
    for (auto i = int(token->getTokenIndex()) - 1; i >= 0; --i) {
      auto* previous = tree_.tokens.get(size_t(i));
      if (previous->getChannel() == Token::DEFAULT_CHANNEL) return previous;
    }
    return nullptr;
  }

  const Token* nextToken(const Token* token) {
    if (token->getTokenIndex() == INVALID_INDEX) return nullptr;
    for (auto i = token->getTokenIndex() + 1; i < tree_.tokens.size(); ++i) {
      auto* next = tree_.tokens.get(i);
      if (next->getChannel() == Token::DEFAULT_CHANNEL) return next;
    }
    return nullptr;
  }

  // The keyword of `set` that `found` is close to, or 0: a word where a
  // keyword belongs, close to one, is probably a misspelt keyword.
  size_t misspeltKeyword(antlr4::Parser* parser, const Token* found,
                         const antlr4::misc::IntervalSet& set) {
    auto type = found->getType();
    if (type != PolicyParser::IDENT && !isKeyword(type)) return 0;
    if (found->getTokenIndex() == INVALID_INDEX || startsItem(found)) return 0;
    auto word = found->getText();
    // Keys and ports (app.kubernetes.io/name, icmp/8) are not keyword typos.
    if (word.find_first_of("./") != std::string::npos) return 0;
    size_t best = 0;
    int bestDistance = 3;
    for (auto candidate : tokenTypes(set)) {
      if (!isKeyword(candidate) || candidate == type) continue;
      int distance = int(editDistance(word, literal(parser, candidate)));
      if (distance < bestDistance && distance < int(word.size())) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return best;
  }

  // `audit` followed by anything but `policy` (`audit "web" {`, `audit let`):
  // say what `audit` is for rather than just that 'policy' is expected.
  bool reportAfterAudit(antlr4::Parser* parser, const Token* found,
                        const antlr4::misc::IntervalSet& set) {
    auto* ctx = parser->getContext();
    if (!ctx || ctx->getRuleIndex() != PolicyParser::RulePolicyDecl ||
        !contains(set, PolicyParser::POLICY))
      return false;
    auto* previous = previousToken(found);
    if (!previous || previous->getType() != PolicyParser::AUDIT) return false;
    error(found,
          "'audit' marks a policy: expected 'policy' after it, found " + describeFound(found))
        .hint("write audit policy \"NAME\" { ... }");
    return true;
  }

  bool reportMisspelt(antlr4::Parser* parser, const Token* found,
                      const antlr4::misc::IntervalSet& set) {
    auto keyword = misspeltKeyword(parser, found, set);
    if (!keyword) return false;
    error(found, (found->getType() == PolicyParser::IDENT ? "unknown keyword '" : "unexpected '") +
                     found->getText() + "': did you mean '" + literal(parser, keyword) + "'?")
        .hint("expected " + describeExpected(parser, set));
    return true;
  }

  // When prediction read a few tokens before failing, the first token was
  // fine: say what was wrong after it.
  void reportAfter(antlr4::Parser* parser, Token* start, Token* offending,
                   const antlr4::misc::IntervalSet& set) {
    if (lexicalError(offending)) return;
    if (reportUnclosed(parser, offending, set)) return;
    // `let a =` followed by `policy "b" {`: the selector is missing, not an
    // operator after the label key 'policy'.
    if (startsItem(start)) {
      reportExpected(parser, start, set);
      return;
    }
    auto startType = start->getType();
    auto what = describeFound(offending);
    std::string message;
    std::string hint;
    if (startType == PolicyParser::SERVICE || startType == PolicyParser::GROUP) {
      auto word = start->getText();
      message =
          "expected the " + word + " name in double quotes after '" + word + "', found " + what;
      if (offending->getType() == PolicyParser::IDENT)
        hint = "write " + word + " \"" + offending->getText() + "\"";
    } else if (startType == PolicyParser::ENTITY) {
      message = "expected an entity (world, host, cluster or all) after 'entity', found " + what;
    } else if (startType == PolicyParser::CIDR) {
      message = "expected an IP prefix such as 10.0.0.0/8 after 'cidr', found " + what;
    } else if (startType == PolicyParser::IDENT || kLabelKeyKeywords.count(startType)) {
      message = "expected '==', '!=', 'in' or 'notin' after label key '" + start->getText() +
                "', found " + what;
      if (offending->getType() == PolicyParser::ASSIGN) hint = "compare with '=='";
    } else if (startType == PolicyParser::HAS) {
      message = "expected '(' after 'has', found " + what;
      hint = "write has(key)";
    } else {
      message = "unexpected " + what + " after '" + start->getText() + "'";
    }
    auto& d = error(offending, message);
    if (!hint.empty()) d.hint(hint);
    return;
  }

  // A policy or block that runs into the next top-level item or the end of
  // the file (or a block into the next block), at a point where '}' could
  // come, is missing its '}': say which one, and where it opened.
  bool reportUnclosed(antlr4::Parser* parser, Token* found, const antlr4::misc::IntervalSet& set) {
    auto type = found->getType();
    if (!contains(set, PolicyParser::RBRACE)) return false;
    PolicyParser::PolicyDeclContext* policy = nullptr;
    PolicyParser::DirectionBlockContext* block = nullptr;
    for (auto* ctx = parser->getContext(); ctx;
         ctx = dynamic_cast<antlr4::ParserRuleContext*>(ctx->parent)) {
      if (auto* p = dynamic_cast<PolicyParser::PolicyDeclContext*>(ctx)) policy = p;
      if (auto* b = dynamic_cast<PolicyParser::DirectionBlockContext*>(ctx); b && !block) block = b;
    }
    bool nextBlock =
        (type == PolicyParser::INGRESS || type == PolicyParser::EGRESS) && block && block->LBRACE();
    if (type != Token::EOF && !startsItem(found) && !nextBlock) return false;
    if (!policy || !policy->LBRACE()) return false;
    bool named = policy->name && policy->name->getTokenIndex() != INVALID_INDEX;
    auto policyName = named ? policy->name->getText() : std::string("\"\"");
    // The block's keyword as the language spells it (it may be a misspelling).
    std::string blockName =
        block && block->getStart()->getType() == PolicyParser::INGRESS ? "ingress" : "egress";
    std::string message = "missing '}' to close ";
    if (block && block->LBRACE())
      message += "the " + blockName + " block of policy " + policyName;
    else
      message += "policy " + policyName;
    auto& d = error(found, message);
    if (block && block->LBRACE())
      d.note(tree_.at(block->LBRACE()->getSymbol()), 1, "the " + blockName + " block opens here");
    d.note(tree_.at(policy->LBRACE()->getSymbol()), 1, "policy " + policyName + " opens here");
    return true;
  }

  // The '(' of the current rule, if it was conjured by recovery (the user
  // wrote none): a missing ')' is then the same mistake, already reported.
  static bool conjuredOpener(antlr4::Parser* parser, const antlr4::misc::IntervalSet& set) {
    auto* ctx = parser->getContext();
    if (!ctx || !contains(set, PolicyParser::RPAREN)) return false;
    for (auto* child : ctx->children) {
      auto* terminal = dynamic_cast<antlr4::tree::TerminalNode*>(child);
      if (terminal && terminal->getSymbol()->getType() == PolicyParser::LPAREN)
        return terminal->getSymbol()->getTokenIndex() == INVALID_INDEX;
    }
    return false;
  }

  // For a missing ')' or '}', point at the bracket it would close.
  void addClosingNote(Diagnostic& d, antlr4::Parser* parser, const antlr4::misc::IntervalSet& set) {
    auto* ctx = parser->getContext();
    if (!ctx) return;
    if (contains(set, PolicyParser::RPAREN) && set.size() <= 3) {
      for (auto* child : ctx->children) {
        auto* terminal = dynamic_cast<antlr4::tree::TerminalNode*>(child);
        if (terminal && terminal->getSymbol()->getType() == PolicyParser::LPAREN &&
            terminal->getSymbol()->getTokenIndex() != INVALID_INDEX) {
          d.note(tree_.at(terminal->getSymbol()), 1, "the '(' to close is here");
          return;
        }
      }
    }
  }

  static std::string literal(antlr4::Parser* parser, size_t type) {
    auto text = parser->getVocabulary().getLiteralName(type);
    if (text.size() >= 2 && text.front() == '\'') text = text.substr(1, text.size() - 2);
    return text;
  }

  static std::string describeFound(const Token* token) {
    switch (token->getType()) {
    case Token::EOF:
      return "the end of the file";
    case PolicyParser::STRING:
      return token->getText();
    default:
      return "'" + token->getText() + "'";
    }
  }

  // "a selector", "'ingress', 'egress' or '}'", ...: the expected set in
  // the words of the language rather than as token names.
  std::string describeExpected(antlr4::Parser* parser, const antlr4::misc::IntervalSet& set) {
    auto types = tokenTypes(set);
    auto has = [&](size_t type) { return contains(set, type); };
    size_t rule = parser->getContext() ? parser->getContext()->getRuleIndex() : 0;
    std::vector<std::string> words;
    std::set<size_t> covered;
    auto cover = [&](std::initializer_list<size_t> list) { covered.insert(list); };
    bool selector = has(PolicyParser::ANY) && has(PolicyParser::HAS);
    // Peers add service, cidr, ... which are label keys too: only the rule tells.
    bool peer = selector && rule == PolicyParser::RulePeer;
    if (selector) {
      words.push_back(peer ? "a peer (a selector, service, cidr, group or entity)" : "a selector");
      cover({PolicyParser::IDENT, PolicyParser::ANY, PolicyParser::HAS, PolicyParser::NOT,
             PolicyParser::LPAREN});
      covered.insert(kLabelKeyKeywords.begin(), kLabelKeyKeywords.end());
    }
    if (has(PolicyParser::PORT_SPEC)) {
      words.push_back("a port such as tcp/80");
      cover({PolicyParser::PORT_SPEC, PolicyParser::TCP, PolicyParser::UDP, PolicyParser::SCTP,
             PolicyParser::ICMP, PolicyParser::ICMPV6});
    }
    if (has(PolicyParser::CIDR_PREFIX)) {
      words.push_back("an IP prefix such as 10.0.0.0/8");
      cover({PolicyParser::CIDR_PREFIX});
    }
    if (has(PolicyParser::IDENT) && !covered.count(PolicyParser::IDENT)) {
      if (rule == PolicyParser::RuleEntityName || rule == PolicyParser::RulePeer)
        words.push_back("an entity (world, host, cluster or all)");
      else if (rule == PolicyParser::RuleLetDecl)
        words.push_back("a name");
      else
        words.push_back("a label key");
      cover({PolicyParser::IDENT, PolicyParser::ANY});
      covered.insert(kLabelKeyKeywords.begin(), kLabelKeyKeywords.end());
    }
    if (has(PolicyParser::STRING)) {
      switch (rule) {
      case PolicyParser::RulePolicyDecl:
        words.push_back("the policy name in double quotes");
        break;
      case PolicyParser::RuleIncludeDecl:
        words.push_back("the file name in double quotes");
        break;
      case PolicyParser::RulePeer:
        words.push_back("a name in double quotes");
        break;
      default:
        words.push_back("a value in double quotes");
      }
      cover({PolicyParser::STRING});
    }
    if (has(PolicyParser::INT)) {
      words.push_back("a number");
      cover({PolicyParser::INT});
    }
    bool onlyEnd = true;
    for (auto type : types)
      if (!covered.count(type) && type != Token::EOF) onlyEnd = false;
    for (auto type : types) {
      if (covered.count(type)) continue;
      if (type == Token::EOF) {
        // At the top level, the end of the file goes without saying.
        if (onlyEnd && words.empty()) words.push_back("the end of the file");
        continue;
      }
      words.push_back("'" + literal(parser, type) + "'");
    }
    if (words.empty()) return "something else";
    return joinAlternatives(words);
  }

  SyntaxTree& tree_;
  Diagnostics& diagnostics_;
  int lastReported_ = -1; // the token of the last error reported
};

// ANTLR recurses once per '(' and '!', so refuse deeper nesting up front.
// The depth counts open parentheses plus the run of '!' in front of each.
void checkNesting(SyntaxTree& tree, Diagnostics& diagnostics) {
  std::vector<int> bangsOutside; // '!' run in front of each open '('
  int bangs = 0;
  int depth = 0;
  for (const auto& lexed : tree.lexed) {
    const auto* token = &lexed;
    if (token->getChannel() != Token::DEFAULT_CHANNEL) continue;
    switch (token->getType()) {
    case PolicyParser::NOT:
      ++bangs;
      ++depth;
      break;
    case PolicyParser::LPAREN:
      bangsOutside.push_back(bangs);
      bangs = 0;
      ++depth;
      break;
    case PolicyParser::RPAREN:
      if (!bangsOutside.empty()) {
        depth -= 1 + bangs + bangsOutside.back();
        bangsOutside.pop_back();
      } else {
        depth -= bangs;
      }
      bangs = 0;
      break;
    default:
      depth -= bangs;
      bangs = 0;
    }
    depth = std::max(depth, 0);
    if (depth > kMaxNesting) {
      ++tree.syntaxErrors;
      diagnostics
          .error(DiagnosticId::Nesting, tree.at(token),
                 "selector nested too deeply: more than " + std::to_string(kMaxNesting) +
                     " levels of '(' and '!'")
          .hint("split the selector with 'let' names");
      return;
    }
  }
}

} // namespace

std::unique_ptr<SyntaxTree> lexSyntax(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics) {
  diagnostics.addSource(path, text);
  // The input stream decodes the text to code points, which it must be
  // able to: the whole text is checked first, so that a stray byte
  // anywhere, in a string or a comment, is an error where it is.
  if (auto bad = invalidUtf8(text); bad != std::string_view::npos) {
    auto tree = std::make_unique<SyntaxTree>("");
    tree->path = path;
    ++tree->syntaxErrors;
    // In code points, as ANTLR counts the columns of every other diagnostic.
    auto at = positionOfByte(text, bad, /*columnInCodePoints=*/true);
    diagnostics
        .error(DiagnosticId::Encoding, {path, at.line, at.column},
               "the file is not valid UTF-8: unexpected " + describeByte(text, bad))
        .hint("policy files are UTF-8 text; convert it, e.g. with iconv -t UTF-8");
    return tree;
  }
  auto tree = std::make_unique<SyntaxTree>(text);
  tree->path = path;
  checkNesting(*tree, diagnostics);
  return tree;
}

void buildParseTree(SyntaxTree& tree, Diagnostics& diagnostics) {
  // The error strategy looks ahead in the token stream: all of it.
  tree.tokens.fill();
  // No listener may print to the console (the lexer has none: BAD_CHAR
  // catches every character).
  tree.parser.removeErrorListeners();
  tree.parser.setErrorHandler(std::make_shared<PolicyErrorStrategy>(tree, diagnostics));
  tree.file = tree.parser.file();
}

std::unique_ptr<SyntaxTree> parseSyntax(const std::string& path, const std::string& text,
                                        Diagnostics& diagnostics) {
  auto tree = lexSyntax(path, text, diagnostics);
  if (tree->syntaxErrors == 0) buildParseTree(*tree, diagnostics);
  return tree;
}

} // namespace polc::frontend
