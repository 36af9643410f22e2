// Signed commands, made in the page: RFC 8785 (JCS) canonical JSON signed with WebCrypto Ed25519. The private key is
// imported as non-extractable and lives only in this module's memory: it is never stored or sent.

let signer = null; // { keyId, key: CryptoKey }

export function canSign() { return Boolean(globalThis.crypto?.subtle); }
export function keyId() { return signer?.keyId ?? null; }

/** Imports a PKCS#8 PEM Ed25519 private key (what `ctl keygen` writes). */
export async function importKey(id, pem) {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  signer = { keyId: id, key };
}

/**
 * JCS for the values a command holds (strings, finite numbers, booleans, null, arrays, objects): object members sorted
 * by UTF-16 code units, no white space, and ECMAScript's own number and string serialization, which is what RFC 8785
 * specifies.
 */
export function canonicalize(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(',')}}`;
}

/** A command body for op on target, valid for five minutes, and its X-Command-Signature header. */
export async function signCommand(op, target, args = {}) {
  if (!signer) throw new Error('no signing key');
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  const body = { op, target, args, nonce, expires_at: Math.floor(Date.now() / 1000) + 300, key_id: signer.keyId };
  const text = canonicalize(body);
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, signer.key, new TextEncoder().encode(text));
  const b64 = btoa(String.fromCharCode(...new Uint8Array(sig)));
  return { body: text, headers: { 'X-Command-Signature': `ed25519=${b64}` } };
}
