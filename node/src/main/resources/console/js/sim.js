// A simulated feed for demos and the frame-time benchmark (?simulate=NODESxREQUESTS[&sim_ms=PERIOD]): snapshots and
// request lists shaped exactly like /cluster/metrics/stream and /cluster/requests, pushed through the same store, so
// the page renders them with the same code as live data. Deterministic (a seeded generator).
import { state, takeSnapshot, changed } from './store.js';

function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function simulate({ nodes = 100, requests = 1000, periodMs = 1000 } = {}) {
  const rnd = random(42);
  const names = Array.from({ length: nodes }, (_, i) => `node-${String(i).padStart(3, '0')}`);
  const groups = ['a', 'b', 'c', 'd', 'e'];
  let nextId = 0;
  const started = Date.now();
  const newRequest = (now) => ({
    id: `req-sim-${nextId++}`, state: rnd() < 0.9 ? 'running' : 'pending', user: `user-${Math.floor(rnd() * 40)}`,
    priority: Math.floor(rnd() * 3), class: rnd() < 0.8 ? 'interactive' : 'batch', model: 'glm-4-9b',
    node: names[Math.floor(rnd() * nodes)], received_by: names[Math.floor(rnd() * nodes)], since: now - rnd() * 60000,
    attempts: 1, prompt_tokens: 100 + Math.floor(rnd() * 900), max_tokens: 512,
  });
  let live = Array.from({ length: requests }, () => newRequest(started));
  const load = names.map(() => ({ tps: 200 + rnd() * 800, kv: rnd() }));

  function tick() {
    const now = Date.now();
    // About 2 % of requests finish each tick and as many arrive.
    live = live.filter(() => rnd() > 0.02);
    while (live.length < requests) live.push(newRequest(now));
    const perNode = new Map();
    for (const r of live) perNode.set(r.node, (perNode.get(r.node) ?? 0) + 1);
    let tps = 0;
    const snapshotNodes = names.map((name, i) => {
      const l = load[i];
      l.tps = Math.max(0, l.tps + (rnd() - 0.5) * 80);
      l.kv = Math.min(1, Math.max(0, l.kv + (rnd() - 0.5) * 0.05));
      tps += l.tps;
      return {
        name, id: `sim-${i}`, health: i === 7 ? 'stalled' : 'healthy', draining: i % 25 === 3, anomalous: i === 11,
        leader: i === 0, model: 'glm-4-9b', groups: [groups[i % groups.length]], running: perNode.get(name) ?? 0,
        waiting: Math.floor(rnd() * 3), kv_usage: l.kv, tokens_per_second: l.tps, step_ms: 20 + rnd() * 10,
        heartbeat_age_ms: Math.floor(rnd() * 500),
      };
    });
    const pct = (base) => ({ samples: 256, p50: base, p95: base * 2.2, p99: base * 3.1 });
    takeSnapshot({
      time: now, leader: { node: names[0], id: 'sim-0', term: 7 }, nodes: snapshotNodes,
      queue: { batch: Math.floor(rnd() * 40), interactive: Math.floor(rnd() * 20) },
      cluster: { nodes, healthy: nodes - 1, running: live.length, waiting: 0, tokens_per_second: tps,
        ttft_ms: pct(120 + rnd() * 30), itl_ms: pct(18 + rnd() * 4) },
    });
    state.requests = { total: live.length, data: live.map((r) => ({ ...r, age_ms: Math.round(now - r.since) })) };
    changed();
  }
  tick();
  return setInterval(tick, periodMs);
}
