// A pass and the pass manager that runs a list of them over typed state.
// A pass names the stages it consumes and produces (stages.h); the manager
// refuses a list in which a pass consumes what no earlier pass produced, and
// stops after the first pass that reported errors. Diagnostics stay data in
// polc::Diagnostics; a broken pipeline is an internal error, never a
// diagnostic.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/pipeline/stages.h"
#include "polc/support/expected.h"
#include "polc/support/internal_error.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace polc::pipeline {

struct StageId {
  std::type_index type;
  std::string_view name;
  bool operator==(const StageId& other) const { return type == other.type; }
};

template <typename T> StageId stage() {
  return {typeid(T), StageName<T>::value};
}

// A bug in polc (a pass read a stage it did not declare, a pipeline out of
// order) is an internal error, never a diagnostic (polc/support/internal_error.h).
using polc::internalError;

struct Pass;

// The state passes hand each other: at most one value per stage type.
class PassContext {
public:
  explicit PassContext(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  Diagnostics& diagnostics() { return diagnostics_; }

  template <typename T> void put(T value) {
    requireDeclared(stage<T>(), /*forWriting=*/true);
    slots_.insert_or_assign(
        typeid(T), Entry{StageName<T>::value, std::make_unique<Held<T>>(std::move(value))});
  }
  template <typename T> bool has() const { return has(stage<T>()); }
  bool has(const StageId& id) const { return slots_.contains(id.type); }
  // The stage's value; it must be there (the pass manager checked).
  template <typename T> T& get() {
    requireDeclared(stage<T>(), /*forWriting=*/false);
    auto found = slots_.find(typeid(T));
    if (found == slots_.end())
      internalError("stage '" + std::string(StageName<T>::value) + "' was not produced");
    return static_cast<Held<T>&>(*found->second.value).value;
  }
  template <typename T> const T* find() const {
    auto found = slots_.find(typeid(T));
    return found == slots_.end() ? nullptr : &static_cast<Held<T>&>(*found->second.value).value;
  }
  // Moves the stage's value out (for the caller, once the passes ran).
  template <typename T> std::optional<T> take() {
    auto found = slots_.find(typeid(T));
    if (found == slots_.end()) return std::nullopt;
    std::optional<T> value = std::move(static_cast<Held<T>&>(*found->second.value).value);
    slots_.erase(found);
    return value;
  }
  // Every stage present, for the check of a run that starts midway.
  std::vector<StageId> stages() const;

private:
  friend class PassManager;
  struct Slot {
    virtual ~Slot() = default;
  };
  template <typename T> struct Held final : Slot {
    explicit Held(T v) : value(std::move(v)) {}
    T value;
  };
  struct Entry {
    std::string_view name;
    std::unique_ptr<Slot> value;
  };
  // While a pass runs, it may read only what it consumes or produces and
  // write only what it produces: so its declaration cannot drift from what it does.
  void requireDeclared(const StageId&, bool forWriting) const;

  Diagnostics& diagnostics_;
  std::map<std::type_index, Entry> slots_;
  const Pass* running_ = nullptr;
};

struct Pass {
  std::string name;    // "resolve-lets": what --dump-after and --list-passes take
  std::string summary; // one line, for --list-passes
  std::vector<StageId> consumes;
  std::vector<StageId> produces; // empty: the pass only reports diagnostics
  // Reads what it consumes from the context, puts what it produces; when it
  // reports errors it may produce nothing.
  std::function<void(PassContext&)> run;
  // How --dump-after prints what the pass shows, for a stage of a later
  // library (codegen's plan); unset: the compiler's own text of the stage.
  std::function<std::string(PassContext&)> text;

  // What --dump-after prints after this pass: its first product, else (a
  // pass that only checks) its first input.
  const StageId& shows() const { return produces.empty() ? consumes.at(0) : produces.at(0); }
};

// A pass that consumes `Consumes...`, handed to `run` as its arguments after
// the context, so what it declares is what it reads:
//   makePass<CheckedAst>("name", "summary", {stage<ir::Program>()},
//                        [](PassContext& context, const CheckedAst& ast) {...});
template <typename... Consumes, typename Run>
Pass makePass(std::string name, std::string summary, std::vector<StageId> produces, Run run) {
  return {
      std::move(name),
      std::move(summary),
      {stage<Consumes>()...},
      std::move(produces),
      [run = std::move(run)](PassContext& context) { run(context, context.get<Consumes>()...); },
      {}};
}

// How long a stage of the work took: a pass, or a step of the build
// (`polc build --stats`).
struct StageTime {
  std::string stage;
  std::chrono::nanoseconds elapsed{0};
};

class PassManager {
public:
  PassManager& add(Pass pass);
  const std::vector<Pass>& passes() const { return passes_; }
  const Pass* find(std::string_view name) const;

  // An error when a pass consumes a stage that is neither `given` nor
  // produced by an earlier pass, or a stage is produced twice.
  Status check(const std::vector<StageId>& given) const;

  struct RunOptions {
    std::string_view from;      // first pass to run; empty: the first
    std::string_view stopAfter; // last pass to run; empty: the last
  };
  struct Outcome {
    const Pass* last = nullptr;   // the last pass that ran
    bool failed = false;          // it reported errors, so the passes after it did not run
    std::vector<StageTime> times; // each pass that ran, in order
  };
  // Runs the passes in order over `context`, whose stages count as given.
  // An error (internal: a bug) when the list does not check, a name is
  // unknown, or a pass without errors left out something it produces.
  Expected<Outcome> run(PassContext& context, RunOptions options = {}) const;

  // "name  consumes -> produces  summary", one pass a line, in order.
  std::string listText() const;

private:
  std::vector<Pass> passes_;
};

} // namespace polc::pipeline
