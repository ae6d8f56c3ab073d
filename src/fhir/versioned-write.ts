/**
 * Writing a new version safely against concurrent writers: read the current
 * version, build the next one from it, then compare-and-set. With If-Match
 * a lost race is the client's 412; without it we rebuild from the fresh
 * version a few times before answering 409. A version outside a patient
 * token's compartment is treated as absent before anything else is looked at
 * (If-Match, the patch and its `test` operations): the answer is the one for
 * an id that never existed, and the compartment guard refuses any overwrite.
 */
import { conflict, FhirError, issue, preconditionFailed } from './errors.ts';
import { parseEtag } from './versioning.ts';
import { readCurrent, type StoredVersion } from '../store/resource-store.ts';
import { persist } from './persist.ts';
import type { FhirContext } from './types.ts';
import { outsideCompartment } from '../auth/guard.ts';

const attempts = 3;

export interface WriteOutcome {
  stored: StoredVersion;
  previous: StoredVersion | undefined;
}

/**
 * @param next builds the version to write from the current one (undefined when none exists);
 *   returning undefined means "nothing to write" (e.g. deleting what is already deleted).
 */
export async function writeVersion(
  ctx: FhirContext,
  resourceType: string,
  id: string,
  ifMatch: string | undefined,
  next: (current: StoredVersion | undefined) => StoredVersion | undefined | Promise<StoredVersion | undefined>,
  permission: 'u' | 'd' = 'u',
): Promise<WriteOutcome | undefined> {
  const expected = ifMatch === undefined ? undefined : parseEtag(ifMatch, 'If-Match');
  for (let attempt = 0; attempt < attempts; attempt++) {
    // An import chunk read its versions together first; a lost race (a later attempt) reads afresh.
    const known = attempt === 0 ? ctx.versions?.get(resourceType, id) : undefined;
    const stored = known === undefined ? await readCurrent(ctx.db, resourceType, id) : (known ?? undefined);
    const current = stored && outsideCompartment(ctx.actor, resourceType, permission, stored.patients) ? undefined : stored;
    if (expected === undefined && current && !current.deleted && ctx.requiresIfMatch && (await ctx.requiresIfMatch(current, ctx))) {
      throw new FhirError(428, [
        issue('required', { es: `Modificar ${resourceType} requiere If-Match con la versión leída (W/"${current.versionId}")`, en: `Changing ${resourceType} requires If-Match with the version read (W/"${current.versionId}")` }, 'If-Match'),
      ]);
    }
    if (expected !== undefined && current?.versionId !== expected) {
      throw stale(resourceType, id, expected, current);
    }
    const version = await next(current);
    if (!version) {
      return undefined;
    }
    const written = await persist(ctx, version, current);
    if (written) {
      return { stored: version, previous: current };
    }
    if (expected !== undefined) {
      const now = await readCurrent(ctx.db, resourceType, id);
      throw stale(resourceType, id, expected, now && outsideCompartment(ctx.actor, resourceType, permission, now.patients) ? undefined : now);
    }
  }
  throw conflict({ es: `${resourceType}/${id} cambió mientras se escribía; reintente`, en: `${resourceType}/${id} changed while being written; retry` });
}

function stale(type: string, id: string, expected: number, current: StoredVersion | undefined) {
  const now = current ? `${current.versionId}` : '—';
  return preconditionFailed(
    { es: `If-Match no coincide: ${type}/${id} está en la versión ${now}, no en ${expected}`, en: `If-Match mismatch: ${type}/${id} is at version ${now}, not ${expected}` },
    'If-Match',
  );
}
