/**
 * The current versions of many resources read in one query (issue 21): a
 * bulk import chunk names its resources' ids, and each line is an update
 * (create-or-replace) that must first read what it replaces. Read one by one,
 * each read also sends the chunk's pending creates first (pending-writes.ts),
 * so set-based writes would fall back to a round trip per line. Read
 * together, before the chunk's writes, the answers are kept current by
 * persist.ts as the chunk writes; a compare-and-set that still loses a race
 * rereads from the database (versioned-write.ts).
 */
import { sql } from 'kysely';
import { flushPending } from '../store/pending-writes.ts';
import type { Db, StoredVersion } from '../store/resource-store.ts';

const keyOf = (type: string, id: string) => `${type}/${id}`;

export class KnownVersions {
  /** null: known not to exist. */
  private readonly versions = new Map<string, StoredVersion | null>();

  static async load(db: Db, refs: readonly { type: string; id: string }[]): Promise<KnownVersions> {
    const known = new KnownVersions();
    if (refs.length === 0) return known;
    await flushPending(db);
    const { rows } = await sql<{ resource_type: string; id: string; version_id: number; last_updated: Date; deleted: boolean; content: string | null; patients: string[] }>`
      SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content, r.patients
      FROM unnest(${refs.map((r) => r.type)}::text[], ${refs.map((r) => r.id)}::text[]) AS u(t, i)
      CROSS JOIN LATERAL (SELECT * FROM resource WHERE resource_type = u.t AND id = u.i OFFSET 0) AS r`.execute(db);
    for (const ref of refs) known.versions.set(keyOf(ref.type, ref.id), null);
    for (const r of rows) {
      known.versions.set(keyOf(r.resource_type, r.id), { resourceType: r.resource_type, id: r.id, versionId: r.version_id, lastUpdated: r.last_updated, deleted: r.deleted, content: r.content, patients: r.patients });
    }
    return known;
  }

  /** The current version (null: none), or undefined when not known here. */
  get(type: string, id: string): StoredVersion | null | undefined {
    return this.versions.get(keyOf(type, id));
  }

  /** A version was written in the same transaction. */
  wrote(stored: StoredVersion): void {
    this.versions.set(keyOf(stored.resourceType, stored.id), stored);
  }
}
