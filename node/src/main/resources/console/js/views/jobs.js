// Batches and workflow runs: each batch's progress as a bar (GET /v1/batches), cancellable by operators.
// Workflow runs (issue 20) have no routes on this node yet: the view says so instead of guessing at them.
import { api } from '../api.js';
import { el, setText } from '../dom.js';
import { t } from '../i18n.js';
import { state } from '../store.js';

export function jobsView({ canOperate, report }) {
  const body = document.getElementById('batches-body');
  const rows = new Map();

  function row(b) {
    if (rows.has(b.id)) return rows.get(b.id);
    const status = el('td');
    const bar = el('progress', { max: '1', value: '0', 'aria-label': b.id });
    const label = el('span');
    const tr = el('tr', { 'data-batch': b.id }, el('td', { text: b.id }), status, el('td', {}, bar, ' ', label));
    if (canOperate) {
      const cancel = el('button', { type: 'button', class: 'danger operate', text: t('req.cancel'),
        'aria-label': t('jobs.cancel.label', { id: b.id }) });
      cancel.addEventListener('click', () => api(`/v1/batches/${encodeURIComponent(b.id)}/cancel`, { method: 'POST' })
        .then(() => refreshBatches()).catch((e) => report(e.message)));
      tr.append(el('td', { class: 'operate' }, cancel));
    }
    body.append(tr);
    const parts = { tr, status, bar, label };
    rows.set(b.id, parts);
    return parts;
  }

  return {
    render() {
      for (const b of state.batches ?? []) {
        const parts = row(b);
        const total = b.request_counts?.total ?? 0;
        const done = (b.request_counts?.completed ?? 0) + (b.request_counts?.failed ?? 0);
        setText(parts.status, b.status);
        parts.bar.max = Math.max(1, total);
        parts.bar.value = done;
        setText(parts.label, `${done} / ${total}`);
      }
    },
  };
}

/** Loads the batch list into the store (the view polls it while shown). */
export async function refreshBatches() {
  const list = await api('/v1/batches?limit=100');
  state.batches = list.data ?? [];
}
