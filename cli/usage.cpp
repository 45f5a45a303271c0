#include "usage.h"

#include "options.h"

#include "polc/support/suggest.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace polc::cli {

void invalidValue(const std::string& option, const std::string& value,
                  const std::string& expected) {
  throw OptionError(option + ": invalid value '" + value + "'; expected " + expected, kExitUsage);
}

namespace {

std::string join(const std::vector<std::string>& values, const std::string& separator) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : separator) + value;
  return out;
}

// A number as the user wrote it: "1" rather than "1.000000".
std::string numberText(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<long long>(value)); // 10000000, not 1e+07
  std::ostringstream out;
  out << value;
  return out.str();
}

// The checker of `option`: `check` returns nothing when the value is
// right and throws OptionError otherwise. No description: the option's
// type name says what it takes.
CLI::Option* checkWith(CLI::Option* option, std::function<void(const std::string&)> check) {
  return option->check(CLI::Validator(
      [check = std::move(check)](std::string& value) {
        check(value);
        return std::string();
      },
      ""));
}

// The value as a number in [min, max], or the OptionError that says so.
void checkNumber(const std::string& option, const std::string& value, double min, double max,
                 const std::string& expected) {
  errno = 0;
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || errno == ERANGE ||
      !std::isfinite(number) || number < min || number > max)
    invalidValue(option, value, expected);
}

enum class PathKind { File, Directory, Any };

CLI::Option* existing(CLI::Option* option, PathKind kind) {
  option->type_name(kind == PathKind::File ? "FILE" : kind == PathKind::Directory ? "DIR" : "PATH");
  return checkWith(option, [kind](const std::string& path) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    std::string problem;
    if (!std::filesystem::exists(status))
      problem = kind == PathKind::File        ? "no such file"
                : kind == PathKind::Directory ? "no such directory"
                                              : "no such file or directory";
    else if (kind == PathKind::File && std::filesystem::is_directory(status))
      problem = "is a directory, not a file";
    else if (kind == PathKind::Directory && !std::filesystem::is_directory(status))
      problem = "not a directory";
    if (!problem.empty()) throw OptionError(path + ": " + problem, kExitInputError);
  });
}

} // namespace

CLI::Option* oneOf(CLI::Option* option, const std::vector<std::string>& values) {
  const std::string name = option->get_name();
  const std::string expected = join(values, "|");
  option->type_name(expected);
  // Case does not matter (`TCP`); the command sees the value as listed.
  return option->check(CLI::Validator(
      [name, values, expected](std::string& value) {
        for (const auto& allowed : values)
          if (value.size() == allowed.size() &&
              std::equal(value.begin(), value.end(), allowed.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
              })) {
            value = allowed;
            return std::string();
          }
        invalidValue(name, value, expected);
      },
      ""));
}

CLI::Option* inRange(CLI::Option* option, double min, double max) {
  const std::string name = option->get_name();
  const std::string range = numberText(min) + ".." + numberText(max);
  option->type_name(range);
  return checkWith(option, [name, min, max, range](const std::string& value) {
    checkNumber(name, value, min, max, "a number in " + range);
  });
}

CLI::Option* atLeast(CLI::Option* option, double min) {
  const std::string name = option->get_name();
  option->type_name("N");
  return checkWith(option, [name, min](const std::string& value) {
    checkNumber(name, value, min, HUGE_VAL, "a number of at least " + numberText(min));
  });
}

CLI::Option* positive(CLI::Option* option) {
  const std::string name = option->get_name();
  option->type_name("N");
  return checkWith(option, [name](const std::string& value) {
    checkNumber(name, value, 0, HUGE_VAL, "a number above 0");
    if (std::strtod(value.c_str(), nullptr) == 0) invalidValue(name, value, "a number above 0");
  });
}

CLI::Option* existingFile(CLI::Option* option) {
  return existing(option, PathKind::File);
}
CLI::Option* existingDirectory(CLI::Option* option) {
  return existing(option, PathKind::Directory);
}
CLI::Option* existingPath(CLI::Option* option) {
  return existing(option, PathKind::Any);
}

std::string commandPath(const CLI::App* command) {
  std::string path;
  for (; command && command->get_parent(); command = command->get_parent())
    path = " " + command->get_name() + path;
  return "polc" + path;
}

namespace {

// The deepest command the parse reached: what the message is about.
const CLI::App* parsedCommand(const CLI::App& app) {
  const CLI::App* at = &app;
  for (;;) {
    auto parsed = at->get_subcommands([](const CLI::App* sub) { return sub->parsed() > 0; });
    if (parsed.empty()) return at;
    at = parsed.front();
  }
}

// The first word of `args` that names no command where one is expected
// (`polc chek`, `polc cache sats`), as an error; empty when there is none.
std::string unknownCommand(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* at = &app;
  for (const auto& arg : args) {
    if (arg.empty() || arg[0] == '-') return {};
    auto subcommands = at->get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) return {};
    std::vector<std::string> names;
    const CLI::App* next = nullptr;
    for (const auto* sub : subcommands) {
      names.push_back(sub->get_name());
      if (sub->get_name() == arg) next = sub;
    }
    if (!next) {
      std::string line = commandPath(at) + ": unknown command '" + arg + "'";
      if (auto match = polc::closestMatch(arg, names))
        return line + "; did you mean '" + *match + "'?";
      return line + "; the commands are: " + join(names, ", ");
    }
    at = next;
  }
  return {};
}

// What CLI11's type names mean, for "expected ...".
std::string typeText(const std::string& type) {
  if (type == "UINT") return "a whole number of 0 or more";
  if (type == "INT") return "a whole number";
  if (type == "FLOAT" || type == "NUMBER") return "a number";
  return type;
}

const CLI::Option* findOption(const CLI::App* command, const std::string& name) {
  for (; command; command = command->get_parent())
    for (const auto* option : command->get_options())
      if (option->check_name(name) || option->get_name() == name) return option;
  return nullptr;
}

// Every spelling of the options of `command`: what an unknown one may be a
// typo of.
std::vector<std::string> optionNames(const CLI::App* command) {
  std::vector<std::string> names;
  for (const auto* option : command->get_options()) {
    if (option->get_group().empty()) continue; // hidden
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

std::string afterPrefix(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0 ? text.substr(prefix.size()) : std::string();
}

std::string describe(const CLI::App* command, const std::vector<std::string>& args,
                     const CLI::ParseError& error) {
  const std::string message = error.what();
  const std::string path = commandPath(command);
  if (dynamic_cast<const OptionError*>(&error)) return message;
  if (dynamic_cast<const CLI::ConversionError*>(&error)) {
    // "Could not convert: NAME = VALUE"
    auto rest = afterPrefix(message, "Could not convert: ");
    auto equals = rest.find(" = ");
    if (equals != std::string::npos) {
      auto name = rest.substr(0, equals), value = rest.substr(equals + 3);
      const auto* option = findOption(command, name);
      return name + ": invalid value '" + value + "'; expected " +
             (option ? typeText(option->get_type_name()) : "another value");
    }
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error)) {
    // "The following argument(s) was/were not expected: A B": the one
    // given first, an option before anything else (`--frmat json`).
    auto colon = message.find(": ");
    std::vector<std::string> extras;
    std::istringstream words(colon == std::string::npos ? message : message.substr(colon + 2));
    for (std::string word; words >> word;) extras.push_back(word);
    const auto isExtra = [&](const std::string& arg) {
      return std::find(extras.begin(), extras.end(), arg) != extras.end();
    };
    const auto isOption = [](const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; };
    std::string first = extras.empty() ? message : extras.front();
    if (auto it = std::find_if(args.begin(), args.end(),
                               [&](const auto& arg) { return isExtra(arg) && isOption(arg); });
        it != args.end())
      first = *it;
    else if (auto it = std::find_if(args.begin(), args.end(), isExtra); it != args.end())
      first = *it;
    if (first.size() > 1 && first[0] == '-') {
      auto name = first.substr(0, first.find('='));
      std::string line = "unknown option '" + name + "'";
      if (auto match = polc::closestMatch(name, optionNames(command)))
        return line + "; did you mean '" + *match + "'?";
      return line + "; see '" + path + " --help'";
    }
    return "unexpected argument '" + first + "'; see '" + path + " --help'";
  }
  if (dynamic_cast<const CLI::RequiredError*>(&error)) {
    if (message == "A subcommand is required") {
      std::vector<std::string> names;
      for (const auto* sub : command->get_subcommands([](const CLI::App*) { return true; }))
        names.push_back(sub->get_name());
      return std::string(command->get_parent() ? "a subcommand" : "a command") +
             " is required: " + join(names, ", ") + "; see '" + path + " --help'";
    }
    return message;
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error)) {
    // "NAME: 1 required TYPE missing" for an option given without its value.
    auto colon = message.find(": ");
    if (colon != std::string::npos && message.find(" missing", colon) != std::string::npos)
      return message.substr(0, colon) + ": needs a value";
  }
  return message;
}

} // namespace

ParseErrorText describeParseError(const CLI::App& app, const std::vector<std::string>& args,
                                  const CLI::ParseError& error) {
  if (auto unknown = unknownCommand(app, args); !unknown.empty()) return {unknown, kExitUsage};
  const auto* command = parsedCommand(app);
  const int exitCode =
      dynamic_cast<const OptionError*>(&error) ? error.get_exit_code() : kExitUsage;
  return {commandPath(command) + ": " + describe(command, args, error), exitCode};
}

bool asksForJson(const std::vector<std::string>& args) {
  auto isJson = [](std::string value) {
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return value == "json";
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& word = args[i];
    if (word == "--") break; // what follows is not an option
    if (word.rfind("--format=", 0) == 0 && isJson(word.substr(9))) return true;
    if ((word == "--format" || word == "-o" || word == "--output") && i + 1 < args.size() &&
        isJson(args[i + 1]))
      return true;
  }
  return false;
}

} // namespace polc::cli
