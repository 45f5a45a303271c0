#include "commands.h"

namespace polc::cli {

void registerAll(CLI::App& app, CommandContext& context) {
  registerCheck(app, context);
  registerBuild(app, context);
  registerCache(app, context);
  registerBundle(app, context);
  registerKeygen(app, context);
  registerSign(app, context);
  registerExplain(app, context);
  registerDiff(app, context);
  registerGraph(app, context);
  registerTest(app, context);
  registerFmt(app, context);
  registerImport(app, context);
  registerLoad(app, context);
  registerUnload(app, context);
  registerStatus(app, context);
  registerMonitor(app, context);
  registerStats(app, context);
  registerMetrics(app, context);
  registerAudit(app, context);
  registerAgent(app, context);
  registerLab(app, context);
}

} // namespace polc::cli
