// Boot: sign in (a JWT kept in sessionStorage), then show the views the token's roles allow, follow the cluster's
// event and metrics streams, and poll the lists that have no stream while their view is shown.
import { api, follow, token, setToken, clearToken, ApiError } from './api.js';
import { t, translate, setLanguage, language } from './i18n.js';
import { abilities, claims } from './session.js';
import { state, onChange, onEvent, changed, takeSnapshot, takeEvent } from './store.js';
import { clusterView } from './views/cluster.js';
import { chartsView } from './views/charts.js';
import { requestsView } from './views/requests.js';
import { jobsView } from './views/jobs.js';
import { commandsView, refreshCommands, refreshCommand, sendCommand } from './views/commands.js';
import { auditView } from './views/audit.js';

const params = new URLSearchParams(location.search);
const views = {};
let current = null;
const stops = [];
let pollFailed = false;

function report(message) {
  document.getElementById('page-error').textContent = message ? t('error', { msg: message }) : '';
}

function setConnection(stateName) {
  const conn = document.getElementById('conn');
  conn.dataset.state = stateName;
  conn.textContent = t(`conn.${stateName}`) ?? stateName;
}

/** Views in tab order, and who may see each. */
function allowed(can) {
  return [
    ['cluster', can.watch], ['charts', can.watch], ['requests', can.watch], ['jobs', true],
    ['commands', can.watch], ['audit', can.audit],
  ].filter(([, ok]) => ok).map(([name]) => name);
}

function select(name) {
  current = name;
  for (const button of document.querySelectorAll('#tabs button')) {
    if (button.dataset.view === name) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  for (const section of document.querySelectorAll('section.view')) section.hidden = section.id !== `view-${name}`;
  views[name]?.shown?.();
  poll();
  changed();
}

async function poll() {
  try {
    if (current === 'requests' && !params.has('simulate')) state.requests = await api('/cluster/requests?limit=1000');
    if (current === 'jobs' && !params.has('simulate')) await views.jobs.refresh();
    // Events refresh a command as its acks arrive; a node that acked before the page knew the command is caught here.
    for (const c of state.commands?.values() ?? []) {
      const unsettled = Object.values(c.nodes ?? {}).some((n) => n.state === 'pending' || n.state === 'acked');
      if (unsettled && Date.now() / 1000 < c.expires_at) await refreshCommand(c.id);
    }
    if (pollFailed) report(''); // a failed poll's message goes once a poll succeeds again
    pollFailed = false;
    changed();
  } catch (e) {
    pollFailed = true;
    report(e.message);
  }
}

function start(can) {
  document.getElementById('login').hidden = true;
  document.getElementById('signout').hidden = false;
  document.getElementById('who').textContent = t('who', { sub: can.sub, roles: can.roles.join(', ') });
  if (!can.operate) for (const el of document.querySelectorAll('.operate')) el.remove();
  // A request is cancelled by the node that received it, wherever it runs (or, with no such node known, by the one
  // running it): the narrowest target, so a key scoped to that node's groups may send it.
  const context = { canOperate: can.operate, report, cancelRequest: (r) =>
    sendCommand('cancel', { nodes: [r.received_by ?? r.node] }, { ids: [r.id] }) };
  const names = allowed(can);
  if (names.includes('cluster')) views.cluster = clusterView(context);
  if (names.includes('charts')) views.charts = chartsView(context);
  if (names.includes('requests')) views.requests = requestsView(context);
  views.jobs = jobsView(context);
  if (names.includes('commands')) {
    views.commands = commandsView(context);
    views.commands.shown = () => refreshCommands().then(changed).catch((e) => report(e.message));
  }
  if (names.includes('audit')) views.audit = auditView(context);
  const tabs = document.getElementById('tabs');
  tabs.setAttribute('aria-label', t('views'));
  for (const name of names) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.view = name;
    button.textContent = t(`view.${name}`);
    button.addEventListener('click', () => select(name));
    tabs.append(button);
  }
  tabs.hidden = false;
  if (!can.watch) report(t('role.none', { roles: can.roles.join(', ') }));
  onChange(() => views[current]?.render());
  onEvent((e) => {
    const id = e.data?.data?.command_id;
    if (id && state.commands?.has(id)) refreshCommand(id).catch(() => {});
  });
  select(names[0]);
  setInterval(poll, 2000);
}

function follows(can) {
  if (!can.watch) return;
  stops.push(follow('/cluster/events?replay=50', { onEvent: takeEvent, onState: setConnection }));
  stops.push(follow('/cluster/metrics/stream', { onEvent: (e) => takeSnapshot(e.data), onState: setConnection,
    resume: false }));
}

async function signIn(jwt) {
  const error = document.getElementById('login-error');
  error.textContent = '';
  if (!claims(jwt)) {
    error.textContent = t('login.malformed');
    return;
  }
  setToken(jwt.trim());
  const can = abilities(jwt);
  try {
    await api(can.watch ? '/cluster/nodes' : '/v1/batches?limit=1');
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      clearToken();
      error.textContent = t('login.bad', { msg: e.message });
      return;
    }
  }
  start(can);
  follows(can);
}

async function boot() {
  setLanguage(language());
  translate(document);
  const lang = document.getElementById('lang');
  lang.value = language();
  lang.addEventListener('change', () => {
    params.set('lang', lang.value);
    location.search = params.toString(); // a reload: every label is drawn again in the new language
  });
  document.getElementById('signout').addEventListener('click', () => {
    clearToken();
    stops.forEach((stop) => stop());
    location.reload();
  });
  if (params.has('simulate')) {
    const [nodes, requests] = params.get('simulate').split('x').map(Number);
    const { simulate } = await import('./sim.js');
    start({ sub: 'simulation', roles: ['admin'], watch: true, operate: true, audit: true });
    setConnection('live');
    simulate({ nodes: nodes || 100, requests: requests || 1000, periodMs: Number(params.get('sim_ms')) || 1000 });
    return;
  }
  document.getElementById('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn(document.getElementById('token').value);
  });
  if (token()) signIn(token());
}

boot();
