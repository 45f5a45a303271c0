// The named steps of a load, and the test hook that makes a load fail or
// stop at one of them (docs/cli.md, "Testing a load's failures"):
//   POLC_LOADER_FAIL_AT=<step>   the load fails there as if the step had
//                                failed, and rolls back like after a real failure
//   POLC_LOADER_PAUSE_AT=<step>  the load stops itself (SIGSTOP) there, so a
//                                test can kill -9 it at exactly that point
#pragma once

#include "polc/support/expected.h"

#include <array>
#include <string_view>

namespace polc::runtime {

// In the order a load reaches them. Before "switch" nothing that enforces
// policy has changed; "commit" is after every hook runs the new revision.
inline constexpr std::array<std::string_view, 11> kLoadSteps = {
    "verify",         // artifacts read and verified; the kernel only read yet
    "interfaces",     // every interface resolved
    "read-tables",    // the tables, ipcache and services the load writes are known
    "journal",        // the load's intent recorded in the state dir
    "load-objects",   // the first new object loaded and verified (with fresh maps)
    "fill-tables",    // every new policy map filled
    "pin-programs",   // every new program pinned beside the live one
    "update-ipcache", // the node's ipcache holds the new revision's entries
    "update-tables",  // policy maps of endpoints whose programs stay updated in place
    "attach",         // the first hook runs its new program
    "detach-stale",   // programs of endpoints that left are detached
};
inline constexpr std::string_view kStepCommit = "commit"; // pause only: cannot fail

// Called when a load reaches `step`: an Error when POLC_LOADER_FAIL_AT names
// it; stops the process when POLC_LOADER_PAUSE_AT names it.
Status reachStep(std::string_view step);

} // namespace polc::runtime
