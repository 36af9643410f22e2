// Requests view: unfinished requests cluster-wide (GET /cluster/requests) with user, priority, class, node and age.
// Rows are kept by request id and only their changed cells are written, so a thousand rows re-render cheaply.
import { el, setText, age } from '../dom.js';
import { t } from '../i18n.js';
import { state } from '../store.js';

export function requestsView({ canOperate, cancelRequest }) {
  const body = document.getElementById('requests-body');
  const rows = new Map(); // id -> { tr, cells }

  function row(r) {
    let parts = rows.get(r.id);
    if (parts) return parts;
    const cells = ['id', 'state', 'user', 'priority', 'class', 'node', 'age'].map(() => el('td'));
    const tr = el('tr', { 'data-request': r.id }, ...cells);
    if (canOperate) {
      const cancel = el('button', { type: 'button', class: 'danger operate', text: t('req.cancel'),
        'aria-label': t('req.cancel.label', { id: r.id }) });
      cancel.addEventListener('click', () => cancelRequest(r.id));
      tr.append(el('td', { class: 'operate' }, cancel));
    }
    body.append(tr);
    parts = { tr, cells };
    rows.set(r.id, parts);
    return parts;
  }

  return {
    render() {
      const list = state.requests;
      if (!list) return;
      setText(document.getElementById('requests-summary'), t('req.summary', { shown: list.data.length, total: list.total }));
      const seen = new Set();
      for (const r of list.data) {
        seen.add(r.id);
        const { cells } = row(r);
        setText(cells[0], r.id);
        setText(cells[1], r.state);
        setText(cells[2], r.user ?? '–');
        setText(cells[3], r.priority);
        setText(cells[4], r.class);
        setText(cells[5], r.node ?? '–');
        setText(cells[6], age(r.age_ms));
      }
      for (const [id, parts] of rows) {
        if (!seen.has(id)) { parts.tr.remove(); rows.delete(id); }
      }
    },
  };
}
