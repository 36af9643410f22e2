// Workflow runs: the list (GET /v1/workflow-runs, polled while the view is shown) with each run's status and step
// progress, and one run's DAG with its step states kept live: the edges come from the run's template
// (GET /v1/workflows/{name}?version=N), the states from GET /v1/workflow-runs/{id} and then its /events stream.
// A node without the list route shows a note instead of the table.
import { api, follow, ApiError } from '../api.js';
import { el, setText, setAttr, show } from '../dom.js';
import { t } from '../i18n.js';
import { drawDag } from '../dag.js';
import { changed } from '../store.js';

const RUN_ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const STEP_ENDED = new Set(['succeeded', 'failed', 'skipped']);
const path = (id) => `/v1/workflow-runs/${encodeURIComponent(id)}`;

export function workflowsView({ report }) {
  const note = document.getElementById('workflows');
  const table = document.getElementById('runs-table');
  const body = document.getElementById('runs-body');
  const detail = document.getElementById('run-detail');
  const heading = document.getElementById('run-h');
  const dag = document.getElementById('run-dag');
  const rows = new Map();
  let runs = null; // null: not loaded yet; false: this node serves no run list
  let selected = null; // { id, run, update, stop }

  function row(r) {
    if (rows.has(r.id)) return rows.get(r.id);
    const cells = { workflow: el('td'), status: el('td'), owner: el('td') };
    const bar = el('progress', { max: '1', value: '0', 'aria-label': t('wf.progress.label', { id: r.id }) });
    const label = el('span');
    const open = el('button', { type: 'button', text: t('wf.show'), 'aria-label': t('wf.show.label', { id: r.id }) });
    open.addEventListener('click', () => select(r.id).catch((e) => report(e.message)));
    const tr = el('tr', { 'data-run': r.id }, el('td', { text: r.id }), cells.workflow, cells.status,
      el('td', {}, bar, ' ', label), cells.owner, el('td', {}, open));
    body.append(tr);
    const parts = { tr, cells, bar, label };
    rows.set(r.id, parts);
    return parts;
  }

  function fill(parts, r) {
    setText(parts.cells.workflow, `${r.workflow} v${r.version}`);
    setText(parts.cells.status, r.status);
    setAttr(parts.tr, 'data-status', r.status);
    setText(parts.cells.owner, r.owner ?? '–');
    const steps = Array.isArray(r.steps) ? r.steps : null;
    const ended = steps ? steps.filter((s) => STEP_ENDED.has(s.status)).length : 0;
    parts.bar.max = Math.max(1, steps?.length ?? 1);
    parts.bar.value = ended;
    setText(parts.label, steps ? `${ended} / ${steps.length}` : '–');
  }

  /** Shows one run's DAG and follows its events until it ends or another run is chosen. */
  async function select(id) {
    selected?.stop?.();
    selected = null;
    const run = await api(path(id));
    let steps;
    try {
      const template = await api(`/v1/workflows/${encodeURIComponent(run.workflow)}?version=${run.version}`);
      steps = template.steps.map((s) => ({ id: s.id, depends_on: s.depends_on ?? [] }));
    } catch {
      // the template was deleted since (runs keep their copy): the steps without their edges
      steps = run.steps.map((s) => ({ id: s.id, depends_on: [] }));
    }
    const current = { id, run, update: drawDag(dag, steps, t), stop: null };
    selected = current;
    if (!RUN_ENDED.has(run.status)) {
      current.stop = follow(`${path(id)}/events`, { resume: false, onEvent: (e) => {
        if (selected !== current || !e.data || typeof e.data !== 'object') return;
        if (e.type === 'run' || e.type === 'done') current.run = e.data;
        else if (e.type === 'step') {
          const i = current.run.steps.findIndex((s) => s.id === e.data.id);
          if (i >= 0) current.run.steps[i] = e.data; else current.run.steps.push(e.data);
        }
        if (e.type === 'done') current.stop?.(); // the stream ends with the run: do not reconnect
        changed();
      } });
    }
    changed();
    heading.focus();
  }

  return {
    async refresh() {
      try {
        runs = (await api('/v1/workflow-runs?limit=50')).data ?? [];
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
        runs = false; // a node of a version without the run list
      }
    },
    render() {
      show(note, runs === false);
      show(table, runs !== false);
      const listed = new Set();
      for (const r of runs || []) {
        listed.add(r.id);
        fill(row(r), selected?.id === r.id ? selected.run : r); // the followed run is the fresher picture
      }
      for (const [id, parts] of rows) {
        if (!listed.has(id)) { parts.tr.remove(); rows.delete(id); }
      }
      show(detail, selected !== null);
      if (selected) {
        const r = selected.run;
        setText(heading, t('wf.run', { id: r.id, workflow: r.workflow, version: r.version, status: r.status }));
        setAttr(detail, 'data-run', r.id);
        setAttr(detail, 'data-status', r.status);
        selected.update(r.steps);
      }
    },
  };
}
