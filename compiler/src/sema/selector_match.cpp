#include "polc/sema/sema.h"

#include <algorithm>

namespace polc::sema {

bool matches(const ast::Selector& selector, const topology::Labels& labels) {
  using Kind = ast::Selector::Kind;
  auto label = labels.find(selector.key);
  bool has = label != labels.end();
  auto valueIn = [&] {
    return has && std::find(selector.values.begin(), selector.values.end(), label->second) !=
                      selector.values.end();
  };
  switch (selector.kind) {
  case Kind::Any:
    return true;
  case Kind::Equal:
    return has && label->second == selector.values.at(0);
  // Kubernetes semantics: a missing key is "not equal" and "not in".
  case Kind::NotEqual:
    return !has || label->second != selector.values.at(0);
  case Kind::In:
    return valueIn();
  case Kind::NotIn:
    return !valueIn();
  case Kind::Has:
    return has;
  case Kind::NotHas:
    return !has;
  case Kind::And:
    return matches(*selector.operands[0], labels) && matches(*selector.operands[1], labels);
  case Kind::Or:
    return matches(*selector.operands[0], labels) || matches(*selector.operands[1], labels);
  case Kind::Not:
    return !matches(*selector.operands[0], labels);
  case Kind::LetReference:
    return false; // resolved before matching
  }
  return false;
}

} // namespace polc::sema
