// polc fmt: rewrite policy files in the canonical layout.
#include "commands.h"

#include "polc/frontend/formatter.h"
#include "polc/support/files.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct FmtOptions {
  std::vector<std::string> files;
  bool check = false;
};

// Rewrites each file in the canonical layout, or with `check` only reports
// (with a diff) the files whose layout would change.
int runFmt(const std::vector<std::string>& files, bool check) {
  int status = kExitOk;
  bool wouldChange = false;
  for (const auto& path : files) {
    auto text = polc::readFile(path);
    if (!text) {
      std::cerr << "polc fmt: " << text.error() << "\n"; // it names the file
      status = kExitInputError;
      continue;
    }
    polc::Diagnostics diagnostics;
    auto formatted = polc::frontend::formatText(path, *text, diagnostics);
    printDiagnostics(diagnostics, Format::Text);
    if (!formatted) {
      status = kExitInputError;
      continue;
    }
    if (*formatted == *text) continue;
    if (check) {
      std::cout << path << ": would be reformatted\n"
                << polc::frontend::unifiedDiff(path, *text, *formatted);
      wouldChange = true;
      status = kExitInputError;
      continue;
    }
    if (auto written = polc::writeFile(path, *formatted); !written) {
      std::cerr << "polc fmt: " << path << ": " << written.error() << "\n";
      status = kExitInputError;
      continue;
    }
    std::cout << "polc fmt: reformatted " << path << "\n";
  }
  if (wouldChange) std::cout << "run `polc fmt FILE...` to rewrite them in the canonical layout\n";
  return status;
}

} // namespace

void registerFmt(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<FmtOptions>();
  auto* fmt = app.add_subcommand("fmt", "Rewrite policy files in the canonical layout");
  existingFile(fmt->add_option("files", options->files, "Policy files (.pol)")->required());
  fmt->add_flag(
      "--check", options->check,
      "Change nothing; print a unified diff of each file whose layout would change, exit 1 if "
      "any would");
  context.add(fmt, [options] { return runFmt(options->files, options->check); });
}

} // namespace polc::cli
