// Batches and workflow runs: each batch's progress as a bar (GET /v1/batches), cancellable by operators, and the
// workflow runs with one run's DAG (views/workflows.js).
import { api } from '../api.js';
import { el, setText, setAttr, show } from '../dom.js';
import { t } from '../i18n.js';
import { state, changed } from '../store.js';
import { workflowsView } from './workflows.js';

/** Batch states with nothing left to cancel. */
const ENDED = new Set(['completed', 'failed', 'expired', 'cancelling', 'cancelled']);

export function jobsView({ canOperate, report }) {
  const body = document.getElementById('batches-body');
  const rows = new Map();
  const workflows = workflowsView({ report });

  function row(b) {
    if (rows.has(b.id)) return rows.get(b.id);
    const status = el('td');
    const bar = el('progress', { max: '1', value: '0', 'aria-label': b.id });
    const label = el('span');
    const tr = el('tr', { 'data-batch': b.id }, el('td', { text: b.id }), status, el('td', {}, bar, ' ', label));
    let cancel = null;
    if (canOperate) {
      cancel = el('button', { type: 'button', class: 'danger operate', text: t('req.cancel'),
        'aria-label': t('jobs.cancel.label', { id: b.id }) });
      cancel.addEventListener('click', () => api(`/v1/batches/${encodeURIComponent(b.id)}/cancel`, { method: 'POST' })
        .then(() => refreshBatches()).then(changed).catch((e) => report(e.message)));
      tr.append(el('td', { class: 'operate' }, cancel));
    }
    body.append(tr);
    const parts = { tr, status, bar, label, cancel };
    rows.set(b.id, parts);
    return parts;
  }

  return {
    /** Loads the batch and run lists (polled while the view is shown). */
    async refresh() {
      await refreshBatches();
      await workflows.refresh();
    },
    render() {
      workflows.render();
      for (const b of state.batches ?? []) {
        const parts = row(b);
        const total = b.request_counts?.total ?? 0;
        const done = (b.request_counts?.completed ?? 0) + (b.request_counts?.failed ?? 0);
        setText(parts.status, b.status);
        setAttr(parts.tr, 'data-status', b.status);
        if (parts.cancel) show(parts.cancel, !ENDED.has(b.status));
        parts.bar.max = Math.max(1, total);
        parts.bar.value = done;
        setText(parts.label, `${done} / ${total}`);
      }
    },
  };
}

async function refreshBatches() {
  const list = await api('/v1/batches?limit=100');
  state.batches = list.data ?? [];
}
