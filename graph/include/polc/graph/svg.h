// Graphviz source to SVG, through Graphviz's library (the `dot` layout and
// its SVG renderer), in memory: no `dot` program needs to be installed.
#pragma once

#include "polc/support/expected.h"

#include <string>
#include <string_view>

namespace polc::graph {

// The SVG document of `dot` laid out with the dot engine. Errors: the
// source does not parse, or Graphviz lacks its layout or SVG plugin (with
// what Graphviz said).
Expected<std::string> renderSvg(std::string_view dot);

} // namespace polc::graph
