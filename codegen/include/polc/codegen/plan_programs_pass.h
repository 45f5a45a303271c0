// The codegen stage as a pass: `plan-programs` takes the tables and hands
// on the program plan (program_plan.h), so `polc build --dump-after
// plan-programs` shows which endpoint runs which program, and each
// program's C, without compiling anything. driver::buildPasses() appends it
// to the compiler's passes.
#pragma once

#include "polc/codegen/program_plan.h"
#include "polc/pipeline/pass.h"

#include <string>

namespace polc::pipeline {
template <> struct StageName<codegen::ProgramPlan> {
  static constexpr std::string_view value = "program plan";
};
} // namespace polc::pipeline

namespace polc::codegen {

pipeline::Pass createPlanProgramsPass(const PlanOptions& options = {});

// The plan as stable text: every program (its shape name, the endpoints
// that run it), every node's endpoints with their program, then each
// program's C.
std::string planText(const ProgramPlan& plan);

} // namespace polc::codegen
