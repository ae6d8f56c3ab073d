/** Runs a parsed search on Postgres: one page (keyset), its total, nothing else. */
import { flushPending } from '../store/pending-writes.ts';
import type { Db } from '../store/resource-store.ts';
import { countQuery, pageKeys, pageQuery, type CompileOptions } from './compile-search.ts';
import { cursorKeyId, invalidCursor, openCursor, sealCursor, type Cursor } from './cursor.ts';
import type { CursorKeys } from './cursor-keys.ts';
import { searchDb } from './index-tables.ts';
import type { SearchRequest } from './search-request.ts';

export interface PageRow {
  resource_type: string;
  id: string;
  content: string | null;
}

export interface Page {
  rows: PageRow[];
  /** Cursors for the neighbouring pages, when there are rows there. */
  next?: string;
  previous?: string;
  /** The number of every match, when the page query counted them on the way (driven searches). */
  total?: number;
}

/** Sealing of paging cursors: the shared keys, and what a cursor is bound to (the search and its caller). */
export interface Paging {
  keys: CursorKeys;
  bound: string;
}

/** One page; with `paging`, cursors to the neighbouring pages (without it, a cursor in the request is refused). */
export async function runPage(db: Db, req: SearchRequest, options: Omit<CompileOptions, 'cursor'>, paging?: Paging): Promise<Page> {
  await flushPending(db);
  const sdb = searchDb(db);
  const keys = pageKeys(req, options.baseUrl);
  let cursor: Cursor | undefined;
  if (req.cursor !== undefined) {
    if (!paging) throw invalidCursor();
    cursor = openCursor(await paging.keys.ring(cursorKeyId(req.cursor)), req.cursor, paging.bound, keys);
  }
  if (req.count === 0) return { rows: [] };
  const { query, counts } = pageQuery(sdb, req, { ...options, cursor });
  const found = (await query.execute()) as Record<string, unknown>[];
  const more = found.length > req.count;
  const backwards = cursor?.direction === 'previous';
  const page = found.slice(0, req.count);
  if (backwards) page.reverse();
  const values = (row: Record<string, unknown> | undefined) => keys.map((_, i) => cursorValue(row?.[`k${i}`]));
  const out: Page = { rows: page.map((r) => ({ resource_type: String(r.resource_type), id: String(r.id), content: r.content as string | null })) };
  // Every row carries the count of all matches; no row after a cursor says nothing about the rows before it.
  if (counts && (found.length > 0 || cursor === undefined)) out.total = Number(found[0]?.total ?? 0);
  if (!paging || page.length === 0) return out;
  const wantsNext = backwards || more;
  const wantsPrevious = backwards ? more : cursor !== undefined;
  if (!wantsNext && !wantsPrevious) return out;
  const ring = await paging.keys.ring();
  if (wantsNext) out.next = sealCursor(ring, { direction: 'next', values: values(page[page.length - 1]) }, paging.bound);
  if (wantsPrevious) out.previous = sealCursor(ring, { direction: 'previous', values: values(page[0]) }, paging.bound);
  return out;
}

function cursorValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  // pg reads the open ends of date ranges as ±Infinity.
  if (v === Infinity || v === -Infinity) return v > 0 ? 'infinity' : '-infinity';
  return v instanceof Date ? v.toISOString() : String(v);
}

export async function countMatches(db: Db, req: SearchRequest, options: Omit<CompileOptions, 'cursor'>): Promise<number> {
  await flushPending(db);
  const row = await countQuery(searchDb(db), req, options).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The planner's row estimate for the search (_total=estimate): no scan of the matches. */
export async function estimateMatches(db: Db, req: SearchRequest, options: Omit<CompileOptions, 'cursor'>): Promise<number> {
  await flushPending(db);
  const compiled = countQuery(searchDb(db), req, options).compile();
  const result = await db.executeQuery<{ 'QUERY PLAN': unknown }>({ ...compiled, sql: `EXPLAIN (FORMAT JSON) ${compiled.sql.replace(/^select count\(\*\) as "n"/i, 'select 1')}` });
  const plan = result.rows[0]?.['QUERY PLAN'];
  const root = (Array.isArray(plan) ? plan[0] : undefined) as { Plan?: { 'Plan Rows'?: number } } | undefined;
  return Math.round(root?.Plan?.['Plan Rows'] ?? 0);
}
