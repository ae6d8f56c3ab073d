/**
 * Postgres access for resources: every statement the FHIR interactions need,
 * parameterised through Kysely. Writes are single statements (history comes
 * from the trigger in the migration), so one simple write is one round trip.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from './database.ts';
import { flushPending } from './pending-writes.ts';
import { prepared, preparedMarker } from './prepared.ts';
import { rowCondition, type RowAccess } from '../search/row-access.ts';

export type Db = Kysely<Database>;

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  /** The resource JSON as served; null for a deletion. */
  content: string | null;
  /** Patients whose compartment holds this version (a deletion keeps the previous version's). */
  patients: string[];
}

export interface HistoryRow extends StoredVersion {
  seq: string;
}

// Built once: composing and compiling the query through Kysely's builder on every read cost more server CPU than sending it.
type CurrentRow = { version_id: number; last_updated: Date; deleted: boolean; content: string | null; patients: string[] };
const readCurrentQuery = 'select "version_id", "last_updated", "deleted", "content", "patients" from "resource" where "resource_type" = $1 and "id" = $2';

export async function readCurrent(db: Db, resourceType: string, id: string): Promise<StoredVersion | undefined> {
  await flushPending(db);
  const { rows } = await db.executeQuery<CurrentRow>(CompiledQuery.raw(`${preparedMarker} ${readCurrentQuery}`, [resourceType, id]));
  const row = rows[0];
  return row && { resourceType, id, versionId: row.version_id, lastUpdated: row.last_updated, deleted: row.deleted, content: row.content, patients: row.patients };
}

export async function readVersion(db: Db, resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
  await flushPending(db);
  const row = await db
    .selectFrom('resource_history')
    .modifyFront(prepared)
    .select(['last_updated', 'deleted', 'content', 'patients'])
    .where('resource_type', '=', resourceType)
    .where('id', '=', id)
    .where('version_id', '=', versionId)
    .executeTakeFirst();
  return row && { resourceType, id, versionId, lastUpdated: row.last_updated, deleted: row.deleted, content: row.content, patients: row.patients };
}

/** Whether any version of the resource was ever stored (tells 404 from a version that never existed). */
export async function exists(db: Db, resourceType: string, id: string): Promise<boolean> {
  return (await compartmentOf(db, resourceType, id)) !== undefined;
}

/** The patients whose compartment holds the resource's current version; undefined when it was never stored. */
export async function compartmentOf(db: Db, resourceType: string, id: string): Promise<string[] | undefined> {
  await flushPending(db);
  const row = await db.selectFrom('resource').select('patients').where('resource_type', '=', resourceType).where('id', '=', id).executeTakeFirst();
  return row?.patients;
}

/** Inserts version 1. Returns false when the id is already taken (a concurrent create won). */
export async function insertFirstVersion(db: Db, v: StoredVersion): Promise<boolean> {
  const result = await db
    .insertInto('resource')
    .values({ resource_type: v.resourceType, id: v.id, version_id: v.versionId, last_updated: v.lastUpdated, deleted: v.deleted, content: v.content, patients: v.patients })
    .onConflict((oc) => oc.columns(['resource_type', 'id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/**
 * Writes the next version only if the current one is still `previousVersion`
 * (compare-and-set). Returns false when another writer got there first.
 */
export async function writeNextVersion(db: Db, v: StoredVersion, previousVersion: number): Promise<boolean> {
  const result = await db
    .updateTable('resource')
    .set({ version_id: v.versionId, last_updated: v.lastUpdated, deleted: v.deleted, content: v.content, patients: v.patients })
    .where('resource_type', '=', v.resourceType)
    .where('id', '=', v.id)
    .where('version_id', '=', previousVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions written at or after this instant. */
  since?: Date;
  /** Only versions that were current at this instant. */
  at?: Date;
  /** Keyset cursor: only rows older than this sequence number. */
  before?: string;
  count: number;
  /** The caller's readable set (absent: every version). */
  access?: RowAccess;
}

/**
 * Versions newest first, paged by the global sequence so that a page never
 * skips or repeats a row when others write meanwhile (new rows only ever get
 * larger sequence numbers).
 */
export async function readHistory(db: Db, q: HistoryQuery): Promise<HistoryRow[]> {
  let query = db.selectFrom('resource_history as h').select(['h.seq', 'h.resource_type', 'h.id', 'h.version_id', 'h.last_updated', 'h.deleted', 'h.content', 'h.patients']);
  if (q.resourceType !== undefined) {
    query = query.where('h.resource_type', '=', q.resourceType);
  }
  if (q.id !== undefined) {
    query = query.where('h.id', '=', q.id);
  }
  if (q.since !== undefined) {
    query = query.where('h.last_updated', '>=', q.since);
  }
  if (q.at !== undefined) {
    const at = q.at;
    query = query.where('h.last_updated', '<=', at).where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('resource_history as later')
            .select(sql<number>`1`.as('one'))
            .whereRef('later.resource_type', '=', 'h.resource_type')
            .whereRef('later.id', '=', 'h.id')
            .whereRef('later.version_id', '>', 'h.version_id')
            .where('later.last_updated', '<=', at),
        ),
      ),
    );
  }
  if (q.before !== undefined) {
    query = query.where('h.seq', '<', q.before);
  }
  const readable = rowCondition(q.access, sql`h.resource_type`, sql`h.patients`, q.resourceType);
  if (readable) {
    query = query.where(readable);
  }
  const rows = await query.orderBy('h.seq', 'desc').limit(q.count).execute();
  return rows.map((r) => ({
    seq: String(r.seq),
    resourceType: r.resource_type,
    id: r.id,
    versionId: r.version_id,
    lastUpdated: r.last_updated,
    deleted: r.deleted,
    content: r.content,
    patients: r.patients,
  }));
}

/** See the history_sync_point migration: history before this instant is complete. */
export async function historySyncPoint(db: Db): Promise<Date> {
  const { rows } = await sql<{ at: Date }>`SELECT history_sync_point() AS at`.execute(db);
  return rows[0]?.at ?? new Date(0);
}

export async function ping(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}
