// Cluster view: the leader and its term, totals, queue depth by class, and one card per node grouped by control
// group, with health, drain and anomaly flags, load, KV-cache use and a tokens/s sparkline.
// A hundred cards at ten snapshots a second must fit in a frame: only the cards on screen (an IntersectionObserver
// says which) are written to, a card's cells only when their text changes, the KV bar moves by transform (no
// layout), and each card has a fixed size, so what changes inside one lays out that card alone.
import { api } from '../api.js';
import { el, setText, setAttr, show, fixed } from '../dom.js';
import { t } from '../i18n.js';
import { drawSparkline, WIDTH, HEIGHT } from '../sparkline.js';
import { state, changed } from '../store.js';

export function clusterView({ canOperate, report }) {
  const groupsRoot = document.getElementById('groups');
  const groups = new Map(); // group name -> { section, list }
  const cards = new Map(); // "group/node" -> card parts
  // Cards start as on screen (nothing is known before the observer's first report) and follow its reports after;
  // one coming into view is brought up to date in the next frame.
  const watcher = new IntersectionObserver((entries) => {
    let appeared = false;
    for (const entry of entries) {
      const parts = byRoot.get(entry.target);
      if (!parts) continue;
      appeared ||= entry.isIntersecting && !parts.onScreen;
      parts.onScreen = entry.isIntersecting;
    }
    if (appeared) changed();
  }, { rootMargin: '200px 0px' });
  const byRoot = new WeakMap();

  function group(name) {
    if (!groups.has(name)) {
      const heading = el('h3', { text: name ? t('cluster.group', { g: name }) : t('cluster.ungrouped') });
      const list = el('div', { class: 'nodes', role: 'list' });
      const section = el('section', { class: 'group', 'data-group': name }, heading, list);
      groupsRoot.append(section);
      groups.set(name, { section, list, heading });
    }
    return groups.get(name);
  }

  function card(key, node, list) {
    if (cards.has(key)) return cards.get(key);
    const title = el('span', { class: 'name', text: node.name });
    const badges = {
      leader: el('span', { class: 'badge leader', text: t('node.leader') }),
      health: el('span', { class: 'badge' }),
      draining: el('span', { class: 'badge warn', text: t('node.draining') }),
      anomalous: el('span', { class: 'badge bad', text: t('node.anomalous') }),
    };
    const figures = { running: el('span'), waiting: el('span'), kv: el('span'), tps: el('span') };
    const kvBar = el('span');
    const spark = el('canvas', { role: 'img', width: String(WIDTH), height: String(HEIGHT),
      'aria-label': `${node.name}: ${t('node.spark')}` });
    const root = el('article', { class: 'node', role: 'listitem', 'data-node': node.name },
      el('h4', {}, title, badges.leader, badges.health, badges.draining, badges.anomalous),
      el('div', { class: 'figures' }, figures.running, figures.waiting, figures.kv, figures.tps),
      el('div', { class: 'bar', title: t('node.kv') }, kvBar), spark);
    let drain = null;
    if (canOperate) {
      drain = el('button', { type: 'button', class: 'operate' });
      drain.addEventListener('click', () => {
        const draining = drain.dataset.draining === 'true';
        api(`/cluster/nodes/${encodeURIComponent(node.name)}/${draining ? 'undrain' : 'drain'}`, { method: 'POST' })
          .catch((e) => report(e.message));
      });
      root.append(el('div', { class: 'actions' }, drain));
    }
    list.append(root);
    // drawnAt: spreads the cards' once-a-second sparkline redraws over the second instead of all in one frame.
    // shown: what the card's cells say now, so an unchanged cell is not touched.
    const parts = { root, badges, figures, kvBar, spark, drain, onScreen: true, shown: {},
      drawnAt: performance.now() - Math.random() * 1000 };
    cards.set(key, parts);
    byRoot.set(root, parts);
    watcher.observe(root);
    return parts;
  }

  /** Writes what differs from what the card shows; true when anything did. */
  function differs(parts, field, value) {
    if (parts.shown[field] === value) return false;
    parts.shown[field] = value;
    return true;
  }

  function update(parts, node) {
    const leader = state.leader?.node === node.name;
    if (differs(parts, 'leader', leader)) {
      show(parts.badges.leader, leader);
      setAttr(parts.root, 'data-leader', leader);
    }
    if (differs(parts, 'health', node.health)) {
      setText(parts.badges.health, node.health);
      setAttr(parts.badges.health, 'class', `badge ${node.health === 'healthy' ? 'healthy' : 'bad'}`);
      setAttr(parts.root, 'data-health', node.health);
    }
    if (differs(parts, 'draining', node.draining)) {
      show(parts.badges.draining, node.draining);
      if (parts.drain) {
        setAttr(parts.drain, 'data-draining', node.draining);
        setText(parts.drain, node.draining ? t('node.undrain') : t('node.drain'));
        setAttr(parts.drain, 'aria-label', `${node.draining ? t('node.undrain') : t('node.drain')} ${node.name}`);
      }
    }
    if (differs(parts, 'anomalous', node.anomalous)) show(parts.badges.anomalous, node.anomalous);
    if (differs(parts, 'running', node.running)) setText(parts.figures.running, `${t('node.running')} ${node.running}`);
    if (differs(parts, 'waiting', node.waiting)) setText(parts.figures.waiting, `${t('node.waiting')} ${node.waiting}`);
    const kv = Number.isFinite(node.kv_usage) ? Math.round(node.kv_usage * 100) : null;
    if (differs(parts, 'kv', kv)) {
      setText(parts.figures.kv, `${t('node.kv')} ${kv === null ? '–' : kv}%`);
      parts.kvBar.style.transform = `scaleX(${(kv ?? 0) / 100})`;
    }
    const tps = Number.isFinite(node.tokens_per_second) ? Math.round(node.tokens_per_second) : null;
    if (differs(parts, 'tps', tps)) setText(parts.figures.tps, `${fixed(tps, 0)} ${t('node.tps')}`);
    // Samples arrive once a second; a faster feed still redraws each sparkline at most that often.
    const now = performance.now();
    if (now - parts.drawnAt >= 1000) {
      drawSparkline(parts.spark, state.sparks.get(node.name) || []);
      parts.drawnAt = now;
    }
  }

  return {
    render() {
      const s = state.snapshot;
      if (!s) return;
      const leader = document.getElementById('leader');
      setText(leader, state.leader ? state.leader.node : t('cluster.noleader'));
      setAttr(leader, 'data-leader', state.leader?.node ?? '');
      setText(document.getElementById('term'), state.leader ? state.leader.term : '–');
      setText(document.getElementById('node-count'), t('cluster.nodecount', { n: s.cluster.nodes, healthy: s.cluster.healthy }));
      setText(document.getElementById('cluster-tps'), fixed(s.cluster.tokens_per_second, 0));
      setText(document.getElementById('queue-depth'), Object.entries(s.queue)
        .map(([k, v]) => `${t(`queue.${k}`)} ${v}`).join(' · '));
      const seen = new Set();
      for (const node of s.nodes) {
        for (const g of node.groups?.length ? node.groups : ['']) {
          const key = `${g}/${node.name}`;
          seen.add(key);
          const parts = card(key, node, group(g).list);
          if (parts.onScreen) update(parts, node);
        }
      }
      for (const [key, parts] of cards) {
        if (!seen.has(key)) {
          watcher.unobserve(parts.root);
          parts.root.remove();
          cards.delete(key);
        }
      }
    },
  };
}
