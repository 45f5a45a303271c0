// One self-contained HTML page of a policy graph (`polc graph --format
// html`): the SVG picture and a from x to matrix, each cell allow / deny /
// nothing with its ports; clicking a cell shows the deciding rules with
// file:line; filters by namespace and label. Inline CSS and JS, no fetch:
// it works offline, e.g. opened from a CI artifact. A link may open it on
// one cell: report.html#from=NAME&to=NAME (group names, URL-encoded). For
// a graph of differences (polc diff) cells say what was added and removed.
#pragma once

#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace polc::graph {

// `graph` is the document of evaluator::graphJson (groups, edges, rules;
// with "differences", each edge's "change");
// `svg` the picture (renderSvg), embedded as is after its XML prolog; when
// empty, `note` says in its place why there is none (tooLargeToDraw).
std::string renderHtml(const nlohmann::json& graph, std::string_view svg,
                       std::string_view note = {});

// The picture of a graph as SVG, or the HTML report around it: `dot` is its
// Graphviz source, `graph` its graphJson document. A graph too large to
// draw (tooLargeToDraw) is an error for SVG, a report without the picture
// for HTML. Errors: the graph is too large (SVG), or renderSvg's.
enum class PictureFormat { Svg, Html };
Expected<std::string> renderPicture(PictureFormat format, std::string_view dot,
                                    const nlohmann::json& graph);

} // namespace polc::graph
