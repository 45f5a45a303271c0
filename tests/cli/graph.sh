#!/usr/bin/env bash
# polc graph through the real CLI (docs/cli.md, "polc graph"): a bad
# --format, --group-by, selector or port is a usage error (exit 2) that says
# what is accepted; the SVG (Graphviz's library) is XML with a node per
# group; the HTML report is one self-contained page (no fetch) that a real
# browser (headless chromium, no network) renders with its matrix and a
# cell's details, and takes a screenshot of; polc diff draws what a change
# opens and closes (DOT, SVG, HTML); -o writes the file.
#
# usage: graph.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies
shop=("$examples/shop.pol" --topology "$examples/shop.yaml")

origin=$PWD # the test's directory in the build tree: the screenshot stays there
# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

# browse ARGS... URL: Debian's chromium, headless, with a throwaway profile,
# in a network namespace of its own: the page must work with no network at
# all. (As root --no-sandbox is required; unshare --map-root-user makes the
# same namespace without root.)
browse() {
  command -v chromium > /dev/null || {
    echo "chromium is missing: run scripts/bootstrap" > chromium.err
    return 1
  }
  local isolate=(unshare --net)
  [ "$(id -u)" = 0 ] || isolate=(unshare --net --map-root-user)
  timeout 60 "${isolate[@]}" chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$PWD/chromium-profile" "$@" 2> chromium.err
}

# cell_link FROM TO: the report's link fragment that opens the cell FROM -> TO.
cell_link() {
  python3 -c 'import sys, urllib.parse as u; print(u.urlencode({"from": sys.argv[1], "to": sys.argv[2]}))' "$1" "$2"
}

# read_dom FILE: what a reader sees in the rendered page (chromium's
# --dump-dom): the matrix's rows, cells and their kinds, then the details.
read_dom() {
  python3 - "$1" <<'PY'
import html.parser, sys
class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.rows, self.cells, self.details = [], 0, [], []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("br", "meta", "input", "option", "img"):
            return
        self.stack.append((tag, attrs))
        inside = [a.get("id") for _, a in self.stack]
        if "matrix" in inside and tag == "tr":
            self.rows += 1
        if "matrix" in inside and tag == "td":
            self.cells.append(attrs.get("class", ""))
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass
    def handle_data(self, data):
        if any(a.get("id") == "details" for _, a in self.stack):
            self.details.append(data)
page = Page()
page.feed(open(sys.argv[1]).read())
kinds = [set(c.split()) for c in page.cells]
assert page.rows > 1 and page.cells, "no matrix was rendered"
print("rows %d, cells %d, allow %d, deny %d, changed %d" % (
    page.rows - 1, len(page.cells),
    sum(bool(k & {"allow", "both"}) for k in kinds), sum(bool(k & {"deny", "both"}) for k in kinds),
    sum(bool(k & {"added", "removed", "changed"}) for k in kinds)))
print("details: " + " ".join(" ".join(page.details).split()))
PY
}

# check_png FILE: a PNG of some size (a blank page is a few kilobytes).
check_png() {
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || {
    fail "$1 is not a PNG"
    return 1
  }
  [ "$(stat -c %s "$1")" -gt 20000 ] || {
    fail "$1 is too small to show the report ($(stat -c %s "$1") bytes)"
    return 1
  }
}

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
  # The page in a real browser (Debian's chromium, headless), opened on the
  # cell frontend -> web by a link: the rendered matrix and that cell's
  # details, read from the DOM; a screenshot beside the test (the build
  # tree's tests/cli/graph-report.png).
  browse --dump-dom "file://$PWD/shop.html#$(cell_link app=frontend,env=prod app=web,env=prod)" \
    > dom.html || fail "chromium failed: $(tail -5 chromium.err)"
  read_dom dom.html > dom.txt || fail "the rendered page is not as expected"
  cat dom.txt
  grep -q '^rows 6, cells 36, allow 16, deny 0, changed 0$' dom.txt || fail "unexpected matrix"
  grep -q 'shop.pol:9:5 allow from app == "frontend" on tcp/80, udp/9000' dom.txt ||
    fail "the details lack the deciding rule"
  browse --screenshot="$PWD/shot.png" --window-size=1400,1200 "file://$PWD/shop.html" ||
    fail "chromium took no screenshot: $(tail -5 chromium.err)"
  check_png shot.png && cp shot.png "$origin/graph-report.png"
  ;;
diff)
  # polc diff draws what a change opens and closes: web's egress to db and
  # db's ingress from web move from 5432 to 5433.
  sed 's|on tcp/5432$|on tcp/5433|' "$examples/shop.pol" > shop-v2.pol
  grep -q 'tcp/5433' shop-v2.pol || fail "the edit did not apply"
  for format in dot svg html; do
    run "$polc" diff "$examples/shop.pol" shop-v2.pol --topology "$examples/shop.yaml" \
      --format $format -o diff.$format
    expect_status 1
  done
  grep -q 'label="+ tcp/5433", style="bold,solid", color="#1155cc"' diff.dot ||
    fail "diff.dot lacks the added flow: $(cat diff.dot)"
  grep -q 'label="- tcp/5432", style=dotted' diff.dot || fail "diff.dot lacks the removed flow"
  python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' diff.svg ||
    fail "diff.svg is not XML"
  browse --dump-dom "file://$PWD/diff.html#$(cell_link app=web,env=prod app=db,env=prod)" \
    > dom.html || fail "chromium failed: $(tail -5 chromium.err)"
  read_dom dom.html > dom.txt || fail "the rendered page is not as expected"
  cat dom.txt
  grep -q 'changed 1$' dom.txt || fail "not one changed cell"
  grep -q 'added, allow: tcp/5433' dom.txt || fail "the details lack the added flow"
  grep -q 'removed, allow: tcp/5432' dom.txt || fail "the details lack the removed flow"
  grep -q 'allow to app == "db" && env == "prod" on tcp/5433' dom.txt ||
    fail "the details lack the new version's rule"
  # -o json keeps its old meaning (the format), with a note.
  run "$polc" diff "$examples/shop.pol" shop-v2.pol --topology "$examples/shop.yaml" -o json
  expect_status 1
  expect_json /ok true
  expect_stderr "-o json is deprecated; use --format json"
  run "$polc" diff "$examples/shop.pol" shop-v2.pol --topology "$examples/shop.yaml" --format png
  expect_status 2
  expect_stderr "text|json|dot|svg|html"
  ;;
large)
  # 80 endpoints of their own identity, all open to each other: 82 groups
  # and 6,560 edges, more than Graphviz lays out in reasonable time. The SVG
  # is refused with what to do; the HTML report has the matrix and says why
  # it has no picture.
  {
    printf 'cluster: big\nnodes:\n  - name: n1\n    address: 10.9.0.1\n    endpoints:\n'
    for i in $(seq 0 79); do
      printf '      - { name: e%d, labels: { app: a%d }, addresses: [10.1.0.%d], interface: v%d }\n' \
        "$i" "$i" "$((i + 1))" "$i"
    done
  } > big.yaml
  printf 'policy "first" {\n  select app == "a0"\n  ingress {\n    allow from app == "a1" on tcp/80\n  }\n}\n' > big.pol
  run "$polc" graph big.pol --topology big.yaml --format svg -o big.svg
  expect_status 1
  expect_stderr "polc graph: 82 groups and 6,560 edges are more than polc draws (at most 600 groups and 3,000 edges); narrow it with --from, --to, --port or --group-by"
  [ -e big.svg ] && fail "a refused SVG was written"
  run "$polc" graph big.pol --topology big.yaml --format html -o big.html
  expect_status 0
  grep -q '<p id="no-picture">No picture: 82 groups and 6,560 edges' big.html ||
    fail "the report does not say why it has no picture"
  browse --dump-dom "file://$PWD/big.html#$(cell_link app=a1 app=a0)" > dom.html ||
    fail "chromium failed: $(tail -5 chromium.err)"
  read_dom dom.html > dom.txt || fail "the rendered page is not as expected"
  head -c 300 dom.txt
  grep -q '^rows 82, cells 6724, allow 6560, deny 0, changed 0$' dom.txt || fail "unexpected matrix"
  grep -q 'big.pol:4:5 allow from app == "a1" on tcp/80' dom.txt || fail "no details of a1 -> a0"
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
