// polc keygen: a key pair for signing builds and bundles (polc sign).
#include "commands.h"

#include "polc/artifacts/signature.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct KeygenOptions {
  std::string prefix;
  std::string expires;
  bool force = false;
};

int runKeygen(const KeygenOptions& options, Format format) {
  std::optional<std::chrono::sys_days> expires;
  if (!options.expires.empty()) {
    expires = polc::artifacts::parseDay(options.expires);
    if (!expires)
      return failUsage("keygen", "--expires \"" + options.expires + "\" is not a date (YYYY-MM-DD)",
                       format);
  }
  auto pair = polc::artifacts::generateKeyPair(expires);
  if (!pair) return failSystem("keygen", pair.failure(), format);
  auto files = polc::artifacts::writeKeyPair(options.prefix, *pair, options.force);
  if (!files) return failSystem("keygen", files.failure(), format);
  const auto& [privateFile, publicFile] = *files;
  if (format == Format::Json) {
    printJson(nlohmann::json{
        {"ok", true},
        {"key", pair->id},
        {"private_key", privateFile.string()},
        {"public_key", publicFile.string()},
        {"expires", options.expires.empty() ? nlohmann::json() : nlohmann::json(options.expires)}});
    return kExitOk;
  }
  std::cout << "polc: key " << pair->id << ": private " << privateFile.string()
            << " (keep it secret: it signs), public " << publicFile.string()
            << " (give it to hosts: polc load --trust)";
  if (!options.expires.empty()) std::cout << ", trusted through " << options.expires;
  std::cout << "\n";
  return kExitOk;
}

} // namespace

void registerKeygen(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<KeygenOptions>();
  auto* keygen = app.add_subcommand(
      "keygen", "Make an Ed25519 key pair for signing builds and bundles: PREFIX.key "
                "(private, mode 0600) and PREFIX.pub (for polc load --trust)");
  keygen->add_option("-o,--out", options->prefix, "Path prefix of the two files")->required();
  keygen->add_option("--expires", options->expires,
                     "Last day (YYYY-MM-DD, UTC) on which hosts trust the public key");
  keygen->add_flag("--force", options->force, "Replace existing key files");
  addFormatOption(keygen, context.format, FormatFlag::FormatOnly);
  context.add(keygen, [options, &context] { return runKeygen(*options, context.format); });
}

} // namespace polc::cli
