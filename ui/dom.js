// ui/dom.js — builds the page's nodes. Text enters the page only as text
// (Text nodes, textContent): nothing the server sends ever reaches the HTML
// parser, so a record holding markup shows as the characters it holds.

// el creates <tag> with `props` and `children`. props: "class", "text"
// (textContent), "dataset" (an object), "on<event>" (a listener); any other
// key is an attribute (true: present and empty; false, null, undefined:
// absent). Children: nodes, or strings and numbers (as text); arrays are
// flattened; null and false are skipped.
export function el(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

// svg is el for SVG elements.
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

function build(node, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// table builds a data table: a caption, column headers and rows of cells
// (each a string, a number or a node). `rowProps(row, i)` may give each
// <tr> its attributes.
export function table({ id, caption, headers, rows, rowProps }) {
  return el('table', { id },
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, rows.map((cells, i) =>
      el('tr', rowProps ? rowProps(cells, i) : {}, cells.map((c) => el('td', {}, c))))));
}

// definitions builds a <dl> from [term, description] pairs; a description
// may be a node, a string or a number. `ids` maps a term to the id of its
// <dd>.
export function definitions(pairs, ids = {}) {
  return el('dl', { class: 'facts' }, pairs.map(([term, description]) => [
    el('dt', { text: term }),
    el('dd', { id: ids[term] }, description),
  ]));
}

// code is inline, wrappable monospace text (hashes, ids).
export function code(text) {
  return el('code', { class: 'mono' }, String(text ?? ''));
}

// announce says `text` to assistive technology through the footer's live
// region.
export function announce(text) {
  const status = document.getElementById('status');
  if (status) status.textContent = text;
}
