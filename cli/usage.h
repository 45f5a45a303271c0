// The command line's own errors, said as polc says everything else: one
// line, "polc COMMAND: MESSAGE", naming the option and what it accepts, with
// the exit code of docs/cli.md. CLI11's messages (and its help's
// "ENUM:value in {json->1,text->0}") never reach the user: polc's options
// check their values with the checkers below, and main translates what
// CLI11 itself throws with describeParseError.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace polc::cli {

// An error in the command line found by one of polc's checkers, its message
// already as the user reads it after "polc COMMAND: ". Its exit code is
// kExitUsage, or kExitInputError for an input that is not there (a file
// named that does not exist is the input's fault, not the command line's).
class OptionError : public CLI::ParseError {
public:
  OptionError(std::string message, int exitCode)
      : CLI::ParseError("OptionError", std::move(message), exitCode) {}
};

// "OPTION: invalid value 'VALUE'; expected EXPECTED" (exit 2).
[[noreturn]] void invalidValue(const std::string& option, const std::string& value,
                               const std::string& expected);

// The option takes one of `values`, in any case (the command sees it as
// listed): its help shows them as `a|b|c`, and any other value is refused
// naming them.
CLI::Option* oneOf(CLI::Option* option, const std::vector<std::string>& values);
// A number from min to max (help: `MIN..MAX`).
CLI::Option* inRange(CLI::Option* option, double min, double max);
// A number of at least min (help: `N`).
CLI::Option* atLeast(CLI::Option* option, double min);
// A number above 0 (help: `N`).
CLI::Option* positive(CLI::Option* option);
// An input that must exist: "PATH: no such file" and exit 1 otherwise.
CLI::Option* existingFile(CLI::Option* option);
CLI::Option* existingDirectory(CLI::Option* option);
CLI::Option* existingPath(CLI::Option* option);

// "polc", "polc check", "polc cache gc": how the user names `command`.
std::string commandPath(const CLI::App* command);

// What main prints for a parse error of `app` (not a CLI::Success): the
// whole line, "polc COMMAND: MESSAGE", and its exit code.
struct ParseErrorText {
  std::string line;
  int exitCode;
};
ParseErrorText describeParseError(const CLI::App& app, const std::vector<std::string>& args,
                                  const CLI::ParseError& error);

// Whether the command line asks for JSON (`--format json`, `--format=json`,
// or the deprecated `-o json`), read from the words themselves: for an
// error found before the options were parsed.
bool asksForJson(const std::vector<std::string>& args);

} // namespace polc::cli
