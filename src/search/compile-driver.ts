/**
 * The selective set a search starts from, so its plan does not depend on
 * fresh statistics (issue 21). With statistics taken before a type had rows,
 * PostgreSQL believed every filter matched most of the (tiny) type and chose
 * to walk the type's resources in primary-key order, probing the index
 * tables for each one: 300–400 ms per identifier search at 2,500 Locations,
 * worse with every write (`_id` needs no set: its ids are an index condition
 * on resource's primary key). For the hot shapes — identifiers (plain
 * search, conditional create/update, conditional references), `:identifier`
 * references and reference matches (compartment reads) — the ids come from
 * their index first, in a subquery the planner cannot flatten (DISTINCT),
 * and the search runs on those candidates (compile-candidates.ts), reading
 * `resource` only by primary key for the page's rows: the join can only run
 * from the index rows to `resource`.
 * Low-selectivity parameters (status, gender, category…) are not drivers:
 * walking the type in sort order and stopping at the page size is right for them,
 * except inside a combined parameter (combo-params.ts): `owner` + `status` is
 * one index range of exactly the matches, better than the owner's every Task.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { matchCombo, type Carried } from './combo-params.ts';
import { or, referenceCond, tokenCond } from './compile-values.ts';
import type { Filter, ReferenceValue, SearchRequest, TokenValue } from './search-request.ts';

export interface Driver {
  /** Indexes in `req.filters` of the filters the set replaces (they are implied by the set). */
  filters: readonly number[];
  /** `SELECT DISTINCT id …`: the ids of the matches of that filter. */
  ids: RawBuilder<{ id: string }>;
  /** Sort parameters the set also yields (columns `carried`, `code`, `lo`, `hi`: see combo-params.ts). */
  carries?: Carried;
}

function isIdentifierToken(f: Extract<Filter, { kind: 'param' }>): boolean {
  return f.param.type === 'token' && f.modifier === undefined && /identifier$/i.test(f.param.code) && f.values.every((v) => (v as TokenValue).code !== undefined);
}

function isReference(f: Extract<Filter, { kind: 'param' }>): boolean {
  if (f.param.type !== 'reference') return false;
  if (f.modifier === 'identifier') return f.values.every((v) => (v as TokenValue).code !== undefined);
  return (f.modifier === undefined || /^[A-Z]/.test(f.modifier)) && f.values.every((v) => (v as ReferenceValue).id !== undefined || (v as ReferenceValue).url !== undefined);
}

/** The filter to start from, best first: an identifier, then a reference (no driver with `_id`: see drivingSet); none for multi-type searches (a combined parameter ranks between an identifier and a reference: see drivingSet). */
export function chooseDriver(req: SearchRequest): { index: number; rank: number } | undefined {
  if (req.types.length !== 1) return undefined;
  let best: { index: number; rank: number } | undefined;
  req.filters.forEach((f, index) => {
    const rank = f.kind === 'param' && isIdentifierToken(f) ? 1 : f.kind === 'param' && isReference(f) ? 2 : undefined;
    if (rank !== undefined && (!best || rank < best.rank)) best = { index, rank };
  });
  return best;
}

/** The ids a request lists (`_id`, not negated), the only ones its matches can have. */
export function listedIds(req: SearchRequest): readonly string[] | undefined {
  const listed = req.filters.find((f) => f.kind === 'id' && !f.not && f.ids.length > 0);
  return listed?.kind === 'id' ? listed.ids : undefined;
}

export function drivingSet(req: SearchRequest, baseUrl: string | undefined): Driver | undefined {
  // Listed ids (`_id`) need no set: the plain query reads them by resource's primary key (an index condition,
  // whatever the statistics say), with less to plan and build than a candidate set (issue 13: `Patient?_id=x&_has:…`).
  if (listedIds(req)) return undefined;
  const chosen = chooseDriver(req);
  const type = req.types[0]!;
  const combo = req.types.length === 1 && (!chosen || chosen.rank >= 2) ? matchCombo(type, req.filters) : undefined;
  if (combo) {
    // A resource's carried values are the same on each of its rows, so DISTINCT still yields one row per id.
    const carried = combo.carries ? sql`, d0.carried, d0.code, d0.lo, d0.hi` : sql``;
    return {
      filters: combo.filters,
      ids: sql`SELECT DISTINCT d0.id${carried} FROM sp_combo AS d0 WHERE d0.resource_type = ${type} AND d0.combo = ${combo.combo} AND d0.key = ANY(${combo.keys}::text[])`,
      ...(combo.carries ? { carries: combo.carries } : {}),
    };
  }
  if (!chosen) return undefined;
  const f = req.filters[chosen.index]!;
  const filters = [chosen.index];
  if (f.kind !== 'param') return undefined;
  const a = 'd0';
  if (f.param.type === 'token' || f.modifier === 'identifier') {
    const param = f.param.type === 'token' ? f.param.code : `${f.param.code}:identifier`;
    const cond = or(f.values.map((v) => tokenCond(a, v as TokenValue)));
    return { filters, ids: sql`SELECT DISTINCT d0.id FROM sp_token AS d0 WHERE d0.resource_type = ${type} AND d0.param = ${param} AND ${cond}` };
  }
  const cond: RawBuilder<SqlBool> = or(f.values.map((v) => referenceCond(a, v as ReferenceValue, baseUrl)));
  return { filters, ids: sql`SELECT DISTINCT d0.id FROM sp_reference AS d0 WHERE d0.resource_type = ${type} AND d0.param = ${f.param.code} AND ${cond}` };
}

