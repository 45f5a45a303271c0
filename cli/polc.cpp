// polc: the command line. A thin front: every command is a call into one of
// the stage libraries. Each command lives in its own file (cli/commands/);
// this one builds the app, parses, and runs the command that was parsed.
#include "commands/commands.h"
#include "options.h"
#include "usage.h"
#include "version.h"

#include "polc/support/internal_error.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <malloc.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace {

// Errors are values, so an exception is a bug (an InternalError, or one
// nobody expected): it ends the command with "internal error" and exit 4
// rather than std::terminate, after unwinding, so that RAII guards (a
// build's staging directory) clean up. Tests fail on it (internal_error.h).
template <typename Step>
int guarded(const std::string& command, const polc::cli::Format& format, Step step) {
  using polc::cli::failInternal;
  try {
    return step();
  } catch (const polc::InternalError& e) {
    return failInternal(command, e.what(), format); // recorded where thrown
  } catch (const std::exception& e) {
    polc::recordInternalError(e.what());
    return failInternal(command, e.what(), format);
  } catch (...) {
    polc::recordInternalError("an unknown exception");
    return failInternal(command, "an unknown exception", format);
  }
}

// A command runs once and exits, so memory handed back to the kernel is
// only faulted in again: by default glibc maps every block above 128 KiB
// (the big vectors of a build) on its own and unmaps it when freed, and
// trims the heap. Keeping what was got makes a 10,000-rule build some 10%
// faster (docs/benchmarks.md, bench/peers); the heap grows in 64 MiB steps
// that cost nothing until touched.
void keepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

} // namespace

int main(int argc, char** argv) {
  using namespace polc::cli;
  keepFreedMemory();
  CLI::App app{
      "polc: compiles label-based network policy into BPF programs and tables, and loads them"};
  app.require_subcommand(1);
  app.set_version_flag("--version", versionText);
  CommandContext context;
  // Registering and parsing run polc's code too (the pass list, validators,
  // --list-* callbacks): guarded like a command.
  constexpr int kRunTheCommand = -1;
  const int parsed = guarded("", context.format, [&] {
    registerAll(app, context);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app.exit(e); // --help, --version
      // Said as polc says it (usage.h), never CLI11's own words.
      const std::vector<std::string> args(argv + 1, argv + argc);
      auto error = describeParseError(app, args, e);
      // A script that asked for JSON gets a JSON answer to its own mistakes
      // too (on stdout, as every other failure), and the line on stderr.
      if (asksForJson(args)) {
        nlohmann::json answer{{"ok", false}, {"error", {{"message", error.line}}}};
        if (error.exitCode == kExitUsage) answer["usage_error"] = true;
        printJson(answer);
      }
      std::cerr << error.line << "\n";
      return error.exitCode;
    }
    return context.parsed() ? kRunTheCommand : kExitUsage;
  });
  if (parsed != kRunTheCommand) return parsed;
  const std::string command = app.get_subcommands().front()->get_name();
  return guarded(command, context.format, *context.parsed());
}
