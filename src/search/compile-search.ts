/**
 * A parsed search → SQL, as Kysely queries (pure: no database needed to
 * build or `.compile()` them). The page query returns the matching resources
 * in sort order with their key values (for the cursor), one row more than
 * asked so the caller knows whether a next page exists.
 */
import { sql, type CompiledQuery, type SqlBool } from 'kysely';
import { candidateCount, candidateKeys, candidatePage } from './compile-candidates.ts';
import { drivingSet, listedIds } from './compile-driver.ts';
import { compileFilter, type CompileContext, type Outer } from './compile-filter.ts';
import { keysetCondition, orderBy, orderKeys, type OrderKey } from './compile-sort.ts';
import { and, type Cond } from './compile-values.ts';
import type { Cursor } from './cursor.ts';
import { rowCondition, type RowAccess } from './row-access.ts';
import type { SearchDb } from './index-tables.ts';
import type { SearchRequest } from './search-request.ts';

export interface CompileOptions {
  baseUrl?: string;
  now: Date;
  cursor?: Cursor;
  /** The caller's readable set, part of the WHERE clause (absent: every row). */
  access?: RowAccess;
}

export function whereClause(req: SearchRequest, options: CompileOptions): Cond {
  const ctx: CompileContext = { baseUrl: options.baseUrl, now: options.now, aliases: 0, access: options.access };
  const single = req.types.length === 1 ? req.types[0] : undefined;
  // Listed ids (`_id`) are told to `_has` as constants, so the planner knows how many rows point at them (compile-filter.ts).
  const listed = single !== undefined ? listedIds(req) : undefined;
  const ids = listed ? { ids: listed } : {};
  const outer: Outer = { type: single !== undefined ? sql`${single}` : sql`r.resource_type`, id: sql`r.id`, lastUpdated: sql`r.last_updated`, ...ids };
  const parts: Cond[] = [];
  if (single !== undefined) parts.push(sql<SqlBool>`r.resource_type = ${single}`);
  else if (req.types.length > 1) parts.push(sql<SqlBool>`r.resource_type = ANY(${req.types}::text[])`);
  parts.push(sql<SqlBool>`NOT r.deleted`);
  const readable = rowCondition(options.access, sql`r.resource_type`, sql`r.patients`, single);
  if (readable) parts.push(readable);
  for (const f of req.filters) parts.push(compileFilter(f, outer, ctx));
  return and(parts);
}

/** A page query: its rows carry `k0`… (the key values); `total` (the count of every match) when `counts`. */
export interface PageSql {
  compile(): CompiledQuery;
  execute(): Promise<unknown[]>;
}

/** The sort keys of the page query (what a cursor holds), without building the query. */
export function pageKeys(req: SearchRequest, baseUrl: string | undefined): OrderKey[] {
  const driver = drivingSet(req, baseUrl);
  return driver ? candidateKeys(req, driver) : orderKeys(req.sort);
}

export function pageQuery(db: SearchDb, req: SearchRequest, options: CompileOptions): { keys: OrderKey[]; query: PageSql; counts: boolean } {
  const driver = drivingSet(req, options.baseUrl);
  if (driver) return { keys: candidateKeys(req, driver), query: candidatePage(db, req, options, driver), counts: true };
  const keys = orderKeys(req.sort);
  return { keys, query: build(db, req, options, keys), counts: false };
}

function build(db: SearchDb, req: SearchRequest, options: CompileOptions, keys: OrderKey[]) {
  const reverse = options.cursor?.direction === 'previous';
  const conds = [whereClause(req, options)];
  if (options.cursor) conds.push(keysetCondition(keys, options.cursor.values, reverse));
  return db
    .selectFrom('resource as r')
    .select(['r.resource_type', 'r.id', 'r.content'])
    .select(keys.map((k, i) => k.expr.as(`k${i}`)))
    .where(and(conds))
    .orderBy(orderBy(keys, reverse))
    .limit(req.count + 1);
}

export function countQuery(db: SearchDb, req: SearchRequest, options: CompileOptions) {
  const driver = drivingSet(req, options.baseUrl);
  if (driver) return candidateCount(db, req, options, driver);
  return db
    .selectFrom('resource as r')
    .select(sql<string>`count(*)`.as('n'))
    .where(whereClause(req, options));
}
