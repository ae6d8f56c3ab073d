/**
 * A driven search (compile-driver.ts) evaluated on the index tables first
 * (issue 17). The driver's ids are the candidates; every other filter is an
 * EXISTS on the index tables against the candidate's id, the sort keys are
 * read from the index tables once per surviving candidate (index-only with the
 * covering indexes of the by-id migrations), and only the page's rows are
 * fetched from `resource`. One materialized set `m` serves the page and the
 * total, so the filter runs once per request:
 *
 *   WITH m AS MATERIALIZED (SELECT d.id, <keys> FROM (<driver ids>) d WHERE <filters on d.id> [AND <readable>])
 *   SELECT r.*, p.<keys>, (SELECT count(*) FROM m) AS total
 *   FROM (SELECT * FROM m WHERE <after the cursor> ORDER BY <keys> LIMIT n+1) p
 *   CROSS JOIN LATERAL (SELECT … FROM resource WHERE resource_type = T AND id = p.id AND NOT deleted OFFSET 0) r
 *
 * Before, each candidate's resource row was fetched (and its filters probed)
 * before any filter ran: the worklist of a unit with 850 Tasks, 340 of them
 * open, read 850 resource rows to return 20, then counted them all again.
 *
 * Index rows exist only for live resources (a deletion removes them in its own
 * statement), so ids from an index table need no look at `resource` (`_id`
 * lists, which come from the request, are no driver: compile-driver.ts). The
 * caller's readable set, when it restricts the type, is a condition on the
 * candidate's resource row inside `m`: unreadable rows are never sorted,
 * paged or counted.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Driver } from './compile-driver.ts';
import { compileFilter, type CompileContext } from './compile-filter.ts';
import { keysetCondition, orderBy, orderKeys, priorityRank, ranksPriority, type OrderKey } from './compile-sort.ts';
import { and, type Cond } from './compile-values.ts';
import type { Cursor } from './cursor.ts';
import type { SearchDb } from './index-tables.ts';
import { rowCondition, type RowAccess } from './row-access.ts';
import type { SearchRequest } from './search-request.ts';

export interface CandidateOptions {
  baseUrl?: string;
  now: Date;
  cursor?: Cursor;
  access?: RowAccess;
}

const candidate = sql.ref('d.id');

/**
 * The sort keys of a candidate, computed from its type and id only; a key the driver carries (a combined
 * parameter's rows: combo-params.ts) is read from the driver's row when that row carries it, with no probe.
 */
export function candidateKeys(req: SearchRequest, driver?: Driver): OrderKey[] {
  const type = req.types[0]!;
  const lastUpdated = sql`(SELECT lu.last_updated FROM resource AS lu WHERE lu.resource_type = ${type} AND lu.id = ${candidate})`;
  const keys = orderKeys(req.sort, { type: sql`${type}::text`, id: candidate, lastUpdated });
  const carries = driver?.carries;
  if (!carries) return keys;
  return keys.map((key, i) => {
    const s = req.sort[i];
    const code = s?.param?.code ?? s?.name;
    let value: RawBuilder<unknown> | undefined;
    if (s?.kind === 'token' && code === carries.token) value = ranksPriority(s) ? priorityRank(sql.ref('d.code')) : sql.ref('d.code');
    else if (s?.kind === 'date' && code === carries.date) value = sql.ref(s.descending ? 'd.hi' : 'd.lo');
    return value ? { ...key, expr: sql`CASE WHEN d.carried THEN ${value} ELSE ${key.expr} END`, carried: true } : key;
  });
}

/** `(SELECT d.id[, k0, k1…] FROM (driver ids) d WHERE …)`: the matches of a driven search, from the index tables. */
export function candidateSet(req: SearchRequest, options: CandidateOptions, driver: Driver, keys: OrderKey[]): RawBuilder<{ id: string }> {
  const type = req.types[0]!;
  const ctx: CompileContext = { baseUrl: options.baseUrl, now: options.now, aliases: 0, access: options.access };
  // No `ids` for the filters: a request listing ids has no driver, so never a candidate set (compile-driver.ts).
  const outer = { type: sql`${type}`, id: candidate };
  const conds: Cond[] = req.filters.flatMap((f, i) => (driver.filters.includes(i) ? [] : [compileFilter(f, outer, ctx)]));
  const readable = rowCondition(options.access, sql.ref('rx.resource_type'), sql.ref('rx.patients'), type);
  // The resource row, when it must be looked at, by primary key behind OFFSET 0: as an EXISTS the planner may turn it
  // into a join that walks the type's rows (with stale statistics it did, for `_id`).
  const live = readable
    ? sql` CROSS JOIN LATERAL (SELECT 1 FROM resource AS rx WHERE rx.resource_type = ${type} AND rx.id = ${candidate} AND NOT rx.deleted AND ${readable} OFFSET 0) AS rx`
    : sql``;
  const columns = [sql`${candidate}`, ...keys.map((k, i) => sql`${k.expr} AS ${sql.id(`k${i}`)}`)];
  return sql`(SELECT ${sql.join(columns)} FROM (${driver.ids}) AS d${live} WHERE ${and(conds)})`;
}

/** The page (one row more than asked), in order, with its key values (`k0`…) and the total of `m` (`total`). */
export function candidatePage(db: SearchDb, req: SearchRequest, options: CandidateOptions, driver: Driver) {
  const type = req.types[0]!;
  const reverse = options.cursor?.direction === 'previous';
  const keys = candidateKeys(req, driver);
  // Outside `m` the keys are its columns.
  const named = keys.map((k, i) => ({ ...k, expr: sql`${sql.id(`k${i}`)}` }));
  const after = options.cursor ? keysetCondition(named, options.cursor.values, reverse) : sql<SqlBool>`true`;
  // With two index sort keys (`-priority,authored-on`), the second is read only for the rows the first does not
  // already place after the page: m holds the first key, `c` is the first key of the row just past the page.
  const lazy = req.sort.length >= 2 && req.sort[0]!.kind !== 'id' && req.sort[1]!.kind !== 'id' && !keys[1]!.carried;
  const set = candidateSet(req, options, driver, lazy ? keys.slice(0, 1) : keys);
  const source = lazy ? sql`(SELECT d.id, d.k0, ${sql.join(keys.slice(1).map((k, i) => sql`${k.expr} AS ${sql.id(`k${i + 1}`)}`))} FROM m AS d WHERE ${nearPage(keys[0]!, options.cursor?.values[0], options.cursor !== undefined, reverse)}) AS q` : sql`m`;
  const page = sql`(SELECT * FROM ${source} WHERE ${after} ORDER BY ${orderBy(named, reverse)} LIMIT ${req.count + 1})`;
  const row = sql`(SELECT resource_type, id, content FROM resource WHERE resource_type = ${type} AND id = p.id AND NOT deleted OFFSET 0)`;
  const first = sql.ref('m.k0');
  const cut = (cursor: boolean) => sql<{ k0: unknown }>`(SELECT m.k0 FROM m WHERE ${cursor ? beyond(first, keys[0]!, options.cursor!.values[0] ?? null, reverse) : sql`true`} ORDER BY ${sql.ref('m.k0')} ${walk(keys[0]!, reverse)} OFFSET ${req.count} LIMIT 1)`;
  const withM = db.with((cte) => cte('m').materialized(), () => set);
  const ctes = lazy ? (withM.with((cte) => cte('c').materialized(), () => cut(options.cursor !== undefined)) as unknown as typeof withM) : withM;
  return ctes
    .selectFrom(page.as('p'))
    .crossJoinLateral(row.as('r'))
    .select([sql<string>`r.resource_type`.as('resource_type'), sql<string>`r.id`.as('id'), sql<string | null>`r.content`.as('content')])
    .select(keys.map((_, i) => sql`${sql.ref(`p.k${i}`)}`.as(`k${i}`)))
    .select(sql<string>`(SELECT count(*) FROM m)`.as('total'))
    .orderBy(orderBy(named, reverse));
}

/** ORDER BY direction of a key in the walk's direction (`reverse`: a previous page); missing values last, first backwards. */
function walk(k: OrderKey, reverse: boolean): RawBuilder<unknown> {
  return sql.raw(`${k.descending !== reverse ? 'DESC' : 'ASC'} ${reverse ? 'NULLS FIRST' : 'NULLS LAST'}`);
}

/** `x` strictly after the value `v` in the walk's order of key `k`. */
function beyond(x: RawBuilder<unknown>, k: OrderKey, v: string | null, reverse: boolean): Cond {
  const nullsFirst = reverse;
  if (v === null) return nullsFirst ? sql<SqlBool>`${x} IS NOT NULL` : sql<SqlBool>`false`;
  const value = sql`${v}::${sql.raw(k.cast)}`;
  const op = sql.raw(k.descending !== reverse ? '<' : '>');
  return nullsFirst ? sql<SqlBool>`${x} ${op} ${value}` : sql<SqlBool>`(${x} ${op} ${value} OR ${x} IS NULL)`;
}

/**
 * The rows of `m` (alias d) that may be on the page by their first key alone: those whose first key is not after
 * `c`'s (every row of the page is among the first `count + 1` by that key), and, after a cursor, those that tie with
 * the cursor's row on it (their other keys decide). Whether a row is after the cursor is checked on all keys later.
 */
function nearPage(k: OrderKey, v: string | null | undefined, cursor: boolean, reverse: boolean): Cond {
  const x = sql.ref('d.k0');
  const nullsFirst = reverse;
  const cv = sql`(SELECT c.k0 FROM c)`;
  const op = sql.raw(k.descending !== reverse ? '>=' : '<=');
  const notAfterCut = sql<SqlBool>`CASE WHEN NOT EXISTS (SELECT 1 FROM c) THEN true WHEN ${cv} IS NULL THEN ${nullsFirst ? sql`${x} IS NULL` : sql`true`} ELSE ${nullsFirst ? sql`(${x} IS NULL OR ${x} ${op} ${cv})` : sql`${x} ${op} ${cv}`} END`;
  if (!cursor) return notAfterCut;
  const value = v ?? null;
  const tie = sql<SqlBool>`${x} IS NOT DISTINCT FROM ${value}::${sql.raw(k.cast)}`;
  return sql<SqlBool>`(${tie} OR (${beyond(x, k, value, reverse)} AND ${notAfterCut}))`;
}

/** How many matches: the candidate set counted, no resource row read (unless the readable set needs it). */
export function candidateCount(db: SearchDb, req: SearchRequest, options: CandidateOptions, driver: Driver) {
  return db.selectFrom(candidateSet(req, options, driver, []).as('m')).select(sql<string>`count(*)`.as('n'));
}
