// Audit view (auditors): the newest entries of the cluster-wide audit chain and a check of the whole chain.
import { api } from '../api.js';
import { el, setText } from '../dom.js';
import { t } from '../i18n.js';

const SHOWN = 200;

export function auditView({ report }) {
  const body = document.getElementById('audit-body');
  const status = document.getElementById('audit-status');

  async function refresh() {
    try {
      const head = await api('/cluster/audit?limit=1');
      const page = await api(`/cluster/audit?since=${Math.max(0, head.length - SHOWN)}&limit=${SHOWN}`);
      body.replaceChildren(...page.data.reverse().map((e) => el('tr', { 'data-seq': e.seq },
        el('td', { text: e.seq }), el('td', { text: new Date(e.time * 1000).toLocaleString() }),
        el('td', { text: e.node }), el('td', { text: e.actor }), el('td', { text: e.action }),
        el('td', { text: e.detail ?? '' }))));
    } catch (e) {
      report(e.message);
    }
  }

  async function verify() {
    try {
      const v = await api('/cluster/audit/verify');
      status.dataset.status = v.status;
      setText(status, v.status === 'intact' ? t('audit.intact', { n: v.entries })
        : t('audit.broken', { seq: v.first_broken, reason: v.reason }));
    } catch (e) {
      report(e.message);
    }
  }

  document.getElementById('audit-verify').addEventListener('click', verify);
  document.getElementById('audit-refresh').addEventListener('click', refresh);
  return { shown: refresh, render() {} };
}
