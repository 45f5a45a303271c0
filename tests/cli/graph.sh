#!/usr/bin/env bash
# polc graph through the real CLI (docs/cli.md, "polc graph"): a bad
# --format, --group-by, selector or port is a usage error (exit 2) that says
# what is accepted; the SVG (Graphviz's library) is XML with a node per
# group; the HTML report is one self-contained page (no fetch) whose
# script fills the matrix and the details (graph_html_check.js); -o writes
# the file.
#
# usage: graph.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies
shop=("$examples/shop.pol" --topology "$examples/shop.yaml")

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

case $case in
usage)
  run "$polc" graph "${shop[@]}" --format png
  expect_status 2
  expect_stderr "polc graph: --format: unknown format 'png'; the formats are dot, json, svg and html"
  run "$polc" graph "${shop[@]}" --format png -o out.png
  expect_status 2
  [ -e out.png ] && fail "a usage error wrote out.png"
  run "$polc" graph "${shop[@]}" --group-by label ap
  expect_status 2
  expect_stderr "polc graph: --group-by label: no endpoint has the label 'ap'; did you mean 'app'?"
  run "$polc" graph "${shop[@]}" --group-by label
  expect_status 2
  expect_stderr "--group-by label needs a label key: --group-by label KEY"
  run "$polc" graph "${shop[@]}" --group-by tier
  expect_status 2
  expect_stderr "--group-by: unknown grouping 'tier'; give identity, namespace, or label KEY"
  run "$polc" graph "${shop[@]}" --from envv=prod
  expect_status 2
  expect_stderr "--from envv=prod: no endpoint has the label 'envv'; did you mean 'env'?"
  run "$polc" graph "${shop[@]}" --to app=nothing
  expect_status 2
  expect_stderr "--to app=nothing selects no end of the topology"
  run "$polc" graph "${shop[@]}" --port htp/80
  expect_status 2
  expect_stderr "--port: 'htp/80': give PROTO/PORT[-PORT] (tcp/443), a port (443) or icmp"
  run "$polc" graph "${shop[@]}" --format json --group-by label ap
  expect_status 2
  expect_json /ok false
  ;;
svg)
  run "$polc" graph "${shop[@]}" --format json
  expect_status 0
  groups=$("$json_query" /summary/groups < stdout.txt)
  run "$polc" graph "${shop[@]}" --format svg -o shop.svg
  expect_status 0
  [ -s shop.svg ] || fail "no shop.svg"
  python3 - "$groups" shop.svg <<'PY' || fail "the SVG is not XML with a node per group"
import sys, xml.etree.ElementTree as ET
groups, path = int(sys.argv[1]), sys.argv[2]
root = ET.parse(path).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
nodes = [g for g in root.iter(ns + "g") if g.get("class") == "node"]
titles = sorted(g.find(ns + "title").text for g in nodes)
assert len(nodes) == groups, (len(nodes), groups)
assert titles == sorted("g%d" % i for i in range(groups)), titles
text = " ".join(t.text or "" for t in root.iter(ns + "text"))
assert "app=web,env=prod" in text and "world" in text, text
print("svg: %d nodes" % len(nodes))
PY
  ;;
html)
  run "$polc" graph "${shop[@]}" --format json -o shop.json
  expect_status 0
  run "$polc" graph "${shop[@]}" --format html -o shop.html
  expect_status 0
  python3 - shop.html shop.json <<'PY' || fail "the HTML report is not as expected"
import html.parser, json, re, sys
page, data = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
class Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.external = [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append((tag, name, value))
        if tag == "link":
            self.external.append((tag, attrs))
parser = Parser()
parser.feed(page)
assert not parser.external, parser.external
for fetch in ("@import", "url(", "fetch(", "XMLHttpRequest", "<iframe"):
    assert fetch not in page, fetch
urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
assert "svg" in parser.tags and "table" in parser.tags, parser.tags
embedded = json.loads(re.search(r'<script type="application/json" id="polc-graph">(.*?)</script>',
                                page, re.S).group(1))
for key in ("groups", "edges", "rules"):
    assert embedded[key] == data[key], key
nodes = re.findall(r'<g id="node\d+" class="node">', page)
assert len(nodes) == len(data["groups"]), (len(nodes), len(data["groups"]))
print("html: %d groups, %d edges, self-contained" % (len(data["groups"]), len(data["edges"])))
PY
  # The page's script, run by node (scripts/bootstrap installs nodejs).
  command -v node > /dev/null || fail "node is missing: run scripts/bootstrap"
  node "$source_dir/tests/cli/graph_html_check.js" shop.html \
    app=frontend,env=prod app=web,env=prod > dom.txt 2>&1 || fail "the page's script fails: $(cat dom.txt)"
  cat dom.txt
  grep -q '^rows 6, cells 36, allow 16, deny 0$' dom.txt || fail "unexpected matrix"
  grep -q 'shop.pol:9:5 allow from app == "frontend" on tcp/80, udp/9000' dom.txt ||
    fail "the details lack the deciding rule"
  ;;
filters)
  run "$polc" graph "${shop[@]}" --format json --from app=web --port tcp/5432
  expect_status 0
  expect_json /ok true
  expect_json /edges/0/l4/0 tcp/5432
  [ "$("$json_query" /edges/1 < stdout.txt 2> /dev/null)" = "" ] || fail "more than one edge"
  run "$polc" graph "${shop[@]}" --group-by label app -o graph.dot
  expect_status 0
  grep -q '^digraph polc {' graph.dot || fail "graph.dot is no DOT"
  grep -q 'label="app=web' graph.dot || fail "no app=web group"
  # --group-by before the policy: the words it takes end with its own.
  run "$polc" graph --group-by namespace "${shop[@]}"
  expect_status 0
  expect_stdout '(no namespace)'
  run "$polc" graph --group-by label env "${shop[@]}"
  expect_status 0
  expect_stdout 'env unset'
  run "$polc" graph --group-by namespace nope.pol --topology "$examples/shop.yaml"
  expect_status 2
  expect_stderr "polc graph: policy: no such file: nope.pol"
  ;;
*)
  echo "graph.sh: unknown case $case"
  exit 2
  ;;
esac
finish "graph.$case"
