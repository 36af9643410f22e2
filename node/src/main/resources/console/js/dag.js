// A workflow run's DAG as SVG: each step one column right of its deepest dependency, an edge from each dependency
// to the step, and each box labelled with the step's id and state in words (colour is never the only cue).
// Built once per run; later updates change only the boxes whose state changed.

const NS = 'http://www.w3.org/2000/svg';
const BOX_W = 160;
const BOX_H = 46;
const GAP_X = 56;
const GAP_Y = 24;
const PAD = 4;
const DIP = 20; // an edge that skips a column runs below the boxes, this far down

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Column (depth) and row of each step: [{id, depends_on}] -> Map id -> {col, row}. Unknown dependencies are ignored. */
export function layout(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  const depthOf = (id, path = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (path.has(id)) return 0; // a stored template has no cycle; never loop on one anyway
    path.add(id);
    const deps = (byId.get(id)?.depends_on ?? []).filter((d) => byId.has(d));
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depthOf(x, path))) : 0;
    depth.set(id, d);
    return d;
  };
  const rows = [];
  const at = new Map();
  for (const s of steps) {
    const col = depthOf(s.id);
    rows[col] = rows[col] ?? 0;
    at.set(s.id, { col, row: rows[col]++ });
  }
  return at;
}

/** What a step's box says under its id: its state, attempts past the first, and for_each items ended. */
export function stepLine(step, t) {
  const parts = [step.status];
  if (Array.isArray(step.items) && step.items.length) {
    const ended = step.items.filter((i) => ['succeeded', 'failed', 'skipped'].includes(i.status)).length;
    parts.push(t('wf.items', { done: ended, total: step.items.length }));
  }
  if (step.attempts > 1) parts.push(t('wf.attempt', { n: step.attempts }));
  return parts.join(' · ');
}

/**
 * Draws the DAG of `steps` (the template's: id and depends_on) into `container`; returns update(runSteps), which
 * sets each box's state from the run's steps.
 */
export function drawDag(container, steps, t) {
  const at = layout(steps);
  let cols = 0;
  let rows = 0;
  for (const { col, row } of at.values()) {
    cols = Math.max(cols, col + 1);
    rows = Math.max(rows, row + 1);
  }
  const width = PAD * 2 + cols * BOX_W + Math.max(0, cols - 1) * GAP_X;
  const height = PAD * 2 + rows * BOX_H + Math.max(0, rows - 1) * GAP_Y + DIP;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  const arrow = svg('marker', { id: 'dag-arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7,
    orient: 'auto' });
  arrow.append(svg('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }));
  const defs = svg('defs');
  defs.append(arrow);
  root.append(defs);
  const x = (id) => PAD + at.get(id).col * (BOX_W + GAP_X);
  const y = (id) => PAD + at.get(id).row * (BOX_H + GAP_Y);
  for (const s of steps) {
    for (const d of s.depends_on ?? []) {
      if (!at.has(d)) continue;
      let line;
      if (at.get(s.id).col - at.get(d).col > 1) { // from the bottom of one box to the bottom of the other, below
        const x1 = x(d) + BOX_W / 2;
        const x2 = x(s.id) + BOX_W / 2;
        const y1 = y(d) + BOX_H;
        const y2 = y(s.id) + BOX_H;
        const low = Math.max(y1, y2) + DIP;
        line = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
      } else {
        const x1 = x(d) + BOX_W;
        const y1 = y(d) + BOX_H / 2;
        const x2 = x(s.id);
        const y2 = y(s.id) + BOX_H / 2;
        line = `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`;
      }
      root.append(svg('path', { class: 'edge', 'data-from': d, 'data-to': s.id, d: line,
        'marker-end': 'url(#dag-arrow)' }));
    }
  }
  const boxes = new Map();
  for (const s of steps) {
    const title = svg('title', {}, s.id);
    const state = svg('text', { x: x(s.id) + 8, y: y(s.id) + 36, class: 'state' }, '');
    const g = svg('g', { class: 'step', 'data-step': s.id, 'data-status': 'pending' });
    g.append(title, svg('rect', { x: x(s.id), y: y(s.id), width: BOX_W, height: BOX_H, rx: 5 }),
      svg('text', { x: x(s.id) + 8, y: y(s.id) + 18, class: 'id' }, s.id), state);
    root.append(g);
    boxes.set(s.id, { g, title, state, shown: null });
  }
  container.replaceChildren(root);

  return function update(runSteps) {
    const counts = {};
    for (const step of runSteps) {
      counts[step.status] = (counts[step.status] ?? 0) + 1;
      const box = boxes.get(step.id);
      if (!box) continue;
      const line = stepLine(step, t);
      if (box.shown === line) continue;
      box.shown = line;
      box.g.setAttribute('data-status', step.status);
      box.state.textContent = line;
      box.title.textContent = `${step.id}: ${line}${step.error ? ` – ${step.error}` : ''}`;
    }
    root.setAttribute('aria-label', t('wf.dag.label', { total: runSteps.length,
      states: Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') }));
  };
}
