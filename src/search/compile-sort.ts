/**
 * _sort keys (https://hl7.org/fhir/R4/search.html#sort) as SQL expressions,
 * and the keyset condition that continues a sorted listing after (or before)
 * a given row. Each key of an index parameter is the smallest value (largest
 * when descending) of the resource, missing values last; ties break on
 * (resource_type, id), so the order is total and paging is stable.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { and, or, type Cond } from './compile-values.ts';
import { tableOf } from './search-parameters.ts';
import type { SortKey } from './search-request.ts';

export interface OrderKey {
  expr: RawBuilder<unknown>;
  descending: boolean;
  /** Postgres type the cursor value is cast back to. */
  cast: 'text' | 'timestamptz' | 'numeric';
  nullable: boolean;
  /** Read from the driving set's own row (compile-candidates.ts), not probed: no reason to put off reading it. */
  carried?: boolean;
}

const valueColumn: Record<string, { asc: string; desc: string; cast: OrderKey['cast'] }> = {
  string: { asc: 'value', desc: 'value', cast: 'text' },
  token: { asc: 'code', desc: 'code', cast: 'text' },
  date: { asc: 'lo', desc: 'hi', cast: 'timestamptz' },
  number: { asc: 'value', desc: 'value', cast: 'numeric' },
  quantity: { asc: 'value', desc: 'value', cast: 'numeric' },
  reference: { asc: 'target_id', desc: 'target_id', cast: 'text' },
  uri: { asc: 'value', desc: 'value', cast: 'text' },
};

/**
 * `priority` (request-priority of Task, ServiceRequest, MedicationRequest, CommunicationRequest, RequestGroup;
 * process-priority of Claim) sorts by urgency, not alphabetically: `_sort=-priority` lists stat, asap, urgent,
 * routine (stat, normal, deferred for claims), as a worklist needs; other codes sort with the missing ones.
 * https://hl7.org/fhir/R4/valueset-request-priority.html
 */
export function priorityRank(code: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`CASE ${code} WHEN 'stat' THEN 4 WHEN 'asap' THEN 3 WHEN 'urgent' THEN 2 WHEN 'routine' THEN 1 WHEN 'normal' THEN 1 WHEN 'deferred' THEN 0 END`;
}

/** The row the keys are computed for: the resource row `r` by default, or only its type and id (index tables first). */
export interface KeyRow {
  type: RawBuilder<unknown>;
  id: RawBuilder<unknown>;
  lastUpdated: RawBuilder<unknown>;
}

const resourceRow: KeyRow = { type: sql`r.resource_type`, id: sql`r.id`, lastUpdated: sql`r.last_updated` };

/** Whether a token sort key ranks `priority` codes by urgency (see priorityRank). */
export function ranksPriority(k: SortKey): boolean {
  return k.kind === 'token' && (k.param?.code ?? k.name) === 'priority';
}

export function orderKeys(sort: SortKey[], row: KeyRow = resourceRow): OrderKey[] {
  const keys: OrderKey[] = sort.map((k, n) => {
    if (k.kind === 'id') return { expr: row.id, descending: k.descending, cast: 'text', nullable: false };
    if (k.kind === 'lastUpdated') return { expr: row.lastUpdated, descending: k.descending, cast: 'timestamptz', nullable: false };
    const c = valueColumn[k.kind]!;
    const column = k.descending ? c.desc : c.asc;
    const table = tableOf[k.kind];
    const a = `o${n}`;
    const agg = k.descending ? sql.raw('max') : sql.raw('min');
    if (ranksPriority(k)) {
      const expr = sql`(SELECT ${agg}(${priorityRank(sql.ref(`${a}.code`))}) FROM sp_token AS ${sql.id(a)} WHERE ${sql.ref(`${a}.resource_type`)} = ${row.type} AND ${sql.ref(`${a}.id`)} = ${row.id} AND ${sql.ref(`${a}.param`)} = 'priority')`;
      return { expr, descending: k.descending, cast: 'numeric' as const, nullable: true };
    }
    const expr = sql`(SELECT ${agg}(${sql.ref(`${a}.${column}`)}) FROM ${sql.table(table)} AS ${sql.id(a)} WHERE ${sql.ref(`${a}.resource_type`)} = ${row.type} AND ${sql.ref(`${a}.id`)} = ${row.id} AND ${sql.ref(`${a}.param`)} = ${k.param?.code ?? k.name})`;
    return { expr, descending: k.descending, cast: c.cast, nullable: true };
  });
  keys.push({ expr: row.type, descending: false, cast: 'text', nullable: false });
  keys.push({ expr: row.id, descending: false, cast: 'text', nullable: false });
  return keys;
}

/**
 * ORDER BY items; `reverse` walks backwards (previous page). Missing values sort last.
 * A sort key of an index parameter names its select-list column (`k0`, `k1`…) with NULLS LAST rather
 * than repeat its expression: its subquery then runs once per row, not twice (value and IS NULL).
 */
export function orderBy(keys: OrderKey[], reverse: boolean): RawBuilder<unknown> {
  const items = keys.map((k, i) => {
    const desc = sql.raw(k.descending !== reverse ? 'DESC' : 'ASC');
    return k.nullable ? sql`${sql.id(`k${i}`)} ${desc} ${sql.raw(reverse ? 'NULLS FIRST' : 'NULLS LAST')}` : sql`${k.expr} ${desc}`;
  });
  return sql.join(items);
}

/** Rows strictly after (or, with `reverse`, before) the row whose key values are `values`. */
export function keysetCondition(keys: OrderKey[], values: (string | null)[], reverse: boolean): Cond {
  if (keys.every((k) => !k.nullable && k.descending === keys[0]!.descending)) {
    // One row comparison: Postgres can walk an index from it.
    const greater = keys[0]!.descending === reverse;
    return sql<SqlBool>`(${sql.join(keys.map((k) => k.expr))}) ${sql.raw(greater ? '>' : '<')} (${sql.join(keys.map((k, i) => sql`${values[i] ?? null}::${sql.raw(k.cast)}`))})`;
  }
  type Term = { expr: RawBuilder<unknown>; value: RawBuilder<unknown>; greater: boolean };
  const terms: Term[] = [];
  keys.forEach((k, i) => {
    const v = values[i] ?? null;
    if (k.nullable) terms.push({ expr: sql`(${k.expr} IS NULL)`, value: sql`${v === null}::boolean`, greater: !reverse });
    terms.push({ expr: k.expr, value: sql`${v}::${sql.raw(k.cast)}`, greater: k.descending === reverse });
  });
  const branches: Cond[] = terms.map((t, j) => {
    const equal = terms.slice(0, j).map((p) => sql<SqlBool>`${p.expr} IS NOT DISTINCT FROM ${p.value}`);
    return and([...equal, sql<SqlBool>`${t.expr} ${sql.raw(t.greater ? '>' : '<')} ${t.value}`]);
  });
  return or(branches);
}
