/**
 * A bundle's match criteria resolved in one query (issue 21): its conditional
 * references and `ifNoneExist` criteria that are one token value each are
 * looked up together before any entry runs (src/search/match-tokens.ts)
 * instead of one search per distinct criterion. The interactions still parse
 * and authorise each criterion themselves and only then ask here
 * (`lookup`), so an answer from here is exactly the search they would have run:
 * anything else (another shape, a type the caller may not search) runs live.
 *
 * The answers must stay those of the database as the entries change it:
 * a create of a looked-up type adds itself to every criterion its own token
 * rows match (the same rows the index will hold), as the live search would
 * see it; an update or delete of such a type, or an entry rolled back, stops
 * the answers for that type (or all) from being used.
 */
import type { BundleEntry } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import { authorize } from '../auth/guard.ts';
import { rowAccessFor } from '../auth/readable.ts';
import { indexRowsOf } from '../search/write-index.ts';
import { matchTokens, systemMode, type TokenMatch } from '../search/match-tokens.ts';
import { typeAccess, type RowAccess } from '../search/row-access.ts';
import type { SearchRequest, TokenValue } from '../search/search-request.ts';
import type { Db } from '../store/resource-store.ts';
import type { WrittenVersion } from './persist.ts';
import { ifNoneExistQuery, matchRequest } from './conditional.ts';
import { conditionalReferenceSearches } from './conditional-references.ts';

/** The single-token shape `Type?param=[system|]code`, or undefined for any other search. */
export function tokenMatchOf(parsed: SearchRequest): TokenMatch | undefined {
  if (parsed.types.length !== 1 || parsed.filters.length !== 1) return undefined;
  const f = parsed.filters[0]!;
  if (f.kind !== 'param' || f.param.type !== 'token' || f.modifier !== undefined || f.values.length !== 1) return undefined;
  const v = f.values[0] as TokenValue;
  if (v.code === undefined) return undefined;
  return { type: parsed.types[0]!, param: f.param.code, value: { system: v.system, code: v.code } };
}

function keyOf(type: string, param: string, mode: string, system: string | null | undefined, code: string): string {
  return JSON.stringify([type, param, mode, mode === 'eq' ? system : '', code]);
}

function matchKey(m: TokenMatch): string {
  return keyOf(m.type, m.param, systemMode(m.value), m.value.system, m.value.code);
}

export interface Criterion {
  parsed: SearchRequest;
  /** An ifNoneExist criterion: its type's conditional-write lock is taken before the lookup, as a conditional create takes it. */
  conditionalWrite: boolean;
}

export class BundleMatches {
  private readonly found = new Map<string, string[]>();
  private readonly types = new Set<string>();
  private readonly locked = new Set<string>();
  private readonly access: RowAccess | undefined;
  private stale = new Set<string>();
  private allStale = false;

  private constructor(access: RowAccess | undefined) {
    this.access = access;
  }

  /** Looks every single-token criterion up in one query (types the caller may not search are left to the live path). */
  static async load(db: Db, criteria: readonly Criterion[], actor: Actor | undefined): Promise<BundleMatches> {
    const matches = new BundleMatches(rowAccessFor(actor));
    const tuples = new Map<string, TokenMatch>();
    const locks = new Set<string>();
    for (const c of criteria) {
      const m = tokenMatchOf(c.parsed);
      if (!m) continue;
      if (actor) {
        try {
          authorize(actor, { permission: 's', resourceType: m.type });
        } catch {
          continue;
        }
      }
      tuples.set(matchKey(m), m);
      if (c.conditionalWrite) locks.add(m.type);
    }
    // The same lock as conditional.ts, taken in one order, so two bundles cannot both see "no match" and both create.
    for (const type of [...locks].sort()) {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`conditional:${type}`}))`.execute(db);
      matches.locked.add(type);
    }
    const list = [...tuples.values()];
    const ids = await matchTokens(db, list, matches.access);
    list.forEach((m, i) => {
      matches.found.set(matchKey(m), ids[i] ?? []);
      matches.types.add(m.type);
    });
    return matches;
  }

  /**
   * The ids (at most 2) the search would find, or undefined when it must run live.
   * `forWrite`: a conditional write's match, answered only under its type's lock.
   */
  lookup(parsed: SearchRequest, forWrite = false): string[] | undefined {
    const m = tokenMatchOf(parsed);
    if (!m || this.allStale || this.stale.has(m.type) || (forWrite && !this.locked.has(m.type))) return undefined;
    return this.found.get(matchKey(m));
  }

  /** Keeps the answers those of the database after a write of the bundle (see above). */
  wrote({ stored, previous }: WrittenVersion): void {
    const type = stored.resourceType;
    if (!this.types.has(type) || this.stale.has(type)) return;
    if (previous !== undefined || stored.content === null) {
      this.stale.add(type);
      return;
    }
    const level = typeAccess(this.access, type);
    if (level === 'none' || (level === 'compartment' && !stored.patients.includes(this.access?.patient ?? ''))) return;
    // The rows the index statement extracted (or will: the same extraction, done once per version).
    for (const row of indexRowsOf(stored)?.sp_token ?? []) {
      if (row.code === null) continue;
      const keys = [keyOf(type, row.param, 'any', undefined, row.code), row.system === null ? keyOf(type, row.param, 'null', null, row.code) : keyOf(type, row.param, 'eq', row.system, row.code)];
      for (const key of keys) {
        const ids = this.found.get(key);
        if (ids && !ids.includes(stored.id) && ids.length < 2) ids.push(stored.id);
      }
    }
  }

  /** An entry was rolled back: what it wrote is gone, so nothing known here can be trusted any more. */
  forgetAll(): void {
    this.allStale = true;
  }
}

/** Every criterion of a bundle: its entries' conditional references and the ifNoneExist of its type-level POSTs. */
export function bundleCriteria(entries: readonly { method: string; path: string; entry: BundleEntry | undefined }[]): Criterion[] {
  const out: Criterion[] = [];
  for (const { method, path, entry } of entries) {
    for (const parsed of conditionalReferenceSearches(entry?.resource)) out.push({ parsed, conditionalWrite: false });
    const criteria = entry?.request?.ifNoneExist;
    if (method !== 'POST' || criteria === undefined || path.includes('/')) continue;
    try {
      out.push({ parsed: matchRequest(path, ifNoneExistQuery(criteria)), conditionalWrite: true });
    } catch {
      // Refused when the entry runs, with the entry named.
    }
  }
  return out;
}
