/** Runs a parsed search on Postgres: one page (keyset), its total, nothing else. */
import { flushPending } from '../store/pending-writes.ts';
import type { Db } from '../store/resource-store.ts';
import { countQuery, pageQuery, type CompileOptions } from './compile-search.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
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
}

export async function runPage(db: Db, req: SearchRequest, options: Omit<CompileOptions, 'cursor'>): Promise<Page> {
  await flushPending(db);
  const sdb = searchDb(db);
  const { keys } = pageQuery(sdb, req, options);
  const cursor = req.cursor === undefined ? undefined : decodeCursor(req.cursor, keys.length);
  if (req.count === 0) return { rows: [] };
  const { query } = pageQuery(sdb, req, { ...options, cursor });
  const found = (await query.execute()) as unknown as Record<string, unknown>[];
  const more = found.length > req.count;
  const backwards = cursor?.direction === 'previous';
  const page = found.slice(0, req.count);
  if (backwards) page.reverse();
  const values = (row: Record<string, unknown> | undefined) => keys.map((_, i) => cursorValue(row?.[`k${i}`]));
  const out: Page = { rows: page.map((r) => ({ resource_type: String(r.resource_type), id: String(r.id), content: r.content as string | null })) };
  if (page.length > 0 && (backwards || more)) out.next = encodeCursor({ direction: 'next', values: values(page[page.length - 1]) });
  if (page.length > 0 && (backwards ? more : cursor !== undefined)) out.previous = encodeCursor({ direction: 'previous', values: values(page[0]) });
  return out;
}

function cursorValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
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
