// Calls to this node with the token in the Authorization header, and server-sent event streams read with fetch():
// EventSource cannot send a header, and a token in a URL would end up in logs and history.

const TOKEN_KEY = 'autoglm.console.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** JSON from path; throws ApiError with the server's message on a status other than 2xx. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token()}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const json = text ? safeJson(text) : null;
  if (!res.ok) throw new ApiError(res.status, json?.error?.message ?? `${res.status} ${res.statusText}`);
  return json;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return { text }; }
}

/**
 * Follows a server-sent event stream, reconnecting by itself (1 s, doubling to 10 s) and resuming after the last
 * event id it saw. onEvent({id, type, data}) gets each event with data parsed as JSON; onState('live' |
 * 'reconnecting') reports the connection. Returns a function that stops it.
 */
export function follow(path, { onEvent, onState = () => {}, resume = true }) {
  let stopped = false;
  let lastId = null;
  let controller = null;
  let delay = 1000;

  async function connect() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream' };
        if (resume && lastId !== null) headers['Last-Event-ID'] = lastId;
        const res = await fetch(path, { headers, signal: controller.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          onState('denied');
          return; // a refused token does not get better by retrying
        }
        if (!res.ok || !res.body) throw new Error(`${res.status}`);
        onState('live');
        delay = 1000;
        await readEvents(res.body, (event) => {
          if (event.id !== null) lastId = event.id;
          onEvent(event);
        });
      } catch (e) {
        if (stopped) return;
      }
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  connect();
  return () => { stopped = true; controller?.abort(); };
}

/** Parses the text/event-stream format (id:, event:, data: lines; a blank line ends an event; ':' a comment). */
async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { id: null, type: 'message', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (event.data.length) dispatch({ id: event.id, type: event.type, data: safeJson(event.data.join('\n')) });
        event = { id: event.id, type: 'message', data: [] };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(val);
        else if (field === 'event') event.type = val;
        else if (field === 'id') event.id = val;
      }
    }
  }
}
