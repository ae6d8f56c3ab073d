/**
 * Keeps the index tables equal to the current version of each resource: the
 * `WriteStatement` below joins every create, update, patch and delete's own
 * statement with a call of `sp_replace()`, which removes the resource's old
 * rows and inserts the new ones: no extra round trip, no per-write planning.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql, type RawBuilder } from 'kysely';
import type { WriteStatement } from '../fhir/persist.ts';
import type { Db, StoredVersion } from '../store/resource-store.ts';
import { comboRowsOf } from './combo-params.ts';
import { extractIndexValues, type DateRow, type IndexRows } from './extract-index-values.ts';
import { storedResource } from '../store/stored-content.ts';

/** Column name → Postgres array type, per table, in insert order (after resource_type, id, param, grp). */
const columns: { [T in keyof IndexRows]: Record<string, string> } = {
  sp_string: { value: 'text[]', exact: 'text[]' },
  sp_token: { system: 'text[]', code: 'text[]', text: 'text[]' },
  sp_date: { lo: 'timestamptz[]', hi: 'timestamptz[]' },
  sp_number: { value: 'numeric[]' },
  sp_quantity: { value: 'numeric[]', system: 'text[]', code: 'text[]', unit: 'text[]' },
  sp_reference: { target_type: 'text[]', target_id: 'text[]', url: 'text[]' },
  sp_uri: { value: 'text[]' },
};
const tables = Object.keys(columns) as (keyof IndexRows)[];

const extracted = new WeakMap<StoredVersion, IndexRows>();

/** The index rows of a version about to be written (undefined for a deletion), extracted once per version. */
export function indexRowsOf(stored: StoredVersion): IndexRows | undefined {
  if (stored.content === null) return undefined;
  let rows = extracted.get(stored);
  if (!rows) {
    rows = extractIndexValues(storedResource<Resource>(stored)!);
    extracted.set(stored, rows);
  }
  return rows;
}

/** The index rows of a write, replaced in the write's own statement (see persist.ts). */
export const indexWriteStatement: WriteStatement = ({ stored, previous }) => replaceCall(stored.resourceType, stored.id, indexRowsOf(stored), previous !== undefined);

function replaceCall(resourceType: string, id: string, rows: IndexRows | undefined, hadRows: boolean): RawBuilder<unknown> | undefined {
  const present: Partial<Record<keyof IndexRows | 'sp_combo', unknown[]>> = {};
  let any = false;
  for (const table of tables) {
    const list = rows?.[table];
    if (!list?.length) continue;
    present[table] = table === 'sp_date' ? (list as DateRow[]).map((r) => ({ ...r, lo: timestamp(r.lo), hi: timestamp(r.hi) })) : list;
    any = true;
  }
  const combos = rows ? comboRowsOf(resourceType, rows) : [];
  if (combos.length > 0) present.sp_combo = combos.map((c) => ({ ...c, lo: c.lo && timestamp(c.lo), hi: c.hi && timestamp(c.hi) }));
  if (!hadRows && !any) return undefined;
  // A plain JSON.stringify: a replacer function would put it on V8's slow path for every write.
  return sql`sp_replace(${resourceType}, ${id}, ${hadRows}, ${rows ? JSON.stringify(present) : null}::jsonb)`;
}

/** Open-ended date ranges are JavaScript's extreme dates (years ±275760), which PostgreSQL reads only as ±infinity. */
function timestamp(date: Date): string {
  const time = date.getTime();
  return time <= -8.64e15 ? '-infinity' : time >= 8.64e15 ? 'infinity' : date.toISOString();
}

/**
 * Replaces the index rows of one resource through `sp_replace()` (see the
 * search migration): one round trip, plans cached by the database.
 * `rows` undefined removes them (a deletion); `hadRows` false skips the
 * deletes (a first version has nothing to remove).
 */
export async function replaceIndexRows(db: Db, resourceType: string, id: string, rows: IndexRows | undefined, hadRows: boolean): Promise<void> {
  const call = replaceCall(resourceType, id, rows, hadRows);
  if (call) await sql`SELECT ${call}`.execute(db);
}

type IndexItem = { resourceType: string; id: string; rows: IndexRows };

/** One multi-row INSERT per index table holding rows of these resources; `returning` for use as a CTE whose rows are counted. */
export function indexInsertStatements(items: IndexItem[], returning = false): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = [];
  for (const table of tables) {
    const flat = items.flatMap((it) => it.rows[table].map((r) => ({ rt: it.resourceType, id: it.id, r: r as unknown as Record<string, unknown> })));
    if (flat.length === 0) continue;
    const cols = Object.entries(columns[table]);
    const value = (v: unknown) => (v instanceof Date ? timestamp(v) : (v ?? null));
    const arrays = cols.map(([name, type]) => sql`${flat.map((f) => value(f.r[name]))}::${sql.raw(type)}`);
    out.push(sql`INSERT INTO ${sql.table(table)} (resource_type, id, param, grp, ${sql.join(cols.map(([name]) => sql.id(name)))})
      SELECT * FROM unnest(${flat.map((f) => f.rt)}::text[], ${flat.map((f) => f.id)}::text[], ${flat.map((f) => f.r.param)}::text[], ${flat.map((f) => f.r.grp)}::smallint[], ${sql.join(arrays)})${returning ? sql` RETURNING 1` : sql``}`);
  }
  const combos = items.flatMap((it) => comboRowsOf(it.resourceType, it.rows).map((c) => ({ rt: it.resourceType, id: it.id, ...c })));
  if (combos.length > 0) {
    out.push(sql`INSERT INTO sp_combo (resource_type, id, combo, key, carried, code, lo, hi)
      SELECT * FROM unnest(${combos.map((c) => c.rt)}::text[], ${combos.map((c) => c.id)}::text[], ${combos.map((c) => c.combo)}::text[], ${combos.map((c) => c.key)}::text[],
        ${combos.map((c) => c.carried)}::boolean[], ${combos.map((c) => c.code)}::text[], ${combos.map((c) => c.lo && timestamp(c.lo))}::timestamptz[], ${combos.map((c) => c.hi && timestamp(c.hi))}::timestamptz[])${returning ? sql` RETURNING 1` : sql``}`);
  }
  return out;
}

/** A transaction bundle's creates: every one's index rows in one INSERT per table (see src/fhir/write-batch.ts). */
indexWriteStatement.batched = {
  item: ({ stored }) => {
    const rows = indexRowsOf(stored);
    return rows && { resourceType: stored.resourceType, id: stored.id, rows };
  },
  statements: (items) => indexInsertStatements(items as IndexItem[], true),
};

/** Indexes many resources with one statement per table (bulk loads and `npm run reindex`). */
export async function insertIndexRowsBulk(db: Db, items: IndexItem[]): Promise<void> {
  for (const statement of indexInsertStatements(items)) await statement.execute(db);
}
