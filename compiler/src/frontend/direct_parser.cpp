#include "direct_parser.h"

namespace polc::frontend {

using grammar::PolicyParser;

namespace {

// Thrown at the first token the grammar does not allow; caught by
// parseDirect alone.
struct NotInGrammar {};

// One parsed selector: its node, the depth of its tree, and its first and
// last tokens (those of the parentheses around it, if any).
struct Parsed {
  ast::SelectorPtr node;
  int depth = 1;
  const Token* first = nullptr;
  const Token* last = nullptr;
};

// The precedences of Policy.g4's selector rule, as ANTLR numbers them: a
// loop at precedence p takes '&&' if 8 >= p and '||' if 7 >= p; the operand
// of '!' and of '&&' is parsed at 9, that of '||' at 8.
constexpr int kAndPrecedence = 8;
constexpr int kOrPrecedence = 7;
constexpr int kPrimaryPrecedence = 9;

bool isLabelKey(size_t type) {
  switch (type) {
  case PolicyParser::IDENT:
  case PolicyParser::SERVICE:
  case PolicyParser::GROUP:
  case PolicyParser::ENTITY:
  case PolicyParser::CIDR:
  case PolicyParser::EXCEPT:
  case PolicyParser::TYPE:
  case PolicyParser::CODE:
  case PolicyParser::TCP:
  case PolicyParser::UDP:
  case PolicyParser::SCTP:
  case PolicyParser::ICMP:
  case PolicyParser::ICMPV6:
  case PolicyParser::DEFAULT:
  case PolicyParser::INCLUDE:
  case PolicyParser::AUDIT:
  case PolicyParser::POLICY:
  case PolicyParser::FOR:
    return true;
  default:
    return false;
  }
}

class DirectParser {
public:
  DirectParser(const SyntaxTree& tree, Diagnostics& diagnostics)
      : builder_(tree.path, diagnostics) {
    for (const auto& token : tree.lexed)
      if (token.getChannel() == Token::DEFAULT_CHANNEL) tokens_.push_back(&token);
  }

  // file : item* EOF ;
  std::vector<Item> file() {
    std::vector<Item> items;
    while (!at(Token::EOF)) item(items);
    return items;
  }

private:
  // ---- tokens ----

  size_t type(size_t ahead = 0) const {
    auto index = std::min(next_ + ahead, tokens_.size() - 1); // the last is EOF
    return tokens_[index]->getType();
  }
  bool at(size_t tokenType) const { return type() == tokenType; }
  const Token* take() {
    if (at(Token::EOF)) throw NotInGrammar{};
    last_ = tokens_[next_++];
    return last_;
  }
  const Token* take(size_t tokenType) {
    if (!at(tokenType)) throw NotInGrammar{};
    return take();
  }
  const Token* takeEither(size_t one, size_t other) {
    if (!at(one) && !at(other)) throw NotInGrammar{};
    return take();
  }

  // ---- items ----

  // item : includeDecl | letDecl | defaultDecl | policyDecl ;
  void item(std::vector<Item>& items) {
    switch (type()) {
    case PolicyParser::INCLUDE: {
      auto* first = take();
      if (auto include = builder_.include(first, take(PolicyParser::STRING)))
        items.push_back(std::move(*include));
      return;
    }
    case PolicyParser::LET: {
      auto* first = take();
      auto let = builder_.let(first, take(PolicyParser::IDENT));
      take(PolicyParser::ASSIGN);
      let.selector = selector().node;
      items.push_back(std::move(let));
      return;
    }
    case PolicyParser::DEFAULT:
      items.push_back(defaultDeny());
      return;
    case PolicyParser::AUDIT:
    case PolicyParser::POLICY:
      items.push_back(policy());
      return;
    default:
      throw NotInGrammar{};
    }
  }

  // defaultDecl : DEFAULT DENY direction (',' direction)* (FOR selector)? ;
  ast::DefaultDeny defaultDeny() {
    auto result = builder_.defaultDeny(take(PolicyParser::DEFAULT));
    take(PolicyParser::DENY);
    builder_.addDirection(result, takeEither(PolicyParser::INGRESS, PolicyParser::EGRESS));
    while (at(PolicyParser::COMMA)) {
      take();
      builder_.addDirection(result, takeEither(PolicyParser::INGRESS, PolicyParser::EGRESS));
    }
    if (at(PolicyParser::FOR)) {
      take();
      result.selector = selector().node;
    }
    return result;
  }

  // policyDecl : AUDIT? POLICY name=STRING '{' selectClause directionBlock* '}' ;
  // selectClause : SELECT selector ;
  ast::Policy policy() {
    auto* first = tokens_[next_];
    bool audit = at(PolicyParser::AUDIT);
    if (audit) take();
    take(PolicyParser::POLICY);
    auto result = builder_.policy(first, audit, take(PolicyParser::STRING));
    take(PolicyParser::LBRACE);
    take(PolicyParser::SELECT);
    result.select = selector().node;
    while (at(PolicyParser::INGRESS) || at(PolicyParser::EGRESS)) result.blocks.push_back(block());
    take(PolicyParser::RBRACE);
    return result;
  }

  // directionBlock : direction '{' ruleDecl* '}' ;
  ast::DirectionBlock block() {
    auto result = builder_.block(take());
    take(PolicyParser::LBRACE);
    while (at(PolicyParser::ALLOW) || at(PolicyParser::DENY))
      result.rules.push_back(rule(result.direction));
    take(PolicyParser::RBRACE);
    return result;
  }

  // ruleDecl : verdict=(ALLOW | DENY) peerDirection=(FROM | TO) peer portList? ;
  // portList : ON portSpec (',' portSpec)* ;
  ast::Rule rule(ast::Direction direction) {
    auto* verdict = take();
    auto result = builder_.rule(verdict, verdict, takeEither(PolicyParser::FROM, PolicyParser::TO),
                                direction);
    result.peer = peer();
    if (at(PolicyParser::ON)) {
      take();
      portSpec(result.ports);
      while (at(PolicyParser::COMMA)) {
        take();
        portSpec(result.ports);
      }
    }
    result.length = lengthBetween(verdict, last_);
    return result;
  }

  // ---- peers ----

  // peer : SERVICE STRING | GROUP STRING | ENTITY entityName
  //      | CIDR cidrList (EXCEPT cidrList)? | selector ;
  // The keywords are label keys too: a selector follows them with an operator.
  ast::Peer peer() {
    auto* first = tokens_[next_];
    auto next = type(1);
    switch (type()) {
    case PolicyParser::SERVICE:
    case PolicyParser::GROUP: {
      if (next != PolicyParser::STRING) break;
      auto kind = at(PolicyParser::SERVICE) ? ast::Peer::Kind::Service : ast::Peer::Kind::Group;
      take();
      auto* name = take();
      auto result = builder_.peer(first, name);
      builder_.namedPeer(result, kind, name);
      return result;
    }
    case PolicyParser::ENTITY: {
      // entityName : IDENT | ANY ;
      if (next != PolicyParser::IDENT && next != PolicyParser::ANY) break;
      take();
      auto* name = take();
      auto result = builder_.peer(first, name);
      result.kind = ast::Peer::Kind::Entity;
      result.entity = builder_.entity(name);
      return result;
    }
    case PolicyParser::CIDR: {
      if (next != PolicyParser::CIDR_PREFIX) break;
      take();
      auto prefixes = cidrList();
      std::vector<const Token*> except;
      if (at(PolicyParser::EXCEPT)) {
        take();
        except = cidrList();
      }
      auto result = builder_.peer(first, last_);
      result.kind = ast::Peer::Kind::Cidr;
      result.cidr = builder_.cidr(prefixes, except);
      return result;
    }
    default:
      break;
    }
    auto parsed = selector();
    auto result = builder_.peer(parsed.first, parsed.last);
    result.kind = ast::Peer::Kind::Selector;
    result.selector = std::move(parsed.node);
    return result;
  }

  // cidrList : CIDR_PREFIX (',' CIDR_PREFIX)* ;
  std::vector<const Token*> cidrList() {
    std::vector<const Token*> prefixes = {take(PolicyParser::CIDR_PREFIX)};
    while (at(PolicyParser::COMMA)) {
      take();
      prefixes.push_back(take(PolicyParser::CIDR_PREFIX));
    }
    return prefixes;
  }

  // portSpec : PORT_SPEC | (TCP | UDP | SCTP)
  //          | (ICMP | ICMPV6) (TYPE INT (CODE INT)?)? ;
  void portSpec(std::vector<ast::PortSpec>& out) {
    switch (type()) {
    case PolicyParser::PORT_SPEC:
      builder_.portNumbers(take(), out);
      return;
    case PolicyParser::TCP:
    case PolicyParser::UDP:
    case PolicyParser::SCTP:
      builder_.wholeProtocol(take(), out);
      return;
    case PolicyParser::ICMP:
    case PolicyParser::ICMPV6: {
      auto* protocol = take();
      const Token* icmpType = nullptr;
      const Token* icmpCode = nullptr;
      if (at(PolicyParser::TYPE)) {
        take();
        icmpType = take(PolicyParser::INT);
        if (at(PolicyParser::CODE)) {
          take();
          icmpCode = take(PolicyParser::INT);
        }
      }
      builder_.icmp(protocol, icmpType, icmpCode, last_, out);
      return;
    }
    default:
      throw NotInGrammar{};
    }
  }

  // ---- selectors ----

  // selector at `precedence`: a primary, then the binary operators that
  // precedence allows, each taking its right operand at a higher one, so
  // that a chain is a loop, not a recursion (as in ANTLR's parser).
  Parsed selector(int precedence = 0) {
    auto left = primary();
    while (true) {
      ast::Selector::Kind kind;
      int operandPrecedence;
      if (at(PolicyParser::AND) && kAndPrecedence >= precedence) {
        kind = ast::Selector::Kind::And;
        operandPrecedence = kAndPrecedence + 1;
      } else if (at(PolicyParser::OR) && kOrPrecedence >= precedence) {
        kind = ast::Selector::Kind::Or;
        operandPrecedence = kOrPrecedence + 1;
      } else {
        return left;
      }
      take();
      auto right = selector(operandPrecedence);
      left.node = builder_.binary(kind, left.first, right.last, std::move(left.node),
                                  std::move(right.node), left.depth, right.depth);
      // Too deep to build: ANTLR's walk stops building there, and reports it.
      if (!left.node) throw NotInGrammar{};
      left.last = right.last;
    }
  }

  //   '!' selector | '(' selector ')' | ANY | HAS '(' labelKey ')'
  // | labelKey ('==' | '!=') STRING | labelKey (IN | NOTIN) '(' STRING (',' STRING)* ')'
  // | IDENT
  Parsed primary() {
    auto* first = tokens_[next_];
    switch (type()) {
    case PolicyParser::NOT: {
      take();
      auto inner = selector(kPrimaryPrecedence);
      auto node = builder_.negate(first, inner.last, std::move(inner.node), inner.depth);
      return {std::move(node), inner.depth, first, inner.last};
    }
    case PolicyParser::LPAREN: {
      take();
      auto inner = selector();
      take(PolicyParser::RPAREN);
      return {std::move(inner.node), inner.depth, first, last_};
    }
    case PolicyParser::ANY:
      take();
      return {builder_.any(first, first), 1, first, first};
    case PolicyParser::HAS: {
      take();
      take(PolicyParser::LPAREN);
      if (!isLabelKey(type())) throw NotInGrammar{};
      auto* key = take();
      take(PolicyParser::RPAREN);
      return {builder_.has(first, last_, key), 1, first, last_};
    }
    default:
      break;
    }
    if (!isLabelKey(type())) throw NotInGrammar{};
    auto op = type(1);
    if (op == PolicyParser::EQ || op == PolicyParser::NE) {
      auto* key = take();
      auto* opToken = take();
      auto* value = take(PolicyParser::STRING);
      return {builder_.compare(first, value, key, opToken, value), 1, first, value};
    }
    if (op == PolicyParser::IN || op == PolicyParser::NOTIN) {
      auto* key = take();
      auto* opToken = take();
      take(PolicyParser::LPAREN);
      std::vector<const Token*> values = {take(PolicyParser::STRING)};
      while (at(PolicyParser::COMMA)) {
        take();
        values.push_back(take(PolicyParser::STRING));
      }
      take(PolicyParser::RPAREN);
      return {builder_.set(first, last_, key, opToken, values), 1, first, last_};
    }
    auto* name = take(PolicyParser::IDENT);
    return {builder_.letReference(first, name, name), 1, first, name};
  }

  AstBuilder builder_;
  std::vector<const Token*> tokens_; // the default channel's, EOF last
  size_t next_ = 0;
  const Token* last_ = nullptr; // the last token taken
};

} // namespace

std::optional<std::vector<Item>> parseDirect(const SyntaxTree& tree, Diagnostics& diagnostics) {
  auto mark = diagnostics.mark();
  try {
    return DirectParser(tree, diagnostics).file();
  } catch (const NotInGrammar&) {
    diagnostics.dropSince(mark);
    return std::nullopt;
  }
}

} // namespace polc::frontend
