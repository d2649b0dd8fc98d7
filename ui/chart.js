// ui/chart.js — a small grouped bar chart drawn as SVG with DOM calls (no
// library, no inline style: colours come from classes in style.css). The
// numbers are also given as a table for screen readers and for reading
// exact values.
import { el, svg, table } from './dom.js';

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 12, bottom: 36, left: 44 };

// niceMax rounds `max` up to 1, 2 or 5 times a power of ten (at least 1).
function niceMax(max) {
  if (max <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

// barChart returns a figure: `labels` along the x axis (one group each),
// `series` [{name, className, values}] as bars within each group, a
// legend, and the same numbers in a collapsible table.
export function barChart({ id, title, labels, series, tickEvery = 1 }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const group = plotWidth / Math.max(1, labels.length);
  const bar = Math.max(1, (group * 0.8) / series.length);
  const y = (v) => MARGIN.top + plotHeight - (v / max) * plotHeight;

  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-labelledby': `${id}-title` },
    svg('title', { id: `${id}-title`, text: title }));
  for (const tick of [0, max / 2, max]) {
    chart.append(svg('line', { class: 'grid', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick) }),
      svg('text', { class: 'axis', x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end', text: String(tick) }));
  }
  labels.forEach((label, i) => {
    const x0 = MARGIN.left + i * group + group * 0.1;
    series.forEach((s, k) => {
      const value = s.values[i] || 0;
      const rect = svg('rect', { class: `bar ${s.className}`, x: x0 + k * bar, y: y(value), width: Math.max(1, bar - 1), height: Math.max(0, MARGIN.top + plotHeight - y(value)) },
        svg('title', { text: `${label}: ${value} ${s.name}` }));
      chart.append(rect);
    });
    if (i % tickEvery === 0) {
      chart.append(svg('text', { class: 'axis', x: x0 + (bar * series.length) / 2, y: HEIGHT - MARGIN.bottom + 16, 'text-anchor': 'middle', text: label }));
    }
  });
  chart.append(svg('line', { class: 'baseline', x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }));

  const legend = el('ul', { class: 'legend' }, series.map((s) =>
    el('li', {}, el('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.name)));
  const numbers = el('details', {}, el('summary', { text: 'Show the numbers' }), table({
    id: `${id}-table`,
    caption: title,
    headers: ['Hour (UTC)', ...series.map((s) => s.name)],
    rows: labels.map((label, i) => [label, ...series.map((s) => String(s.values[i] || 0))]),
  }));
  return el('figure', { id, class: 'chart-figure' }, chart, legend, numbers);
}
