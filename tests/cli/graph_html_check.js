// Runs the inline script of a `polc graph --format html` page against a
// minimal stand-in for the DOM (node has none) and prints what a reader
// would see: the matrix's cells, then the details of the first allow cell
// after a click. No browser needed; it proves the script runs on the page's
// own data and fills the matrix and the details.
//
// usage: node graph_html_check.js PAGE.html [FROM TO]   (group names of the cell
// to click; default: the first allow cell)
'use strict';
const fs = require('fs');
const html = fs.readFileSync(process.argv[2], 'utf8');
const json = html.match(/<script type="application\/json" id="polc-graph">([\s\S]*?)<\/script>/);
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
if (!json || scripts.length !== 1) throw new Error('expected the data and one script');

class Element {
  constructor(tag) {
    this.tagName = tag;
    this.children = [];
    this.textContent = '';
    this.className = '';
    this.dataset = {};
    this.value = '';
    const self = this;
    this.classList = {
      add(c) { self.className = (self.className + ' ' + c).trim(); },
      remove(c) { self.className = self.className.split(' ').filter(x => x !== c).join(' '); },
    };
  }
  set innerHTML(text) {
    this.children = [];
    // details() sets '<b></b> &rarr; <b></b>' and then fills the two <b>.
    for (const _ of text.matchAll(/<b><\/b>/g)) this.children.push(new Element('b'));
  }
  appendChild(child) { this.children.push(child); return child; }
  append(...items) {
    for (const item of items)
      this.children.push(typeof item === 'string' ? Object.assign(new Element('#text'), { textContent: item }) : item);
  }
  insertRow() { return this.appendChild(new Element('tr')); }
  insertCell() { return this.appendChild(new Element('td')); }
  all() { return [this, ...this.children.flatMap(c => c.all())]; }
  querySelectorAll(selector) {
    const [tag, cls] = selector.split('.');
    return this.all().filter(e => e.tagName === tag && e.className.split(' ').includes(cls));
  }
  text() { return this.textContent + this.children.map(c => c.text()).join(' '); }
}

const elements = {
  'polc-graph': Object.assign(new Element('script'), { textContent: json[1] }),
  namespace: new Element('select'),
  label: new Element('input'),
  matrix: new Element('table'),
  details: new Element('div'),
};
global.document = {
  getElementById: id => elements[id],
  createElement: tag => new Element(tag),
};
new Function(scripts[0][1])();

const rows = elements.matrix.children;
const cells = rows.slice(1).flatMap(r => r.children.filter(c => c.tagName === 'td'));
console.log('rows ' + (rows.length - 1) + ', cells ' + cells.length + ', allow ' +
            cells.filter(c => c.className === 'allow' || c.className === 'both').length + ', deny ' +
            cells.filter(c => c.className === 'deny' || c.className === 'both').length);
const names = {};
for (const g of JSON.parse(json[1]).groups) names[g.id] = g.name;
const [, , , from, to] = process.argv;
const clicked = cells.find(c => c.onclick && (from ? names[c.dataset.from] === from && names[c.dataset.to] === to
                                                   : c.className === 'allow'));
if (clicked) {
  clicked.onclick();
  console.log('details: ' + elements.details.text().replace(/\s+/g, ' ').trim());
}
// A filter by namespace narrows the matrix to that namespace's groups (and the
// other ends).
const namespaces = elements.namespace.children.map(o => o.value);
if (namespaces.length) {
  elements.namespace.value = namespaces[0];
  elements.namespace.onchange();
  console.log('namespace ' + namespaces[0] + ': rows ' + (elements.matrix.children.length - 1));
}
