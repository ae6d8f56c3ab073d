/**
 * (Re)builds the index rows of stored resources: for data written before the
 * index tables existed, after a search parameter is added, and by the bench
 * loader. Walks `resource` in key order in batches; each batch is one
 * transaction (delete the batch's rows, insert the new ones, one statement per table).
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import type { Db } from '../store/resource-store.ts';
import { extractIndexValues } from './extract-index-values.ts';
import { insertIndexRowsBulk } from './write-index.ts';
import { parseJson } from '../json/lossless.ts';

const tables = ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri', 'sp_combo'];

export async function reindexAll(db: Db, batchSize = 500, onBatch?: (done: number) => void): Promise<number> {
  let after: { type: string; id: string } | undefined;
  let done = 0;
  for (;;) {
    let q = db.selectFrom('resource').select(['resource_type', 'id', 'content']).where('deleted', '=', false);
    if (after) q = q.where(sql<boolean>`(resource_type, id) > (${after.type}, ${after.id})`);
    const rows = await q.orderBy('resource_type').orderBy('id').limit(batchSize).execute();
    if (rows.length === 0) return done;
    await db.transaction().execute(async (tx) => {
      const types = rows.map((r) => r.resource_type);
      const ids = rows.map((r) => r.id);
      for (const table of tables) {
        await sql`DELETE FROM ${sql.table(table)} t USING unnest(${types}::text[], ${ids}::text[]) AS k(rt, id) WHERE t.resource_type = k.rt AND t.id = k.id`.execute(tx);
      }
      await insertIndexRowsBulk(tx, rows.map((r) => ({ resourceType: r.resource_type, id: r.id, rows: extractIndexValues(parseJson(r.content ?? '{}') as Resource) })));
    });
    done += rows.length;
    onBatch?.(done);
    const last = rows[rows.length - 1]!;
    after = { type: last.resource_type, id: last.id };
  }
}
