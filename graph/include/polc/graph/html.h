// One self-contained HTML page of a policy graph (`polc graph --format
// html`): the SVG picture and a from x to matrix, each cell allow / deny /
// nothing with its ports; clicking a cell shows the deciding rules with
// file:line; filters by namespace and label. Inline CSS and JS, no fetch:
// it works offline, e.g. opened from a CI artifact. A link may open it on
// one cell: report.html#from=NAME&to=NAME (group names, URL-encoded). For
// a graph of differences (polc diff) cells say what was added and removed.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace polc::graph {

// `graph` is the document of evaluator::graphJson (groups, edges, rules;
// with "differences", each edge's "change");
// `svg` the picture (renderSvg), embedded as is after its XML prolog.
std::string renderHtml(const nlohmann::json& graph, std::string_view svg);

} // namespace polc::graph
