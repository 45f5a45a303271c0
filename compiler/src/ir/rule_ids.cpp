#include "polc/ir/rule_ids.h"

#include "polc/support/sha256.h"

#include "polc_structs.h"

#include <map>
#include <string>
#include <tuple>
#include <unordered_set>

namespace polc::ir {

std::vector<uint32_t> stableRuleIds(const ir::Program& program) {
  std::vector<uint32_t> ids(program.rules.size(), 0);
  std::map<std::tuple<std::string, ast::Direction, std::string>, unsigned> seen;
  std::unordered_set<uint32_t> taken;
  for (const auto& rule : program.rules) {
    const unsigned occurrence = seen[{rule.policy, rule.direction, rule.text}]++;
    // NUL separates the parts: no policy name or rule text holds one.
    std::string what = rule.policy + '\0' +
                       (rule.direction == ast::Direction::Ingress ? "ingress" : "egress") + '\0' +
                       rule.text + '\0' + std::to_string(occurrence);
    uint32_t id = 0;
    for (unsigned salt = 0;; ++salt) {
      const auto digest = sha256Hex(salt == 0 ? what : what + '\0' + std::to_string(salt));
      id = uint32_t(std::stoul(digest.substr(0, 8), nullptr, 16));
      if (id != POLC_CT_RULE_NONE && taken.insert(id).second) break;
    }
    ids.at(rule.id) = id;
  }
  return ids;
}

void assignStableRuleIds(Program& program) {
  const auto ids = stableRuleIds(program);
  for (auto& rule : program.rules) rule.stableId = ids.at(rule.id);
}

} // namespace polc::ir
