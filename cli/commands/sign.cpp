// polc sign: sign build outputs or bundles, for polc load --trust.
#include "commands.h"

#include "polc/artifacts/signature.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct SignOptions {
  std::vector<std::string> dirs;
  std::string key;
};

int runSign(const SignOptions& options, Format format) {
  auto signedDirs = nlohmann::json::array();
  for (const auto& dir : options.dirs) {
    auto key = polc::artifacts::signBuildOutput(dir, options.key);
    if (!key) return failSystem("sign", key.failure(), format);
    signedDirs.push_back({{"dir", dir}, {"key", *key}});
    if (format == Format::Text)
      std::cout << "polc: signed " << dir << " with key " << *key << " ("
                << polc::artifacts::kSignatureFile << ")\n";
  }
  if (format == Format::Json) printJson(nlohmann::json{{"ok", true}, {"signed", signedDirs}});
  return kExitOk;
}

} // namespace

void registerSign(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<SignOptions>();
  auto* sign = app.add_subcommand(
      "sign", "Sign build outputs or bundles (DIR/manifest.sig) after verifying their digests: "
              "hosts load them with polc load --trust");
  existingDirectory(
      sign->add_option("dirs", options->dirs, "Build output or bundle directories")->required());
  existingFile(
      sign->add_option("--key", options->key, "Private key file (polc keygen)")->required());
  addFormatOption(sign, context.format, FormatFlag::FormatOnly);
  context.add(sign, [options, &context] { return runSign(*options, context.format); });
}

} // namespace polc::cli
