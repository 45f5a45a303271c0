// The subcommands of polc, one file each in this directory. A command's
// register function adds it (options, help) to the app and its run to the
// context; main calls them in the order `polc --help` lists the commands.
// Adding a command: a new file here with its register function, declared
// below, called in registerAll (commands.cpp) and listed in cli/CMakeLists.txt.
#pragma once

#include "options.h"
#include "usage.h"

#include <CLI/CLI.hpp>

namespace polc::cli {

void registerCheck(CLI::App& app, CommandContext& context);
void registerBuild(CLI::App& app, CommandContext& context);
void registerCache(CLI::App& app, CommandContext& context);
void registerBundle(CLI::App& app, CommandContext& context);
void registerKeygen(CLI::App& app, CommandContext& context);
void registerSign(CLI::App& app, CommandContext& context);
void registerExplain(CLI::App& app, CommandContext& context);
void registerDiff(CLI::App& app, CommandContext& context);
void registerGraph(CLI::App& app, CommandContext& context);
void registerTest(CLI::App& app, CommandContext& context);
void registerFmt(CLI::App& app, CommandContext& context);
void registerImport(CLI::App& app, CommandContext& context);
void registerLoad(CLI::App& app, CommandContext& context);
void registerUnload(CLI::App& app, CommandContext& context);
void registerStatus(CLI::App& app, CommandContext& context);
void registerMonitor(CLI::App& app, CommandContext& context);
void registerStats(CLI::App& app, CommandContext& context);
void registerMetrics(CLI::App& app, CommandContext& context);
void registerAudit(CLI::App& app, CommandContext& context);
void registerAgent(CLI::App& app, CommandContext& context);
void registerLab(CLI::App& app, CommandContext& context);

// Every command above, in order.
void registerAll(CLI::App& app, CommandContext& context);

} // namespace polc::cli
