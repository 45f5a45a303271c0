#include "polc/pipeline/pass.h"

#include <algorithm>

namespace polc::pipeline {

namespace {

bool contains(const std::vector<StageId>& stages, const StageId& id) {
  return std::find(stages.begin(), stages.end(), id) != stages.end();
}

std::string names(const std::vector<StageId>& stages) {
  std::string text;
  for (const auto& id : stages) text += (text.empty() ? "" : ", ") + std::string(id.name);
  return text;
}

// Passes [first, last] of the list, by name; an error for an unknown name.
Expected<std::pair<size_t, size_t>> range(const std::vector<Pass>& passes, std::string_view from,
                                          std::string_view stopAfter) {
  auto index = [&](std::string_view name, size_t otherwise) -> std::optional<size_t> {
    if (name.empty()) return otherwise;
    for (size_t i = 0; i < passes.size(); ++i)
      if (passes[i].name == name) return i;
    return std::nullopt;
  };
  auto first = index(from, 0);
  auto last = index(stopAfter, passes.empty() ? 0 : passes.size() - 1);
  if (!first) return Error{"no pass named '" + std::string(from) + "'"};
  if (!last) return Error{"no pass named '" + std::string(stopAfter) + "'"};
  if (*last < *first)
    return Error{"pass '" + std::string(stopAfter) + "' comes before '" + std::string(from) + "'"};
  return std::pair{*first, *last};
}

Status checkRange(const std::vector<Pass>& passes, size_t first, size_t last,
                  std::vector<StageId> available) {
  for (size_t i = first; i <= last && i < passes.size(); ++i) {
    const auto& pass = passes[i];
    if (!pass.run) return Error{"pass '" + pass.name + "' has nothing to run"};
    for (const auto& input : pass.consumes)
      if (!contains(available, input))
        return Error{"pass '" + pass.name + "' consumes the " + std::string(input.name) +
                     ", which no earlier pass produces"};
    for (const auto& output : pass.produces) {
      if (contains(available, output))
        return Error{"pass '" + pass.name + "' produces the " + std::string(output.name) +
                     ", which is already there"};
      available.push_back(output);
    }
  }
  return okStatus();
}

} // namespace

std::vector<StageId> PassContext::stages() const {
  std::vector<StageId> present;
  for (const auto& [type, entry] : slots_) present.push_back({type, entry.name});
  return present;
}

void PassContext::requireDeclared(const StageId& id, bool forWriting) const {
  if (!running_) return;
  bool declared =
      contains(running_->produces, id) || (!forWriting && contains(running_->consumes, id));
  if (!declared)
    internalError("pass '" + running_->name + "' " + (forWriting ? "writes" : "reads") + " the " +
                  std::string(id.name) + " without declaring it");
}

PassManager& PassManager::add(Pass pass) {
  passes_.push_back(std::move(pass));
  return *this;
}

const Pass* PassManager::find(std::string_view name) const {
  for (const auto& pass : passes_)
    if (pass.name == name) return &pass;
  return nullptr;
}

Status PassManager::check(const std::vector<StageId>& given) const {
  if (passes_.empty()) return okStatus();
  return checkRange(passes_, 0, passes_.size() - 1, given);
}

Expected<PassManager::Outcome> PassManager::run(PassContext& context, RunOptions options) const {
  if (passes_.empty()) return Outcome{};
  auto bounds = range(passes_, options.from, options.stopAfter);
  if (!bounds) return Error{bounds.error()};
  auto [first, last] = *bounds;
  if (auto checked = checkRange(passes_, first, last, context.stages()); !checked)
    return Error{checked.error()};
  Outcome outcome;
  for (size_t i = first; i <= last; ++i) {
    const auto& pass = passes_[i];
    auto errorsBefore = context.diagnostics().errorCount();
    context.running_ = &pass;
    const auto started = std::chrono::steady_clock::now();
    pass.run(context);
    outcome.times.push_back({pass.name, std::chrono::steady_clock::now() - started});
    context.running_ = nullptr;
    outcome.last = &pass;
    if (context.diagnostics().errorCount() > errorsBefore) {
      outcome.failed = true;
      return outcome;
    }
    for (const auto& output : pass.produces)
      if (!context.has(output))
        return Error{"pass '" + pass.name + "' reported no error but did not produce the " +
                     std::string(output.name)};
  }
  return outcome;
}

std::string PassManager::listText() const {
  size_t nameWidth = 0, flowWidth = 0;
  std::vector<std::string> flows;
  for (const auto& pass : passes_) {
    flows.push_back(names(pass.consumes) + " -> " +
                    (pass.produces.empty() ? "(diagnostics)" : names(pass.produces)));
    nameWidth = std::max(nameWidth, pass.name.size());
    flowWidth = std::max(flowWidth, flows.back().size());
  }
  std::string text;
  for (size_t i = 0; i < passes_.size(); ++i) {
    const auto& pass = passes_[i];
    text += pass.name + std::string(nameWidth - pass.name.size() + 2, ' ') + flows[i] +
            std::string(flowWidth - flows[i].size() + 2, ' ') + pass.summary + "\n";
  }
  return text;
}

} // namespace polc::pipeline
