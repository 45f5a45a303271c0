// Tiny policy tables compiled in as code (bpf/lib/polc_inline_policy.h):
// their entries become .rodata slots that the loader sets before it loads
// the object, instead of policy map entries.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstddef>
#include <vector>

struct bpf_object;

namespace polc::maps {

// The slots for a table's entries: longest prefix first (so the datapath's
// first match is the longest-prefix match), then unused slots up to
// `slots`. More entries than slots is an error.
Expected<std::vector<polc_inline_entry>>
toInlineEntries(const std::vector<artifacts::PolicyEntry>& entries, size_t slots);

// How many slots the object has for the direction's table (its .rodata
// variable, artifacts::kConfigInline*), or 0 when the direction uses its map.
size_t inlineSlots(bpf_object* object, artifacts::Direction direction);

// Fills the direction's slots with the table's entries before the object is
// loaded; nothing to do when the object has no slots for it.
Status setInlineTable(bpf_object* object, artifacts::Direction direction,
                      const std::vector<artifacts::PolicyEntry>& entries);

// For verifier statistics without an endpoint: fills every inline slot of
// the object with used entries of both verdicts, for exact and wildcard
// peers, with protocol and port masks, so that the verifier (which folds
// branches on .rodata constants) walks the most code a table can make live.
Status fillInlineSlotsForVerification(bpf_object* object);

} // namespace polc::maps
