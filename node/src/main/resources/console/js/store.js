// The page's picture of the cluster: the latest metrics snapshot, a few minutes of history for the plots and
// sparklines, the leader as the event stream reports it, and recent events. Views subscribe; a burst of updates
// becomes one render in the next animation frame.

export const HISTORY = 120; // samples kept: two minutes at one snapshot a second

export const state = {
  snapshot: null,
  leader: null, // { node, term }
  history: { time: [], tps: [], ttft: [[], [], []], itl: [[], [], []], interactive: [], batch: [] },
  sparks: new Map(), // node name -> tokens/s samples
  events: [],
};

const listeners = new Set();
const eventListeners = new Set();
let scheduled = false;

/** fn() runs once per animation frame in which something changed. */
export function onChange(fn) { listeners.add(fn); }
/** fn(event) runs for each cluster event as it arrives. */
export function onEvent(fn) { eventListeners.add(fn); }

/**
 * Milliseconds each render frame took: the views' DOM updates plus the style and layout they cause (forced at the end,
 * where the browser would do it anyway before painting). The last 1,000, for the frame-time measurement.
 */
export const frameWork = [];

export function changed() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    const start = performance.now();
    scheduled = false;
    for (const fn of listeners) fn();
    document.body.getBoundingClientRect();
    frameWork.push(performance.now() - start);
    if (frameWork.length > 1000) frameWork.shift();
  });
}

function push(list, value) {
  list.push(value);
  if (list.length > HISTORY) list.shift();
}

/** A snapshot from /cluster/metrics/stream (or the simulated feed). */
export function takeSnapshot(s) {
  state.snapshot = s;
  // The stream's leader is read from the lease each second; a newer term from the event stream wins.
  if (s.leader && (!state.leader || s.leader.term >= state.leader.term)) state.leader = { node: s.leader.node, term: s.leader.term };
  if (!s.leader && state.leader && !s.nodes.some((n) => n.name === state.leader.node && n.health === 'healthy')) state.leader = null;
  const h = state.history;
  push(h.time, s.time / 1000);
  push(h.tps, s.cluster.tokens_per_second);
  ['p50', 'p95', 'p99'].forEach((p, i) => {
    push(h.ttft[i], s.cluster.ttft_ms[p]);
    push(h.itl[i], s.cluster.itl_ms[p]);
  });
  push(h.interactive, s.queue.interactive ?? 0);
  push(h.batch, s.queue.batch ?? 0);
  for (const n of s.nodes) {
    if (!state.sparks.has(n.name)) state.sparks.set(n.name, []);
    push(state.sparks.get(n.name), n.tokens_per_second);
  }
  changed();
}

/** An event from /cluster/events. */
export function takeEvent(e) {
  const data = e.data?.data ?? {};
  if (e.type === 'leader_elected' && (!state.leader || data.term >= state.leader.term)) {
    state.leader = { node: data.node, term: data.term };
  }
  state.events.push(e.data);
  if (state.events.length > 200) state.events.shift();
  for (const fn of eventListeners) fn(e);
  changed();
}
