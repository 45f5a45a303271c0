// Pass "parse", inputs -> parsed AST + topology: reads the policy file (with
// its includes) with the ANTLR parser and the topology YAML with its loader.
// Both are read before the pipeline stops, so one run reports the errors of
// each.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::pipeline {

Pass createParsePass();

} // namespace polc::pipeline
