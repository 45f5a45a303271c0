#include "polc/sema/check_label_spelling.h"

#include "polc/topology/topology.h"

#include "polc/support/suggest.h"

#include <map>
#include <set>

namespace polc::sema {

namespace {

class SpellingCheck {
public:
  SpellingCheck(const topology::Topology& topology, Diagnostics& diagnostics)
      : diagnostics_(diagnostics) {
    for (const auto* endpoint : topology.allEndpoints())
      for (const auto& [key, value] : endpoint->labels) valuesByKey_[key].insert(value);
    for (const auto& [key, values] : valuesByKey_) keys_.push_back(key);
  }

  void check(const ast::Selector& selector) {
    using Kind = ast::Selector::Kind;
    for (const auto& operand : selector.operands) check(*operand);
    if (selector.kind == Kind::Any || selector.kind == Kind::And || selector.kind == Kind::Or ||
        selector.kind == Kind::Not || selector.kind == Kind::LetReference)
      return;
    // Lets put one selector in many places: report each spelling once.
    if (!seen_.insert(selector.location).second) return;
    auto keySpan = selector.keySpan.location.valid()
                       ? selector.keySpan
                       : ast::Span{selector.location, selector.length};
    auto values = valuesByKey_.find(selector.key);
    if (values == valuesByKey_.end()) {
      auto& d = diagnostics_
                    .warning(DiagnosticId::UnknownLabel, keySpan.location,
                             "no endpoint of the topology has the label key '" + selector.key + "'")
                    .underline(keySpan.length);
      if (auto close = closestMatch(selector.key, keys_)) d.hint("did you mean '" + *close + "'?");
      return;
    }
    std::vector<std::string> known(values->second.begin(), values->second.end());
    for (size_t i = 0; i < selector.values.size(); ++i) {
      const auto& value = selector.values[i];
      if (values->second.contains(value)) continue;
      // In a set, a value no endpoint has yet can be deliberate; warn
      // only when it looks like a typo of one that exists.
      auto close = closestMatch(value, known);
      bool inSet =
          selector.kind == ast::Selector::Kind::In || selector.kind == ast::Selector::Kind::NotIn;
      if (inSet && !close) continue;
      auto span = i < selector.valueSpans.size() ? selector.valueSpans[i] : keySpan;
      auto& d =
          diagnostics_
              .warning(DiagnosticId::UnknownLabelValue, span.location,
                       "no endpoint of the topology has " + selector.key + "=\"" + value + "\"")
              .underline(span.length);
      if (close)
        d.hint("did you mean \"" + *close + "\"?");
      else
        d.hint(selector.key + " has the values " + listOf(known));
    }
  }

private:
  static std::string listOf(const std::vector<std::string>& values) {
    std::string text;
    for (size_t i = 0; i < values.size() && i < 6; ++i)
      text += (i ? ", \"" : "\"") + values[i] + "\"";
    if (values.size() > 6) text += ", ...";
    return text;
  }

  Diagnostics& diagnostics_;
  std::map<std::string, std::set<std::string>> valuesByKey_;
  std::vector<std::string> keys_;
  std::set<SourceLocation> seen_;
};

void checkLabelSpelling(const ast::File& file, const topology::Topology& topology,
                        Diagnostics& diagnostics) {
  SpellingCheck check(topology, diagnostics);
  for (const auto& defaults : file.defaults)
    if (defaults.selector) check.check(*defaults.selector);
  for (const auto& policy : file.policies) {
    check.check(*policy.select);
    for (const auto& block : policy.blocks)
      for (const auto& rule : block.rules)
        if (rule.peer.kind == ast::Peer::Kind::Selector) check.check(*rule.peer.selector);
  }
}

} // namespace

pipeline::Pass createCheckLabelSpellingPass() {
  return pipeline::makePass<pipeline::CheckedAst, topology::Topology>(
      "check-label-spelling", "warn about label keys and values no endpoint has", {},
      [](pipeline::PassContext& context, const auto& checked, const auto& topology) {
        checkLabelSpelling(checked.file, topology, context.diagnostics());
      });
}

} // namespace polc::sema
