#include "tree_walker.h"

namespace polc::frontend {

using grammar::PolicyParser;

namespace {

class TreeWalker {
public:
  TreeWalker(const SyntaxTree& tree, Diagnostics& diagnostics)
      : builder_(tree.path, diagnostics), clean_(tree.syntaxErrors == 0) {}

  std::vector<Item> build(PolicyParser::FileContext* file) {
    std::vector<Item> items;
    for (auto* item : file->item()) {
      if (auto* include = item->includeDecl()) {
        if (!usable(include->path)) continue;
        if (auto built = builder_.include(include->getStart(), include->path))
          items.push_back(std::move(*built));
      } else if (auto* let = item->letDecl()) {
        items.push_back(buildLet(let));
      } else if (auto* policy = item->policyDecl()) {
        items.push_back(buildPolicy(policy));
      } else if (auto* defaults = item->defaultDecl()) {
        items.push_back(buildDefault(defaults));
      }
    }
    return items;
  }

private:
  // Whether a part of the tree may be built: always in a file without
  // syntax errors, else only if it parsed whole.
  bool usable(antlr4::tree::ParseTree* tree) const { return tree && (clean_ || intact(tree)); }
  static bool usable(const Token* token) {
    return token && token->getTokenIndex() != INVALID_INDEX;
  }
  // `token` if it is usable and of `type`, else null.
  static const Token* written(const Token* token, size_t type) {
    return usable(token) && token->getType() == type ? token : nullptr;
  }

  ast::Let buildLet(PolicyParser::LetDeclContext* ctx) {
    auto let = builder_.let(ctx->getStart(), written(ctx->name, PolicyParser::IDENT));
    if (usable(ctx->selector())) let.selector = selector(ctx->selector());
    return let;
  }

  ast::DefaultDeny buildDefault(PolicyParser::DefaultDeclContext* ctx) {
    auto result = builder_.defaultDeny(ctx->getStart());
    for (auto* d : ctx->direction())
      if (usable(d)) builder_.addDirection(result, d->getStart());
    if (auto* s = ctx->selector(); usable(s)) result.selector = selector(s);
    return result;
  }

  ast::Policy buildPolicy(PolicyParser::PolicyDeclContext* ctx) {
    auto policy = builder_.policy(ctx->getStart(), ctx->AUDIT() != nullptr,
                                  written(ctx->name, PolicyParser::STRING));
    if (auto* select = ctx->selectClause(); select && usable(select->selector()))
      policy.select = selector(select->selector());
    for (auto* block : ctx->directionBlock()) {
      if (!usable(block->direction())) continue;
      auto b = builder_.block(block->direction()->getStart());
      for (auto* rule : block->ruleDecl()) b.rules.push_back(buildRule(rule, b.direction));
      policy.blocks.push_back(std::move(b));
    }
    return policy;
  }

  ast::Rule buildRule(PolicyParser::RuleDeclContext* ctx, ast::Direction direction) {
    // Recovery may have conjured the word, or left the wrong one here.
    auto* word = ctx->peerDirection;
    bool isWord = usable(word) &&
                  (word->getType() == PolicyParser::FROM || word->getType() == PolicyParser::TO);
    auto rule = builder_.rule(ctx->getStart(), ctx->verdict, isWord ? word : nullptr, direction);
    rule.length = lengthBetween(ctx->getStart(), ctx->getStop());
    if (usable(ctx->peer())) rule.peer = peer(ctx->peer());
    if (auto* ports = ctx->portList())
      for (auto* spec : ports->portSpec())
        if (usable(spec)) portSpec(spec, rule.ports);
    return rule;
  }

  ast::Peer peer(PolicyParser::PeerContext* ctx) {
    auto result = builder_.peer(ctx->getStart(), ctx->getStop());
    if (auto* c = dynamic_cast<PolicyParser::SelectorPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Selector;
      result.selector = selector(c->selector());
    } else if (auto* c = dynamic_cast<PolicyParser::ServicePeerContext*>(ctx)) {
      builder_.namedPeer(result, ast::Peer::Kind::Service, c->name);
    } else if (auto* c = dynamic_cast<PolicyParser::GroupPeerContext*>(ctx)) {
      builder_.namedPeer(result, ast::Peer::Kind::Group, c->name);
    } else if (auto* c = dynamic_cast<PolicyParser::EntityPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Entity;
      result.entity = builder_.entity(c->entityName()->getStart());
    } else if (auto* c = dynamic_cast<PolicyParser::CidrPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Cidr;
      result.cidr = builder_.cidr(tokens(c->prefixes),
                                  c->except ? tokens(c->except) : std::vector<const Token*>{});
    }
    return result;
  }

  static std::vector<const Token*> tokens(PolicyParser::CidrListContext* ctx) {
    std::vector<const Token*> result;
    for (auto* node : ctx->CIDR_PREFIX()) result.push_back(node->getSymbol());
    return result;
  }

  void portSpec(PolicyParser::PortSpecContext* ctx, std::vector<ast::PortSpec>& out) {
    if (auto* c = dynamic_cast<PolicyParser::WholeProtocolSpecContext*>(ctx))
      builder_.wholeProtocol(c->protocol, out);
    else if (auto* c = dynamic_cast<PolicyParser::IcmpSpecContext*>(ctx))
      builder_.icmp(c->protocol, c->icmpType, c->icmpCode, ctx->getStop(), out);
    else if (auto* c = dynamic_cast<PolicyParser::PortNumberSpecContext*>(ctx))
      builder_.portNumbers(c->PORT_SPEC()->getSymbol(), out);
  }

  // ---- selectors ----

  static bool isBinary(PolicyParser::SelectorContext* ctx) {
    return dynamic_cast<PolicyParser::AndSelectorContext*>(ctx) ||
           dynamic_cast<PolicyParser::OrSelectorContext*>(ctx);
  }
  static PolicyParser::SelectorContext* operand(PolicyParser::SelectorContext* ctx, size_t i) {
    if (auto* c = dynamic_cast<PolicyParser::AndSelectorContext*>(ctx)) return c->selector(i);
    return dynamic_cast<PolicyParser::OrSelectorContext*>(ctx)->selector(i);
  }

  // Builds a selector. A chain `a && b && c ...` is a left-deep tree as
  // long as the chain; its left spine is walked with a loop so that the
  // recursion here is bounded by the nesting limit alone.
  ast::SelectorPtr selector(PolicyParser::SelectorContext* root) {
    int ignored = 0;
    return selector(root, ignored);
  }

  ast::SelectorPtr selector(PolicyParser::SelectorContext* root, int& treeDepth) {
    std::vector<PolicyParser::SelectorContext*> spine;
    auto* ctx = root;
    while (isBinary(ctx)) {
      spine.push_back(ctx);
      ctx = operand(ctx, 0);
    }
    ast::SelectorPtr result = primary(ctx, treeDepth);
    for (auto it = spine.rbegin(); it != spine.rend(); ++it) {
      int rightDepth = 0;
      auto right = selector(operand(*it, 1), rightDepth);
      auto kind = dynamic_cast<PolicyParser::AndSelectorContext*>(*it) ? ast::Selector::Kind::And
                                                                       : ast::Selector::Kind::Or;
      result = builder_.binary(kind, (*it)->getStart(), (*it)->getStop(), std::move(result),
                               std::move(right), treeDepth, rightDepth);
      if (!result) return std::make_shared<ast::Selector>();
    }
    return result;
  }

  ast::SelectorPtr primary(PolicyParser::SelectorContext* ctx, int& treeDepth) {
    if (auto* c = dynamic_cast<PolicyParser::ParenSelectorContext*>(ctx))
      return selector(c->selector(), treeDepth);
    auto* first = ctx->getStart();
    auto* last = ctx->getStop();
    treeDepth = 1;
    if (auto* c = dynamic_cast<PolicyParser::NotSelectorContext*>(ctx)) {
      int innerDepth = 0;
      auto inner = selector(c->selector(), innerDepth);
      treeDepth = innerDepth;
      return builder_.negate(first, last, std::move(inner), treeDepth);
    }
    if (dynamic_cast<PolicyParser::AnySelectorContext*>(ctx)) return builder_.any(first, last);
    if (auto* c = dynamic_cast<PolicyParser::HasSelectorContext*>(ctx))
      return builder_.has(first, last, c->labelKey()->getStart());
    if (auto* c = dynamic_cast<PolicyParser::CompareSelectorContext*>(ctx))
      return builder_.compare(first, last, c->labelKey()->getStart(), c->op,
                              c->STRING()->getSymbol());
    if (auto* c = dynamic_cast<PolicyParser::SetSelectorContext*>(ctx)) {
      std::vector<const Token*> values;
      for (auto* value : c->STRING()) values.push_back(value->getSymbol());
      return builder_.set(first, last, c->labelKey()->getStart(), c->op, values);
    }
    if (auto* c = dynamic_cast<PolicyParser::LetReferenceContext*>(ctx))
      return builder_.letReference(first, last, c->IDENT()->getSymbol());
    auto result = std::make_shared<ast::Selector>();
    result->location = builder_.at(first);
    result->length = lengthBetween(first, last);
    return result;
  }

  AstBuilder builder_;
  bool clean_; // no syntax errors
};

} // namespace

std::vector<Item> walkParseTree(const SyntaxTree& tree, Diagnostics& diagnostics) {
  return TreeWalker(tree, diagnostics).build(tree.file);
}

} // namespace polc::frontend
