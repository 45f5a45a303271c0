// Graphviz source to SVG, through Graphviz's library (the `dot` layout and
// its SVG renderer), in memory: no `dot` program needs to be installed.
#pragma once

#include "polc/support/expected.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace polc::graph {

// The SVG document of `dot` laid out with the dot engine. Errors: the
// source does not parse, or Graphviz lacks its layout or SVG plugin (with
// what Graphviz said).
// Past 400 edges, the layout trades the fewest crossings for time
// (Graphviz's mclimit, nslimit and searchsize): a dense graph of 256 groups
// and 2,600 edges took 113 s with the defaults and 12 s so; 59 groups and
// 618 edges 7 s and 2 s.
Expected<std::string> renderSvg(std::string_view dot);

// The largest picture drawn: beyond it Graphviz's layout takes minutes to
// hours (402 groups and 25,000 edges: not done in 5 minutes) and nobody
// could read the result anyway.
inline constexpr size_t kMaxDrawnGroups = 600;
inline constexpr size_t kMaxDrawnEdges = 3000;
// Empty when a graph of `groups` boxes and `edges` arrows is drawn; else
// why not, as a sentence: "402 groups and 24,945 edges are more than ...".
std::string tooLargeToDraw(size_t groups, size_t edges);

} // namespace polc::graph
