// The ids rules go by outside the compiler (tables/, rules.json, monitor,
// stats, metrics, and explain, test and diff, which print them): derived from
// what a rule is (its policy, direction and canonical text), not from where
// it stands, so that a rule keeps its id across rebuilds unless it changes.
// A monitor can then decode events of two revisions with either one's
// rules, and a reload rewrites only the entries of rules that changed.
#pragma once

#include "polc/ir/ir.h"

#include <cstdint>
#include <vector>

namespace polc::ir {

// One id per rule of the program, indexed by ir::Rule::id. Identical rules
// of one policy and direction are told apart by their order among
// themselves; the rare hash collision by a salt, in source order. Never
// POLC_CT_RULE_NONE.
std::vector<uint32_t> stableRuleIds(const Program&);
// Sets every rule's stableId (lower-to-ir does, once the rules are known).
void assignStableRuleIds(Program&);

} // namespace polc::ir
