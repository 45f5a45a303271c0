// polc import k8s: Kubernetes objects into a topology and .pol files
// (docs/kubernetes.md); the importer library does the translating.
#include "commands.h"

#include "polc/importer/k8s.h"
#include "polc/support/files.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct ImportOptions {
  std::vector<std::string> inputs;
  std::string output;
  bool lenient = false;
  polc::WarningOptions warnings;
};

nlohmann::json notesJson(const std::vector<polc::importer::K8sNote>& notes) {
  auto json = nlohmann::json::array();
  for (const auto& note : notes)
    json.push_back({{"file", note.location.file},
                    {"line", note.location.line},
                    {"column", note.location.column},
                    {"message", note.message}});
  return json;
}

int runImport(const ImportOptions& options, Format format) {
  polc::Diagnostics diagnostics;
  diagnostics.setWarningOptions(options.warnings);
  auto inputs = polc::importer::readK8sInputs(options.inputs, diagnostics);
  polc::importer::K8sImport imported;
  if (!diagnostics.hasErrors())
    imported = polc::importer::importK8s(inputs, {options.lenient}, diagnostics);
  diagnostics.sort();

  bool ok = !diagnostics.hasErrors();
  if (ok) {
    std::error_code error;
    std::filesystem::create_directories(options.output, error);
    if (error) return failSystem("import k8s", options.output + ": " + error.message(), format);
    for (const auto& [name, text] : imported.files)
      if (auto written = polc::writeFile(std::filesystem::path(options.output) / name, text);
          !written)
        return failSystem("import k8s", written.error(), format);
  }

  if (format == Format::Json) {
    auto files = nlohmann::json::array();
    for (const auto& [name, text] : imported.files) files.push_back(name);
    printJson(nlohmann::json{{"ok", ok},
                             {"output", options.output},
                             {"files", files},
                             {"namespaces", imported.namespaces},
                             {"nodes", imported.nodes},
                             {"endpoints", imported.endpoints},
                             {"services", imported.services},
                             {"policies", imported.policies},
                             {"notes", notesJson(imported.notes)},
                             {"diagnostics", diagnostics.toJson()}});
    return ok ? kExitOk : kExitInputError;
  }
  for (const auto& note : imported.notes)
    std::cerr << note.location.str() << ": note: " << note.message << "\n";
  printDiagnostics(diagnostics, format);
  if (!ok) return kExitInputError;
  std::cout << "polc import k8s: wrote " << imported.files.size() << " files to " << options.output
            << ": " << imported.namespaces << " namespace(s), " << imported.nodes << " node(s), "
            << imported.endpoints << " endpoint(s), " << imported.services << " service(s), "
            << imported.policies << " policy(ies)\n";
  return kExitOk;
}

} // namespace

void registerImport(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<ImportOptions>();
  auto* import = app.add_subcommand("import", "Translate another system's policy into polc's");
  import->require_subcommand(1);
  auto* k8s = import->add_subcommand(
      "k8s", "Kubernetes objects (kubectl get -o yaml|json) into topology.yaml and .pol files");
  k8s->add_option("inputs", options->inputs,
                  "YAML or JSON files, directories (their *.yaml, *.yml, *.json) or - (stdin)")
      ->required();
  k8s->add_option("-o,--output", options->output, "The directory to write into")->required();
  k8s->add_flag("--lenient", options->lenient,
                "What polc's language cannot say yet is a warning, with a comment in the "
                "output, instead of an error");
  addFormatOption(k8s, context.format, FormatFlag::FormatOnly);
  addWarningOptions(k8s, options->warnings);
  context.add(k8s, [options, &context] { return runImport(*options, context.format); });
}

} // namespace polc::cli
