#include "polc/graph/html.h"
#include "polc/graph/svg.h"

#include <nlohmann/json.hpp>

#include <string>

namespace polc::graph {

namespace {

std::string escapeHtml(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
    case '&':
      escaped += "&amp;";
      break;
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    case '"':
      escaped += "&quot;";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

// JSON inside <script>: no "</" may end the element early.
std::string scriptJson(const nlohmann::json& json) {
  std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string safe;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      safe += "\\u003c";
      continue;
    }
    safe += text[i];
  }
  return safe;
}

// The SVG element itself: Graphviz's prolog (<?xml ...?>, DOCTYPE, comments)
// has no place inside HTML.
std::string_view svgElement(std::string_view svg) {
  auto start = svg.find("<svg");
  return start == std::string_view::npos ? std::string_view() : svg.substr(start);
}

constexpr const char* kStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
#filters { margin: 1em 0; }
#filters label { margin-right: 1.5em; }
#picture { overflow: auto; max-height: 70vh; border: 1px solid #ddd; margin-bottom: 1.5em; }
#picture svg { max-width: 100%; height: auto; }
#no-picture { padding: 0.8em; border: 1px dashed #999; color: #555; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }
th { background: #f4f4f4; text-align: left; white-space: nowrap; }
th.isolated { color: #888; font-style: italic; }
td.allow { background: #e6f4e1; cursor: pointer; }
td.deny { background: #fbe3e3; cursor: pointer; }
td.both { background: linear-gradient(135deg, #e6f4e1 50%, #fbe3e3 50%); cursor: pointer; }
td.none { color: #bbb; }
td.selected { outline: 2px solid #3c78d8; }
td.added { color: #1155cc; font-weight: bold; border: 2px solid #1155cc; }
td.removed { color: #741b47; text-decoration: line-through; border: 2px dotted #741b47; }
td.changed { color: #1155cc; font-weight: bold; border: 2px dashed #741b47; }
td.same { color: #999; }
#legend span { margin-right: 1.5em; padding: 0 4px; }
#details { margin-top: 1em; padding: 0.8em; border: 1px solid #ccc; background: #fafafa; min-height: 2em; }
#details code { background: #eee; padding: 0 3px; }
)";

constexpr const char* kScript = R"(
(function () {
  const data = JSON.parse(document.getElementById('polc-graph').textContent);
  // A matrix of more groups than this is no use to read (and heavy to draw).
  const maxGroups = 150;
  const groups = data.groups, rules = {};
  for (const r of data.rules) rules[r.id] = r;
  const edges = {};
  for (const e of data.edges) {
    const key = e.from + ' ' + e.to;
    (edges[key] = edges[key] || []).push(e);
  }
  const nsSelect = document.getElementById('namespace');
  const labelInput = document.getElementById('label');
  const namespaces = new Set();
  for (const g of groups) if (g.labels && g.labels.namespace) namespaces.add(g.labels.namespace);
  for (const ns of Array.from(namespaces).sort()) {
    const o = document.createElement('option');
    o.value = o.textContent = ns;
    nsSelect.appendChild(o);
  }
  // With a filter: the endpoint groups it selects, world, host and
  // remote-node, and the CIDR and service groups that have a flow to or from
  // a selected group, as long as the matrix stays readable (`left out`
  // counts the rest).
  let leftOut = 0;
  function matches(g) {
    const ns = nsSelect.value, label = labelInput.value.trim();
    if (g.kind !== 'endpoints') return !ns && !label;
    if (ns && (g.labels || {}).namespace !== ns) return false;
    if (!label) return true;
    const [k, v] = label.split('=');
    const have = (g.labels || {})[k];
    return have !== undefined && (v === undefined || have === v);
  }
  function selected() {
    leftOut = 0;
    const chosen = new Set(groups.filter(matches).map(g => g.id));
    if (!nsSelect.value && !labelInput.value.trim()) return groups;
    const linked = new Set();
    for (const e of data.edges) {
      if (chosen.has(e.from)) linked.add(e.to);
      if (chosen.has(e.to)) linked.add(e.from);
    }
    const entities = ['world', 'host', 'remote-node'];
    for (const g of groups) if (entities.includes(g.kind)) chosen.add(g.id);
    const others = groups.filter(g => (g.kind === 'cidr' || g.kind === 'service') && linked.has(g.id));
    if (chosen.size + others.length <= maxGroups) for (const g of others) chosen.add(g.id);
    else leftOut = others.length;
    return groups.filter(g => chosen.has(g.id));
  }
  // In a picture of differences (polc diff) an edge is added, removed or the same.
  const sign = {added: '+ ', removed: '- ', same: ''};
  function cellText(list) {
    return list.map(e => (sign[e.change] || '') + (e.verdict === 'deny' ? 'deny ' : '') +
      e.l4.join(', ')).join(' | ');
  }
  function changeClass(list) {
    if (!data.differences) return '';
    const added = list.some(e => e.change === 'added'), removed = list.some(e => e.change === 'removed');
    return added && removed ? ' changed' : added ? ' added' : removed ? ' removed' : list.length ? ' same' : '';
  }
  function details(from, to, list) {
    const box = document.getElementById('details');
    box.innerHTML = '';
    const h = document.createElement('div');
    h.innerHTML = '<b></b> &rarr; <b></b>';
    h.children[0].textContent = from.name;
    h.children[1].textContent = to.name;
    box.appendChild(h);
    for (const e of list) {
      const p = document.createElement('p');
      p.textContent = (e.change && e.change !== 'same' ? e.change + ', ' : '') + e.verdict + ': ' + e.l4.join(', ') +
        (e.audited.length ? ' (audited: ' + e.audited.map(r => r.l4).join(', ') + ')' : '');
      box.appendChild(p);
      const ul = document.createElement('ul');
      if (!e.rules.length) {
        const li = document.createElement('li');
        li.textContent = 'no rule: the direction(s) are not isolated';
        ul.appendChild(li);
      }
      for (const id of e.rules) {
        const r = rules[id], li = document.createElement('li');
        const code = document.createElement('code');
        code.textContent = r.text;
        li.append(r.location + '  ', code, '  [' + (r.audit ? 'audit ' : '') + 'policy "' + r.policy + '", rule ' + r.id + ']');
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
  }
  function render() {
    const shown = selected();
    const table = document.getElementById('matrix');
    table.innerHTML = '';
    if (shown.length > maxGroups) {
      const row = table.insertRow();
      row.insertCell().textContent = shown.length + ' groups: filter by namespace or label to ' +
        'at most ' + maxGroups + ' to see the matrix.';
      return;
    }
    if (leftOut) {
      const row = table.insertRow();
      const note = row.insertCell();
      note.colSpan = shown.length + 1;
      note.textContent = leftOut + ' CIDR and service groups with flows to or from these are ' +
        'left out (more than ' + maxGroups + ' groups): filter by label to see them.';
    }
    const head = table.insertRow();
    const corner = document.createElement('th');
    corner.textContent = 'from \\ to';
    head.appendChild(corner);
    for (const g of shown) {
      const th = document.createElement('th');
      th.textContent = g.name;
      if (g.isolated) th.className = 'isolated';
      head.appendChild(th);
    }
    for (const from of shown) {
      const row = table.insertRow();
      const th = document.createElement('th');
      th.textContent = from.name + (from.isolated ? ' (isolated)' : '');
      if (from.isolated) th.className = 'isolated';
      row.appendChild(th);
      for (const to of shown) {
        const td = row.insertCell();
        const list = edges[from.id + ' ' + to.id] || [];
        const allow = list.some(e => e.verdict === 'allow'), deny = list.some(e => e.verdict === 'deny');
        td.className = (allow && deny ? 'both' : allow ? 'allow' : deny ? 'deny' : 'none') + changeClass(list);
        td.textContent = list.length ? cellText(list) : '-';
        td.dataset.from = from.id;
        td.dataset.to = to.id;
        if (list.length) td.onclick = () => {
          for (const s of table.querySelectorAll('td.selected')) s.classList.remove('selected');
          td.classList.add('selected');
          details(from, to, list);
        };
      }
    }
  }
  // A link can set the filters and open the report on one cell:
  // #namespace=NS&label=KEY%3DVALUE&from=NAME&to=NAME (group names).
  function selectFromLink() {
    const wanted = new URLSearchParams(location.hash.slice(1));
    if (wanted.has('namespace') || wanted.has('label')) {
      nsSelect.value = wanted.get('namespace') || '';
      labelInput.value = wanted.get('label') || '';
      render();
    }
    const from = groups.find(g => g.name === wanted.get('from'));
    const to = groups.find(g => g.name === wanted.get('to'));
    if (!from || !to) return;
    const cell = document.querySelector('#matrix td[data-from="' + from.id + '"][data-to="' + to.id + '"]');
    if (cell && cell.onclick) cell.onclick();
  }
  nsSelect.onchange = render;
  labelInput.oninput = render;
  window.addEventListener('hashchange', selectFromLink);
  render();
  selectFromLink();
})();
)";

} // namespace

std::string renderHtml(const nlohmann::json& graph, std::string_view svg, std::string_view note) {
  const std::string cluster = graph.value("cluster", std::string());
  const bool differences = graph.value("differences", false);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += std::string("<title>") + (differences ? "polc diff: " : "polc graph: ") +
          escapeHtml(cluster) + "</title>\n";
  html += std::string("<style>") + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>Cluster " + escapeHtml(cluster) +
          (differences ? ": what the change opens and closes" : ": who may talk to whom") +
          "</h1>\n";
  if (differences)
    html += "<p id=\"legend\"><span style=\"color:#1155cc\">+ added "
            "flows</span><span style=\"color:#741b47\">- removed flows</span><span "
            "style=\"color:#999\">unchanged</span></p>\n";
  if (!svg.empty())
    html += "<div id=\"picture\">\n" + std::string(svgElement(svg)) + "\n</div>\n";
  else
    html += "<p id=\"no-picture\">No picture: " + escapeHtml(note) +
            ". The matrix below has every group; narrow the picture with polc graph's --from, "
            "--to, --port or --group-by.</p>\n";
  html += "<div id=\"filters\"><label>namespace <select id=\"namespace\"><option "
          "value=\"\">all</option></select></label><label>label <input id=\"label\" "
          "placeholder=\"key=value\"></label></div>\n";
  html += "<table id=\"matrix\"></table>\n";
  html += "<div id=\"details\">Click a cell for its ports and the rules that decide it.</div>\n";
  html +=
      "<script type=\"application/json\" id=\"polc-graph\">" + scriptJson(graph) + "</script>\n";
  html += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  return html;
}

Expected<std::string> renderPicture(PictureFormat format, std::string_view dot,
                                    const nlohmann::json& graph) {
  auto tooLarge = tooLargeToDraw(graph.at("groups").size(), graph.at("edges").size());
  if (!tooLarge.empty() && format == PictureFormat::Svg)
    return Error(tooLarge + "; narrow it with --from, --to, --port or --group-by, or ask for "
                            "--format html (the matrix, without the picture)");
  std::string svg;
  if (tooLarge.empty()) {
    auto rendered = renderSvg(dot);
    if (!rendered) return rendered;
    if (format == PictureFormat::Svg) return rendered;
    svg = std::move(*rendered);
  }
  return renderHtml(graph, svg, tooLarge);
}

} // namespace polc::graph
