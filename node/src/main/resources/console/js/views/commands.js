// Commands view: the signing key (imported into this page, never sent), a form that signs and sends drain/undrain
// to a group or a node, and the recent commands with each target node's ack state, refreshed as acks arrive.
import { api } from '../api.js';
import { el, setText, setAttr } from '../dom.js';
import { t } from '../i18n.js';
import { canSign, importKey, keyId, signCommand } from '../sign.js';
import { state, changed } from '../store.js';

/** Signs and posts a command; the answer is the command with its id and per-node states. */
export async function sendCommand(op, target, args = {}) {
  if (!keyId()) throw new Error(t('cmd.needkey'));
  const signed = await signCommand(op, target, args);
  const command = await api('/cluster/commands', { method: 'POST', body: signed.body, headers: signed.headers });
  remember(command);
  return command;
}

function remember(command) {
  state.commands = state.commands ?? new Map();
  state.commands.set(command.id, command);
  changed();
}

/** Loads the recent command list (newest first). */
export async function refreshCommands() {
  const list = await api('/cluster/commands?limit=30');
  state.commands = new Map((list.data ?? []).map((c) => [c.id, c]));
}

/** One command again, after an ack event names it. */
export async function refreshCommand(id) {
  remember(await api(`/cluster/commands/${encodeURIComponent(id)}`));
}

export function commandsView({ canOperate }) {
  const list = document.getElementById('commands');
  const error = document.getElementById('command-error');
  const items = new Map();

  if (canOperate) {
    const keyState = document.getElementById('key-state');
    setText(keyState, canSign() ? t('cmd.key.none') : t('cmd.nocrypto'));
    document.getElementById('key-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const pem = document.getElementById('key-pem');
      const id = document.getElementById('key-id').value.trim();
      try {
        await importKey(id, pem.value);
        pem.value = ''; // the page keeps only the non-extractable CryptoKey
        setText(keyState, t('cmd.key.ready', { id }));
      } catch (e) {
        setText(keyState, t('cmd.key.bad', { msg: e.message || e.name }));
      }
    });
    document.getElementById('command-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      setText(error, '');
      const op = document.getElementById('cmd-op').value;
      const kind = document.getElementById('cmd-target-kind').value;
      const names = document.getElementById('cmd-target').value.split(',').map((s) => s.trim()).filter(Boolean);
      try {
        await sendCommand(op, { [kind]: names });
      } catch (e) {
        setText(error, t('error', { msg: e.message }));
      }
    });
  }

  function item(c) {
    if (items.has(c.id)) return items.get(c.id);
    const summary = el('div');
    const acks = el('div', { class: 'acks' });
    const li = el('li', { 'data-command': c.id }, summary, acks);
    list.prepend(li);
    const parts = { li, summary, acks, nodes: new Map() };
    items.set(c.id, parts);
    return parts;
  }

  return {
    render() {
      const datalist = document.getElementById('target-names');
      if (state.snapshot && datalist.childElementCount === 0) {
        const names = new Set(state.snapshot.nodes.flatMap((n) => [n.name, ...(n.groups ?? [])]));
        for (const name of names) datalist.append(el('option', { value: name }));
      }
      const commands = [...(state.commands?.values() ?? [])].sort((a, b) => a.created_at - b.created_at);
      for (const c of commands) {
        const parts = item(c);
        const target = c.target?.groups ? `group ${c.target.groups.join(',')}` : c.target?.nodes
          ? `node ${c.target.nodes.join(',')}` : 'all';
        setText(parts.summary, `${c.id}: ${t('cmd.summary', { op: c.op, target, by: c.issued_by })}`);
        for (const [node, s] of Object.entries(c.nodes ?? {})) {
          if (!parts.nodes.has(node)) {
            const badge = el('span', { class: 'ack', 'data-node': node });
            parts.acks.append(badge);
            parts.nodes.set(node, badge);
          }
          const badge = parts.nodes.get(node);
          setAttr(badge, 'data-state', s.state);
          setText(badge, `${node}: ${s.state}${s.ack_ms !== undefined ? ` (${s.ack_ms} ms)` : ''}${s.reason ? ` – ${s.reason}` : ''}`);
        }
      }
    },
  };
}
