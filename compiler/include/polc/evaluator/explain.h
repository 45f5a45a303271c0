// How a verdict of the evaluator reads to a person (`polc explain`) and as
// data (`polc explain -o json`).
#pragma once

#include "polc/evaluator/evaluator.h"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace polc::evaluator {

// "allowed-not-isolated", "allowed-by-rule", "denied-by-rule", "denied-isolated",
// "audited-by-rule", "audited-isolated".
std::string decisionName(Decision);
// "allowed", "audited" (passes, but audit policies would deny it) or "denied".
const char* verdictWord(const Verdict&);

// One line per rule: `rule 4  shop.pol:20:5  policy "frontend": allow to ...`.
std::string ruleLine(const ir::Program&, uint32_t ruleId);

// The verdict, the reason, both ends, and per side whether it applies, is
// isolated (and by what), and the deciding rules with their locations.
std::string explainText(const ir::Program&, const Verdict&);
nlohmann::json explainJson(const ir::Program&, const Verdict&);

} // namespace polc::evaluator
