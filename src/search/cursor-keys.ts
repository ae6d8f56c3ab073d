/**
 * The cursor sealing keys, shared by every instance through the `cursor_key`
 * table (see its migration). Read once and cached for a minute, so a key added
 * by a rotation reaches every instance within that time; a cursor sealed with
 * a key this instance does not know yet makes it read the table again at once.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../store/resource-store.ts';
import type { KeyRing } from './cursor.ts';

const refreshMs = 60_000;

export class CursorKeys {
  private cached: { ring: KeyRing; at: number } | undefined;
  private loading: Promise<KeyRing> | undefined;
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async ring(unknownId?: number): Promise<KeyRing> {
    const fresh = this.cached && Date.now() - this.cached.at < refreshMs;
    if (this.cached && fresh && (unknownId === undefined || this.cached.ring.keys.has(unknownId))) return this.cached.ring;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<KeyRing> {
    let rows = await this.read();
    if (rows.length === 0) {
      await sql`INSERT INTO cursor_key (id, key) VALUES (1, ${randomBytes(32)}) ON CONFLICT (id) DO NOTHING`.execute(this.db);
      rows = await this.read();
    }
    const keys = new Map(rows.map((r) => [r.id, r.key]));
    const ring = { newest: rows[rows.length - 1]!.id, keys };
    this.cached = { ring, at: Date.now() };
    return ring;
  }

  private async read(): Promise<{ id: number; key: Buffer }[]> {
    const { rows } = await sql<{ id: number; key: Buffer }>`SELECT id, key FROM cursor_key ORDER BY id`.execute(this.db);
    return rows;
  }
}

/** Adds a newer key (it seals from then on; older ones still open their cursors). Returns its id. */
export async function rotateCursorKey(db: Db): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    INSERT INTO cursor_key (id, key) SELECT coalesce(max(id), 0) + 1, ${randomBytes(32)} FROM cursor_key RETURNING id`.execute(db);
  return rows[0]!.id;
}

/** Removes keys older than the newest `keep` (cursors they sealed become invalid: 400). */
export async function retireCursorKeys(db: Db, keep = 2): Promise<void> {
  await sql`DELETE FROM cursor_key WHERE id NOT IN (SELECT id FROM cursor_key ORDER BY id DESC LIMIT ${keep})`.execute(db);
}
