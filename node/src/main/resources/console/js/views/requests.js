// Requests view: unfinished requests cluster-wide (GET /cluster/requests) with user, priority, class, node and age.
// A thousand requests change every second, so the table draws only the rows in view (plus a margin) into a small
// pool of row elements, with spacer rows standing in for the rest: the work per frame does not grow with the list.
import { el, setText, setAttr, age } from '../dom.js';
import { t } from '../i18n.js';
import { state, changed } from '../store.js';

const ROW_PX = 26; // the fixed row height in console.css
const MARGIN = 10; // rows drawn above and below the visible ones

export function requestsView({ canOperate, cancelRequest }) {
  const scroller = document.getElementById('requests-scroll');
  const table = document.getElementById('requests-table');
  const body = document.getElementById('requests-body');
  const status = document.getElementById('requests-status');
  const columns = canOperate ? 8 : 7;
  const spacer = () => el('tr', { class: 'spacer', 'aria-hidden': 'true' }, el('td', { colspan: String(columns) }));
  const above = spacer();
  const below = spacer();
  body.append(above, below);
  const pool = [];
  scroller.addEventListener('scroll', changed, { passive: true });

  function row(i) {
    while (pool.length <= i) {
      const cells = Array.from({ length: 7 }, () => el('td'));
      const tr = el('tr', {}, ...cells);
      let cancel = null;
      if (canOperate) {
        cancel = el('button', { type: 'button', class: 'danger operate', text: t('req.cancel') });
        cancel.addEventListener('click', () => {
          const r = { id: tr.dataset.request, received_by: tr.dataset.receivedBy || null, node: tr.dataset.node || null };
          setText(status, t('req.cancel.sending', { id: r.id }));
          cancelRequest(r).then((c) => {
            setAttr(status, 'data-command', c.id);
            setText(status, t('req.cancel.sent', { id: r.id, command: c.id }));
          }).catch((e) => setText(status, t('req.cancel.failed', { id: r.id, msg: e.message })));
        });
        tr.append(el('td', { class: 'operate' }, cancel));
      }
      below.before(tr);
      pool.push({ tr, cells, cancel });
    }
    return pool[i];
  }

  return {
    render() {
      const list = state.requests;
      if (!list) return;
      const data = list.data;
      setText(document.getElementById('requests-summary'), t('req.summary', { shown: data.length, total: list.total }));
      setAttr(table, 'aria-rowcount', data.length + 1);
      const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - MARGIN);
      const count = Math.max(0, Math.min(data.length - first, Math.ceil(scroller.clientHeight / ROW_PX) + 2 * MARGIN));
      above.style.height = `${first * ROW_PX}px`;
      below.style.height = `${(data.length - first - count) * ROW_PX}px`;
      for (let i = 0; i < count; i++) {
        const r = data[first + i];
        const { tr, cells, cancel } = row(i);
        tr.hidden = false;
        tr.dataset.request = r.id;
        tr.dataset.receivedBy = r.received_by ?? '';
        tr.dataset.node = r.node ?? '';
        setAttr(tr, 'aria-rowindex', first + i + 2);
        setText(cells[0], r.id);
        setText(cells[1], r.state);
        setText(cells[2], r.user ?? '–');
        setText(cells[3], r.priority);
        setText(cells[4], r.class);
        setText(cells[5], r.node ?? '–');
        setText(cells[6], age(r.age_ms));
        if (cancel) setAttr(cancel, 'aria-label', t('req.cancel.label', { id: r.id }));
      }
      for (let i = count; i < pool.length; i++) pool[i].tr.hidden = true;
    },
  };
}
