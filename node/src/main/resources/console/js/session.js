// What the signed-in token may do, read from its claims so the page shows only that; the node checks every call.

export function claims(jwt) {
  const parts = (jwt || '').trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** The role set of a token: {sub, roles, groups, watch, operate, audit}. */
export function abilities(jwt) {
  const c = claims(jwt) || {};
  const roles = Array.isArray(c.roles) ? c.roles : [];
  const admin = roles.includes('admin');
  const operate = admin || roles.includes('operator');
  const audit = admin || roles.includes('auditor');
  return {
    sub: c.sub ?? '?',
    roles,
    groups: Array.isArray(c.groups) ? c.groups : null,
    watch: operate || audit, // the cluster routes: operators and auditors
    operate,
    audit: audit || operate, // the audit chain reads for auditors and operators
  };
}
