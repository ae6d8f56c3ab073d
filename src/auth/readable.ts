/**
 * The token's readable set (types, and for `patient/` scopes the patient's
 * compartment), as the search compiler takes it (src/search/row-access.ts).
 * Read or search permission makes a row readable, as for a single read.
 */
import type { RowAccess } from '../search/row-access.ts';
import type { Actor } from './actor.ts';

const cache = new WeakMap<Actor, RowAccess | null>();

/** Undefined: the token reads every row of every type (nothing to add to queries). */
export function rowAccessFor(actor: Actor | undefined): RowAccess | undefined {
  if (!actor) return undefined;
  const hit = cache.get(actor);
  if (hit !== undefined) return hit ?? undefined;
  const reads = actor.scopes.filter((s) => s.permissions.has('r') || s.permissions.has('s'));
  const broad = reads.filter((s) => s.context !== 'patient');
  let access: RowAccess | undefined;
  if (!broad.some((s) => s.resourceType === '*')) {
    const all = [...new Set(broad.map((s) => s.resourceType))];
    const narrow = reads.filter((s) => s.context === 'patient');
    const compartment = narrow.some((s) => s.resourceType === '*') ? '*' : [...new Set(narrow.map((s) => s.resourceType))].filter((t) => !all.includes(t));
    access = { all, compartment, patient: actor.patient ?? '' };
  }
  cache.set(actor, access ?? null);
  return access;
}
