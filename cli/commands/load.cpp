// polc load: attach a node's programs from a build output, fill its maps.
#include "commands.h"

#include "polc/artifacts/manifest.h"
#include "polc/lab/lab.h"

#include <filesystem>
#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct LoadOptions {
  std::string outDir;
  std::string node;
  std::string trust;
  PlacementOptions placement;
};

int runLoad(const std::string& outDir, const std::string& node, const std::string& trust,
            PlacementOptions options, Format format) {
  // Said before anything is read or the kernel touched: a directory that is
  // not a build output is the command line's input error.
  std::error_code error;
  if (!std::filesystem::exists(std::filesystem::path(outDir) / "manifest.json", error))
    return failInput("load",
                     outDir + " is not a polc build output (no manifest.json): give the directory "
                              "that polc build -o wrote, or a bundle of polc bundle",
                     format);
  if (!options.labPrefix.empty()) {
    auto manifest = polc::artifacts::readManifest(outDir);
    if (!manifest) return failSystem("load", manifest.failure(), format);
    std::string nodeName = node;
    if (nodeName.empty() && manifest->nodes.size() == 1) nodeName = manifest->nodes[0].name;
    options.placement.netns = polc::lab::nodeNamespace(options.labPrefix, nodeName);
  }
  auto loader = polc::loader::makeKernelLoader();
  auto report = loader->load({outDir, node, options.placement, options.lockTimeout(), trust});
  if (!report) return failSystem("load", report.failure(), format);
  if (format == Format::Json)
    std::cout << polc::loader::loadReportJson(*report) << "\n";
  else
    std::cout << polc::loader::loadReportText(*report);
  return kExitOk;
}

} // namespace

void registerLoad(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<LoadOptions>();
  auto* load =
      app.add_subcommand("load", "Attach a node's programs from a build output and fill its maps");
  existingDirectory(load->add_option("out", options->outDir, "Build output directory")->required());
  load->add_option("--node", options->node, "Node to load (default: the only node)");
  existingPath(load->add_option(
      "--trust", options->trust,
      "Load only a build signed by one of these keys: a public key file (polc "
      "keygen) or a directory of *.pub files. Checked before the kernel is touched"));
  addPlacementOptions(load, options->placement);
  addLockTimeoutOption(load, options->placement);
  addFormatOption(load, context.format, FormatFlag::DeprecatedOutput);
  context.add(load, [options, &context] {
    return runLoad(options->outDir, options->node, options->trust, options->placement,
                   context.format);
  });
}

} // namespace polc::cli
