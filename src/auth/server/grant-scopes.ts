/**
 * What a system client gets: the `system/` scopes it asks for, narrowed to
 * what it was registered with (RFC 6749 §3.3: the server may grant less).
 * A requested scope nothing registered covers, or one that is not a
 * `system/` resource scope, is refused as a whole (invalid_scope): a client
 * asking for what it was never given is misconfigured and should hear so.
 */
import { parseScopes, type Permission, type ResourceScope } from '../scopes.ts';

const order: Permission[] = ['c', 'r', 'u', 'd', 's'];

export function formatScope(s: ResourceScope): string {
  return `${s.context}/${s.resourceType}.${order.filter((p) => s.permissions.has(p)).join('')}`;
}

export type GrantResult = { granted: string } | { refused: string; reason: { es: string; en: string } };

function narrowed(requested: ResourceScope, registered: readonly ResourceScope[]): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const r of registered) {
    if (r.context !== 'system') continue;
    if (requested.resourceType !== '*' && r.resourceType !== '*' && r.resourceType !== requested.resourceType) continue;
    const permissions = new Set([...requested.permissions].filter((p) => r.permissions.has(p)));
    if (permissions.size === 0) continue;
    out.push({ context: 'system', resourceType: requested.resourceType === '*' ? r.resourceType : requested.resourceType, permissions });
  }
  return out;
}

export function grantScopes(requested: string, registered: string): GrantResult {
  const words = requested.split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return { refused: '', reason: { es: 'Falta el parámetro scope', en: 'The scope parameter is missing' } };
  }
  const allowed = parseScopes(registered);
  const granted = new Set<string>();
  for (const word of words) {
    const [parsed] = parseScopes(word);
    if (!parsed || parsed.context !== 'system') {
      return { refused: word, reason: { es: `Alcance no admitido para un cliente de sistema: "${word}" (solo system/…)`, en: `Scope not available to a system client: "${word}" (system/… only)` } };
    }
    const got = narrowed(parsed, allowed);
    if (got.length === 0) {
      return { refused: word, reason: { es: `El cliente no está registrado para el alcance "${word}" (registrado: "${registered}")`, en: `The client is not registered for scope "${word}" (registered: "${registered}")` } };
    }
    for (const s of got) granted.add(formatScope(s));
  }
  return { granted: [...granted].join(' ') };
}
