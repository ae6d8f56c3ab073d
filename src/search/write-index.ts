/**
 * Keeps the index tables equal to the current version of each resource: the
 * `WriteHook` below runs in the transaction of every create, update, patch
 * and delete, removes the resource's old rows and inserts the new ones, all
 * in ONE statement (data-modifying CTEs, arrays through unnest) so that
 * indexing costs a single extra round trip per write.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql, type RawBuilder } from 'kysely';
import type { WriteHook } from '../fhir/persist.ts';
import type { Db } from '../store/resource-store.ts';
import { extractIndexValues, type IndexRows } from './extract-index-values.ts';

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

export const indexWriteHook: WriteHook = async (tx, written) => {
  const { stored, previous } = written;
  const resource = stored.content === null ? undefined : (JSON.parse(stored.content) as Resource);
  await replaceIndexRows(tx, stored.resourceType, stored.id, resource ? extractIndexValues(resource) : undefined, previous !== undefined);
};

/**
 * Replaces the index rows of one resource. `rows` undefined removes them (a deletion);
 * `hadRows` false skips the deletes (a first version has nothing to remove).
 */
export async function replaceIndexRows(db: Db, resourceType: string, id: string, rows: IndexRows | undefined, hadRows: boolean): Promise<void> {
  const parts: RawBuilder<unknown>[] = [];
  tables.forEach((table, n) => {
    if (hadRows) parts.push(sql`${sql.id(`d${n}`)} AS (DELETE FROM ${sql.table(table)} WHERE resource_type = ${resourceType} AND id = ${id})`);
    const list = rows?.[table] ?? [];
    if (list.length > 0) parts.push(sql`${sql.id(`i${n}`)} AS (${insertRows(table, resourceType, id, list)})`);
  });
  if (parts.length === 0) return;
  // Every sub-statement sees the snapshot from before the statement, so the deletes never remove the new rows.
  await sql`WITH ${sql.join(parts)} SELECT 1`.execute(db);
}

function insertRows<T extends keyof IndexRows>(table: T, resourceType: string, id: string, list: IndexRows[T]): RawBuilder<unknown> {
  const cols = Object.entries(columns[table]);
  const arrays = cols.map(([name, type]) => sql`${list.map((r) => (r as unknown as Record<string, unknown>)[name] ?? null)}::${sql.raw(type)}`);
  const names = cols.map(([name]) => sql.id(name));
  return sql`INSERT INTO ${sql.table(table)} (resource_type, id, param, grp, ${sql.join(names)})
    SELECT ${resourceType}, ${id}, u.* FROM unnest(${list.map((r) => r.param)}::text[], ${list.map((r) => r.grp)}::smallint[], ${sql.join(arrays)}) AS u`;
}

/** Indexes many resources with one statement per table (bulk loads and `npm run reindex`). */
export async function insertIndexRowsBulk(db: Db, items: { resourceType: string; id: string; rows: IndexRows }[]): Promise<void> {
  for (const table of tables) {
    const flat = items.flatMap((it) => it.rows[table].map((r) => ({ rt: it.resourceType, id: it.id, r: r as unknown as Record<string, unknown> })));
    if (flat.length === 0) continue;
    const cols = Object.entries(columns[table]);
    const arrays = cols.map(([name, type]) => sql`${flat.map((f) => f.r[name] ?? null)}::${sql.raw(type)}`);
    await sql`INSERT INTO ${sql.table(table)} (resource_type, id, param, grp, ${sql.join(cols.map(([name]) => sql.id(name)))})
      SELECT * FROM unnest(${flat.map((f) => f.rt)}::text[], ${flat.map((f) => f.id)}::text[], ${flat.map((f) => f.r.param)}::text[], ${flat.map((f) => f.r.grp)}::smallint[], ${sql.join(arrays)})`.execute(db);
  }
}
