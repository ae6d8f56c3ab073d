/**
 * Who owns an export job: the whole identity of the token that started it —
 * issuer, subject, client, role and effective scopes — not the subject alone,
 * which another issuer, client or role may share. Kept in `export_job.owner`.
 */
import type { Actor } from '../auth/actor.ts';

export function exportOwner(actor: Actor): string {
  const scopes = actor.scopes.map((s) => `${s.context}/${s.resourceType}.${[...s.permissions].sort().join('')}`).sort();
  return JSON.stringify([actor.issuer ?? '', actor.subject, actor.clientId ?? null, actor.role ?? null, scopes]);
}
